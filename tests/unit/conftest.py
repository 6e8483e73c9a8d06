"""Fixtures of the unit tests that trade: a vault off its targets, its rebalancer, a keeper and a fair DEX."""

import boa
import pytest

from tests.baskets import CONTRACTS, THREE_ASSETS

WAD = 10**18
PRICES = [2_000, 40_000, 1]  # WETH, WBTC, USDC: a share holds $20, $20 and $30
THIRDS = [333_333_333_333_333_333, 333_333_333_333_333_333, 333_333_333_333_333_334]
SHARES = 100 * WAD  # alice's: NAV about $7,000

# The Rebalancer's `Limits`, in struct order, with the constructor's defaults.
LIMITS = {
    "max_slippage_bps": 100,
    "weight_tolerance": 5 * 10**15,
    "max_trade_bps": 500,
    "period_cap_bps": 2_000,
    "period": 86400,
    "cooldown": 300,
    "auction_duration": 3600,
    "auction_premium_bps": 200,
    "auction_discount_bps": 100,
    "open_delay": 86400,
    "max_age": 3600,
}


def limits(**changes) -> tuple:
    """The `Limits` tuple `set_limits` takes: the defaults with `changes`."""
    assert set(changes) <= set(LIMITS), changes
    return tuple({**LIMITS, **changes}.values())


@pytest.fixture(autouse=True)
def fresh_storage_traces():
    """Forgets the storage writes boa traced in earlier tests. Each test deploys at the same addresses, so a
    trace left by another contract type there makes boa's storage dump (the repr it builds on every revert)
    decode a key with the wrong type and raise AttributeError instead of the revert being matched."""
    boa.env.sha3_trace = {}
    boa.env.sstore_trace = {}


@pytest.fixture(scope="session")
def dex_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockDexAdapter.vy"))


@pytest.fixture
def keeper():
    return boa.env.generate_address("keeper")


@pytest.fixture
def trading(make_vault, fund, alice, make_rebalancer, dex_deployer, keeper):
    """A vault off its equal-weight targets (USDC 43%, the others 29%), a rebalancer, a keeper, a fair DEX;
    the keeper has started a rebalance (unless `start` is false)."""

    def make(targets=THIRDS, start: bool = True):
        vault, tokens = make_vault(THREE_ASSETS, prices=PRICES)
        fund(vault, tokens, alice)
        with boa.env.prank(alice):
            vault.mint_in_kind(SHARES, alice, [2**256 - 1] * 3)
        rebalancer = make_rebalancer(vault)
        rebalancer.set_target_weights(targets)
        vault.grantRole(vault.KEEPER_ROLE(), keeper)
        dex = fair_dex(dex_deployer, rebalancer, tokens)
        if start:
            with boa.env.prank(keeper):
                rebalancer.start_rebalance()
        return vault, tokens, rebalancer, dex

    return make


def fair_dex(dex_deployer, rebalancer, tokens):
    """A mock DEX allowed on `rebalancer`, holding plenty of every token and swapping each pair at the
    oracle's rate."""
    dex = dex_deployer.deploy()
    rebalancer.set_adapter(dex.address, True)
    for i, t_in in enumerate(tokens):
        t_in.mint(dex.address, 10**40)
        for j, t_out in enumerate(tokens):
            if i != j:
                dex.set_rate(t_in.address, t_out.address, oracle_rate(tokens, i, j))
    return dex


def oracle_rate(tokens, i: int, j: int) -> int:
    """Units of token j the oracle gives for 10**18 units of token i."""
    return WAD * PRICES[i] * 10 ** tokens[j].decimals() // (10 ** tokens[i].decimals() * PRICES[j])
