"""IndexArbitrage's guards: a pool's callback (V2 or V3) is accepted only within a cycle the contract started, and a
cycle runs only on a pool of the vault's shares. (Its cycles on real pools: tests/integration/test_arbitrage.py.)"""

import boa
import pytest

from tests.baskets import CONTRACTS


@pytest.fixture
def arbitrage():
    return boa.load_partial(str(CONTRACTS / "periphery" / "IndexArbitrage.vy")).deploy()


def test_uniswap_v2_call__outside_a_cycle__reverts(arbitrage):
    outsider = boa.env.generate_address("pair")

    with boa.reverts("arbitrage: not this cycle's pool"), boa.env.prank(outsider):
        arbitrage.uniswapV2Call(arbitrage.address, 0, 10**18, b"")


def test_uniswap_v3_swap_callback__outside_a_cycle__reverts(arbitrage):
    with boa.reverts("arbitrage: not this cycle's pool"), boa.env.prank(boa.env.generate_address("pool")):
        arbitrage.uniswapV3SwapCallback(10**18, -(10**6), b"")


def test_uniswap_v2_call__sender_is_not_the_contract__reverts(arbitrage):
    with boa.reverts("arbitrage: not this cycle's pool"), boa.env.prank(boa.env.generate_address("pair")):
        arbitrage.uniswapV2Call(boa.env.generate_address("someone"), 10**18, 0, b"")


def test_mint_and_sell__pool_without_the_vaults_shares__reverts(arbitrage, make_vault, pool_deployer, make_token):
    vault, tokens = make_vault()
    other = make_token("OTHER", 18)
    pool = pool_deployer.deploy(*sorted([tokens[0].address, other.address], key=lambda a: int(a, 16)))

    with boa.reverts("arbitrage: the pool does not trade the vault's shares"):
        arbitrage.mint_and_sell(pool.address, True, vault.address, vault.address, 10**18, [], 0, boa.env.eoa)


def test_buy_and_redeem__no_shares__reverts(arbitrage, make_vault):
    vault, _ = make_vault()

    with boa.reverts("arbitrage: no shares"):
        arbitrage.buy_and_redeem(vault.address, False, vault.address, vault.address, 0, [], 0, boa.env.eoa)
