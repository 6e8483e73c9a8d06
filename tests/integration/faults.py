"""Faults injected into a keeper's RPC: an outage of a few calls and a broadcast whose answer is lost."""

import requests


def flaky_rpc(eth, monkeypatch, *, first_failure: int = 20, failures: int = 4) -> dict:
    """Makes `eth.call` fail `failures` times in a row from its `first_failure`-th call (connection refused) and
    loses the answer to the first `send_raw_transaction` (the transaction lands; the client sees a timeout).
    Returns the counters {"n", "failed", "lost"} the patched functions keep."""
    real_call, real_send = eth.call, eth.send_raw_transaction
    calls = {"n": 0, "failed": 0, "lost": 0}

    def flaky_call(*args, **kwargs):
        calls["n"] += 1
        if first_failure <= calls["n"] < first_failure + failures:
            calls["failed"] += 1
            raise requests.exceptions.ConnectionError("connection refused")
        return real_call(*args, **kwargs)

    def lossy_send(raw):
        tx_hash = real_send(raw)
        if calls["lost"] == 0:
            calls["lost"] += 1
            raise requests.exceptions.ReadTimeout("read timed out")
        return tx_hash

    monkeypatch.setattr(eth, "call", flaky_call)
    monkeypatch.setattr(eth, "send_raw_transaction", lossy_send)
    return calls
