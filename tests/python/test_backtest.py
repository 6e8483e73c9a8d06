"""Backtests on the real panel: outputs, tracking error, costs, schedules, determinism; and the analytics."""

import csv
import json
import math
from pathlib import Path

import pytest

from index_vault.methodology.analytics import (
    annualised_volatility,
    correlation_matrix,
    covariance_matrix,
    max_drawdown,
    risk_contributions,
    stress_days,
    write_backtest,
)
from index_vault.methodology.backtest import CostModel, Schedule, run_backtest
from index_vault.methodology.history import History, MethodologyError, load_history
from index_vault.methodology.weights import Methodology

ROOT = Path(__file__).resolve().parents[2]
FIVE = ("BTC", "ETH", "LINK", "UNI", "AAVE")
START, END = "2022-03-01", "2022-04-29"  # 60 days
SUMMARY_KEYS = {
    "start",
    "end",
    "method",
    "tracking_error_annual",
    "tracking_difference_annual",
    "turnover_annual",
    "costs_usd",
    "rebalances",
}


@pytest.fixture(scope="module")
def history() -> History:
    return load_history(ROOT / "data")


@pytest.fixture(scope="module")
def capped() -> Methodology:
    return Methodology("capped-market-cap", assets=FIVE, cap=None)


def test_write_backtest__60_days_5_assets__writes_every_file_with_required_keys(history, capped, tmp_path):
    result = run_backtest(history, capped, START, END, Schedule.parse("monthly"))

    written = write_backtest(result, tmp_path / "out")

    names = {p.name for p in written}
    assert names == {"summary.json", "levels.csv", "weights.csv", "report.md", "levels.png", "weights.png", "drift.png"}
    assert all(p.stat().st_size > 0 for p in written)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert (summary["start"], summary["end"], summary["method"]) == (START, END, "capped-market-cap")
    rows = list(csv.reader((tmp_path / "out" / "levels.csv").read_text().splitlines()))
    assert rows[0] == ["date", "ideal", "tracked"] and len(rows) == 61
    assert float(rows[1][1]) == float(rows[1][2]) == 100.0
    report = (tmp_path / "out" / "report.md").read_text()
    for heading in ("## Summary", "## Constituents", "## Correlations", "## Stress", "max drawdown", "volatility"):
        assert heading in report


def test_run_backtest__daily_rebalance_without_costs__zero_tracking_error(history, capped):
    result = run_backtest(history, capped, START, END, Schedule.parse("daily"), CostModel(enabled=False))
    summary = result.summary()

    assert summary["tracking_error_annual"] < 1e-12
    assert abs(summary["tracking_difference_annual"]) < 1e-12
    assert summary["costs_usd"] == 0
    assert summary["rebalances"] == 59


def test_run_backtest__monthly_with_costs__pays_positive_costs(history, capped):
    summary = run_backtest(history, capped, START, END, Schedule.parse("monthly")).summary()

    assert summary["rebalances"] == 1  # 2022-04-01
    assert summary["costs_usd"] > 0 and summary["gas_usd"] > 0 and summary["slippage_usd"] > 0
    assert summary["tracking_error_annual"] > 0
    assert summary["turnover_annual"] > 0


def test_run_backtest__same_inputs__deterministic(history):
    methodology = Methodology("liquidity", top=4)

    def run() -> tuple:
        result = run_backtest(history, methodology, "2021-06-01", "2021-07-30", Schedule.parse("drift:200"))
        return result.summary(), result.tracked, result.weights

    assert run() == run()


def test_run_backtest__with_costs__tracked_falls_short_by_exactly_the_costs(history, capped):
    free = run_backtest(history, capped, START, END, Schedule.parse("monthly"), CostModel(enabled=False))
    paid = run_backtest(history, capped, START, END, Schedule.parse("monthly"))

    assert paid.ideal == free.ideal
    day = paid.dates.index("2022-04-01")  # the one rebalance: same holdings before it, same weights after it
    assert paid.tracked[:day] == free.tracked[:day]
    cost_points = paid.summary()["costs_usd"] / (paid.nav_usd / 100)
    assert free.tracked[day] - paid.tracked[day] == pytest.approx(cost_points, rel=1e-9)
    growth = paid.tracked[-1] / paid.tracked[day]
    assert free.tracked[-1] - paid.tracked[-1] == pytest.approx(cost_points * growth, rel=1e-9)


def test_run_backtest__drift_threshold__rebalances_only_when_exceeded(history, capped):
    never = run_backtest(history, capped, START, END, Schedule.parse("drift:10000"))
    often = run_backtest(history, capped, START, END, Schedule.parse("drift:50"))

    assert never.rebalance_dates == [] and never.summary()["costs_usd"] == 0
    assert often.rebalance_dates
    drift_on = dict(zip(often.dates, often.drift, strict=True))
    assert all(drift_on[d] > 0.005 for d in often.rebalance_dates)


def test_run_backtest__top_n__sells_assets_that_leave(history):
    result = run_backtest(
        history, Methodology("market-cap", top=6), "2021-04-01", "2021-08-31", Schedule.parse("monthly")
    )

    assert set(result.assets) > set(result.targets[0])  # the universe changed within the window
    for weights, target in zip(result.weights, result.targets, strict=True):
        assert math.isclose(sum(weights.values()), 1.0, rel_tol=1e-12)
        assert math.isclose(sum(target.values()), 1.0, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("start", "end", "param", "message"),
    [
        ("2022-12-31", "2023-12-31", "end", "no data for 2023-12-31: .* covers 2021-01-01..2022-12-31"),
        ("2022-03-01", "2022-03-01", "start", "empty window"),
        ("2022-04-01", "2022-03-01", "start", "empty window"),
        ("2020-06-01", "2021-06-01", "start", "no data for 2020-06-01"),
        ("yesterday", "2021-06-01", "start", "not a date"),
    ],
)
def test_run_backtest__bad_window__raises_naming_the_option(history, capped, start, end, param, message):
    with pytest.raises(MethodologyError, match=message) as caught:
        run_backtest(history, capped, start, end, Schedule.parse("monthly"))
    assert caught.value.param == param


def test_run_backtest__unknown_symbol__raises(history):
    with pytest.raises(MethodologyError, match="unknown symbol SOL"):
        run_backtest(history, Methodology("equal", assets=("BTC", "SOL")), START, END, Schedule.parse("monthly"))


@pytest.mark.parametrize("text", ["hourly", "drift:", "drift:-5", "drift:abc"])
def test_schedule_parse__bad_text__raises(text):
    with pytest.raises(MethodologyError, match="unknown schedule"):
        Schedule.parse(text)


@pytest.mark.parametrize(
    ("text", "previous", "today", "due"),
    [
        ("monthly", "2022-03-31", "2022-04-01", True),
        ("monthly", "2022-04-01", "2022-04-02", False),
        ("quarterly", "2022-03-31", "2022-04-01", True),
        ("quarterly", "2022-04-30", "2022-05-01", False),
        ("weekly", "2022-04-03", "2022-04-04", True),  # Sunday to Monday
        ("weekly", "2022-04-04", "2022-04-05", False),
        ("daily", "2022-04-04", "2022-04-05", True),
    ],
)
def test_schedule_due__calendar_rules__first_day_of_period(text, previous, today, due):
    assert Schedule.parse(text).due(previous, today, 0.0) is due


def test_cost_model__constant_product__matches_formula():
    free_of_fee = CostModel(fee_bps=0)

    assert free_of_fee.swap_cost_usd(1_000_000, 1_000_000) == pytest.approx(500_000)  # x^2 / (D + x)
    net = 1_000 * 0.997  # the 0.3% fee, then the price impact of what is left
    assert CostModel().swap_cost_usd(1_000, 50_000_000) == pytest.approx(1_000 - 50e6 * net / (50e6 + net))
    assert CostModel(enabled=False).swap_cost_usd(1_000_000, 1_000) == 0
    assert CostModel(gwei=20, gas_per_trade=700_000).gas_usd(3_000) == pytest.approx(42.0)


def test_cost_model__negative_gwei__raises():
    with pytest.raises(MethodologyError, match="costs"):
        CostModel(gwei=-1)


# --- analytics ------------------------------------------------------------------------------------------------


def test_max_drawdown__peak_then_trough__fraction_of_peak():
    assert max_drawdown([100, 120, 60, 90, 130, 65]) == pytest.approx(0.5)
    assert max_drawdown([100, 101, 102]) == 0


def test_annualised_volatility__alternating_returns__scaled_by_sqrt_365():
    returns = [0.01, -0.01] * 50

    assert annualised_volatility(returns) == pytest.approx(0.01 * math.sqrt(100 / 99) * math.sqrt(365))


def test_risk_contributions__two_assets__sum_to_one_and_follow_variance():
    returns = {"A": [0.02, -0.02, 0.01, -0.01], "B": [0.01, -0.01, 0.005, -0.005]}
    contributions = risk_contributions({"A": 0.5, "B": 0.5}, covariance_matrix(returns))

    assert sum(contributions.values()) == pytest.approx(1)
    assert contributions["A"] == pytest.approx(2 / 3)  # B moves half as much, perfectly correlated


def test_correlation_matrix__missing_days__pairwise_and_nan_when_too_few():
    returns = {"A": [0.01, 0.02, -0.01, None], "B": [0.02, 0.04, -0.02, 0.1], "C": [None, None, 0.01, 0.02]}
    matrix = correlation_matrix(returns)

    assert matrix["A", "B"] == pytest.approx(1)
    assert math.isnan(matrix["A", "C"])


def test_stress_days__worst_decile__lowest_returns_first():
    returns = [0.01 * k for k in range(-5, 15)]

    assert stress_days(returns) == [0, 1]
    assert stress_days(returns, both=True) == [19, 18]
