"""The arbitrageur's planner: inside the band nothing, outside a cycle to the band's edge when it pays, else to
where profit peaks, else nothing; checked on exact V2 maths, against the closed form of the peak, and on a full-range
V3 pool against the pool's own swap maths."""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.arbitrage.planner import (
    BUY_AND_REDEEM,
    MINT_AND_SELL,
    NONE,
    ArbitrageSettings,
    Pair,
    band,
    plan_cycle,
)
from index_vault.market.chain.uniswap_v3 import swap_to_price
from index_vault.market.uniswap_v2_math import get_amount_out

SHARE, USDC = 10**18, 10**6
NAV = Fraction(100 * USDC, SHARE)  # $100 a share, quoted in USDC base units per share base unit
SETTINGS = ArbitrageSettings(band_bps=50, mint_cost_bps=30, redeem_cost_bps=30)


def pair_at(dollars: str, shares: int = 10_000) -> Pair:
    """A pair of `shares` whole shares priced at `dollars` each."""
    return Pair(shares * SHARE, int(Fraction(dollars) * shares * USDC))


def test_plan_cycle__inside_the_band__nothing():
    cycle = plan_cycle(pair_at("100.4"), NAV, SETTINGS)

    assert (cycle.direction, cycle.shares, cycle.reason) == (NONE, 0, "inside the band")


def test_plan_cycle__two_percent_above__mints_and_sells_to_the_bands_edge():
    pair = pair_at("102")

    cycle = plan_cycle(pair, NAV, SETTINGS)

    high = band(NAV, SETTINGS)[1]
    assert cycle.direction == MINT_AND_SELL
    assert cycle.quote == get_amount_out(cycle.shares, pair.shares, pair.quote)  # the pair's own maths
    assert cycle.price_after <= high  # inside the band: the smallest sale that gets there
    one_less = cycle.shares - 1
    aim = NAV * Fraction(10_000 + SETTINGS.band_bps - SETTINGS.aim_bps, 10_000)  # a little inside the edge
    assert cycle.price_after <= aim
    assert Pair(pair.shares + one_less, pair.quote - get_amount_out(one_less, pair.shares, pair.quote)).price > aim
    cost = cycle.shares * NAV * Fraction(10_030, 10_000)  # minting them through the zap
    assert cycle.profit == cycle.quote - math.ceil(cost) > 0


def test_plan_cycle__two_percent_below__buys_and_redeems_to_the_bands_edge():
    pair = pair_at("98")

    cycle = plan_cycle(pair, NAV, SETTINGS)

    low, _ = band(NAV, SETTINGS)
    assert cycle.direction == BUY_AND_REDEEM
    assert cycle.shares == get_amount_out(cycle.quote, pair.quote, pair.shares)
    assert cycle.price_after >= low
    assert cycle.profit == int(cycle.shares * NAV * 9_970 / 10_000) - cycle.quote > 0


def test_plan_cycle__outside_the_band_by_less_than_the_costs__nothing():
    # selling into the pair pays 99.7% of 100.6 = 100.298 a share; minting one costs 100.3
    cycle = plan_cycle(pair_at("100.6"), NAV, SETTINGS)

    assert (cycle.direction, cycle.reason) == (NONE, "outside the band by less than a cycle's costs")


def test_plan_cycle__edge_does_not_pay_the_gas__trades_to_where_profit_peaks():
    pair = pair_at("101")
    edge = plan_cycle(pair, NAV, SETTINGS)
    assert edge.direction == MINT_AND_SELL and edge.profit > 0
    # demand more than the edge's profit: the most profitable cycle stops short of the band
    greedy = ArbitrageSettings(band_bps=50, mint_cost_bps=30, redeem_cost_bps=30, min_profit=edge.profit + 1)

    cycle = plan_cycle(pair, NAV, greedy)

    peak = NAV * Fraction(10_030, 10_000) * Fraction(1000, 997)  # where the marginal sale pays a share's cost
    assert cycle.direction == MINT_AND_SELL and cycle.profit > edge.profit
    assert peak * Fraction(999_999, 1_000_000) < cycle.price_after <= peak
    assert cycle.price_after > band(NAV, SETTINGS)[1]  # short of the band: gas sets the limit
    nothing = plan_cycle(pair, NAV, ArbitrageSettings(min_profit=cycle.profit + 1))
    assert (nothing.direction, nothing.reason) == (NONE, "outside the band, but no cycle pays its gas")


def test_arbitrage_settings__bad_band__raises():
    with pytest.raises(ValueError, match="within"):
        ArbitrageSettings(band_bps=10_000)


@given(
    st.integers(10**3, 10**7),  # whole shares in the pair
    st.fractions(Fraction(50), Fraction(200)).map(lambda p: p.limit_denominator(10**6)),  # its price, dollars
    st.integers(0, 300),
    st.integers(0, 100),
    st.integers(0, 100),
    st.integers(0, 10**9),
)
def test_plan_cycle__any_pair__a_cycle_pays_its_minimum_and_never_pushes_the_price_past_nav(
    shares, dollars, band_bps, mint_bps, redeem_bps, min_profit
):
    pair = Pair(shares * SHARE, int(dollars * shares * USDC))
    settings = ArbitrageSettings(band_bps, mint_bps, redeem_bps, min_profit)

    cycle = plan_cycle(pair, NAV, settings)

    low, high = band(NAV, settings)
    if low <= pair.price <= high:
        assert cycle.direction == NONE
    if cycle.direction == NONE:
        return
    assert cycle.profit >= min_profit and cycle.shares > 0
    if cycle.direction == MINT_AND_SELL:
        assert pair.price > high and cycle.quote == get_amount_out(cycle.shares, pair.shares, pair.quote)
        assert NAV * Fraction(999_999, 1_000_000) < cycle.price_after < pair.price  # NAV at most by a unit's move
    else:
        assert pair.price < low and cycle.shares == get_amount_out(cycle.quote, pair.quote, pair.shares)
        assert pair.price < cycle.price_after < NAV * Fraction(1_000_001, 1_000_000)


def v3_pool_at(dollars: str, fee: int = 500, shares: int = 10_000) -> tuple[Pair, int, int]:
    """A full-range V3 pool of `shares` (token0) at `dollars` a share: its virtual reserves, liquidity and
    sqrtPriceX96."""
    quote = int(Fraction(dollars) * shares * USDC)
    liquidity = math.isqrt(shares * SHARE * quote)
    sqrt_price = math.isqrt(quote * 2**192 // (shares * SHARE))
    return Pair(liquidity * 2**96 // sqrt_price, liquidity * sqrt_price // 2**96, v3_fee=fee), liquidity, sqrt_price


@pytest.mark.parametrize("dollars", ["103", "97"])
def test_plan_cycle__v3_pool_off_nav__sized_as_the_pools_own_maths_moves_it_inside_the_band(dollars):
    pool, liquidity, sqrt_price = v3_pool_at(dollars)
    aim = SETTINGS.band_bps - SETTINGS.aim_bps

    cycle = plan_cycle(pool, NAV, SETTINGS)

    above = Fraction(dollars) > 100
    assert cycle.direction == (MINT_AND_SELL if above else BUY_AND_REDEEM) and cycle.profit > 0
    target = NAV * Fraction(10_000 + aim if above else 10_000 - aim, 10_000)
    target_sqrt = math.isqrt(target.numerator * 2**192 // target.denominator)
    zero_for_one, amount_in = swap_to_price(sqrt_price, target_sqrt, liquidity, 500)
    assert zero_for_one == above  # shares (token0) in when above
    # within a billionth of the pool's own input (the virtual reserves and square roots round differently)
    planned = cycle.shares if above else cycle.quote  # exact shares in; or exact shares out, for this quote in
    assert abs(planned - amount_in) <= amount_in // 10**9
    low, high = band(NAV, SETTINGS)
    assert low < cycle.price_after < high
