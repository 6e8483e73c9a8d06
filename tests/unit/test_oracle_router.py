"""OracleRouter: Chainlink feeds cross-checked against Uniswap V3 TWAPs, and every way a price fails."""

import boa
import pytest

from tests.oracle_helpers import WAD, params, set_twap

STATUS = {
    "OK": 0,
    "NOT_CONFIGURED": 1,
    "NO_ANSWER": 2,
    "NON_POSITIVE": 3,
    "INCOMPLETE": 4,
    "STALE": 5,
    "CLAMPED": 6,
    "OUT_OF_BOUNDS": 7,
    "QUOTE_UNUSABLE": 8,
    "TWAP_UNAVAILABLE": 9,
    "TWAP_THIN": 10,
    "DISPUTED": 11,
}


@pytest.fixture
def market(router_market):
    return router_market


def test_price__healthy_sources__scales_to_18_decimals(market):
    router, tokens, _, _ = market

    assert router.price(tokens["WETH"].address) == 2_000 * WAD  # 8-decimal feed
    assert router.price(tokens["WBTC"].address) == 30_000 * WAD  # 18-decimal feed
    assert router.price(tokens["USDC"].address) == WAD
    data = router.price_data(tokens["WETH"].address)
    assert data.status == 0
    assert abs(data.twap_price - 2_000 * WAD) < 2_000 * WAD // 5_000  # within a tick or two


def test_price_bounds__healthy_sources__widen_min_and_max_by_error_margin(market):
    router, tokens, _, pools = market
    set_twap(pools["WETH"], tokens["WETH"], tokens["USDC"], 2_020, 1)  # the pool 1% above the feed
    data = router.price_data(tokens["WETH"].address)

    low, high = router.price_bounds(tokens["WETH"].address)

    assert low == 2_000 * WAD * 99 // 100
    assert high == -(-data.twap_price * 101 // 100)
    assert high > 2_020 * WAD


def test_price__routed_through_eth__multiplies_both_legs(market, make_token, aggregator_deployer, pool_deployer):
    router, tokens, _, _ = market
    link = make_token("LINK", 18)
    feed = aggregator_deployer.deploy(18, WAD // 250, 0, 0)  # LINK/ETH = 0.004 ETH = $8
    pool = pool_deployer.deploy(*sorted([link.address, tokens["USDC"].address], key=lambda a: int(a, 16)))
    set_twap(pool, link, tokens["USDC"], 8, 1)

    router.set_feed(link.address, params(feed, pool, 8, quote=tokens["WETH"].address))

    assert router.price(link.address) == 8 * WAD


def test_price__routed_quote_stale__reports_quote_unusable(market, make_token, aggregator_deployer, pool_deployer):
    router, tokens, feeds, _ = market
    link = make_token("LINK", 18)
    pool = pool_deployer.deploy(*sorted([link.address, tokens["USDC"].address], key=lambda a: int(a, 16)))
    set_twap(pool, link, tokens["USDC"], 8, 1)
    router.set_feed(
        link.address, params(aggregator_deployer.deploy(18, WAD // 250, 0, 0), pool, 8, quote=tokens["WETH"].address)
    )
    feeds["WETH"].set_answer_at(2_000 * 10**8, boa.env.evm.patch.timestamp - 5_000)

    assert router.price_status(link.address) == STATUS["QUOTE_UNUSABLE"]
    with boa.reverts("oracle: quote price unusable"):
        router.price(link.address)


def _break(kind, router, tokens, feeds, pools):
    weth, now = tokens["WETH"], boa.env.evm.patch.timestamp
    feed, pool = feeds["WETH"], pools["WETH"]
    if kind == "NON_POSITIVE":
        feed.set_answer(0)
    elif kind == "NEGATIVE":
        feed.set_answer(-1)
    elif kind == "STALE":
        feed.set_answer_at(2_000 * 10**8, now - 3600 - 601)
    elif kind == "INCOMPLETE":
        feed.set_incomplete()
    elif kind == "CLAMPED":
        feed.set_answer(10**14)  # the aggregator's maxAnswer: a circuit-breaker value
    elif kind == "OUT_OF_BOUNDS":
        feed.set_answer(10 * 10**8)  # $10 per ETH: inside the clamps, outside the sanity bounds
        set_twap(pool, weth, tokens["USDC"], 10, 1)
    elif kind == "NO_ANSWER":
        feed.set_broken(True)
    elif kind == "TWAP_UNAVAILABLE":
        pool.set_old(True)
    elif kind == "TWAP_THIN":
        set_twap(pool, weth, tokens["USDC"], 2_000, 1, liquidity=10**12)
    elif kind == "DISPUTED":
        set_twap(pool, weth, tokens["USDC"], 2_100, 1)  # 5% off, bound 2%
    elif kind == "NOT_CONFIGURED":
        router.remove_feed(weth.address)


CASES = {
    "NON_POSITIVE": "oracle: non-positive answer",
    "NEGATIVE": "oracle: non-positive answer",
    "STALE": "oracle: stale price",
    "INCOMPLETE": "oracle: incomplete round",
    "CLAMPED": "oracle: answer at circuit-breaker clamp",
    "OUT_OF_BOUNDS": "oracle: price outside sanity bounds",
    "NO_ANSWER": "oracle: feed gives no answer",
    "TWAP_UNAVAILABLE": "oracle: twap unavailable",
    "TWAP_THIN": "oracle: twap liquidity too thin",
    "DISPUTED": "oracle: feed and twap disagree",
    "NOT_CONFIGURED": "oracle: not configured",
}


@pytest.mark.parametrize(("kind", "reason"), CASES.items(), ids=list(CASES))
def test_price__unusable_source__status_says_why_and_every_price_view_reverts(market, kind, reason):
    router, tokens, feeds, pools = market
    _break(kind, router, tokens, feeds, pools)
    weth = tokens["WETH"].address

    assert router.price_status(weth) == STATUS.get(kind, STATUS["NON_POSITIVE"])
    assert router.price_data(weth).low == 0
    with boa.reverts(reason):
        router.price(weth)
    with boa.reverts(reason):
        router.price_bounds(weth)
    with boa.reverts(reason):
        router.valuation([tokens["WBTC"].address, weth], [10**8, 10**18])


def test_price__stale_within_grace__still_usable(market):
    router, tokens, feeds, _ = market
    feeds["WETH"].set_answer_at(2_000 * 10**8, boa.env.evm.patch.timestamp - 3600 - 599)

    assert router.price_status(tokens["WETH"].address) == 0


def test_valuation__basket__sums_mid_low_high_and_oldest_round(market):
    router, tokens, feeds, _ = market
    old = boa.env.evm.patch.timestamp - 100
    feeds["USDC"].set_answer_at(10**8, old)
    assets = [tokens[s].address for s in ("WETH", "WBTC", "USDC")]

    value = router.valuation(assets, [10**18, 10**8, 500 * 10**6])

    assert value.mid == (2_000 + 30_000 + 500) * WAD
    assert value.low < value.mid < value.high
    assert value.oldest_update == old


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"twap_window": 1799}, "oracle: twap window too short"),
        ({"twap_window": 86401}, "oracle: twap window too long"),
        ({"min_depth": 25_000 * WAD - 1}, "oracle: depth floor too low"),
        ({"max_deviation_bps": 9}, "oracle: deviation bound too tight"),
        ({"max_deviation_bps": 1501}, "oracle: deviation bound too loose"),
        ({"error_bps": 1001}, "oracle: error margin too wide"),
        ({"heartbeat": 0}, "oracle: heartbeat out of range"),
        ({"grace": 86401}, "oracle: grace too long"),
        ({"min_price": 0}, "oracle: bad sanity bounds"),
    ],
)
def test_set_feed__below_safe_floors__reverts_with_reason(market, override, reason):
    router, tokens, feeds, pools = market

    with boa.reverts(reason):
        router.set_feed(tokens["WETH"].address, params(feeds["WETH"], pools["WETH"], 2_000, **override))


def test_set_feed__pool_without_the_asset__reverts(market):
    router, tokens, feeds, pools = market

    with boa.reverts("oracle: pool does not trade the asset"):
        router.set_feed(tokens["WETH"].address, params(feeds["WETH"], pools["WBTC"], 2_000))


def test_set_feed__outsider__reverts(market, bob):
    router, tokens, feeds, pools = market

    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        router.set_feed(tokens["WETH"].address, params(feeds["WETH"], pools["WETH"], 2_000))
    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        router.remove_feed(tokens["WETH"].address)


def test_feed_config__aggregator_clamps__read_at_configuration(market):
    router, tokens, _, _ = market

    config = router.feed_config(tokens["WETH"].address)

    assert (config.clamp_min, config.clamp_max) == (10**6, 10**14)
    assert router.feed_config(tokens["WBTC"].address).clamp_max == 0  # none published: no clamp check


def test_nav_quote__basket_with_base__matches_separate_reads(market):
    router, tokens, _, _ = market
    assets = [tokens[s].address for s in ("WETH", "WBTC", "USDC")]
    amounts = [3 * 10**18, 2 * 10**8, 700 * 10**6]

    value, base = router.nav_quote(assets, amounts, tokens["WBTC"].address)

    assert value == router.valuation(assets, amounts)
    assert base == router.price_data(tokens["WBTC"].address)
    with boa.reverts("oracle: base not among the assets"):
        router.nav_quote(assets[:2], amounts[:2], tokens["USDC"].address)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"max_price": 2**128}, "oracle: sanity bound too high"),
        ({"min_depth": 2**96}, "oracle: depth floor too high"),
    ],
)
def test_set_feed__bound_beyond_its_packed_width__reverts_with_reason(market, override, reason):
    router, tokens, feeds, pools = market

    with boa.reverts(reason):
        router.set_feed(tokens["WETH"].address, params(feeds["WETH"], pools["WETH"], 2_000, **override))


def test_feed_config__widest_packed_values__read_back_as_set(market):
    router, tokens, feeds, pools = market
    widest = {
        "heartbeat": 172_800,
        "grace": 86_400,
        "min_price": 1,
        "max_price": 2**128 - 1,
        "twap_window": 86_400,
        "min_depth": 2**96 - 1,
        "max_deviation_bps": 1_500,
        "error_bps": 1_000,
    }
    sent = params(feeds["WETH"], pools["WETH"], 2_000, **widest)

    router.set_feed(tokens["WETH"].address, sent)

    config = router.feed_config(tokens["WETH"].address)
    assert tuple(config.params) == sent
    assert (config.feed_decimals, config.token_decimals) == (8, 18)
    assert (config.clamp_min, config.clamp_max) == (10**6, 10**14)
    assert config.pool_quote == tokens["USDC"].address
    assert config.asset_is_token0 == (int(tokens["WETH"].address, 16) < int(tokens["USDC"].address, 16))


def _basket(market):
    router, tokens, _, _ = market
    assets = [tokens[s].address for s in ("WETH", "WBTC", "USDC")]
    return router, assets, [3 * 10**18, 2 * 10**8, 700 * 10**6]


def _gas_of_valuation(router, assets, amounts) -> int:
    data = router.valuation.prepare_calldata(assets, amounts)
    computation = boa.env.execute_code(to_address=router.address, data=data, is_modifying=False)
    assert not computation.is_error
    return computation.get_gas_used()


def test_bundle__current__prices_the_list_as_each_config_does_for_less_gas(market):
    router, assets, amounts = _basket(market)
    before = (
        router.valuation(assets, amounts),
        router.checked_prices(assets),
        router.nav_quote(assets, amounts, assets[1]),
    )
    unbundled_gas = _gas_of_valuation(router, assets, amounts)

    router.bundle(assets)

    assert router.bundle_current(assets)
    assert not router.bundle_current(list(reversed(assets)))  # another order is another list
    after = (
        router.valuation(assets, amounts),
        router.checked_prices(assets),
        router.nav_quote(assets, amounts, assets[1]),
    )
    assert after == before
    assert _gas_of_valuation(router, assets, amounts) < unbundled_gas


def _long_basket(market, make_token, aggregator_deployer, pool_deployer, n: int):
    """`n - 1` assets, each with its own price, decimals and error margin, pooled against USDC, then USDC.
    Returns the router, the assets, amounts and the feeds of the first `n - 1`."""
    router, tokens, _, _ = market
    usdc = tokens["USDC"]
    assets, amounts, feeds = [], [], []
    for i in range(n - 1):
        token = make_token(f"L{i}", 6 + i % 13)
        pool = pool_deployer.deploy(*sorted([token.address, usdc.address], key=lambda a: int(a, 16)))
        set_twap(pool, token, usdc, 5 + i, 1)
        feed = aggregator_deployer.deploy(8, (5 + i) * 10**8, 0, 0)
        router.set_feed(token.address, params(feed, pool, 5 + i, error_bps=10 * i))
        assets.append(token.address)
        amounts.append((i + 2) * 10 ** (6 + i % 13))
        feeds.append(feed)
    return router, [*assets, usdc.address], [*amounts, 1_000 * 10**6], feeds


@pytest.mark.parametrize("n", [8, 9, 16, 21])
def test_bundle__chunks_of_configurations__each_asset_priced_from_its_own(
    market, make_token, aggregator_deployer, pool_deployer, n
):
    # a bundle is read eight configurations at a time: full chunks, and a last one padded
    router, assets, amounts, feeds = _long_basket(market, make_token, aggregator_deployer, pool_deployer, n)
    before = (
        router.valuation(assets, amounts),
        router.checked_prices(assets),
        router.nav_quote(assets, amounts, assets[-1]),
        router.nav_quote(assets, amounts, assets[n // 2]),
    )

    router.bundle(assets)

    assert router.bundle_current(assets)
    after = (
        router.valuation(assets, amounts),
        router.checked_prices(assets),
        router.nav_quote(assets, amounts, assets[-1]),
        router.nav_quote(assets, amounts, assets[n // 2]),
    )
    assert after == before
    assert list(after[1][1]) == [6 + i % 13 for i in range(n - 1)] + [6]
    # an unusable price past the first chunk stops the bundled pass with its reason
    feeds[n - 2].set_answer_at((5 + n - 2) * 10**8, boa.env.evm.patch.timestamp - 5_000)
    with boa.reverts("oracle: stale price"):
        router.valuation(assets, amounts)


def test_bundle__configuration_changed__each_config_read_instead(market):
    router, assets, amounts = _basket(market)
    _, tokens, feeds, pools = market
    router.bundle(assets)
    bundled = router.valuation(assets, amounts)
    weth_low_before, _ = router.price_bounds(tokens["WETH"].address)

    router.set_feed(tokens["WETH"].address, params(feeds["WETH"], pools["WETH"], 2_000, error_bps=500))

    assert not router.bundle_current(assets)
    weth_low, _ = router.price_bounds(tokens["WETH"].address)
    assert weth_low <= 2_000 * WAD * 95 // 100  # the new 5% margin, not the bundled 1%
    assert router.valuation(assets, amounts).low == bundled.low - 3 * (weth_low_before - weth_low)
    router.remove_feed(tokens["WBTC"].address)
    with boa.reverts("oracle: not configured"):
        router.valuation(assets, amounts)


def test_bundle__fewer_than_two_or_unconfigured__reverts(market):
    router, assets, _ = _basket(market)

    with boa.reverts("oracle: bundle of fewer than two"):
        router.bundle(assets[:1])
    with boa.reverts("oracle: not configured"):
        router.bundle([assets[0], router.address])


def test_refresh_clamps__unchanged__keeps_the_bundles(market, bob):
    router, assets, _ = _basket(market)
    router.bundle(assets)
    version = router.config_version()

    with boa.env.prank(bob):  # anyone
        router.refresh_clamps(assets[0])

    assert router.config_version() == version
    assert router.bundle_current(assets)


def _many_quotes(market, make_token, aggregator_deployer, pool_deployer, quotes: int):
    """`quotes` quote tokens (USD feeds, pools against USDC) and an asset pooled against each; the first asset's
    feed is priced in WETH (routed). Returns the router and the assets."""
    router, tokens, _, _ = market
    usdc = tokens["USDC"]
    assets = []
    for i in range(quotes):
        quote, asset = make_token(f"Q{i}", 18 - i), make_token(f"A{i}", 6 + i)
        quote_pool = pool_deployer.deploy(*sorted([quote.address, usdc.address], key=lambda a: int(a, 16)))
        set_twap(quote_pool, quote, usdc, 10 + i, 1)
        quote_feed = aggregator_deployer.deploy(8, (10 + i) * 10**8, 0, 0)
        router.set_feed(quote.address, params(quote_feed, quote_pool, 10 + i))
        pool = pool_deployer.deploy(*sorted([asset.address, quote.address], key=lambda a: int(a, 16)))
        set_twap(pool, asset, quote, 50 * (i + 1), 10 + i)
        if i == 0:
            feed = aggregator_deployer.deploy(18, 50 * WAD // 2_000, 0, 0)  # A0/ETH
            router.set_feed(asset.address, params(feed, pool, 50, quote=tokens["WETH"].address))
        else:
            feed = aggregator_deployer.deploy(8, 50 * (i + 1) * 10**8, 0, 0)
            router.set_feed(asset.address, params(feed, pool, 50 * (i + 1)))
        assets.append(asset.address)
    return router, assets


@pytest.mark.parametrize("bundled", [False, True])
def test_valuation__more_quote_assets_than_the_cache__each_asset_priced_as_alone(
    market, make_token, aggregator_deployer, pool_deployer, bundled
):
    # five pool legs and the routed feed's WETH leg: six slots, two past the cache of four
    router, assets = _many_quotes(market, make_token, aggregator_deployer, pool_deployer, 5)
    amounts = [10 ** (6 + i) * (i + 3) for i in range(len(assets))]
    alone = [router.price_data(a) for a in assets]
    if bundled:
        router.bundle(assets)
        assert router.bundle_current(assets)

    value = router.valuation(assets, amounts)
    prices, decimals = router.checked_prices(assets)

    assert [d.status for d in alone] == [0] * len(assets)
    assert list(prices) == [d.price for d in alone]
    assert list(decimals) == [6 + i for i in range(len(assets))]
    units = [10 ** (6 + i) for i in range(len(assets))]
    rows = list(zip(amounts, alone, units, strict=True))
    assert value.mid == sum(x * d.price // unit for x, d, unit in rows)
    assert value.low == sum(x * d.low // unit for x, d, unit in rows)
    assert value.high == sum(-(-x * d.high // unit) for x, d, unit in rows)
    assert alone[0].price == 50 * WAD  # the routed leg multiplied in


def test_bundle__more_quote_assets_than_its_slots__reverts_and_pricing_still_works(
    market, make_token, aggregator_deployer, pool_deployer
):
    # six pool legs and WETH: seven distinct quote assets
    router, assets = _many_quotes(market, make_token, aggregator_deployer, pool_deployer, 6)
    amounts = [10 ** (6 + i) for i in range(len(assets))]

    with boa.reverts("oracle: too many quote assets to bundle"):
        router.bundle(assets)

    assert router.valuation(assets, amounts).mid == sum(router.price(a) for a in assets)
