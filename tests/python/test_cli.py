"""`index-vault`, the commands that need no chain."""

from click.testing import CliRunner

from index_vault.cli import main


def test_spec_check__demo_spec__prints_basket_in_base_units():
    result = CliRunner().invoke(main, ["spec", "check", "specs/demo-top5.yaml"])

    assert result.exit_code == 0
    assert "Demo Top 5 Index (TOP5): 5 of at most 50 constituents" in result.output
    assert "116370" in result.output  # 0.0011637 WBTC in satoshis


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


def test_spec_template__output__is_a_valid_spec(tmp_path):
    result = CliRunner().invoke(main, ["spec", "template"])
    path = tmp_path / "t.yaml"
    path.write_text(result.output)

    assert CliRunner().invoke(main, ["spec", "check", str(path)]).exit_code == 0
