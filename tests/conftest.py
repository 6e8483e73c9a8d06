"""Fixtures for the titanoboa tests (unit, fuzz, stateful): factories of tokens and vaults."""

import os
from collections.abc import Callable

import boa
import pytest
from hypothesis import HealthCheck, settings

from tests.baskets import CONTRACTS, MAX_UINT, THREE_ASSETS
from tests.oracle_helpers import WAD, params, set_twap

# Hypothesis profiles: "ci" (the default: `make test` runs in minutes) and "fuzz" (`make fuzz`: as many
# examples as FUZZ_EXAMPLES asks, for as long as that takes). Stateful and property tests scale their own
# example counts from the active profile's `max_examples` (see `fuzz_examples`).
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile(
    "fuzz",
    deadline=None,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2000")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def fuzz_examples(ci: int) -> int:
    """`ci` examples under the "ci" profile; the profile's (FUZZ_EXAMPLES) under "fuzz"."""
    return settings().max_examples if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else ci


@pytest.fixture(scope="session")
def token_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockToken.vy"))


@pytest.fixture(scope="session")
def vault_deployer():
    return boa.load_partial(str(CONTRACTS / "vault" / "IndexVault.vy"))


@pytest.fixture(scope="session")
def mock_oracle_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockOracleRouter.vy"))


@pytest.fixture(scope="session")
def reentrant_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockReentrant.vy"))


@pytest.fixture(scope="session")
def aggregator_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockAggregator.vy"))


@pytest.fixture(scope="session")
def pool_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockUniswapV3Pool.vy"))


@pytest.fixture(scope="session")
def rebalancer_deployer():
    return boa.load_partial(str(CONTRACTS / "rebalancer" / "Rebalancer.vy"))


@pytest.fixture(scope="session")
def router_deployer():
    return boa.load_partial(str(CONTRACTS / "oracle" / "OracleRouter.vy"))


@pytest.fixture
def deployer() -> str:
    return boa.env.eoa


@pytest.fixture
def alice() -> str:
    return boa.env.generate_address("alice")


@pytest.fixture
def bob() -> str:
    return boa.env.generate_address("bob")


@pytest.fixture
def make_token(token_deployer) -> Callable:
    """Deploys a mock token: `make_token("USDC", 6)`."""

    def make(symbol: str = "TKN", decimals: int = 18):
        return token_deployer.deploy(f"Mock {symbol}", symbol, decimals)

    return make


@pytest.fixture
def make_oracle(mock_oracle_deployer) -> Callable:
    """A mock oracle router pricing `tokens` at `prices` (USD per whole token) with a +-`band_bps` band."""

    def make(tokens, prices=None, band_bps: int = 0):
        oracle = mock_oracle_deployer.deploy()
        for i, token in enumerate(tokens):
            price = (prices[i] if prices else 100) * 10**18
            low, high = price * (10_000 - band_bps) // 10_000, -(-price * (10_000 + band_bps) // 10_000)
            oracle.set_price(token.address, price, low, high, token.decimals())
        return oracle

    return make


@pytest.fixture
def make_vault(vault_deployer, make_token, make_oracle, deployer) -> Callable:
    """Deploys a vault over new mock tokens: `make_vault([("WETH", 18, units), ...])`.

    The base asset is the first token; a mock oracle prices the tokens at `prices` (USD, default
    $100 each) with a +-`band_bps` band. Returns the vault and its tokens, in basket order (the
    oracle is `vault.oracle()`).
    """

    def make(assets=THREE_ASSETS, name: str = "Test Index", symbol: str = "TIDX", prices=None, band_bps: int = 0):
        tokens = [make_token(sym, dec) for sym, dec, _ in assets]
        oracle = make_oracle(tokens, prices, band_bps)
        addresses = [t.address for t in tokens]
        vault = vault_deployer.deploy(
            name, symbol, addresses, [u for _, _, u in assets], addresses[0], oracle, deployer
        )
        return vault, tokens

    return make


@pytest.fixture
def make_rebalancer(rebalancer_deployer, deployer) -> Callable:
    """Deploys a Rebalancer for `vault` (admin: the deployer) and names it on the vault."""

    def make(vault, admin: str | None = None):
        rebalancer = rebalancer_deployer.deploy(vault.address, admin or deployer)
        vault.set_rebalancer(rebalancer.address)
        return rebalancer

    return make


@pytest.fixture
def fund() -> Callable:
    """Mints `amount` of each token to `owner` and approves the vault for all of it."""

    def fund(vault, tokens, owner: str, amount: int = 10**30) -> None:
        for token in tokens:
            token.mint(owner, amount)
            with boa.env.prank(owner):
                token.approve(vault.address, MAX_UINT)

    return fund


@pytest.fixture
def minted(make_vault, fund, alice) -> Callable:
    """A vault in steady state: alice minted `shares` (after the locked ones) and holds them."""

    def make(shares: int = 10 * 10**18, assets=THREE_ASSETS):
        vault, tokens = make_vault(assets)
        fund(vault, tokens, alice)
        with boa.env.prank(alice):
            vault.mint_in_kind(shares, alice, [MAX_UINT] * len(tokens))
        return vault, tokens

    return make


@pytest.fixture
def router_market(make_token, aggregator_deployer, pool_deployer, router_deployer):
    """WETH $2,000 (8-decimal feed), USDC $1, WBTC $30,000 (18-decimal feed); pools against USDC."""
    weth, usdc, wbtc = make_token("WETH", 18), make_token("USDC", 6), make_token("WBTC", 8)
    feeds = {
        "WETH": aggregator_deployer.deploy(8, 2_000 * 10**8, 10**6, 10**14),
        "USDC": aggregator_deployer.deploy(8, 10**8, 10**6, 10**10),
        "WBTC": aggregator_deployer.deploy(18, 30_000 * WAD, 0, 0),  # no clamps published
    }
    pools = {
        "WETH": pool_deployer.deploy(*sorted([weth.address, usdc.address], key=lambda a: int(a, 16))),
        "WBTC": pool_deployer.deploy(*sorted([wbtc.address, usdc.address], key=lambda a: int(a, 16))),
    }
    pools["USDC"] = pools["WETH"]
    set_twap(pools["WETH"], weth, usdc, 2_000, 1)
    set_twap(pools["WBTC"], wbtc, usdc, 30_000, 1)
    router = router_deployer.deploy(boa.env.eoa)
    router.set_feed(usdc.address, params(feeds["USDC"], pools["USDC"], 1))
    router.set_feed(weth.address, params(feeds["WETH"], pools["WETH"], 2_000))
    router.set_feed(wbtc.address, params(feeds["WBTC"], pools["WBTC"], 30_000))
    tokens = {"WETH": weth, "USDC": usdc, "WBTC": wbtc}
    return router, tokens, feeds, pools
