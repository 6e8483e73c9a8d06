"""The dashboard's pure parts: premium and discount by sign, the pool price, wording, the NAV history rebuilt from
changes, the view model, and the server's routes and static files over a fake backend (no chain)."""

import json
import urllib.error
import urllib.request

import pytest

from index_vault.dashboard.history import DAY, Change, Dex, Feed, nav_history, sample_times
from index_vault.dashboard.model import (
    RawConstituent,
    RawView,
    build_view,
    duration_text,
    oracle_status,
    premium,
    v3_price,
)
from index_vault.dashboard.server import Dashboard, UserError

WAD = 10**18
AGG_A, AGG_B = "0x" + "aa" * 20, "0x" + "bb" * 20


def test_premium__dex_over_nav__is_a_premium_with_a_plus_sign():
    assert premium(101 * WAD, 100 * WAD) == {"bps_x100": 10_000, "label": "premium", "text": "+1.00% premium"}


def test_premium__dex_under_nav__is_a_discount_with_a_minus_sign():
    result = premium(995 * WAD // 10, 100 * WAD)
    assert result["label"] == "discount" and result["text"] == "-0.50% discount" and result["bps_x100"] == -5_000


def test_premium__a_hair_under_nav__is_a_discount_never_a_premium():
    result = premium(100 * WAD - 1, 100 * WAD)
    assert result["label"] == "discount" and result["bps_x100"] == 0  # rounded toward zero, labelled by sign


def test_premium__a_hair_either_side__the_text_signed_as_the_difference():
    assert premium(100 * WAD - 1, 100 * WAD)["text"] == "-0.00% discount"
    assert premium(100 * WAD + 1, 100 * WAD)["text"] == "+0.00% premium"


def test_premium__equal__reads_at_nav():
    assert premium(100 * WAD, 100 * WAD)["text"] == "at NAV"


def test_premium__nav_zero__refused():
    with pytest.raises(ValueError, match="positive"):
        premium(WAD, 0)


def test_v3_price__token0_with_other_decimals__prices_in_the_quote():
    # 1 index token (18 decimals) = 2,500 USDC (6 decimals): token1 base units per token0 base unit = 2.5e-9
    sqrt = int((2_500 * 10**6 / 10**18) ** 0.5 * 2**96)
    assert abs(v3_price(sqrt, True, 18, 6) - 2_500 * WAD) < WAD // 10**6
    # the same pool seen with the index token as token1: its price is the inverse ratio
    sqrt_inverse = int((10**18 / (2_500 * 10**6)) ** 0.5 * 2**96)
    assert abs(v3_price(sqrt_inverse, False, 18, 6) - 2_500 * WAD) < WAD // 10**6


def test_oracle_status__each_code__has_words_and_unknown_says_so():
    assert oracle_status(0)[0] == "ok" and oracle_status(5)[0] == "stale"
    assert oracle_status(6)[0] == "clamped" and oracle_status(11)[0] == "disputed"
    assert "does not know" in oracle_status(99)[1]


def test_duration_text__spans__two_units_at_most():
    assert [duration_text(s) for s in (40, 725, 4 * 3600 + 600, 2 * DAY + 3 * 3600, -5)] == [
        "40s",
        "12m 5s",
        "4h 10m",
        "2d 3h",
        "0s",
    ]


def test_sample_times__window_longer_than_history__starts_at_the_first_day():
    assert sample_times(10 * DAY, 90, 7 * DAY + 5) == [8 * DAY, 9 * DAY, 10 * DAY]


def _changes() -> list[Change]:
    return [
        Change(1, 0, 0, "answer", 100 * 10**8, aggregator=AGG_A),  # A $100
        Change(1, 1, 0, "answer", 2 * 10**8, aggregator=AGG_B),  # B $2
        Change(2, 0, 10, "supply", 2 * WAD),
        Change(2, 1, 10, "holding", 3 * WAD, index=0),  # 3 A (18 decimals)
        Change(2, 2, 10, "holding", 50 * 10**6, index=1),  # 50 B (6 decimals)
        Change(3, 0, DAY, "answer", 110 * 10**8, aggregator=AGG_A),
        Change(4, 0, DAY + 5, "holding", -1 * WAD, index=0),
        Change(4, 1, DAY + 5, "supply", -WAD // 2),
    ]


FEEDS = [Feed(AGG_A, 8, 18, 2 * DAY), Feed(AGG_B, 8, 6, 2 * DAY)]


def test_nav_history__mints_answers_and_burns__values_holdings_at_the_feeds_over_the_supply():
    points = nav_history(_changes(), FEEDS, [5, 10, DAY, DAY + 5])
    assert points[0].nav_per_share is None and points[0].note == "no shares yet"
    assert points[1].nav_per_share == (300 + 100) * WAD // 2  # $400 over 2 shares
    assert points[2].nav_per_share == (330 + 100) * WAD // 2  # A's new answer
    assert points[3].nav_per_share == (220 + 100) * WAD * 2 // 3  # 1 A out, half a share burnt


def test_nav_history__routed_feed__multiplies_by_the_quote_price():
    feeds = [Feed(AGG_A, 8, 18, 2 * DAY), Feed(AGG_B, 8, 6, 2 * DAY, quote=0)]  # B priced in A
    (point,) = nav_history(_changes()[:5], feeds, [10])
    assert point.nav_per_share == (300 + 50 * 2 * 100) * WAD // 2


def test_nav_history__feed_older_than_its_heartbeat__point_kept_and_marked():
    feeds = [Feed(AGG_A, 8, 18, 60), Feed(AGG_B, 8, 6, 60)]
    (point,) = nav_history(_changes()[:5], feeds, [10 * DAY])
    assert point.nav_per_share == 200 * WAD and point.note == "2 feed(s) older than their heartbeat"


def test_nav_history__holding_without_a_price__no_point_and_why():
    changes = [c for c in _changes() if c.aggregator != AGG_B]
    (point,) = nav_history(changes, FEEDS, [10])
    assert point.nav_per_share is None and point.note == "a constituent had no price yet"


AGG_Q = "0x" + "cc" * 20
SQRT_100 = 2**96 // 10**5  # 1 index token (18 decimals) = 100 quote (6 decimals): 1e-10 a base unit, token0
SQRT_101 = SQRT_100 * 1_005 // 1_000  # the price times 1.010025


def _pool_changes() -> list[Change]:
    return [
        *_changes(),
        Change(0, 0, 0, "answer", 10**8 * 99 // 100, aggregator=AGG_Q),  # the quote at $0.99 (a third feed)
        Change(5, 0, DAY + 10, "pool", SQRT_100),  # Initialize
        Change(6, 3, 2 * DAY, "pool", SQRT_101),  # a swap
    ]


def test_nav_history__index_pool__its_last_price_at_each_sample_at_the_quotes_feed():
    feeds = [*FEEDS, Feed(AGG_Q, 8, 6, 60)]  # the quote is no constituent: a feed after theirs, holding nothing
    points = nav_history(_pool_changes(), feeds, [DAY + 5, DAY + 10, 2 * DAY + 1, 10 * DAY], Dex(True, 2, 6))
    assert points[0].dex_price is None  # before the pool opened
    assert points[1].dex_price == v3_price(SQRT_100, True, 18, 6) * 99 // 100
    assert abs(points[1].dex_price - 99 * WAD) < WAD // 10**6
    assert points[2].dex_price == points[3].dex_price == v3_price(SQRT_101, True, 18, 6) * 99 // 100
    assert points[1].nav_per_share == (220 + 100) * WAD * 2 // 3  # the quote's feed values nothing
    assert points[3].note == "2 feed(s) older than their heartbeat"  # not the quote's: it values nothing


def test_nav_history__no_pool__no_dex_price():
    (point,) = nav_history(_changes(), FEEDS, [DAY])
    assert point.dex_price is None


def _raw(**over) -> RawView:
    constituents = [
        RawConstituent("0xA", "AAA", 18, 3 * WAD, 0, 100 * WAD, 100 * WAD, 900, 6 * 10**17),
        RawConstituent("0xB", "BBB", 6, 50 * 10**6, 5, 0, 0, 100, 4 * 10**17),
    ]
    fields = dict(
        block=7,
        timestamp=1_000,
        chain_id=31337,
        address="0xV",
        name="Index",
        symbol="IDX",
        supply=2 * WAD,
        pending_fee=10**15,
        nav=None,
        nav_per_share=None,
        nav_error="oracle: stale",
        paused=False,
        base_asset="AAA",
        constituents=constituents,
        fee_rate=0,
        mint_bps=10,
        redeem_bps=10,
        entry_bps=20,
        exit_bps=20,
        recipient="0xR",
        recipient_balance=0,
        flow_cap_bps=1_000,
        flow_period=DAY,
        entry_used=5 * WAD,
        exit_used=0,
        entry_period_start=400,
        exit_period_start=0,
        band=5 * 10**15,
        rebalance_started=0,
    )
    return RawView(**{**fields, **over})


def test_build_view__unusable_price__words_and_no_number_for_it():
    view = build_view(_raw())
    a, b = view["constituents"]
    assert b["status"]["word"] == "stale" and b["price"] is None and b["weight"] is None
    assert a["weight"]["raw"] == str(WAD) and a["band"] == "over"  # the only priced one: 100% against 60%
    assert a["price_age"]["text"] == "1m 40s ago"
    assert view["nav"] is None and view["nav_error"] == "oracle: stale"


def test_build_view__no_pool_no_zap_no_governor__says_so_in_words():
    view = build_view(_raw())
    assert view["dex"] == {"text": "no DEX pool recorded for the index token", "price": None, "premium": None}
    assert view["zap"]["address"] is None and "no zap" in view["zap"]["text"]
    assert view["governance"]["text"] == "no Governor recorded for this network"


def test_build_view__pool_and_nav__premium_from_the_pool_price():
    view = build_view(_raw(nav=200 * WAD, nav_per_share=100 * WAD, dex={"pool": "0xP", "price": 99 * WAD}))
    assert view["dex"]["text"] == "-1.00% discount" and view["dex"]["price"]["raw"] == str(99 * WAD)


def test_build_view__pool_quote_unpriced__the_reason_and_no_premium():
    dex = {"pool": "0xP", "price": None, "quote": "DAI", "error": "the oracle cannot price DAI: oracle: stale"}
    view = build_view(_raw(nav=200 * WAD, nav_per_share=100 * WAD, dex=dex))
    assert view["dex"]["text"] == "the oracle cannot price DAI: oracle: stale" and view["dex"]["premium"] is None


def test_build_view__pool_price_in_its_quote__beside_the_usd_price():
    dex = {"pool": "0xP", "price": 101 * WAD, "quote": "DAI", "pool_price": 102 * WAD, "quote_price": 99 * WAD // 100}
    view = build_view(_raw(nav=200 * WAD, nav_per_share=100 * WAD, dex=dex))
    assert view["dex"]["pool_price"]["text"] == "102 DAI" and view["dex"]["text"] == "+1.00% premium"


def test_build_view__zap__takes_the_constituents_and_the_pools_quote():
    dex = {"pool": "0xP", "price": 101 * WAD, "quote": "DAI", "pool_price": 102 * WAD, "quote_price": WAD}
    zap = build_view(_raw(zap="0xZ", dex=dex))["zap"]
    assert zap["address"] == "0xZ" and zap["tokens"] == ["AAA", "BBB", "DAI"] and zap["default"] == "DAI"
    assert build_view(_raw(zap="0xZ"))["zap"]["default"] == "AAA"  # no pool: the base asset


def test_build_view__pending_proposals__time_left_before_and_after_the_eta():
    pending = [
        {"id": 1, "target": "0xV", "function": "f()", "eta": 1_000 + 3_700, "expires": 99_999, "proposer": "0xP"},
        {"id": 2, "target": "0xV", "function": "g()", "eta": 900, "expires": 1_000 + DAY, "proposer": "0xP"},
    ]
    view = build_view(_raw(governor="0xG", pending=pending))
    assert [p["time_left"] for p in view["governance"]["pending"]] == [
        "executable in 1h 1m",
        "executable now, expires in 1d 0h",
    ]


def test_build_view__flow_cap_used_this_period__refill_time_in_words():
    caps = build_view(_raw())["caps"]
    assert caps["text"] == "10% of NAV per 1d 0h"
    assert caps["entry"] == "5 USD used, refills in 23h 50m" and caps["exit"] == "nothing used this period"


class FakeBackend:
    """The server's backend without a chain."""

    def vaults(self):
        return [{"address": "0x" + "11" * 20, "symbol": "IDX", "source": "manifest"}]

    def view(self, vault, account):
        if vault == "bad":
            raise UserError("'bad' is not an address")
        return {"vault": vault, "account": account}

    def history(self, vault, days):
        return {"days": days}

    def prepare(self, vault, body):
        return {"echo": body}

    def replay(self, vault, tx_hash):
        raise RuntimeError("boom")

    def stats(self):
        return {"calls": 0, "round_trips": 0}


@pytest.fixture
def server():
    dashboard = Dashboard(FakeBackend()).start()
    yield dashboard.url
    dashboard.stop()


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_dashboard_server__page_and_assets__served_with_a_policy_that_forbids_other_origins(server):
    status, headers, body = _get(server)
    assert status == 200 and b'src="/static/app.js"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("app.js", "style.css", "icon.svg"):
        status, headers, body = _get(f"{server}static/{name}")
        body = body.replace(b'"http://www.w3.org/2000/svg"', b"")  # a namespace name, never fetched
        assert status == 200 and b"http://" not in body and b"https://" not in body, name
    assert _get(f"{server}static/../server.py")[0] == 404


def test_dashboard_server__api_routes__json_and_errors_in_words(server):
    assert json.loads(_get(f"{server}api/vault/0xabc?account=0xdef")[2]) == {"vault": "0xabc", "account": "0xdef"}
    assert json.loads(_get(f"{server}api/vault/0xabc/history?days=1000")[2]) == {"days": 365}
    status, _, body = _get(f"{server}api/vault/bad")
    assert status == 400 and json.loads(body) == {"error": "'bad' is not an address"}
    request = urllib.request.Request(
        f"{server}api/vault/0xabc/prepare", data=json.dumps({"action": "mint"}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"echo": {"action": "mint"}}
    request = urllib.request.Request(f"{server}api/vault/0xabc/replay", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=10)
    assert failed.value.code == 500 and json.loads(failed.value.read()) == {"error": "RuntimeError: boom"}
