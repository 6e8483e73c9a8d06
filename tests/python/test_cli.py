"""`index-vault`, the commands that need no chain."""

import json
import re

from click.testing import CliRunner

from index_vault.cli import main
from index_vault.vault.spec import load_spec, parse_spec


def test_spec_check__demo_spec__prints_basket_in_base_units():
    result = CliRunner().invoke(main, ["spec", "check", "specs/demo-top5.yaml"])

    assert result.exit_code == 0
    assert "Demo Top 5 Index (TOP5): 5 of at most 50 constituents" in result.output
    assert "116370" in result.output  # 0.0011637 WBTC in satoshis
    assert re.search(r"WBTC .* 17,186\.50 +20\.00%", result.output)  # its price and target weight
    assert "one share holds $100.00 at these prices" in result.output
    assert "deploys on a local chain: yes" in result.output
    assert "deploys on a live network (with --oracle): address missing for WETH, WBTC" in result.output


def test_spec_check__bad_spec__exits_non_zero_with_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nsymbol: X\nconstituents: [{symbol: A, decimals: 6, units: '0.00001'}]\n")

    result = CliRunner().invoke(main, ["spec", "check", str(bad)])

    assert result.exit_code == 1
    assert "needs at least 100" in result.output


def test_spec_preview__one_share__shows_first_mint_and_redemption():
    result = CliRunner().invoke(main, ["spec", "preview", "specs/demo-top5.yaml", "1"])

    assert result.exit_code == 0
    assert "pays: 0.015397 WETH, 0.0011637 WBTC, 20 USDC" in result.output
    assert "receives 0.99 shares" in result.output
    assert "19.8 USDC" in result.output


def test_spec_template__output__deploys_on_a_local_chain_as_printed(tmp_path):
    result = CliRunner().invoke(main, ["spec", "template"])
    path = tmp_path / "t.yaml"
    path.write_text(result.output)

    checked = CliRunner().invoke(main, ["spec", "check", str(path)])
    assert checked.exit_code == 0
    assert "deploys on a local chain: yes" in checked.output
    assert load_spec(path).deploy_problems(local=True, oracle=False) == []


def test_deploy_problems__spec_without_prices_or_addresses__names_what_each_network_needs():
    spec = parse_spec(
        {"name": "X", "symbol": "X", "constituents": [{"symbol": "A", "decimals": 6, "units": "1", "price_usd": "2"},
                                                      {"symbol": "B", "decimals": 6, "units": "1"}]}
    )  # fmt: skip

    assert spec.deploy_problems(local=True, oracle=False) == [
        "price_usd missing for B: a local chain prices its test feeds from it"
    ]
    assert spec.deploy_problems(local=True, oracle=True) == [
        "address missing for A, B: the oracle given prices existing tokens"
    ]
    assert spec.deploy_problems(local=False, oracle=True) == [
        "address missing for A, B: live networks hold existing tokens"
    ]


def test_weights__top_n_with_out__prints_table_and_writes_proposal(tmp_path):
    out = tmp_path / "proposal.json"

    result = CliRunner().invoke(
        main, ["weights", "--method", "capped-market-cap", "--top", "5", "--date", "2022-12-31", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "BTC    25.0000%  250000000000000000" in result.output
    assert "sum 1000000000000000000" in result.output
    proposal = json.loads(out.read_text())
    assert proposal["assets"][:2] == ["BTC", "ETH"]
    assert sum(int(w) for w in proposal["weights"]) == 10**18


def test_weights__unknown_symbol__exits_2_naming_option():
    result = CliRunner().invoke(main, ["weights", "--method", "equal", "--assets", "BTC,NOPE", "--date", "2022-06-01"])

    assert result.exit_code == 2
    assert "Invalid value for --assets: unknown symbol NOPE" in result.output


def test_weights__neither_assets_nor_top__exits_2():
    result = CliRunner().invoke(main, ["weights", "--method", "equal", "--date", "2022-06-01"])

    assert result.exit_code == 2
    assert "give --assets SYM,... or --top N" in result.output


def test_weights__missing_data_folder__exits_2_naming_data(tmp_path):
    result = CliRunner().invoke(
        main, ["weights", "--data", str(tmp_path), "--method", "equal", "--top", "3", "--date", "2022-06-01"]
    )

    assert result.exit_code == 2
    assert "Invalid value for --data" in result.output and "no CSV panel" in result.output


def test_backtest__short_window__writes_summary_and_prints_it(tmp_path):
    args = ["backtest", "--method", "equal", "--assets", "BTC,ETH,LINK", "--start", "2022-03-01", "--end", "2022-04-29"]

    result = CliRunner().invoke(main, [*args, "--rebalance", "drift:300", "--out", str(tmp_path), "--no-charts"])

    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == "equal" and summary["schedule"] == "drift:300"
    assert "tracking_error_annual" in result.output
    # shares of NAV as percentages and USD with separators, as the report writes them
    assert re.search(r"tracking_error_annual\s+-?\d+\.\d\d%", result.output)
    assert re.search(r"costs_usd\s+\$[\d,]+\n", result.output)
    assert (tmp_path / "levels.csv").is_file() and (tmp_path / "report.md").is_file()


def test_backtest__end_after_data__exits_2_naming_end(tmp_path):
    args = ["backtest", "--method", "capped-market-cap", "--top", "10", "--start", "2022-01-01", "--end", "2023-12-31"]

    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "Invalid value for --end: no data for 2023-12-31" in result.output


def test_backtest__bad_schedule__exits_2_naming_rebalance(tmp_path):
    args = ["backtest", "--method", "equal", "--top", "3", "--start", "2022-01-01", "--end", "2022-02-01"]

    result = CliRunner().invoke(main, [*args, "--rebalance", "yearly", "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "Invalid value for --rebalance: unknown schedule 'yearly'" in result.output


def test_backtest__data_liquidity__prints_costs_under_each_variant(tmp_path):
    args = ["backtest", "--method", "equal", "--assets", "MKR,SNX,YFI", "--start", "2022-03-01", "--end", "2022-04-29"]

    result = CliRunner().invoke(main, [*args, "--liquidity", "thin", "--out", str(tmp_path), "--no-charts"])

    assert result.exit_code == 0, result.output
    assert "costs under each liquidity variant" in result.output
    rows = [
        line.split()[0] for line in result.output.splitlines() if line.split()[:1] in (["thin"], ["base"], ["deep"])
    ]
    assert rows == ["thin", "base", "deep"]
    assert "thin (above)" in result.output


def test_backtest__unknown_liquidity__exits_2_naming_liquidity(tmp_path):
    args = ["backtest", "--method", "equal", "--top", "3", "--start", "2022-01-01", "--end", "2022-02-01"]

    result = CliRunner().invoke(main, [*args, "--liquidity", "medium", "--out", str(tmp_path)])

    assert result.exit_code == 2
    assert "Invalid value for '--liquidity'" in result.output


def test_weights__index_too_large_for_its_liquidity__exits_2_naming_depth_multiple():
    args = ["weights", "--method", "equal", "--assets", "SNX,COMP,YFI", "--date", "2022-06-01"]

    result = CliRunner().invoke(main, [*args, "--depth-multiple", "0.1", "--nav", "1e9"])

    assert result.exit_code == 2
    assert (
        "Invalid value for --depth-multiple" in result.output and "too large for its assets' liquidity" in result.output
    )
