"""Uniswap V2 constant-product maths in exact integers (no chain): what a pair pays, and what moves it to a price.

A pair holds reserves `(r_in, r_out)` in base units. A swap of `x` pays out `floor(997x * r_out / (1000 r_in
+ 997x))` (UniswapV2Library.getAmountOut: the 0.3% fee is taken from the input, and the whole input stays in
the pair). A pair's price is the ratio of its reserves; here always as token_b per token_a, either in base
units (`Fraction(reserve_b, reserve_a)`) or in whole tokens (`pair_price`).
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import isqrt

FEE_KEPT, FEE_BASE = 997, 1000  # the input counts 99.7% towards the invariant


@dataclass(frozen=True)
class V2Swap:
    """An exact-input swap: `a_in` says whether token_a goes in; `amount_out` is what the pair pays for it."""

    a_in: bool
    amount_in: int
    amount_out: int


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """What a pair with reserves (`reserve_in`, `reserve_out`) pays for `amount_in`: getAmountOut, to the unit."""
    if amount_in <= 0:
        raise ValueError(f"amount_in must be positive: {amount_in}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("the pair has no liquidity")
    with_fee = amount_in * FEE_KEPT
    return with_fee * reserve_out // (reserve_in * FEE_BASE + with_fee)


def raw_price(price_b_per_a: Decimal | Fraction | int, decimals_a: int, decimals_b: int) -> Fraction:
    """`price_b_per_a` whole token_b per whole token_a as base units of token_b per base unit of token_a."""
    if isinstance(price_b_per_a, bool | float):
        raise ValueError(f"price must be exact (Decimal, Fraction or int), not {type(price_b_per_a).__name__}")
    price = Fraction(price_b_per_a)
    if price <= 0:
        raise ValueError(f"price must be positive: {price_b_per_a}")
    return price * Fraction(10**decimals_b, 10**decimals_a)


def pair_price(reserve_a: int, reserve_b: int, decimals_a: int, decimals_b: int) -> Fraction:
    """Whole token_b per whole token_a in a pair holding `reserve_a` and `reserve_b` base units (exact)."""
    if reserve_a <= 0 or reserve_b <= 0:
        raise ValueError("the pair has no liquidity")
    return Fraction(reserve_b, reserve_a) * Fraction(10**decimals_a, 10**decimals_b)


def _smallest_reaching(reached, guess: int) -> int:
    """The smallest x >= 1 with `reached(x)`, for `reached` monotone and false at 0, searching out from `guess`."""
    lo, hi, step = 0, max(guess, 1), 1
    while not reached(hi):  # gallop up: lo stays below the answer, hi ends at or above it
        lo, hi, step = hi, hi + step, step * 2
    step = 1
    while hi - step > lo and reached(hi - step):  # gallop down
        hi, step = hi - step, step * 2
    lo = max(lo, hi - step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reached(mid) else (mid, hi)
    return hi


def swap_to_price_v2(reserve_a: int, reserve_b: int, target: Fraction) -> V2Swap:
    """The exact-input swap that moves a pair to `target` base units of token_b per base unit of token_a.

    The input is the smallest integer after which the pair's price has reached the target (it never stops
    short): the pair then sits at the target or past it by what one base unit of input moves. The closed
    form seeds the search: selling `x` of the token in (reserves `r_in`, `r_out`, wanted `r_out'/r_in' =
    p/q`) solves `1000 r_in r_out = (p/q)(r_in + x)(1000 r_in + 997x)`, whose root is
    `(isqrt(p r_in (9 p r_in + 3988000 q r_out)) - 1997 p r_in) / (1994 p)`; the exact input, with
    getAmountOut's rounding, is then found by an integer search around it. Returns no swap (amount 0) when
    the pair already sits at the target, or when the swap's output would round to nothing (the pair would
    revert; the price is then within one base unit of output of the target).
    """
    if reserve_a <= 0 or reserve_b <= 0:
        raise ValueError("the pair has no liquidity")
    target = Fraction(target)
    if target <= 0:
        raise ValueError(f"target price must be positive: {target}")
    current = Fraction(reserve_b, reserve_a)
    if current == target:
        return V2Swap(True, 0, 0)
    a_in = current > target  # the price of a must fall: sell a
    r_in, r_out, wanted = (reserve_a, reserve_b, target) if a_in else (reserve_b, reserve_a, 1 / target)
    p, q = wanted.numerator, wanted.denominator  # out per in after the swap; now r_out / r_in > p / q

    def reached(x: int) -> bool:
        return (r_out - get_amount_out(x, r_in, r_out)) * q <= p * (r_in + x) if x else r_out * q <= p * r_in

    guess = (isqrt(p * r_in * (9 * p * r_in + 3_988_000 * q * r_out)) - 1997 * p * r_in) // (1994 * p)
    amount_in = _smallest_reaching(reached, guess)
    amount_out = get_amount_out(amount_in, r_in, r_out)
    if amount_out == 0:
        return V2Swap(a_in, 0, 0)
    return V2Swap(a_in, amount_in, amount_out)
