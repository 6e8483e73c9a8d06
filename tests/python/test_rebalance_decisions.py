"""The keeper's start / refresh / reuse decision (`index_vault.keeper.rebalance`), on the contract's rules."""

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index_vault.common.units import BPS, WAD
from index_vault.keeper.planner import KeeperSettings, Market
from index_vault.keeper.rebalance import (
    IDLE,
    START,
    TRADE,
    SnapshotGas,
    decide,
    fresh_state,
    stale,
    targets_moved,
    with_prices,
)
from index_vault.keeper.rules import Constituent, Limits, RebalancerState, check_trade
from tests.conftest import fuzz_examples

NOW = 1_700_000_000
LIMITS = Limits(max_trade_bps=BPS, period_cap_bps=BPS, cooldown=0)
KEEPER = KeeperSettings(band=10**16, min_trade_usd=WAD, slippage_bps=50)
EXACT = Market(expected_slippage_bps=0)
GAS = SnapshotGas(start=450_000, refresh=150_000)


def usd(x: float) -> int:
    return int(x * WAD)


def basket(holdings=(500, 300, 200), targets=(WAD // 2, 3 * WAD // 10, WAD // 5), prices=(1, 1, 1)) -> RebalancerState:
    """Three 18-decimal tokens A, B, C: `holdings` in whole tokens, not started."""
    cs = tuple(
        Constituent(s, s, h * WAD, usd(p), 18, t) for s, h, t, p in zip("ABC", holdings, targets, prices, strict=True)
    )
    return RebalancerState(cs, LIMITS, NOW, supply=10 * WAD)


def later(state: RebalancerState, seconds: int, holdings=None, targets=None) -> RebalancerState:
    parts = tuple(
        replace(
            c,
            holding=c.holding if holdings is None else holdings[i] * WAD,
            target=c.target if targets is None else targets[i],
        )
        for i, c in enumerate(state.constituents)
    )
    return replace(state, constituents=parts, now=state.now + seconds)


def prices_of(state: RebalancerState, *usd_prices: float) -> list[int]:
    return [usd(p) for p in usd_prices] if usd_prices else [c.price for c in state.constituents]


def test_decide__no_rebalance_started__starts_when_off_target_else_idles():
    off = basket(holdings=(600, 250, 150))
    on = basket()

    assert decide(off, prices_of(off), KEEPER, EXACT, GAS).action == START
    assert decide(on, prices_of(on), KEEPER, EXACT, GAS).action == IDLE


def test_decide__snapshot_current_and_off_its_targets__trades_with_nothing_to_send_first():
    started = basket().started()
    drifted = later(started, 60, holdings=(560, 260, 180))

    decision = decide(drifted, prices_of(drifted), KEEPER, EXACT, GAS)

    assert decision.action == TRADE and decision.refresh == ()
    assert {(t.sell, t.buy) for t in decision.plan} == {("A", "B"), ("A", "C")}


def test_decide__targets_unchanged_a_day_later__reuses_the_snapshot_and_refreshes_the_legs():
    started = basket().started()
    drifted = later(started, 86_400, holdings=(560, 240, 200))  # A over, B under; C on target

    decision = decide(drifted, prices_of(drifted), KEEPER, EXACT, GAS)

    assert decision.action == TRADE and decision.refresh == ("A", "B")  # C is not traded: not refreshed
    # the plan passes the contract's rule once the legs are refreshed at the oracle's prices
    refreshed = with_prices(drifted, prices_of(drifted), [0, 1])
    assert all(check_trade(refreshed, t) is None for t in decision.plan)
    # but not on the stale snapshot
    assert check_trade(drifted, decision.plan.trades[0]) == "rebalancer: stale snapshot"


def test_decide__refreshes_dearer_than_a_start__starts():
    started = basket().started()
    drifted = later(started, 86_400, holdings=(560, 240, 200))

    decision = decide(drifted, prices_of(drifted), KEEPER, EXACT, SnapshotGas(start=250_000, refresh=150_000))

    assert decision.action == START and "refreshes cost more" in decision.reason


def test_decide__target_weights_changed_past_the_band__starts_and_names_them():
    started = basket().started()
    retargeted = later(started, 600, targets=(45 * WAD // 100, 35 * WAD // 100, WAD // 5))

    decision = decide(retargeted, prices_of(retargeted), KEEPER, EXACT, GAS)

    assert decision.action == START and decision.moved == ("A", "B")
    fresh = fresh_state(retargeted, prices_of(retargeted))
    assert all(check_trade(fresh, t) is None for t in decision.plan)


def test_decide__target_weights_changed_within_the_band__reuses_or_idles():
    started = basket().started()
    nudged = later(started, 86_400, targets=(WAD // 2 - 4 * 10**15, 3 * WAD // 10 + 4 * 10**15, WAD // 5))

    assert targets_moved(nudged, fresh_state(nudged, prices_of(nudged)), KEEPER.band) == []
    assert decide(nudged, prices_of(nudged), KEEPER, EXACT, GAS).action == IDLE  # holdings inside the band


def test_decide__prices_moved_far_with_weights_unchanged__starts():
    started = basket().started()
    moved = later(started, 86_400)

    decision = decide(moved, prices_of(moved, 1.2, 1, 1), KEEPER, EXACT, GAS)  # A up 20%: 54.5% of NAV

    assert decision.action == START and decision.moved


def test_stale__margin_counts_the_time_a_trade_takes_to_land():
    started = basket().started()
    almost = later(started, 3_500)

    assert stale(almost) == [] and stale(almost, margin=120) == [0, 1, 2]


# --- properties ------------------------------------------------------------------------------------------------


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 6))
    raw = [draw(st.integers(1, 100)) for _ in range(n)]
    targets = [x * WAD // sum(raw) for x in raw]
    targets[0] += WAD - sum(targets)
    prices = [draw(st.integers(10**17, 10**22)) for _ in range(n)]
    holdings = [draw(st.integers(10**18, 10**24)) * WAD // p for p in prices]
    cs = tuple(
        Constituent(f"T{i}", f"T{i}", h, p, 18, t)
        for i, (h, p, t) in enumerate(zip(holdings, prices, targets, strict=True))
    )
    state = RebalancerState(cs, LIMITS, NOW, supply=draw(st.integers(WAD, 10**24)))
    if draw(st.booleans()):
        state = state.started()
        moves = [draw(st.integers(90, 110)) for _ in range(n)]
        prices = [p * m // 100 for p, m in zip(prices, moves, strict=True)]
        state = later(state, draw(st.sampled_from([60, 3_000, 86_400])))
    band = draw(st.sampled_from([5 * 10**15, 10**16, 3 * 10**16]))
    return state, prices, KeeperSettings(band=band, min_trade_usd=WAD, slippage_bps=50)


@settings(max_examples=fuzz_examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_decide__any_state__the_plan_passes_the_contract_once_the_start_or_refreshes_land(scenario):
    state, prices, keeper = scenario

    decision = decide(state, prices, keeper, EXACT, GAS, trade_band=5 * 10**15)

    if decision.action == IDLE:
        return
    if decision.action == START:
        after = fresh_state(state, prices)
    else:
        late = [i for i, c in enumerate(state.constituents) if c.address in decision.refresh]
        after = with_prices(state, prices, late)
        assert set(decision.refresh) <= {state.constituents[i].address for i in stale(state)}
    for trade in decision.plan:
        assert check_trade(after, trade) is None
        after = after.apply(trade)
