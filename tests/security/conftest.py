"""Fixtures of the security tests: a vault on the real OracleRouter, a Governor, and the unit tests' trading set-up."""

import boa
import pytest

from tests.baskets import CONTRACTS, MAX_UINT
from tests.unit.conftest import (  # noqa: F401  (fixtures shared with the unit tests)
    dex_deployer,
    fresh_storage_traces,
    keeper,
    trading,
)

SHARE = 10**18
ROUTED_UNITS = [10**16, 50_000, 30 * 10**6]  # WETH, WBTC, USDC per share: $20 + $15 + $30 = $65


@pytest.fixture(scope="session")
def governor_deployer():
    return boa.load_partial(str(CONTRACTS / "governance" / "Governor.vy"))


@pytest.fixture
def vault_on_router(router_market, vault_deployer, fund, alice):
    """A vault over WETH, WBTC and USDC priced by the real OracleRouter (Chainlink feeds checked against
    Uniswap V3 TWAPs); alice holds 100 shares ($6,500) and the NAV path may move all of it in a day."""
    router, tokens, feeds, pools = router_market
    assets = [tokens[s] for s in ("WETH", "WBTC", "USDC")]
    vault = vault_deployer.deploy(
        "Routed Index", "ROUTE", [t.address for t in assets], ROUTED_UNITS, assets[0], router, boa.env.eoa
    )
    vault.set_flow_cap(10_000, 86400)
    fund(vault, assets, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(100 * SHARE, alice, [MAX_UINT] * 3)
    return vault, router, tokens, feeds, pools
