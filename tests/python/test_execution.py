"""The execution policy: the cost-aware no-trade band, spreading within an impact budget, the auction, naive."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.common.artifacts import project_root
from index_vault.common.units import WAD
from index_vault.keeper.execution import (
    DEFAULT,
    NAIVE,
    ExecutionPolicy,
    decide_all,
    impact_usd,
    keeper_settings,
    state_gaps_usd,
)
from index_vault.keeper.planner import LIMIT_IMPACT, KeeperSettings, Market, plan
from index_vault.keeper.rules import Constituent, Limits, RebalancerState
from index_vault.methodology.backtest import CostModel, Schedule, run_backtest
from index_vault.methodology.history import History, load_history
from index_vault.methodology.weights import Methodology

DEFI10 = ("UNI", "AAVE", "MKR", "LDO", "SNX", "COMP", "YFI", "SUSHI", "BAL", "1INCH")

gaps = st.floats(min_value=-5e7, max_value=5e7, allow_nan=False).filter(lambda g: abs(g) > 1)
depths = st.floats(min_value=1e4, max_value=1e9)
navs = st.floats(min_value=1e5, max_value=1e9)
variances = st.floats(min_value=0, max_value=1)
gas = st.floats(min_value=0, max_value=1e3)


@pytest.fixture(scope="module")
def history() -> History:
    return load_history(project_root() / "data")


def test_max_slice_usd__constant_product__impact_meets_the_budget_exactly():
    policy = ExecutionPolicy(impact_budget_bps=25)
    depth = 2_000_000.0

    x = policy.max_slice_usd(depth)

    assert impact_usd(x, depth) / x == pytest.approx(25 / 10_000)


@given(gap=gaps, nav=navs, depth=depths, variance=variances, fixed=gas, last_day=st.booleans())
def test_decide__any_state__slice_within_the_impact_budget_before_the_last_day(
    gap, nav, depth, variance, fixed, last_day
):
    decision = DEFAULT.decide(gap, nav, depth, variance, fixed, 30, last_day)

    pool = abs(decision.pool_usd)
    assert pool <= abs(gap) * (1 + 1e-12) and decision.auction_usd == 0  # every name here has a pool
    assert pool == 0 or math.copysign(1, decision.pool_usd) == math.copysign(1, gap)
    if not last_day:  # the last day trades what is left whole
        assert impact_usd(pool, depth) <= pool * DEFAULT.impact_budget_bps / 10_000 * (1 + 1e-9)


@given(gap=gaps, nav=navs, depth=depths, variance=variances, fixed=gas, last_day=st.booleans())
def test_decide__any_state__no_gap_wider_than_the_band_left_untraded(gap, nav, depth, variance, fixed, last_day):
    decision = DEFAULT.decide(gap, nav, depth, variance, fixed, 30, last_day)

    if decision.reason == "band":
        assert abs(gap) / nav <= DEFAULT.max_band
    if abs(gap) / nav > DEFAULT.max_band:
        assert decision.traded_usd != 0


def test_decide__small_gap_costly_to_close__left_in_the_band():
    # 0.5% of $1M when a trade costs $10 of gas and 0.3%: worth 10 * 0.005**2 * 0.03 = 0.75e-5 < 2.5e-5 of NAV
    decision = DEFAULT.decide(5_000, 1_000_000, 50_000_000, 0.03, 10, 30, False)

    assert (decision.reason, decision.traded_usd) == ("band", 0.0)
    assert DEFAULT.decide(5_000, 1_000_000, 50_000_000, 0.3, 10, 30, False).reason == "whole"  # ten times the risk


def test_decide__large_gap_thin_pool__slices_then_trades_the_rest_on_the_last_day():
    depth, gap = 1_000_000.0, -200_000.0
    cap = DEFAULT.max_slice_usd(depth)

    today = DEFAULT.decide(gap, 10_000_000, depth, 0.05, 10, 30, last_day=False)
    last = DEFAULT.decide(gap, 10_000_000, depth, 0.05, 10, 30, last_day=True)

    assert (today.reason, today.pool_usd, today.auction_usd) == ("slice", -cap, 0.0)
    assert (last.reason, last.pool_usd, last.auction_usd) == ("whole", gap, 0.0)


def test_worth_trading__free_trade_no_tracking_risk__trades():
    assert DEFAULT.worth_trading(0.001, 0.0, 0.0)
    assert not DEFAULT.worth_trading(0.001, 0.0, 1e-9)


def test_decide__no_pool__the_auction():
    decision = DEFAULT.decide(-200_000.0, 10_000_000, 0.0, 0.05, 10, 30, last_day=False)

    assert (decision.reason, decision.pool_usd, decision.auction_usd) == ("auction", 0.0, -200_000.0)


def test_decide__naive__trades_every_gap_whole():
    assert NAIVE.decide(123.0, 1e6, 1.0, 0.0, 1e9, 30, False).pool_usd == 123.0


def test_execution_policy__bad_parameters__raise():
    with pytest.raises(ValueError, match=r"band within 0\.\.1"):
        ExecutionPolicy(max_band=2)
    with pytest.raises(ValueError, match="impact budget"):
        ExecutionPolicy(window_days=0)


@pytest.mark.parametrize("nav", [1e6, 1e7])
def test_run_backtest__defi_tokens_2022__default_execution_costs_at_most_half_of_naive(history, nav):
    method = Methodology("capped-market-cap", assets=DEFI10, cap=0.25)
    costs = CostModel(liquidity="base")
    runs = {
        p.name: run_backtest(
            history, method, "2022-01-01", "2022-12-31", Schedule.parse("monthly"), costs, nav, None, p
        )
        for p in (NAIVE, DEFAULT)
    }
    naive, default = runs["naive"].summary(), runs["default"].summary()

    assert default["costs_usd"] <= naive["costs_usd"] / 2
    assert default["tracking_error_annual"] <= naive["tracking_error_annual"] + 0.01
    assert default["execution"]["name"] == "default" and default["trades"] < naive["trades"]


def test_run_backtest__default_execution_without_costs__reaches_the_targets_like_naive(history):
    method = Methodology("equal", assets=("BTC", "ETH", "LINK"))
    args = (history, method, "2022-03-01", "2022-05-31", Schedule.parse("monthly"), CostModel(enabled=False), 1e6, None)

    naive, default = run_backtest(*args, NAIVE), run_backtest(*args, DEFAULT)

    # free trades are always worth it: the same index, day by day
    assert default.tracked == pytest.approx(naive.tracked, rel=1e-9)


# --- the keeper decides as the backtest does ---------------------------------------------------------------

# NAV $1M at $1 a token: A holds $500k (target 30%), B $200k (30%), C $296k (30%), D $4k (10%).
PORTFOLIO = {"A": (500_000, 3), "B": (200_000, 3), "C": (296_000, 3), "D": (4_000, 1)}
DEPTHS = {"A": 1e6, "B": 2e7, "C": 1e7}  # D has no pool
VARIANCES = dict.fromkeys(PORTFOLIO, 0.01)


def _keeper_state() -> RebalancerState:
    constituents = tuple(
        Constituent(a, a, usd * WAD, WAD, 18, tenths * 10**17) for a, (usd, tenths) in PORTFOLIO.items()
    )
    limits = Limits(max_trade_bps=10_000, period_cap_bps=10_000, cooldown=0)
    return RebalancerState(constituents, limits=limits, now=1_700_000_000).started()


def test_keeper_settings__same_portfolio__the_backtests_decisions():
    state = _keeper_state()
    nav = sum(usd for usd, _ in PORTFOLIO.values())
    backtest_gaps = {a: tenths / 10 * nav - usd for a, (usd, tenths) in PORTFOLIO.items()}  # goal x value - held
    keeper_gaps, keeper_nav = state_gaps_usd(state)

    settings, decisions = keeper_settings(DEFAULT, state, KeeperSettings(), DEPTHS, VARIANCES, 20.0, 30.0, False)
    backtest = decide_all(DEFAULT, backtest_gaps, nav, DEPTHS, VARIANCES, 20.0, 30.0, False)

    assert keeper_nav == pytest.approx(nav, rel=1e-12)
    assert keeper_gaps == pytest.approx(backtest_gaps, rel=1e-9, abs=1e-6)
    assert {a: d.reason for a, d in decisions.items()} == {a: d.reason for a, d in backtest.items()}
    assert {a: d.reason for a, d in decisions.items()} == {"A": "slice", "B": "slice", "C": "band", "D": "auction"}
    for asset, decision in decisions.items():
        assert decision.pool_usd == pytest.approx(backtest[asset].pool_usd, rel=1e-9)
    assert settings.caps == {
        "A": int(DEFAULT.max_slice_usd(1e6) * WAD),
        "B": int(DEFAULT.max_slice_usd(2e7) * WAD),
        "C": 0,
        "D": 0,
    }


def test_plan__execution_caps__no_asset_trades_past_its_slice_and_band_or_auction_names_not_at_all():
    state = _keeper_state()
    settings, _ = keeper_settings(DEFAULT, state, KeeperSettings(), DEPTHS, VARIANCES, 20.0, 30.0, False)

    result = plan(state, settings, Market(expected_slippage_bps=0))

    traded: dict[str, int] = {}
    for trade in result.trades:
        for asset in (trade.sell, trade.buy):
            traded[asset] = traded.get(asset, 0) + trade.value_usd
    assert set(traded) == {"A", "B"}  # C is inside its cost-aware band, D goes to the auction
    assert all(traded[a] <= settings.caps[a] for a in traded)
    assert traded["A"] >= settings.caps["A"] - settings.min_trade_usd  # the slice is used, not wasted
    assert LIMIT_IMPACT in result.limited_by
    # naive execution leaves the planner as it was: every gap at once
    naive, decided = keeper_settings(NAIVE, state, KeeperSettings(), DEPTHS, VARIANCES, 20.0, 30.0, False)
    assert naive == KeeperSettings() and decided == {}
