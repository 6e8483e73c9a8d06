"""The capacity report: backtests over a NAV grid under each liquidity variant, and the NAVs within budget."""

import json
import math

import pytest
from click.testing import CliRunner

from index_vault.cli import main
from index_vault.common.artifacts import project_root
from index_vault.methodology.backtest import CostModel, Schedule
from index_vault.methodology.capacity import capacity, within_budget
from index_vault.methodology.history import History, MethodologyError, load_history
from index_vault.methodology.weights import Methodology

DEFI = ("UNI", "AAVE", "MKR", "SNX", "COMP", "YFI")


@pytest.fixture(scope="module")
def history() -> History:
    return load_history(project_root() / "data")


def test_within_budget__u_shaped_costs__floor_and_capacity_where_the_share_crosses_in_log_nav():
    points = [(1e5, 0.02), (1e6, 0.004), (1e7, 0.003), (1e8, 0.012)]

    (floor, floor_bound), (top, top_bound) = within_budget(points, 0.005)

    # 0.02 -> 0.004 over one decade: 0.005 is reached 15/16 of the way, in log NAV
    assert floor == pytest.approx(10 ** (5 + 15 / 16))
    assert top == pytest.approx(10 ** (7 + 2 / 9))
    assert (floor_bound, top_bound) == (False, False)


def test_within_budget__ends_within_or_nothing_within__bounds_or_none():
    assert within_budget([(1e5, 0.001), (1e6, 0.002)], 0.005) == ((1e5, True), (1e6, True))
    assert within_budget([(1e5, 0.01), (1e6, 0.02)], 0.005) == ((None, False), (None, False))


def test_capacity__defi_tokens__costs_grow_with_size_and_thin_liquidity_holds_the_least(history):
    method = Methodology("capped-market-cap", assets=DEFI, cap=0.25)

    report = capacity(
        history, method, "2022-01-01", "2022-06-30", Schedule.parse("monthly"), navs=[1e6, 1e7, 1e8], budget_bps=50
    )

    assert [(r.variant, r.nav_usd) for r in report.runs][:3] == [("thin", 1e6), ("thin", 1e7), ("thin", 1e8)]
    by = {(r.variant, r.nav_usd): r for r in report.runs}
    for variant in ("thin", "base", "deep"):
        assert by[(variant, 1e8)].cost_share_annual > by[(variant, 1e7)].cost_share_annual
    assert by[("thin", 1e8)].costs_usd > by[("base", 1e8)].costs_usd > by[("deep", 1e8)].costs_usd
    assert report.capacity_usd["thin"] <= report.capacity_usd["base"] <= report.capacity_usd["deep"]
    assert set(report.assets) == set(DEFI)
    assert math.isfinite(json.loads(json.dumps(report.to_dict()))["runs"][0]["tracking_error_annual"])


def test_capacity__bad_grid_or_budget_or_no_costs__raises(history):
    method = Methodology("equal", assets=DEFI)
    args = (history, method, "2022-01-01", "2022-02-28", Schedule.parse("monthly"))

    with pytest.raises(MethodologyError, match="positive NAV"):
        capacity(*args, navs=[0])
    with pytest.raises(MethodologyError, match="budget must be positive"):
        capacity(*args, navs=[1e6], budget_bps=0)
    with pytest.raises(MethodologyError, match="needs costs"):
        capacity(*args, CostModel(enabled=False), navs=[1e6])


def test_capacity_command__small_grid__prints_the_table_and_the_band_and_writes_files(tmp_path):
    args = ["capacity", "--method", "equal", "--assets", "MKR,SNX,YFI", "--start", "2022-03-01", "--end", "2022-05-31"]

    result = CliRunner().invoke(main, [*args, "--navs", "1e6,1e7", "--out", str(tmp_path), "--no-charts"])

    assert result.exit_code == 0, result.output
    assert "costs within 50 bps a year (base liquidity)" in result.output
    assert (tmp_path / "capacity.json").is_file() and (tmp_path / "capacity.csv").is_file()
    rows = (tmp_path / "capacity.csv").read_text().splitlines()
    assert rows[0].startswith("variant,nav_usd,costs_usd") and len(rows) == 1 + 2 * 3


def test_capacity_command__bad_navs__exits_2_naming_navs(tmp_path):
    args = ["capacity", "--method", "equal", "--top", "3", "--start", "2022-01-01", "--end", "2022-02-01"]

    result = CliRunner().invoke(main, [*args, "--navs", "lots", "--out", str(tmp_path), "--no-charts"])

    assert result.exit_code == 2
    assert "Invalid value for --navs" in result.output


def test_capacity__liquidity_caps__sized_at_each_nav_and_too_large_a_nav_infeasible(history):
    method = Methodology("equal", assets=("SNX", "COMP", "YFI"), depth_multiple=1.0, nav_usd=1.0)

    report = capacity(
        history, method, "2022-05-01", "2022-06-30", Schedule.parse("monthly"), navs=[1e6, 1e9], variants=["base"]
    )

    small, large = report.runs
    assert small.feasible and math.isfinite(small.cost_share_annual)
    assert not large.feasible and large.cost_share_annual == math.inf
    assert report.capacity_usd["base"] <= 1e9 and not report.capacity_at_least["base"]
    assert json.loads(json.dumps(report.to_dict()))["runs"][1]["costs_usd"] is None
