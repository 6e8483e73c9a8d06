"""The execution policy: the cost-aware no-trade band, spreading within an impact budget, the auction, naive."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.common.artifacts import project_root
from index_vault.keeper.execution import DEFAULT, NAIVE, ExecutionPolicy, impact_usd
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
