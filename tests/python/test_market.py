"""The market plan from the real daily panel: loading, look-ups, token metadata, the liquidity rule."""

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from index_vault.market.model import (
    MAX_DEPTH_USD,
    MIN_DEPTH_USD,
    AddressBook,
    MarketDataError,
    feed_price,
    load_panel,
    pair_key,
    parse_date,
    plan_market,
    pool_depth_usd,
    read_address_book,
    token_meta,
    usd_to_units,
)

DAY = "2022-06-01"


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "panel.csv"
    path.write_text(text)
    return path


def test_load_panel__default_path__covers_two_years_of_21_assets(panel):
    dates = panel.dates()
    assert (dates[0], dates[-1], len(dates)) == ("2021-01-01", "2022-12-31", 730)
    assert len(panel.symbols("2021-01-05")) == 21


def test_load_panel__missing_file__raises(tmp_path):
    with pytest.raises(MarketDataError, match="no price panel"):
        load_panel(tmp_path / "absent.csv")


def test_load_panel__missing_column__raises(tmp_path):
    with pytest.raises(MarketDataError, match="missing columns market_cap_usd"):
        load_panel(write_csv(tmp_path, "date,symbol,price_usd\n2022-01-01,BTC,1\n"))


def test_load_panel__bad_number__raises_with_line(tmp_path):
    path = write_csv(tmp_path, "date,symbol,price_usd,market_cap_usd\n2022-01-01,BTC,abc,1\n")
    with pytest.raises(MarketDataError, match="line 2: price_usd is not a number"):
        load_panel(path)


def test_load_panel__duplicate_row__raises(tmp_path):
    path = write_csv(tmp_path, "date,symbol,price_usd,market_cap_usd\n2022-01-01,BTC,1,1\n2022-01-01,BTC,2,2\n")
    with pytest.raises(MarketDataError, match="quoted twice"):
        load_panel(path)


def test_load_panel__prices__are_exact_decimals_from_the_csv_text(panel):
    assert panel.price("2021-01-01", "BTC") == Decimal("29022.4184")
    assert panel.market_cap("2021-01-01", "BTC") == Decimal("5.394380364e+11")


def test_quote__ldo_before_2021_01_05__raises_missing_on_that_day(panel):
    with pytest.raises(MarketDataError, match="LDO has no quote on 2021-01-02"):
        panel.quote("2021-01-02", "LDO")
    assert panel.price("2021-01-05", "LDO") > 0
    assert "LDO" not in panel.symbols("2021-01-04")


def test_quote__unknown_symbol__raises_listing_known(panel):
    with pytest.raises(MarketDataError, match=r"unknown symbol 'DOGE'.*BTC"):
        panel.quote(DAY, "DOGE")


def test_quote__date_outside_panel__raises_with_range(panel):
    with pytest.raises(MarketDataError, match=r"no prices for 2023-01-01: the panel covers 2021-01-01\.\.2022-12-31"):
        panel.quote("2023-01-01", "BTC")


def test_quote__usdc__is_one_dollar(panel):
    assert panel.price(DAY, "USDC") == 1


def test_parse_date__malformed__raises():
    with pytest.raises(MarketDataError, match="not a date"):
        parse_date("2022-13-01")


def test_token_meta__btc_eth_usdc__are_wrapped_and_stable():
    assert (token_meta("BTC").symbol, token_meta("BTC").name, token_meta("BTC").decimals) == ("WBTC", "Wrapped BTC", 8)
    assert (token_meta("eth").symbol, token_meta("eth").decimals) == ("WETH", 18)
    assert token_meta("USDC").decimals == 6


def test_token_meta__other_symbol__is_an_18_decimal_token_of_its_name():
    meta = token_meta("LINK")
    assert (meta.asset, meta.symbol, meta.name, meta.decimals) == ("LINK", "LINK", "LINK", 18)


@pytest.mark.parametrize(
    ("market_cap", "depth"),
    [
        (0, MIN_DEPTH_USD),
        (Decimal("2.5e9"), MIN_DEPTH_USD),  # exactly the floor
        (Decimal("3.5757e9"), 357_570),
        (Decimal("4.99e11"), 49_900_000),
        (Decimal("6e11"), MAX_DEPTH_USD),
        (Decimal("12345678901.9"), 1_234_567),  # rounded down to whole dollars
    ],
)
def test_pool_depth_usd__market_cap__is_one_bp_clamped(market_cap, depth):
    assert pool_depth_usd(market_cap) == depth


def test_pool_depth_usd__negative__raises():
    with pytest.raises(ValueError, match="non-negative"):
        pool_depth_usd(-1)


def test_usd_to_units__exact__rounds_down():
    assert usd_to_units(100, Decimal("3"), 6) == 33_333_333
    assert usd_to_units(Fraction(1, 2), Decimal("0.5"), 18) == 10**18


def test_feed_price__more_than_8_decimals__rounds_half_even_never_to_zero():
    assert feed_price(Decimal("7.638055953")) == Decimal("7.63805595")
    assert feed_price(Decimal("0.000000005")) == Decimal("0.00000001")


def test_plan_market__three_assets_legacy__adds_usdc_and_prices_the_day(panel):
    plan = plan_market(DAY, ["ETH", "BTC", "LINK"], panel, "legacy")
    assert plan.assets == ("ETH", "BTC", "LINK")
    assert list(plan.tokens) == ["ETH", "BTC", "LINK", "USDC"]
    assert plan.prices["BTC"] == panel.price(DAY, "BTC")
    assert plan.depths_usd["BTC"] == MAX_DEPTH_USD  # 1 bp of BTC's cap is above the ceiling
    assert plan.depths_usd["LINK"] == pool_depth_usd(panel.market_cap(DAY, "LINK"))


def test_plan_market__pools_legacy__every_asset_against_usdc_and_weth_once(panel):
    plan = plan_market(DAY, ["ETH", "BTC", "LINK"], panel, "legacy")
    assert sorted(p.key for p in plan.pools) == ["BTC/ETH", "BTC/USDC", "ETH/USDC", "LINK/ETH", "LINK/USDC"]
    link_eth = plan.pool(pair_key("LINK", "ETH"))
    assert link_eth.depth_usd == min(plan.depths_usd["LINK"], plan.depths_usd["ETH"])
    assert link_eth.price == plan.prices["LINK"] / plan.prices["ETH"]
    # Both sides are worth the depth (to within one base unit), in integer base units.
    assert link_eth.amount_asset == usd_to_units(link_eth.depth_usd, plan.prices["LINK"], 18)
    assert link_eth.amount_quote == usd_to_units(link_eth.depth_usd, plan.prices["ETH"], 18)
    with pytest.raises(KeyError, match="no pool ETH/ETH"):
        plan.pool("ETH/ETH")
    assert link_eth.v2_amounts == (link_eth.amount_asset, link_eth.amount_quote) and link_eth.range_factor == 0


@pytest.mark.parametrize("variant", ["thin", "base", "deep"])
def test_plan_market__liquidity_model__each_venue_holds_its_share_of_the_models_depth(panel, variant):
    from index_vault.market.liquidity import VARIANTS, LiquidityModel
    from index_vault.market.model import MIN_VENUE_USD

    plan = plan_market(DAY, ["ETH", "BTC", "LINK"], panel, variant)
    model = LiquidityModel.load(lambda s, d: float(panel.market_cap(d, s)) if s != "USDC" else None)

    for asset, pools in (("LINK", 2), ("BTC", 2), ("ETH", 1)):  # ETH has only ETH/USDC
        depth = model.depth(asset, DAY, float(panel.market_cap(DAY, asset)), variant)
        pool = plan.pool(pair_key(asset, "USDC"))
        assert pool.v2_depth_usd == max(MIN_VENUE_USD, int(depth.full_range_usd / pools))
        assert pool.depth_usd == max(MIN_VENUE_USD, int(depth.concentrated_usd / pools))
        assert pool.range_factor == VARIANTS[variant].range_factor
        assert pool.v2_amounts == (
            usd_to_units(pool.v2_depth_usd, plan.prices[asset], plan.tokens[asset].decimals),
            usd_to_units(pool.v2_depth_usd, 1, 6),
        )
        assert plan.depths_usd[asset] == pool.v2_depth_usd + pool.depth_usd
    assert plan.pool("LINK/USDC").depth_usd > pool_depth_usd(panel.market_cap(DAY, "LINK"))  # deeper than legacy


def test_plan_market__without_eth__adds_weth_as_second_quote(panel):
    plan = plan_market(DAY, ["LINK"], panel)
    assert list(plan.tokens) == ["LINK", "ETH", "USDC"]
    assert sorted(p.key for p in plan.pools) == ["ETH/USDC", "LINK/ETH", "LINK/USDC"]


@pytest.mark.parametrize("liquidity", ["legacy", "base"])
def test_plan_market__whales__hold_one_percent_of_depth(panel, liquidity):
    plan = plan_market(DAY, ["BTC"], panel, liquidity)
    assert plan.whale_balances["USDC"] == MAX_DEPTH_USD // 100 * 10**6
    btc = plan.whale_balances["BTC"]
    assert btc == usd_to_units(Fraction(plan.depths_usd["BTC"], 100), plan.prices["BTC"], 8)
    assert isinstance(btc, int)


@pytest.mark.parametrize(
    ("assets", "message"),
    [([], "no assets"), (["BTC", "btc"], "given twice"), (["USDC"], "always present")],
)
def test_plan_market__bad_assets__raise(panel, assets, message):
    with pytest.raises(ValueError, match=message):
        plan_market(DAY, assets, panel)


def test_plan_market__ldo_on_a_missing_day__raises(panel):
    with pytest.raises(MarketDataError, match="LDO has no quote on 2021-01-01"):
        plan_market("2021-01-01", ["LDO"], panel)


def test_address_book__write_then_read__round_trips(tmp_path):
    book = AddressBook(
        chain_id=31337,
        date=DAY,
        assets=["BTC"],
        tokens={"BTC": {"address": "0x" + "11" * 20, "symbol": "WBTC", "name": "Wrapped BTC", "decimals": 8}},
        feeds={"BTC": "0x" + "22" * 20},
        pools={"BTC/USDC": "0x" + "33" * 20},
        uniswap={"factory": "0x" + "44" * 20},
        whales={"BTC": "0x" + "55" * 20},
    )
    path = book.write_address_book(tmp_path / "out" / "address_book.json")
    assert read_address_book(path) == book


def test_read_address_book__not_a_book__raises(tmp_path):
    path = tmp_path / "book.json"
    path.write_text('{"chain_id": 1}')
    with pytest.raises(MarketDataError, match="not an address book"):
        read_address_book(path)
    with pytest.raises(MarketDataError, match="no address book"):
        read_address_book(tmp_path / "absent.json")
