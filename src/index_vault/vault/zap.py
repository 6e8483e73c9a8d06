"""Planning a zap, pure (no chain): what to pass `Zap.mint` and `Zap.redeem` so that they fill and stay within the
caller's bounds.

A mint sells, for each constituent, enough of the token paid to buy what the in-kind mint takes (the lens's exact
preview): its value at the oracle price, grossed up by the pool's fee and a slippage margin, in the token's units at
its price, rounded up. The constituent that is the token itself is not swapped: its need is paid directly. The
margin comes back to the caller (as the constituent bought beyond the need), so it costs only what the pools charge
on it. `max_in` is the sum: the most the mint can spend. A redemption's `min_out` is the value of what the vault
pays out, less the pools' fee and the slippage allowed, in the token's units, rounded down.

Amounts are base units; prices USD per whole token with 18 decimals (the oracle's); fees and margins bps.
"""

from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000


@dataclass(frozen=True)
class MintPlan:
    """Per constituent, the token sold for it (0 for the token itself), and the most the mint spends."""

    amounts_in: tuple[int, ...]
    max_in: int


def _check(amounts: Sequence[int], decimals: Sequence[int], prices: Sequence[int], token_price: int, fee_bps: int):
    """Raises `ValueError` unless there is one amount, decimals and price per constituent, every price is
    positive and the fee within [0, 10000) bps."""
    if len(amounts) != len(decimals) or len(amounts) != len(prices):
        raise ValueError("zap: one need, decimals and price per constituent")
    if token_price <= 0 or any(p <= 0 for p in prices) or not 0 <= fee_bps < BPS:
        raise ValueError("zap: prices must be positive and the fee within [0, 10000) bps")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def plan_mint(
    need: Sequence[int],
    decimals: Sequence[int],
    prices: Sequence[int],
    token: int | None,
    token_decimals: int,
    token_price: int,
    fee_bps: int,
    margin_bps: int,
) -> MintPlan:
    """The legs' amounts for a mint taking `need` (base units, basket order), paying the token at position `token`
    of the basket (None: a token outside it) with `token_decimals` at `token_price` (module doc)."""
    _check(need, decimals, prices, token_price, fee_bps)
    if margin_bps < 0:
        raise ValueError("zap: the margin must be non-negative")
    amounts, total = [], 0
    for i, (amount, dec, price) in enumerate(zip(need, decimals, prices, strict=True)):
        if i == token:
            amounts.append(0)
            total += amount
            continue
        # value (USD) x (1 + margin) / (1 - fee), in the token's base units: one division, rounded up
        spend = _ceil_div(
            amount * price * (BPS + margin_bps) * 10**token_decimals, 10**dec * (BPS - fee_bps) * token_price
        )
        amounts.append(spend if amount else 0)
        total += amounts[-1]
    return MintPlan(tuple(amounts), total)


def plan_redeem_min_out(
    amounts: Sequence[int],
    decimals: Sequence[int],
    prices: Sequence[int],
    token: int | None,
    token_decimals: int,
    token_price: int,
    fee_bps: int,
    slippage_bps: int,
) -> int:
    """The least of the token a redemption paying `amounts` (base units, basket order) should accept: each
    constituent's value less the pool's fee (none for the token itself) and `slippage_bps` (module doc)."""
    _check(amounts, decimals, prices, token_price, fee_bps)
    if not 0 <= slippage_bps < BPS:
        raise ValueError("zap: the slippage within [0, 10000) bps")
    value = 0  # USD, 18 decimals, times BPS
    for i, (amount, dec, price) in enumerate(zip(amounts, decimals, prices, strict=True)):
        kept = BPS if i == token else BPS - fee_bps
        value += amount * price * kept // 10**dec
    return value * (BPS - slippage_bps) * 10**token_decimals // (BPS * BPS * token_price)
