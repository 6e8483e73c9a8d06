"""Batched JSON-RPC for the dashboard: eth_calls encoded from the contracts' ABIs, sent as JSON-RPC batches
(one HTTP round trip for many calls) and counted, so that a page view's cost in RPC calls is measured."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_abi import decode, encode
from eth_utils import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types, to_checksum_address

MAX_BATCH = 100  # requests per JSON-RPC batch (some public nodes take no more)
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


class RpcError(RuntimeError):
    """A JSON-RPC error answer; `reason` is a revert's reason in words when the node gave one."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Call:
    """One view call: `to`, the function's ABI entry and its arguments."""

    to: str
    abi: dict
    args: tuple = ()

    def data(self) -> str:
        selector = function_abi_to_4byte_selector(self.abi)
        return "0x" + (selector + encode(get_abi_input_types(self.abi), list(self.args))).hex()

    def decode(self, raw: str) -> Any:
        values = decode(get_abi_output_types(self.abi), bytes.fromhex(raw.removeprefix("0x")))
        return values[0] if len(values) == 1 else values


class Abi:
    """A contract's functions by name, from its ABI (a list of JSON dicts)."""

    def __init__(self, abi: Sequence[dict]):
        self.functions = {a["name"]: a for a in abi if a.get("type") == "function"}

    def call(self, to: str, name: str, *args: Any) -> Call:
        return Call(to_checksum_address(to), self.functions[name], tuple(args))

    def encode(self, name: str, *args: Any) -> str:
        """Calldata of a transaction to `name(*args)`."""
        return Call("0x" + "00" * 20, self.functions[name], tuple(args)).data()


def revert_text(error: dict) -> str | None:
    """A revert's reason from a JSON-RPC error object: its Error(string) data, else its message."""
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and bytes.fromhex(data[2:10] or "") == ERROR_SELECTOR:
        return decode(["string"], bytes.fromhex(data[10:]))[0]
    message = str(error.get("message", ""))
    if "revert" in message:
        reason = message.split("execution reverted", 1)[-1].lstrip(": ").strip()
        return reason or "reverted (no reason)"
    return None


@dataclass
class Rpc:
    """A node's HTTP JSON-RPC endpoint; `calls` counts JSON-RPC requests, `round_trips` HTTP requests."""

    uri: str
    timeout: float = 60.0
    calls: int = 0
    round_trips: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, params: list) -> Any:
        (answer,) = self.batch([(method, params)])
        if isinstance(answer, RpcError):
            raise answer
        return answer

    def batch(self, requests_: Sequence[tuple[str, list]]) -> list[Any]:
        """Results in order; an error answer is an `RpcError` in its place (not raised)."""
        results: list[Any] = []
        for start in range(0, len(requests_), MAX_BATCH):
            chunk = requests_[start : start + MAX_BATCH]
            body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(chunk)]
            self.calls += len(body)
            self.round_trips += 1
            response = self.session.post(self.uri, json=body, timeout=self.timeout)
            response.raise_for_status()
            answers = response.json()
            if isinstance(answers, dict):  # a node that refuses batches answers with one error
                raise RpcError(f"the node refused a batch: {answers.get('error')}")
            by_id = {a.get("id"): a for a in answers}
            for i in range(len(body)):
                answer = by_id.get(i, {"error": {"message": "no answer"}})
                if "error" in answer:
                    error = answer["error"]
                    results.append(RpcError(str(error.get("message")), revert_text(error)))
                else:
                    results.append(answer["result"])
        return results

    def calls_at(self, calls: Sequence[Call], block: int | str = "latest", sender: str | None = None) -> list[Any]:
        """The decoded results of `calls` at `block`; a reverted call is an `RpcError` with its reason."""
        tag = hex(block) if isinstance(block, int) else block
        params = [[{"to": c.to, "data": c.data(), **({"from": sender} if sender else {})}, tag] for c in calls]
        raw = self.batch([("eth_call", p) for p in params])
        return [r if isinstance(r, RpcError) else c.decode(r) for c, r in zip(calls, raw, strict=True)]
