"""Real Chainlink feeds and Uniswap V3 pools on anvil, deployed from the npm builds through the loader."""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from ape import chain
from ape.contracts import ContractInstance
from ape.exceptions import ContractLogicError

from index_vault.chain.contracts import npm_container
from index_vault.market.chain.uniswap_v3 import (
    MAX_TICK,
    Q192,
    UniswapV3,
    add_liquidity,
    advance_time,
    create_pool,
    deploy_uniswap_v3,
    deploy_weth,
    full_range_ticks,
    pool_price,
    price_from_sqrt_price_x96,
    quote_exact_input,
    sqrt_price_x96,
    swap_exact_input,
)
from index_vault.oracle.chain.feeds import aggregator_of, answer_to_price, deploy_price_feed, set_feed_price

ETHER = 10**18
PHASE_1 = 1 << 64  # the proxy's round ids carry the aggregator's phase in their top bits
TWAP_WINDOW = 1800
# Relative error of a price read back from a sqrtPriceX96 floor: far below any price's decimals.
PRICE_TOLERANCE = Fraction(1, 10**15)
# A quote of a small trade against a deep full-range position: the fee plus at most this much impact.
SLIPPAGE = Fraction(1, 1000)


@dataclass(frozen=True)
class PoolCase:
    """A pool the module deploys: token_a/token_b symbols, fee tier, price and liquidity (whole tokens)."""

    a: str
    b: str
    fee: int
    price_b_per_a: Decimal
    liquidity_a: int


POOLS = {
    "weth_usdc": PoolCase("WETH", "USDC", 3000, Decimal("2500"), 100),
    # The same pair the other way round, so both token0/token1 orderings of token_a are exercised.
    "usdc_weth_500": PoolCase("USDC", "WETH", 500, Decimal("0.0004"), 250_000),
    "wbtc_weth": PoolCase("WBTC", "WETH", 3000, Decimal("25.5"), 10),
}


@dataclass(frozen=True)
class Local:
    """The module's deployment: Uniswap V3, tokens by symbol and pools by case name."""

    uni: UniswapV3
    tokens: dict[str, ContractInstance]
    pools: dict[str, ContractInstance]


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def trader(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def local(owner, trader) -> Local:
    """Uniswap V3, WETH, 6-decimal USDC and 8-decimal WBTC, and funded pools: deployed once for the module."""
    weth = deploy_weth(owner)
    uni = deploy_uniswap_v3(owner, weth)
    token = npm_container("StandardTokenMock")
    usdc = token.deploy(owner, 0, "USD Coin", "USDC", 6, sender=owner)
    wbtc = token.deploy(owner, 0, "Wrapped BTC", "WBTC", 8, sender=owner)
    tokens = {"WETH": weth, "USDC": usdc, "WBTC": wbtc}
    weth.deposit(sender=owner, value=1000 * ETHER)
    weth.deposit(sender=trader, value=10 * ETHER)
    usdc.mint(owner, 1_000_000 * 10**6, sender=owner)

    pools = {}
    for name, case in POOLS.items():
        token_a, token_b = tokens[case.a], tokens[case.b]
        pool = create_pool(uni, token_a, token_b, case.fee, case.price_b_per_a, owner)
        amount_a = case.liquidity_a * 10 ** token_a.decimals()
        amount_b = int(case.liquidity_a * case.price_b_per_a * 10 ** token_b.decimals())
        if case.a == "WBTC":
            wbtc.mint(owner, amount_a, sender=owner)
        add_liquidity(uni, pool, amount_a, amount_b, owner, token_a=token_a)
        pools[name] = pool
    return Local(uni=uni, tokens=tokens, pools=pools)


@pytest.fixture(scope="module")
def feed(owner) -> ContractInstance:
    return deploy_price_feed(owner, Decimal("2500.12345678"), 8, "ETH / USD")


# Chainlink feeds


def test_deploy_price_feed__8_decimals__proxy_returns_answer_with_decimals(feed):
    data = feed.latestRoundData()

    assert feed.decimals() == 8
    assert data.answer == 250_012_345_678
    assert answer_to_price(data.answer, feed.decimals()) == Decimal("2500.12345678")
    assert data.roundId == data.answeredInRound == PHASE_1 | 1
    assert data.updatedAt == data.startedAt > 0
    assert feed.latestAnswer() == data.answer


def test_deploy_price_feed__18_decimals__proxy_returns_answer_with_decimals(owner):
    proxy = deploy_price_feed(owner, "1.000000000000000001", decimals=18)

    assert proxy.decimals() == 18
    assert proxy.latestRoundData().answer == ETHER + 1


def test_deploy_price_feed__excess_precision__raises(owner):
    with pytest.raises(ValueError, match="more than 8 decimals"):
        deploy_price_feed(owner, "2500.123456789", 8)


def test_aggregator_of__feed__is_the_proxys_aggregator(feed):
    aggregator = aggregator_of(feed)

    assert aggregator.address == feed.aggregator()
    assert aggregator.latestAnswer() == feed.latestAnswer()


def test_set_feed_price__new_price__proxy_returns_new_round_at_block_time(feed, owner):
    round_id = set_feed_price(feed, "2600.5", owner)
    data = feed.latestRoundData()

    assert round_id == data.roundId == PHASE_1 | 2
    assert data.answer == 260_050_000_000
    assert data.updatedAt == chain.blocks.head.timestamp


def test_set_feed_price__updated_at__proxy_returns_stale_round(feed, owner):
    stale_at = chain.blocks.head.timestamp - 7200

    round_id = set_feed_price(feed, Decimal("2400"), owner, updated_at=stale_at)
    data = feed.latestRoundData()

    assert round_id == data.roundId == data.answeredInRound == PHASE_1 | 2
    assert data.answer == 240_000_000_000
    assert data.updatedAt == data.startedAt == stale_at
    assert feed.getRoundData(round_id).updatedAt == stale_at


def test_set_feed_price__negative_price__proxy_returns_negative_answer(feed, owner):
    set_feed_price(feed, "-1", owner)

    assert feed.latestRoundData().answer == -(10**8)


def test_set_feed_price__excess_precision__raises(feed, owner):
    with pytest.raises(ValueError, match="more than 8 decimals"):
        set_feed_price(feed, "1.000000001", owner)


# sqrtPriceX96 arithmetic (no chain)


@pytest.mark.parametrize("a_is_token0", [True, False])
@pytest.mark.parametrize(
    ("price", "decimals_a", "decimals_b"),
    [("2500", 18, 6), ("25.5", 8, 18), ("0.0004", 6, 18), ("1", 18, 18), ("0.000001", 18, 18)],
)
def test_sqrt_price_x96__either_ordering__is_the_floor_root_and_round_trips(price, decimals_a, decimals_b, a_is_token0):
    root = sqrt_price_x96(Decimal(price), decimals_a, decimals_b, a_is_token0)

    raw = Fraction(price) * Fraction(10**decimals_b, 10**decimals_a)
    raw = raw if a_is_token0 else 1 / raw
    assert root**2 <= raw * Q192 < (root + 1) ** 2
    back = price_from_sqrt_price_x96(root, decimals_a, decimals_b, a_is_token0)
    assert abs(back - Fraction(price)) <= Fraction(price) * PRICE_TOLERANCE


def test_sqrt_price_x96__price_one_same_decimals__is_q96():
    assert sqrt_price_x96("1", 18, 18, True) == sqrt_price_x96("1", 18, 18, False) == 2**96


@pytest.mark.parametrize("price", [0, "-1", 1.5, "1e-40"])
def test_sqrt_price_x96__unusable_price__raises(price):
    with pytest.raises(ValueError):
        sqrt_price_x96(price, 18, 18, True)


def test_full_range_ticks__fee_tier_spacings__are_usable_multiples():
    for spacing in (1, 10, 60, 200):
        lower, upper = full_range_ticks(spacing)
        assert lower == -upper and upper % spacing == 0 and MAX_TICK - spacing < upper <= MAX_TICK


# Uniswap V3 pools


@pytest.mark.parametrize("name", list(POOLS))
def test_create_pool__pair__initialises_at_price(local, name):
    case, pool = POOLS[name], local.pools[name]
    token_a, token_b = local.tokens[case.a], local.tokens[case.b]
    a_is_token0 = pool.token0() == token_a.address

    expected_root = sqrt_price_x96(case.price_b_per_a, token_a.decimals(), token_b.decimals(), a_is_token0)
    price = pool_price(pool, token_a, token_b)

    assert pool.slot0().sqrtPriceX96 == expected_root
    assert abs(price - Fraction(case.price_b_per_a)) <= Fraction(case.price_b_per_a) * PRICE_TOLERANCE
    assert pool.slot0().observationCardinalityNext == 100
    assert pool.fee() == case.fee


def test_create_pool__both_cases_of_one_pair__cover_both_orderings(local):
    weth_usdc, usdc_weth = local.pools["weth_usdc"], local.pools["usdc_weth_500"]

    assert weth_usdc.token0() == usdc_weth.token0()  # same pair: WETH is token_a in one, token_b in the other
    assert {weth_usdc.address, usdc_weth.address} == {
        local.uni.factory.getPool(local.tokens["WETH"], local.tokens["USDC"], fee) for fee in (3000, 500)
    }


@pytest.mark.parametrize("name", list(POOLS))
def test_quote_exact_input__small_amount__matches_price_less_fee(local, name):
    case, pool = POOLS[name], local.pools[name]
    token_a, token_b = local.tokens[case.a], local.tokens[case.b]
    amount_in = case.liquidity_a * 10 ** token_a.decimals() // 10_000

    amount_out = quote_exact_input(local.uni, token_a, token_b, case.fee, amount_in)

    ideal = amount_in * Fraction(case.price_b_per_a) * Fraction(10 ** token_b.decimals(), 10 ** token_a.decimals())
    after_fee = ideal * (1 - Fraction(case.fee, 1_000_000))
    assert after_fee * (1 - SLIPPAGE) <= amount_out <= after_fee
    assert pool.slot0().sqrtPriceX96 == sqrt_price_x96(
        case.price_b_per_a, token_a.decimals(), token_b.decimals(), pool.token0() == token_a.address
    )  # a quote changes nothing


def test_add_liquidity__full_range__takes_amounts_and_leaves_no_allowance(local, owner):
    pool, weth, usdc = local.pools["weth_usdc"], local.tokens["WETH"], local.tokens["USDC"]
    manager = local.uni.position_manager
    liquidity_before = pool.liquidity()
    weth_before, usdc_before = weth.balanceOf(owner), usdc.balanceOf(owner)

    position = add_liquidity(local.uni, pool, ETHER, 3000 * 10**6, owner, token_a=weth)

    assert position.amount_a == weth_before - weth.balanceOf(owner) > 0
    assert position.amount_b == usdc_before - usdc.balanceOf(owner)
    assert position.amount_a == ETHER or position.amount_b == 3000 * 10**6  # one side binds
    assert abs(Fraction(position.amount_b * 10**12, position.amount_a) - 2500) < 1  # in proportion to the price
    assert pool.liquidity() == liquidity_before + position.liquidity
    assert manager.ownerOf(position.token_id) == owner.address
    details = manager.positions(position.token_id)
    assert (details.tickLower, details.tickUpper) == full_range_ticks(pool.tickSpacing())
    assert weth.allowance(owner, manager) == usdc.allowance(owner, manager) == 0


def test_add_liquidity__tokens_not_held__raises(local, trader):
    pool, weth = local.pools["weth_usdc"], local.tokens["WETH"]

    with pytest.raises(ValueError, match="holds 0"):
        add_liquidity(local.uni, pool, ETHER, 2500 * 10**6, trader, token_a=weth)


def test_observe__before_window_has_passed__reverts_old(local):
    with pytest.raises(ContractLogicError, match="OLD"):
        local.pools["weth_usdc"].observe([TWAP_WINDOW, 0])


@pytest.mark.parametrize("name", list(POOLS))
def test_observe__after_advance_time__mean_tick_matches_initial_price(local, name):
    case, pool = POOLS[name], local.pools[name]
    token_a, token_b = local.tokens[case.a], local.tokens[case.b]
    head = chain.blocks.head.timestamp

    assert advance_time(TWAP_WINDOW) == head + TWAP_WINDOW
    tick_cumulatives, _ = pool.observe([TWAP_WINDOW, 0])

    mean_tick = (tick_cumulatives[1] - tick_cumulatives[0]) // TWAP_WINDOW  # floor, as OracleLibrary rounds
    raw_price = Fraction(case.price_b_per_a) * Fraction(10 ** token_b.decimals(), 10 ** token_a.decimals())
    if pool.token0() != token_a.address:
        raw_price = 1 / raw_price  # token1 per token0 in base units
    assert abs(mean_tick - math.log(raw_price, 1.0001)) <= 1
    assert mean_tick == pool.slot0().tick


def test_advance_time__zero_seconds__raises():
    with pytest.raises(ValueError):
        advance_time(0)


def test_swap_exact_input__weth_for_usdc__pays_the_quote_and_moves_the_price(local, trader):
    pool, weth, usdc = local.pools["weth_usdc"], local.tokens["WETH"], local.tokens["USDC"]
    price_before = pool_price(pool, weth, usdc)
    quoted = quote_exact_input(local.uni, weth, usdc, 3000, ETHER)
    weth_before = weth.balanceOf(trader)

    amount_out = swap_exact_input(local.uni, weth, usdc, 3000, ETHER, trader)

    assert amount_out == quoted == usdc.balanceOf(trader) > 0
    assert weth.balanceOf(trader) == weth_before - ETHER
    assert weth.allowance(trader, local.uni.swap_router) == 0
    assert pool_price(pool, weth, usdc) < price_before  # selling WETH cheapens it


def test_swap_exact_input__usdc_for_wbtc_route_absent__reverts(local, owner):
    with pytest.raises(ContractLogicError):
        swap_exact_input(local.uni, local.tokens["USDC"], local.tokens["WBTC"], 3000, 10**6, owner)
