"""The main job's record and report (`index_vault.replay.record`), without a chain."""

import json

import pytest

from index_vault.methodology.backtest import tracking
from index_vault.replay.record import (
    LEVEL_TOLERANCE,
    ReplayDay,
    ReplayResult,
    ReplayTrade,
    agreement,
    format_table,
    start_reason,
    write_results,
)

DATES = ["2022-11-05", "2022-11-06", "2022-11-07", "2022-11-08"]


def make_result(tracked: list[float], backtest: list[float] | None = None) -> ReplayResult:
    ideal = [100.0, 101.0, 99.0, 102.0]
    backtest = backtest or tracked
    result = ReplayResult(
        start=DATES[0],
        end=DATES[-1],
        method="equal",
        universe="BTC,ETH",
        assets=["BTC", "ETH"],
        band_bps=100,
        nav_usd=10_000.0,
        gwei=30.0,
        backtest_summary={"turnover_annual": 1.0, "costs_usd": 5.0, "rebalances": 1, "trades": 2},
    )
    for i, day in enumerate(DATES):
        result.days.append(
            ReplayDay(
                date=day,
                nav_usd=100.0 * tracked[i],
                supply=10**20,
                tracked=tracked[i],
                ideal=ideal[i],
                backtest=backtest[i],
                weights={"BTC": 0.5, "ETH": 0.5},
                targets={"BTC": 0.5, "ETH": 0.5},
                drift=0.0,
                trades=1 if i == 2 else 0,
                gas=600_000 if i == 2 else 0,
            )
        )
    result.trades.append(ReplayTrade(DATES[2], "BTC", "ETH", 200.0, 1.5, 600_000, "0xabc", "uniswap-v2"))
    return result


def test_agreement__same_levels__zero_gaps_within_tolerance():
    result = make_result([100.0, 101.0, 98.9, 101.9])

    agree = agreement(result.days)

    assert agree["max_level_gap"] == 0 and agree["tracking_error_gap"] == 0 and agree["within_tolerance"]


def test_agreement__tracked_levels_apart__reports_the_largest_gap_outside_tolerance():
    result = make_result([100.0, 101.0, 98.9, 101.9], backtest=[100.0, 101.0, 98.9, 101.9 * (1 - 2 * LEVEL_TOLERANCE)])

    agree = agreement(result.days)

    assert agree["max_level_gap"] == pytest.approx(1 / (1 - 2 * LEVEL_TOLERANCE) - 1)
    assert not agree["within_tolerance"]


def test_summary__one_trade__costs_turnover_gas_and_the_backtests_tracking():
    result = make_result([100.0, 101.0, 98.9, 101.9])

    summary = result.summary({d: 1_000.0 for d in DATES})

    assert summary["trades"] == 1 and summary["rebalances"] == 1
    assert summary["execution_cost_usd"] == 1.5
    assert summary["gas_usd"] == pytest.approx(600_000 * 30e-9 * 1_000)
    assert summary["costs_usd"] == pytest.approx(1.5 + 18.0)
    assert summary["turnover_annual"] == pytest.approx(200.0 / 10_000 / (3 / 365))
    ideal = [d.ideal for d in result.days]
    assert (
        summary["tracking_error_annual"]
        == tracking(DATES, ideal, [d.tracked for d in result.days])["tracking_error_annual"]
    )
    assert summary["backtest"]["costs_usd"] == 5.0


def test_format_table__summary__shows_both_columns_and_the_verdict():
    summary = make_result([100.0, 101.0, 98.9, 101.9]).summary({d: 1_000.0 for d in DATES})

    text = format_table(summary)

    assert "on chain" in text and "backtest" in text and "within tolerance" in text
    assert "keeper gas" in text and "DEX fees and impact" in text


def test_format_table__starts_with_reasons__counts_each_reason_most_first():
    result = make_result([100.0, 101.0, 98.9, 101.9])
    result.days[1].start_reasons = ["no rebalance started"]
    result.days[2].start_reasons = ["targets moved past the band", "targets moved past the band"]

    summary = result.summary()

    assert summary["keeper_start_reasons"] == {"targets moved past the band": 2, "no rebalance started": 1}
    assert "why it started: 2 targets moved past the band, 1 no rebalance started" in format_table(summary)


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        ("start: targets moved past the band: WBTC, LINK", "targets moved past the band"),
        ("start: the snapshot's targets no longer serve", "the snapshot's targets no longer serve"),
        ("start: 3 refreshes cost more than a start", "3 refreshes cost more than a start"),
    ],
)
def test_start_reason__round_decision__reason_without_action_or_symbols(decision, reason):
    assert start_reason(decision) == reason


def test_write_results__no_chart__writes_summary_levels_trades_report(tmp_path):
    result = make_result([100.0, 101.0, 98.9, 101.9])

    written = write_results(result, tmp_path, {d: 1_000.0 for d in DATES}, chart=False)

    assert [p.name for p in written] == ["summary.json", "levels.csv", "trades.csv", "report.md"]
    assert json.loads((tmp_path / "summary.json").read_text())["trades"] == 1
    assert (tmp_path / "levels.csv").read_text().splitlines()[0].startswith("date,ideal,tracked,backtest")
    assert "uniswap-v2" in (tmp_path / "trades.csv").read_text()
    assert "on chain" in (tmp_path / "report.md").read_text()
