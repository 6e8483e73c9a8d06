"""Keeper trades through the real Uniswap V3 SwapRouter on a local market, bounded by the Rebalancer and the vault."""

import pytest
from ape import chain, networks
from web3.exceptions import ContractLogicError as Web3Revert

from index_vault.keeper.routes import v3_route
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters, keeper_trade, oracle_out
from index_vault.vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC

SHARES = 100 * 10**18  # $10,000 of the $100-a-share demo basket
FEE = 3000
# WETH underweight (35% wanted, 20% held); USDC and LINK overweight (15% wanted, 20% held)
TARGETS = [35 * 10**16, 20 * 10**16, 15 * 10**16, 15 * 10**16, 15 * 10**16]


def revert_reason(contract, method: str, *args, sender) -> str:
    """The reason a call would revert with, from a plain eth_call (Ape's enriched errors trace the whole call
    tree of a reverting trade, which takes a minute on these oracle-heavy calls)."""
    data = getattr(contract, method).encode_input(*args)
    try:
        networks.provider.web3.eth.call({"from": sender.address, "to": contract.address, "data": data})
    except Web3Revert as exc:
        return str(exc.message or exc)
    raise AssertionError(f"{method} did not revert")


@pytest.fixture(scope="module")
def setup(accounts):
    deployer, holder, keeper = accounts[0], accounts[1], accounts[2]
    spec = load_spec(DEMO_SPEC)
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault, rebalancer, tokens = deployed.vault, deployed.rebalancer, deployed.tokens
    fund_test_accounts(spec, tokens, [holder], SHARES, sender=deployer)
    for token in tokens:
        token.approve(vault, 2**256 - 1, sender=holder)
    vault.mint_in_kind(SHARES, holder, [2**256 - 1] * len(tokens), sender=holder)
    rebalancer.set_target_weights(TARGETS, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    adapters = deploy_adapters(deployer, v3_swap_router=deployed.market.uniswap.swap_router.address)
    allow_adapters(rebalancer, adapters, deployer)
    symbols = {c.symbol: t for c, t in zip(spec.constituents, tokens, strict=True)}
    return vault, rebalancer, symbols, adapters["uniswap-v3"], keeper, deployed.market


def test_keeper_trade__single_hop_usdc_to_weth__fills_near_oracle_and_resets_approval(setup):
    vault, rebalancer, t, adapter, keeper, _ = setup
    usdc, weth = t["USDC"], t["WETH"]
    before = list(vault.holdings())
    amount = 200 * 10**6  # $200: 2% of NAV

    result = keeper_trade(
        rebalancer, keeper, usdc.address, weth.address, amount, adapter, v3_route([usdc.address, weth.address], [FEE])
    )

    after = list(vault.holdings())
    assert after[2] == before[2] - amount and after[0] == before[0] + result.amount_out
    assert after[1] == before[1] and after[3:] == before[3:]  # no other holding moved
    assert result.shortfall * 10_000 <= result.oracle_out * 100  # within the 1% bound
    assert usdc.allowance(rebalancer, adapter) == 0 and usdc.allowance(adapter, adapter.router()) == 0
    print(f"\nkeeper trade USDC->WETH single hop: {result.receipt.gas_used:,} gas, shortfall {result.shortfall}")


def test_keeper_trade__two_hops_link_to_weth_through_usdc__fills(setup):
    _, rebalancer, t, adapter, keeper, _ = setup
    link, usdc, weth = t["LINK"], t["USDC"], t["WETH"]
    amount = 20 * 10**18  # about $154
    route = v3_route([link.address, usdc.address, weth.address], [FEE, FEE])

    # two 0.3% pools: ask for the Rebalancer's full 1% bound
    result = keeper_trade(rebalancer, keeper, link.address, weth.address, amount, adapter, route, slippage_bps=100)

    assert result.amount_in == amount and result.amount_out > 0
    print(f"\nkeeper trade LINK->USDC->WETH: {result.receipt.gas_used:,} gas, shortfall {result.shortfall}")


def test_keeper_trade__bare_swap_beside_it__gas_printed(setup, accounts):
    _, rebalancer, t, adapter, keeper, market = setup
    usdc, weth, trader = t["USDC"], t["WETH"], accounts[3]
    amount = 100 * 10**6
    usdc.mint(trader, amount, sender=accounts[0])
    usdc.approve(market.uniswap.swap_router, amount, sender=trader)
    bare = market.uniswap.swap_router.exactInput(
        (v3_route([usdc.address, weth.address], [FEE]), trader.address, 2**40, amount, 0), sender=trader
    )
    chain.mine(timestamp=chain.blocks.head.timestamp + 400)  # past the pair's cool-down

    result = keeper_trade(
        rebalancer, keeper, usdc.address, weth.address, amount, adapter, v3_route([usdc.address, weth.address], [FEE])
    )

    print(f"\nbare SwapRouter.exactInput {bare.gas_used:,} gas; keeper trade {result.receipt.gas_used:,} gas")
    assert result.receipt.gas_used > bare.gas_used


def test_keeper_trade__minimum_below_oracle_bound__reverts(setup):
    _, rebalancer, t, adapter, keeper, _ = setup
    usdc, weth = t["USDC"], t["WETH"]
    amount = 50 * 10**6
    low = oracle_out(rebalancer, usdc.address, weth.address, amount) * 98 // 100
    route = v3_route([usdc.address, weth.address], [FEE])
    reason = revert_reason(rebalancer, "trade", usdc, weth, amount, low, adapter, route, sender=keeper)
    assert "minimum out below oracle bound" in reason


def test_keeper_trade__paused_vault__reverts(setup, accounts):
    vault, rebalancer, t, adapter, keeper, _ = setup
    usdc, weth = t["USDC"], t["WETH"]
    chain.mine(timestamp=chain.blocks.head.timestamp + 400)
    route = v3_route([usdc.address, weth.address], [FEE])
    vault.pause(sender=accounts[0])
    try:
        fair = oracle_out(rebalancer, usdc.address, weth.address, 10**6)
        reason = revert_reason(rebalancer, "trade", usdc, weth, 10**6, fair, adapter, route, sender=keeper)
        assert "paused" in reason
    finally:
        vault.unpause(sender=accounts[0])


def test_keeper_trade__sandwiched_on_the_real_pool__loses_at_most_the_slippage_bound(setup, accounts):
    _, rebalancer, t, adapter, keeper, market = setup
    usdc, weth, attacker = t["USDC"], t["WETH"], accounts[4]
    router = market.uniswap.swap_router
    route = v3_route([usdc.address, weth.address], [FEE])
    amount = 100 * 10**6
    chain.mine(timestamp=chain.blocks.head.timestamp + 400)  # past the pair's cool-down
    usdc.mint(attacker, 10**12, sender=accounts[0])
    usdc.approve(router, 2**256 - 1, sender=attacker)

    # a front-run that lifts WETH about 3% in the pool: the keeper's minimum (oracle less 1%) stops the trade
    router.exactInput((route, attacker.address, 2**40, 30_000 * 10**6, 0), sender=attacker)
    fair = oracle_out(rebalancer, usdc.address, weth.address, amount)
    min_out = -(-fair * 99 // 100)
    assert "Too little received" in revert_reason(
        rebalancer, "trade", usdc, weth, amount, min_out, adapter, route, sender=keeper
    )

    # a small one (about 0.2%) only costs the vault what the event reports, under the bound
    weth.approve(router, 2**256 - 1, sender=attacker)
    back = v3_route([weth.address, usdc.address], [FEE])
    router.exactInput((back, attacker.address, 2**40, weth.balanceOf(attacker) * 95 // 100, 0), sender=attacker)
    result = keeper_trade(rebalancer, keeper, usdc.address, weth.address, amount, adapter, route, slippage_bps=100)
    assert result.shortfall * 100 <= result.oracle_out


def test_auction__keeper_opens_filler_pays_the_decayed_price__gas_printed(setup, accounts):
    vault, rebalancer, t, _, keeper, _ = setup
    usdc, weth, filler = t["USDC"], t["WETH"], accounts[5]
    amount = 50 * 10**6
    opened = rebalancer.open_auction(usdc, weth, amount, sender=keeper)
    (event,) = rebalancer.AuctionOpened.from_receipt(opened)
    weth.mint(filler, 10**18, sender=accounts[0])
    weth.approve(rebalancer, 2**256 - 1, sender=filler)
    rate = rebalancer.auction_rate(event.id)
    before = (vault.holdings()[0], usdc.balanceOf(filler))

    filled = rebalancer.fill(event.id, amount, 2 * amount * rate // 10**18, sender=filler)

    (fill,) = rebalancer.AuctionFilled.from_receipt(filled)
    assert vault.holdings()[0] - before[0] == fill.bought
    assert usdc.balanceOf(filler) - before[1] == amount
    assert fill.rate >= fill.oracle_rate * 99 // 100
    print(f"\nauction open {opened.gas_used:,} gas; fill {filled.gas_used:,} gas")


def test_keeper_trade__stale_oracle__reverts_with_its_reason(setup):
    _, rebalancer, t, adapter, keeper, _ = setup
    usdc, weth = t["USDC"], t["WETH"]
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * 86_400)  # feeds are not updated: past heartbeat + grace
    route = v3_route([usdc.address, weth.address], [FEE])
    assert "stale" in revert_reason(rebalancer, "trade", usdc, weth, 10**6, 0, adapter, route, sender=keeper)


def test_adapter__route_for_other_tokens__reverts(setup, accounts):
    _, _, t, adapter, _, _ = setup
    route = v3_route([t["LINK"].address, t["WETH"].address], [FEE])
    reason = revert_reason(adapter, "swap", t["USDC"], t["WETH"], 1, 0, route, accounts[0], sender=accounts[0])
    assert "route does not match" in reason
