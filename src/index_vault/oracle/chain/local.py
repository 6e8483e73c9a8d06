"""The oracle router on a chain: deployment, feed configuration, and a local price market.

On a local chain, `build_local_market` gives every constituent what mainnet gives it: a Chainlink
feed (MockV3Aggregator behind an EACAggregatorProxy, the real npm builds) at the spec's price, and
a real Uniswap V3 pool against a USD stablecoin with enough liquidity for the router's depth floor,
then moves the clock past the TWAP window so the cross-check can run. `deploy_oracle` configures a router
over the feeds and pools of a market chain's address book (`index_vault.market`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ape import project
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import npm_container
from index_vault.common.units import WAD, parse_units
from index_vault.market.chain.uniswap_v3 import (
    UniswapV3,
    add_liquidity,
    advance_time,
    create_pool,
    deploy_uniswap_v3,
    deploy_weth,
)
from index_vault.market.model import AddressBook, pair_key
from index_vault.oracle.chain.feeds import deploy_price_feed
from index_vault.vault.spec import BasketSpec, Constituent

STABLE = "USDC"
POOL_FEE = 3000


@dataclass(frozen=True)
class FeedSettings:
    """How each feed is checked (see OracleRouter.FeedParams); the defaults suit a local market."""

    heartbeat: int = 86_400
    grace: int = 3_600
    twap_window: int = 1_800
    min_depth_usd: int = 25_000
    max_deviation_bps: int = 200
    error_bps: int = 50  # the feeds' deviation threshold (Chainlink ETH/USD: 0.5%)
    bounds_factor: int = 100  # sanity bounds: price / factor .. price * factor


@dataclass
class LocalMarket:
    """What `build_local_market` deployed."""

    router: ContractInstance
    uniswap: UniswapV3
    feeds: dict[str, ContractInstance] = field(default_factory=dict)  # symbol -> feed proxy
    pools: dict[str, ContractInstance] = field(default_factory=dict)  # symbol -> the pool its TWAP reads


def feed_params(feed: str, pool: str, price_usd: Decimal, settings: FeedSettings, quote: str | None = None) -> tuple:
    """OracleRouter.FeedParams for `price_usd`, as the tuple the ABI takes."""
    price = parse_units(price_usd, 18)
    return (
        feed,
        settings.heartbeat,
        settings.grace,
        quote or "0x0000000000000000000000000000000000000000",
        max(price // settings.bounds_factor, 1),
        price * settings.bounds_factor,
        pool,
        settings.twap_window,
        settings.min_depth_usd * WAD,
        settings.max_deviation_bps,
        settings.error_bps,
    )


def build_local_market(
    spec: BasketSpec,
    tokens: Sequence[ContractInstance],
    deployer: AccountAPI,
    *,
    settings: FeedSettings | None = None,
    depth_usd: int = 2_000_000,
    echo: Callable[[str], None] = print,
) -> LocalMarket:
    """Feeds, pools and a configured OracleRouter for a spec's test tokens on a local chain.

    Every constituent needs `price_usd` in the spec. Each asset is pooled against the spec's USDC
    (or a test USDC deployed for the purpose) with `depth_usd` of liquidity on each side; USDC's
    own TWAP reads the first other asset's pool.
    """
    settings = settings or FeedSettings()
    missing = [c.symbol for c in spec.constituents if c.price_usd is None]
    if missing:
        raise ValueError(f"local markets need price_usd for every constituent (missing: {', '.join(missing)})")
    by_symbol = dict(
        zip((c.symbol for c in spec.constituents), zip(spec.constituents, tokens, strict=True), strict=True)
    )
    if STABLE not in by_symbol:
        stable = Constituent(symbol=STABLE, name="USD Coin", decimals=6, units=10**6, price_usd=Decimal(1))
        token = npm_container("StandardTokenMock").deploy(deployer, 0, stable.name, STABLE, 6, sender=deployer)
        echo(f"  test token {STABLE:<6} (6 decimals) at {token.address} (the pools' quote)")
        by_symbol[STABLE] = (stable, token)
    stable, stable_token = by_symbol[STABLE]

    uni = deploy_uniswap_v3(deployer, deploy_weth(deployer))
    router = project.OracleRouter.deploy(deployer, sender=deployer)
    market = LocalMarket(router=router, uniswap=uni)
    echo(f"  uniswap v3 factory {uni.factory.address}, oracle router {router.address}")
    for symbol, (c, token) in by_symbol.items():
        market.feeds[symbol] = deploy_price_feed(deployer, c.price_usd, 8)
        if symbol == STABLE:
            continue
        pool = create_pool(uni, token, stable_token, POOL_FEE, c.price_usd / stable.price_usd, deployer)
        amount = parse_units((Decimal(depth_usd) / c.price_usd).quantize(Decimal(1).scaleb(-c.decimals)), c.decimals)
        amount_stable = parse_units(Decimal(depth_usd), stable.decimals)
        token.mint(deployer, amount, sender=deployer)
        stable_token.mint(deployer, amount_stable, sender=deployer)
        add_liquidity(uni, pool, amount, amount_stable, deployer, token_a=token)
        market.pools[symbol] = pool
        echo(f"  {symbol:<6} feed ${c.price_usd} at {market.feeds[symbol].address}, pool vs {STABLE} {pool.address}")
    market.pools[STABLE] = next(iter(market.pools.values()))

    advance_time(settings.twap_window + 60)  # a TWAP needs history: let the window fill
    for symbol, (c, token) in by_symbol.items():
        params = feed_params(market.feeds[symbol].address, market.pools[symbol].address, c.price_usd, settings)
        router.set_feed(token, params, sender=deployer)
    echo(f"  oracle configured for {', '.join(by_symbol)} (TWAP window {settings.twap_window} s)")
    return market


def deploy_oracle(
    book: AddressBook, prices: dict[str, Decimal], deployer: AccountAPI, settings: FeedSettings | None = None
) -> ContractInstance:
    """An OracleRouter over the book's feeds, each cross-checked against its V3 pool with USDC (USDC: ETH's);
    sanity bounds around `prices` (USD, by index symbol)."""
    settings = settings or FeedSettings()
    router = project.OracleRouter.deploy(deployer, sender=deployer)
    for asset, token in book.tokens.items():
        pool = book.pools[pair_key("ETH" if asset == STABLE else asset, STABLE)]
        price = prices[asset]
        router.set_feed(token["address"], feed_params(book.feeds[asset], pool, price, settings), sender=deployer)
    return router
