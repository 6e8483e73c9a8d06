"""Fixtures of the unit tests that trade: a vault off its targets, its rebalancer, a keeper and a fair DEX."""

import boa
import pytest

from tests.baskets import CONTRACTS, THREE_ASSETS

WAD = 10**18
PRICES = [2_000, 40_000, 1]  # WETH, WBTC, USDC: a share holds $20, $20 and $30
THIRDS = [333_333_333_333_333_333, 333_333_333_333_333_333, 333_333_333_333_333_334]
SHARES = 100 * WAD  # alice's: NAV about $7,000


@pytest.fixture(scope="session")
def dex_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockDexAdapter.vy"))


@pytest.fixture
def keeper():
    return boa.env.generate_address("keeper")


@pytest.fixture
def trading(make_vault, fund, alice, make_rebalancer, dex_deployer, keeper):
    """A vault off its equal-weight targets (USDC 43%, the others 29%), a rebalancer, a keeper, a fair DEX."""

    def make(targets=THIRDS):
        vault, tokens = make_vault(THREE_ASSETS, prices=PRICES)
        fund(vault, tokens, alice)
        with boa.env.prank(alice):
            vault.mint_in_kind(SHARES, alice, [2**256 - 1] * 3)
        rebalancer = make_rebalancer(vault)
        rebalancer.set_target_weights(targets)
        vault.grantRole(vault.KEEPER_ROLE(), keeper)
        dex = dex_deployer.deploy()
        rebalancer.set_adapter(dex.address, True)
        for i, t_in in enumerate(tokens):
            t_in.mint(dex.address, 10**40)
            for j, t_out in enumerate(tokens):
                if i != j:
                    dex.set_rate(t_in.address, t_out.address, oracle_rate(tokens, i, j))
        return vault, tokens, rebalancer, dex

    return make


def oracle_rate(tokens, i: int, j: int) -> int:
    """Units of token j the oracle gives for 10**18 units of token i."""
    return WAD * PRICES[i] * 10 ** tokens[j].decimals() // (10 ** tokens[i].decimals() * PRICES[j])
