"""Keeper trades through the DEX adapters on the real local Uniswap V3 pools and V2 pairs, bounded by the
Rebalancer's snapshot and the vault: the V3 adapter swaps on the pool and pays it in the callback (which only
that pool may call), the V2 adapter on a direct pair and along a path, auctions filled against the vault; the zap's
legs through both adapters, each pool paid by the zap on the adapter's callback."""

from fractions import Fraction

import pytest
from ape import chain, networks
from web3.exceptions import ContractLogicError as Web3Revert

from index_vault.chain.contracts import npm_container
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.chain.venues import SPLIT_EXTRA_GAS
from index_vault.keeper.routes import split_route, v2_route, v3_route
from index_vault.market.chain.uniswap_v2 import add_liquidity_v2, deploy_uniswap_v2, get_pair
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters, keeper_trade, oracle_out
from index_vault.vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.vault.spec import load_spec
from index_vault.vault.zap import plan_mint
from tests.integration.conftest import DEMO_SPEC

SHARES = 100 * 10**18  # $10,000 of the $100-a-share demo basket
SHARE = 10**18
FEE = 3000
# WETH underweight (35% wanted, 20% held); USDC, LINK and UNI overweight (15% wanted, 20% held)
TARGETS = [35 * 10**16, 20 * 10**16, 15 * 10**16, 15 * 10**16, 15 * 10**16]


def revert_reason(contract, method: str, *args, sender) -> str:
    """The reason a call would revert with, from a plain eth_call (Ape's enriched errors trace the whole call
    tree of a reverting trade)."""
    data = getattr(contract, method).encode_input(*args)
    try:
        networks.provider.web3.eth.call({"from": sender.address, "to": contract.address, "data": data})
    except Web3Revert as exc:
        return str(exc.message or exc)
    raise AssertionError(f"{method} did not revert")


def past_cooldown() -> None:
    chain.mine(timestamp=chain.blocks.head.timestamp + 400)


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
    t = {c.symbol: token for c, token in zip(spec.constituents, tokens, strict=True)}
    # Uniswap V2 pairs USDC/WETH and LINK/USDC at the oracle's prices, for the V2 adapter
    uni = deployed.market.uniswap
    v2 = deploy_uniswap_v2(deployer, uni.weth)
    price = {s: deployed.market.router.price(token) for s, token in t.items()}
    depth = 200_000 * 10**18  # USD a side
    for a, b in (("USDC", "WETH"), ("LINK", "USDC")):
        amounts = [depth * 10 ** t[s].decimals() // price[s] for s in (a, b)]
        for s, amount in zip((a, b), amounts, strict=True):
            t[s].mint(deployer, amount, sender=deployer)
        add_liquidity_v2(v2, t[a], t[b], *amounts, deployer)
    adapters = deploy_adapters(deployer, v3_swap_router=uni.swap_router.address, v2_router=v2.router.address)
    allow_adapters(rebalancer, adapters, deployer)
    rebalancer.start_rebalance(sender=keeper)
    return vault, rebalancer, t, adapters, keeper, deployed.market, v2


def test_v3_adapter__single_hop__swaps_on_the_pool_and_pays_it_in_the_callback(setup):
    vault, rebalancer, t, adapters, keeper, market, _ = setup
    usdc, weth, adapter = t["USDC"], t["WETH"], adapters["uniswap-v3"]
    pool = market.uniswap.factory.getPool(usdc, weth, FEE)
    before, pool_before = list(vault.holdings()), (usdc.balanceOf(pool), weth.balanceOf(pool))
    amount = 200 * 10**6  # $200: 2% of NAV

    result = keeper_trade(
        rebalancer, keeper, usdc.address, weth.address, amount, adapter, v3_route([usdc.address, weth.address], [FEE])
    )

    after = list(vault.holdings())
    assert after[2] == before[2] - amount and after[0] == before[0] + result.amount_out
    assert after[1] == before[1] and after[3:] == before[3:]  # no other holding moved
    # the pool was paid the whole amount in the callback and paid the vault directly
    assert (usdc.balanceOf(pool) - pool_before[0], pool_before[1] - weth.balanceOf(pool)) == (amount, result.amount_out)
    assert usdc.balanceOf(adapter) == weth.balanceOf(adapter) == 0  # the adapter keeps nothing
    assert usdc.allowance(vault, adapter) == 0  # no approvals: the vault pays the adapter
    assert result.shortfall * 10_000 <= result.oracle_out * 100  # within the 1% bound
    print(f"\nV3 adapter USDC->WETH: {result.receipt.gas_used:,} gas, shortfall {result.shortfall}")


def test_v3_adapter__two_hops_link_to_weth_through_usdc__fills(setup):
    _, rebalancer, t, adapters, keeper, _, _ = setup
    link, usdc, weth = t["LINK"], t["USDC"], t["WETH"]
    route = v3_route([link.address, usdc.address, weth.address], [FEE, FEE])

    # two 0.3% pools: ask for the Rebalancer's full 1% bound
    result = keeper_trade(rebalancer, keeper, link, weth, 20 * 10**18, adapters["uniswap-v3"], route, slippage_bps=100)

    assert result.amount_in == 20 * 10**18 and result.amount_out > 0
    print(f"\nV3 adapter LINK->USDC->WETH: {result.receipt.gas_used:,} gas")


def test_v3_adapter__callback_from_anyone_but_the_pool_being_swapped__refused(setup, accounts):
    _, _, t, adapters, _, market, _ = setup
    adapter = adapters["uniswap-v3"]
    pool = market.uniswap.factory.getPool(t["USDC"], t["WETH"], FEE)
    for caller in (accounts[0].address, pool):  # an account, and a genuine pool outside a swap
        data = adapter.uniswapV3SwapCallback.encode_input(10**6, 0, b"")
        with pytest.raises(Web3Revert, match="caller is not the pool"):
            networks.provider.web3.eth.call({"from": caller, "to": adapter.address, "data": data})


def test_v2_adapter__direct_pair_and_two_hop_path__fill_on_the_pairs(setup):
    _, rebalancer, t, adapters, keeper, _, v2 = setup
    usdc, weth, link, adapter = t["USDC"], t["WETH"], t["LINK"], adapters["uniswap-v2"]
    past_cooldown()
    rebalancer.start_rebalance(sender=keeper)  # a fresh snapshot after the V3 trades
    pair = get_pair(v2, usdc, weth)
    pair_usdc = usdc.balanceOf(pair)

    direct = keeper_trade(rebalancer, keeper, usdc, weth, 100 * 10**6, adapter, v2_route([usdc.address, weth.address]))
    assert usdc.balanceOf(pair) - pair_usdc == 100 * 10**6 and direct.amount_out > 0  # the pair was paid directly
    path = v2_route([link.address, usdc.address, weth.address])
    hops = keeper_trade(rebalancer, keeper, link, weth, 10 * 10**18, adapter, path, slippage_bps=100)

    assert hops.amount_out > 0
    assert usdc.balanceOf(adapter) == link.balanceOf(adapter) == weth.balanceOf(adapter) == 0
    print(f"\nV2 adapter USDC->WETH {direct.receipt.gas_used:,} gas; LINK->USDC->WETH {hops.receipt.gas_used:,} gas")


def test_zap_mint__legs_on_a_v2_pair_v3_pools_and_both__each_pool_paid_by_the_zap_nothing_left_in_the_adapters(
    setup, accounts, project
):
    vault, _, t, adapters, _, market, v2 = setup
    usdc, holder = t["USDC"], accounts[6]
    zap = project.Zap.deploy(100, 100, 3600, sender=holder)
    usdc.mint(holder, 1_000 * 10**6, sender=holder)
    usdc.approve(zap, 2**256 - 1, sender=holder)
    symbols = list(t)
    need = [held * SHARE // vault.totalSupply() + 1 for held in vault.holdings()]
    prices = [market.router.price(t[s]) for s in symbols]
    plan = plan_mint(need, [t[s].decimals() for s in symbols], prices, symbols.index("USDC"), 6, 10**18, 30, 70)
    amounts = dict(zip(symbols, plan.amounts_in, strict=True))
    weth_on_v2 = amounts["WETH"] // 2  # WETH through the splitter: half on its V2 pair, half on its V3 pool

    def leg(s: str) -> tuple:
        if s == "USDC":
            return adapters["uniswap-v3"].address, 0, b""
        if s == "WETH":
            return adapters["split"].address, amounts[s], split_route(weth_on_v2, [usdc.address, t[s].address], [FEE])
        if s == "LINK":
            return adapters["uniswap-v2"].address, amounts[s], b""
        return adapters["uniswap-v3"].address, amounts[s], v3_route([usdc.address, t[s].address], [FEE])

    pairs = {s: get_pair(v2, usdc, t[s]) for s in ("WETH", "LINK")}
    paid_before = {s: usdc.balanceOf(pair) for s, pair in pairs.items()}

    zap.mint(vault, SHARE, usdc, plan.max_in, [leg(s) for s in symbols], holder, sender=holder)

    assert vault.balanceOf(holder) == SHARE
    # each pair was paid its part, by the zap, in one transfer (through the splitter's request for WETH's)
    assert usdc.balanceOf(pairs["LINK"]) - paid_before["LINK"] == amounts["LINK"]
    assert usdc.balanceOf(pairs["WETH"]) - paid_before["WETH"] == weth_on_v2
    for token in t.values():
        assert token.balanceOf(zap) == 0
        assert all(token.balanceOf(a) == 0 for a in adapters.values())


def marginal_price(pair_or_pool, usdc, weth, v2: bool) -> Fraction:
    """USDC base units per WETH base unit at the margin, before fees: a pair's reserves, a pool's sqrt price."""
    if v2:
        r0, r1 = pair_or_pool.getReserves()[:2]
        return Fraction(r0, r1) if pair_or_pool.token0() == usdc.address else Fraction(r1, r0)
    price = Fraction(pair_or_pool.slot0().sqrtPriceX96 ** 2, 2**192)  # token1 per token0
    return 1 / price if pair_or_pool.token0() == usdc.address else price


def test_split_adapter__keeper_sends_a_large_trade_to_both__pair_and_pool_end_at_equal_marginal_prices(setup, accounts):
    vault, rebalancer, t, adapters, keeper, market, v2 = setup
    usdc, weth, split = t["USDC"], t["WETH"], adapters["split"]
    holder = accounts[1]
    fund_test_accounts(load_spec(DEMO_SPEC), list(t.values()), [holder], 10_000 * SHARE, sender=accounts[0])
    vault.mint_in_kind(10_000 * SHARE, holder, [2**256 - 1] * len(t), sender=holder)  # NAV about $1M
    past_cooldown()
    rebalancer.start_rebalance(sender=keeper)
    v3_only = v3_route([usdc.address, weth.address], [FEE])
    single = keeper_trade(rebalancer, keeper, usdc, weth, 1_000 * 10**6, adapters["uniswap-v3"], v3_only)  # for gas
    past_cooldown()
    reader = Keeper(
        rebalancer.address,
        keeper,
        adapter=adapters["uniswap-v3"].address,
        v2_adapter=adapters["uniswap-v2"].address,
        split_adapter=split.address,
        quoter=market.uniswap.quoter_v2.address,
    )
    snap = reader.read_snapshot()
    amount = 10_000 * 10**6  # $10,000 into a $200k pair and a $2M pool: about 0.9% of price move
    _, best_single = reader.venues.venue(snap, usdc.address, weth.address, amount, "latest")
    worth = reader.venues.split_worth(snap, weth.address, snap.base_fee + reader.priority_fee())  # extra gas, WETH
    venue, expected = reader.venues.venue(snap, usdc.address, weth.address, amount, "latest", split_worth=worth)
    assert venue.name == "split" and expected > best_single + worth
    v2_part = int.from_bytes(venue.route[:16], "big")
    assert 0 < v2_part < amount
    pair = get_pair(v2, usdc, weth)
    pool = npm_container("UniswapV3Pool").at(market.uniswap.factory.getPool(usdc, weth, FEE))

    result = keeper_trade(rebalancer, keeper, usdc, weth, amount, split, venue.route, slippage_bps=100)

    assert result.amount_out * 1_000 >= expected * 999  # the two parts paid what they quoted
    prices = [marginal_price(pair, usdc, weth, v2=True), marginal_price(pool, usdc, weth, v2=False)]
    assert abs(prices[0] / prices[1] - 1) < Fraction(2, 10_000)  # equal to 0.02% where the trade moved them ~0.9%
    assert usdc.balanceOf(split) == weth.balanceOf(split) == 0
    extra = result.receipt.gas_used - single.receipt.gas_used
    print(f"\nsplit trade of $10,000 (V2 part {v2_part / 1e6:,.0f} USDC): {result.receipt.gas_used:,} gas, "
          f"{extra:,} more than a trade on the V3 pool alone (SPLIT_EXTRA_GAS {SPLIT_EXTRA_GAS:,})")  # fmt: skip
    assert extra <= SPLIT_EXTRA_GAS


def test_trade__snapshot_rules__floor_stale_and_refresh(setup):
    _, rebalancer, t, adapters, keeper, _, _ = setup
    usdc, weth, adapter = t["USDC"], t["WETH"], adapters["uniswap-v3"]
    route = v3_route([usdc.address, weth.address], [FEE])
    past_cooldown()
    amount = 50 * 10**6
    low = oracle_out(rebalancer, usdc.address, weth.address, amount) * 98 // 100
    assert "minimum out below oracle bound" in revert_reason(
        rebalancer, "trade", usdc, weth, amount, low, adapter, route, sender=keeper
    )

    chain.mine(timestamp=chain.blocks.head.timestamp + rebalancer.limits().max_age + 1)
    fair = oracle_out(rebalancer, usdc.address, weth.address, amount)
    assert "stale snapshot" in revert_reason(
        rebalancer, "trade", usdc, weth, amount, fair, adapter, route, sender=keeper
    )
    refreshed = [rebalancer.refresh(a, sender=keeper) for a in (usdc, weth)]  # anyone may: the keeper here

    result = keeper_trade(rebalancer, keeper, usdc, weth, amount, adapter, route, slippage_bps=100)
    assert result.amount_out > 0
    print(f"\nrefresh {refreshed[0].gas_used:,} gas; trade after it {result.receipt.gas_used:,} gas")


def test_trade__sandwiched_on_the_real_pool__loses_at_most_the_slippage_bound(setup, accounts):
    _, rebalancer, t, adapters, keeper, market, _ = setup
    usdc, weth, attacker, adapter = t["USDC"], t["WETH"], accounts[4], adapters["uniswap-v3"]
    router = market.uniswap.swap_router
    route = v3_route([usdc.address, weth.address], [FEE])
    amount = 100 * 10**6
    past_cooldown()
    usdc.mint(attacker, 10**12, sender=accounts[0])
    usdc.approve(router, 2**256 - 1, sender=attacker)

    # a front-run that lifts WETH about 3% in the pool: the keeper's minimum (snapshot less 1%) stops the trade
    router.exactInput((route, attacker.address, 2**40, 30_000 * 10**6, 0), sender=attacker)
    min_out = -(-oracle_out(rebalancer, usdc.address, weth.address, amount) * 99 // 100)
    reason = revert_reason(rebalancer, "trade", usdc, weth, amount, min_out, adapter, route, sender=keeper)
    assert "too little out" in reason or "swap short" in reason

    # a small one (about 0.2%) only costs the vault what the event reports, under the bound
    weth.approve(router, 2**256 - 1, sender=attacker)
    back = v3_route([weth.address, usdc.address], [FEE])
    router.exactInput((back, attacker.address, 2**40, weth.balanceOf(attacker) * 95 // 100, 0), sender=attacker)
    result = keeper_trade(rebalancer, keeper, usdc, weth, amount, adapter, route, slippage_bps=100)
    assert result.shortfall * 100 <= result.oracle_out


def test_auction__filler_approves_the_rebalancer_and_pays_the_decayed_price(setup, accounts):
    vault, rebalancer, t, _, keeper, _, _ = setup
    usdc, weth, filler = t["USDC"], t["WETH"], accounts[5]
    amount = 50 * 10**6
    rebalancer.start_rebalance(sender=keeper)
    opened = rebalancer.open_auction(usdc, weth, amount, sender=keeper)
    (event,) = rebalancer.AuctionOpened.from_receipt(opened)
    weth.mint(filler, 10**18, sender=accounts[0])
    weth.approve(rebalancer, 2**256 - 1, sender=filler)  # the rebalancer moves the payment to the vault
    rate = rebalancer.auction_rate(event.id)
    before = (vault.holdings()[0], usdc.balanceOf(filler))

    filled = rebalancer.fill(event.id, amount, 2 * amount * rate // 10**18, sender=filler)

    (fill,) = rebalancer.AuctionFilled.from_receipt(filled)
    assert vault.holdings()[0] - before[0] == fill.bought
    assert usdc.balanceOf(filler) - before[1] == amount
    assert fill.rate >= fill.oracle_rate * 99 // 100
    print(f"\nauction open {opened.gas_used:,} gas; fill {filled.gas_used:,} gas")


def test_adapter__route_for_other_tokens__reverts(setup, accounts):
    _, _, t, adapters, _, _, _ = setup
    route = v3_route([t["LINK"].address, t["WETH"].address], [FEE])
    reason = revert_reason(
        adapters["uniswap-v3"], "swap", t["USDC"], t["WETH"], 1, 0, route, accounts[0], sender=accounts[0]
    )
    assert "route does not match" in reason
