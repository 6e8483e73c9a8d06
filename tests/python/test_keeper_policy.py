"""The keeper's pure policy: retries with backoff, routes, gas caps, auction profit, event lines, metrics."""

import io
import json

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from index_vault.common.sending import GWEI, RetryPolicy, fee_caps, transient_error
from index_vault.keeper.policy import (
    WAD,
    EventLog,
    Metrics,
    Route,
    auction_buy_in,
    fill_profit,
    find_route,
    format_event,
    gas_usd,
    pair_key,
)
from index_vault.keeper.routes import v3_route

WETH, USDC, LINK, UNI, DAI = ("0x" + c * 40 for c in "abcde")


# --- retries -----------------------------------------------------------------------------------------------


def test_retry_policy__delays__double_from_the_base_up_to_the_cap():
    policy = RetryPolicy(attempts=8, base_delay=0.5, factor=2.0, max_delay=5.0)
    assert list(policy.delays()) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_retry_policy__huge_attempt__capped_without_overflow():
    assert RetryPolicy(max_delay=30.0).delay(10_000) == 30.0


@given(st.integers(1, 20), st.floats(0, 10), st.floats(1, 4), st.floats(0, 60), st.integers(0, 200))
def test_retry_policy__delay__never_above_the_cap_and_never_decreasing(attempts, base, factor, cap, k):
    policy = RetryPolicy(attempts, base, factor, cap)
    assert 0 <= policy.delay(k) <= cap
    assert policy.delay(k) <= policy.delay(k + 1)


@pytest.mark.parametrize("bad", [dict(attempts=0), dict(base_delay=-1), dict(factor=0.5), dict(max_delay=-1)])
def test_retry_policy__bad_settings__refused(bad):
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


def test_retry_policy__transient_failures__retried_with_backoff_then_succeeds():
    calls, slept, told = [], [], []

    def flaky():
        calls.append(1)
        if len(calls) <= 3:
            raise requests.exceptions.ConnectionError("connection refused")
        return "ok"

    policy = RetryPolicy(attempts=5, base_delay=1.0, factor=3.0, max_delay=5.0)
    result = policy.run(flaky, sleep=slept.append, on_retry=lambda a, d, e: told.append((a, d, type(e).__name__)))

    assert result == "ok" and len(calls) == 4
    assert slept == [1.0, 3.0, 5.0]
    assert told == [(1, 1.0, "ConnectionError"), (2, 3.0, "ConnectionError"), (3, 5.0, "ConnectionError")]


def test_retry_policy__still_failing__raises_the_last_error_after_every_attempt():
    calls = []

    def down():
        calls.append(1)
        raise requests.exceptions.ReadTimeout(f"timeout {len(calls)}")

    with pytest.raises(requests.exceptions.ReadTimeout, match="timeout 3"):
        RetryPolicy(attempts=3, base_delay=0).run(down, sleep=lambda _: None)
    assert len(calls) == 3


def test_retry_policy__not_transient__raised_at_once():
    calls = []

    def reverts():
        calls.append(1)
        raise ValueError("execution reverted: rebalancer: pair cooling down")

    with pytest.raises(ValueError):
        RetryPolicy(attempts=5).run(reverts, sleep=lambda _: pytest.fail("slept"))
    assert len(calls) == 1


class Web3RPCError(Exception):  # the name web3 gives node errors
    pass


class HTTPError(Exception):
    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.response = type("Response", (), {"status_code": status})()


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (requests.exceptions.ConnectionError("refused"), True),
        (requests.exceptions.ReadTimeout("slow"), True),
        (ConnectionResetError("reset"), True),  # a builtin ConnectionError
        (TimeoutError("slow"), True),
        (HTTPError(429), True),
        (HTTPError(503), True),
        (HTTPError(400), False),
        (Web3RPCError("{'code': -32000, 'message': 'header not found'}"), True),
        (Web3RPCError("{'code': -32003, 'message': 'nonce too low'}"), False),
        (ValueError("execution reverted: vault: paused"), False),
        (KeyError("x"), False),
    ],
)
def test_transient_error__classifies_rpc_failures(exc, transient):
    assert transient_error(exc) is transient


def test_transient_error__wrapped_connection_error__seen_through_the_cause():
    try:
        try:
            raise requests.exceptions.ConnectionError("refused")
        except requests.exceptions.ConnectionError as inner:
            raise RuntimeError("provider failed") from inner
    except RuntimeError as outer:
        assert transient_error(outer)


# --- routes --------------------------------------------------------------------------------------------------


def pools(*pairs: tuple[str, str, int]) -> dict:
    found: dict = {}
    for a, b, fee in pairs:
        found.setdefault(pair_key(a, b), []).append(fee)
    return found


def test_find_route__direct_pool__one_hop():
    route = find_route(LINK, USDC, pools((LINK, USDC, 3000)), hubs=[USDC])
    assert route == Route((LINK, USDC), (3000,))
    assert route.encode() == v3_route([LINK, USDC], [3000])


def test_find_route__no_direct_pool__two_hops_through_the_stablecoin():
    local_market = pools((WETH, USDC, 3000), (LINK, USDC, 3000), (UNI, USDC, 3000))
    route = find_route(LINK, WETH, local_market, hubs=[USDC])
    assert route == Route((LINK, USDC, WETH), (3000, 3000))
    assert route.hops == 2
    assert route.fee_bps == pytest.approx(59.91)  # 1 - 0.997**2


def test_find_route__several_tiers__the_preferred_one_and_case_insensitive():
    market = pools((WETH, USDC, 500), (WETH, USDC, 3000))
    assert find_route(WETH.upper().replace("0X", "0x"), USDC, market).fees == (3000,)
    assert find_route(WETH, USDC, pools((WETH, USDC, 500), (WETH, USDC, 10000))).fees == (500,)


def test_find_route__first_hub_pooled_with_both_sides__wins():
    market = pools((LINK, WETH, 3000), (UNI, WETH, 3000), (LINK, DAI, 500), (UNI, DAI, 500))
    assert find_route(LINK, UNI, market, hubs=[USDC, DAI, WETH]).tokens == (LINK, DAI, UNI)


def test_find_route__no_pools__none_and_same_token__none():
    assert find_route(LINK, UNI, pools((LINK, USDC, 3000)), hubs=[USDC]) is None
    assert find_route(LINK, LINK, pools((LINK, USDC, 3000))) is None


def test_route__describe__names_the_hops():
    route = Route((LINK, USDC, WETH), (3000, 500))
    assert route.describe({LINK: "LINK", USDC: "USDC", WETH: "WETH"}) == "LINK -(0.3%)-> USDC -(0.05%)-> WETH"


# --- gas and auctions ----------------------------------------------------------------------------------------


def test_fee_caps__no_cap__twice_the_base_fee_plus_the_tip():
    assert fee_caps(10 * GWEI, 2 * GWEI, None) == (22 * GWEI, 2 * GWEI)


def test_fee_caps__cap_below_twice_the_base__max_fee_is_the_cap():
    assert fee_caps(10 * GWEI, 2 * GWEI, 15 * GWEI) == (15 * GWEI, 2 * GWEI)


def test_fee_caps__next_block_above_the_cap__wait():
    assert fee_caps(14 * GWEI, 2 * GWEI, 15 * GWEI) is None


@given(st.integers(0, 10**12), st.integers(0, 10**11), st.integers(0, 10**12))
def test_fee_caps__never_pays_above_the_cap(base, tip, cap):
    caps = fee_caps(base, tip, cap)
    if caps is None:
        assert base + tip > cap
    else:
        max_fee, priority = caps
        assert max_fee <= cap and priority == tip and max_fee >= base + tip


def test_gas_usd__700k_gas_at_10_gwei_and_2000_dollars__14_dollars():
    assert gas_usd(700_000, 10 * GWEI, 2_000 * WAD) == 14 * WAD


def test_auction_buy_in__rounds_up_as_the_contract():
    assert auction_buy_in(10**18, 5) == 5
    assert auction_buy_in(1, 5) == 1  # 5e-18 rounded up
    assert auction_buy_in(3 * 10**6, 10**30) == 3 * 10**18


def test_fill_profit__resale_above_the_price__profit_less_gas():
    # pay 1.00 WETH, the pool pays 1.01 WETH for the lot; WETH at $2,000; gas $5
    profit = fill_profit(10**18, 101 * 10**16, 2_000 * WAD, 10**18, 5 * WAD)
    assert profit == 15 * WAD


def test_fill_profit__resale_below_the_price__negative():
    assert fill_profit(10**18, 99 * 10**16, 2_000 * WAD, 10**18, 0) == -20 * WAD


# --- events and metrics ----------------------------------------------------------------------------------------


def test_event_log__json__one_object_per_line_that_parses():
    stream = io.StringIO()
    log = EventLog("json", stream=stream, clock=lambda: 1_700_000_000.0)
    log.log_event("sent", tx="0xabc", nonce=7, amount_in=10**30, route=b"\x01\x02", limited_by={"size", "period"})
    log("wait", reason="vault paused", kind="paused")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "ts": "2023-11-14T22:13:20.000+00:00",
        "event": "sent",
        "tx": "0xabc",
        "nonce": 7,
        "amount_in": 10**30,  # exact, not a float
        "route": "0x0102",
        "limited_by": ["period", "size"],
    }
    assert second["event"] == "wait" and second["reason"] == "vault paused" and second["kind"] == "paused"


def test_event_log__text__waits_read_waiting_colon_reason():
    line = format_event("wait", {"reason": "vault paused", "kind": "paused"}, "text", now=0)
    assert line == "1970-01-01T00:00:00.000+00:00 waiting: vault paused kind=paused"


def test_event_log__text__key_values_quoted_when_spaced_and_none_left_out():
    line = format_event("skip", {"reason": "rebalancer: pair cooling down", "sell": "LINK", "x": None}, now=0)
    assert line.endswith('skip reason="rebalancer: pair cooling down" sell=LINK')


def test_event_log__unknown_format__refused():
    with pytest.raises(ValueError):
        EventLog("yaml")


def test_metrics__summary__counts_gas_and_waits():
    metrics = Metrics(started=100.0)
    metrics.rounds, metrics.trades_sent, metrics.trades_mined, metrics.retries = 3, 2, 2, 4
    metrics.add_receipt(700_000, 2 * GWEI)
    metrics.add_receipt(600_000, GWEI)
    metrics.wait("paused")
    metrics.wait("paused")
    metrics.wait("prices")

    summary = metrics.summary(now=160.0)

    assert summary["gas_used"] == 1_300_000
    assert summary["gas_cost_eth"] == "0.002000"
    assert summary["waits"] == {"paused": 2, "prices": 1}
    assert summary["seconds"] == 60.0 and summary["retries"] == 4
    json.dumps(summary)  # JSON-able as it is
    text = metrics.format_summary(now=160.0)
    assert (
        "trades mined    2" in text
        and "gas used        1,300,000" in text
        and "waits           paused 2, prices 1" in text
    )
