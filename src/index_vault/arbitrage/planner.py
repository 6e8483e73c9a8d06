"""The arbitrageur's decision, pure (no chain): when the index token's price on its DEX pair leaves a band around
NAV, the cycle that brings it back, and whether the cycle pays.

- **Above the band** (the pair's price over `NAV * (1 + band)`): mint shares at NAV (in kind, through the zap: a
  share costs `NAV * (1 + mint_cost_bps)`, the cost of buying its constituents) and sell them into the pair.
- **Below the band** (under `NAV * (1 - band)`): buy shares from the pair and redeem them (through the zap: a
  share returns `NAV * (1 - redeem_cost_bps)`).

Sizing (`plan_cycle`): first the swap that moves the pair to `aim_bps` inside the band's nearer edge
(`index_vault.market.uniswap_v2_math.swap_to_price_v2`, to the base unit; aiming inside the edge rather than at it
keeps the price inside although the chain rounds the cycle's amounts its own way); if its profit pays `min_profit`
(gas included), that is the cycle: the price ends inside the band, not merely where profit peaks. Otherwise the most
profitable size, where the pair's marginal price net of its fee meets a share's cost (`P * 997/1000 = NAV * (1
+ mint cost)` above, `P * 1000/997 = NAV * (1 - redeem cost)` below): the cycle moves the price toward the band
as far as arbitrage can pay for; below `min_profit` there is no cycle, and the reason says why.

Prices are exact fractions of base units (quote base units per share base unit); amounts are integers (base
units), profits in quote base units. A V2 pair is sized exactly, with its own rounding (`swap_to_price_v2`). A
V3 pool with one full-range position trades as a pair of its virtual reserves (`L * 2**96 / sqrtP` and
`L * sqrtP / 2**96`) whose fee leaves the curve: it is sized in closed form (`_swap_to_price_v3`), to within a
unit's rounding of what the pool computes itself.
"""

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

from index_vault.market.uniswap_v2_math import FEE_BASE, FEE_KEPT, swap_to_price_v2

BPS = 10_000
PPM = 1_000_000  # a V3 pool's fee unit: hundredths of a basis point
NONE, MINT_AND_SELL, BUY_AND_REDEEM = "none", "mint-and-sell", "buy-and-redeem"


@dataclass(frozen=True)
class Pair:
    """The index token's pool: its reserves of shares and of the quote token, in base units (a V3 pool's virtual
    ones), and for a V3 pool its fee (ppm)."""

    shares: int
    quote: int
    v3_fee: int | None = None  # None: a Uniswap V2 pair (0.3%)

    @property
    def price(self) -> Fraction:
        """Quote base units per share base unit."""
        return Fraction(self.quote, self.shares)


@dataclass(frozen=True)
class ArbitrageSettings:
    """The arbitrageur's policy: the band it holds (bps of NAV either way), what a share costs to mint and returns
    when redeemed through the zap beyond NAV (bps), and the least profit a cycle must make (quote base units,
    its gas included)."""

    band_bps: int = 50
    mint_cost_bps: int = 30
    redeem_cost_bps: int = 30
    min_profit: int = 0
    aim_bps: int = 5  # how far inside the band's edge a cycle aims (at most the band)

    def __post_init__(self) -> None:
        if not 0 <= self.band_bps < BPS or not 0 <= self.mint_cost_bps < BPS or not 0 <= self.redeem_cost_bps < BPS:
            raise ValueError("arbitrage: band and costs within [0, 10000) bps")
        if self.aim_bps < 0:
            raise ValueError("arbitrage: the aim must be non-negative")


@dataclass(frozen=True)
class Cycle:
    """One atomic cycle: `shares` minted and sold for `quote` (above), or `quote` paid for `shares` redeemed
    (below); the profit expected (quote base units, before gas) and the pair's price after it."""

    direction: str
    shares: int
    quote: int
    profit: int
    price_after: Fraction
    reason: str


def band(nav: Fraction, settings: ArbitrageSettings) -> tuple[Fraction, Fraction]:
    """The band's edges around `nav` (quote base units per share base unit)."""
    return nav * (BPS - settings.band_bps) / BPS, nav * (BPS + settings.band_bps) / BPS


def plan_cycle(pair: Pair, nav: Fraction, settings: ArbitrageSettings) -> Cycle:
    """The cycle that brings `pair`'s price back inside the band around `nav`, or why there is none (module doc)."""
    if pair.shares <= 0 or pair.quote <= 0 or nav <= 0:
        raise ValueError("arbitrage: the pair needs both reserves and the NAV must be positive")
    low, high = band(nav, settings)
    price = pair.price
    if low <= price <= high:
        return Cycle(NONE, 0, 0, 0, price, "inside the band")
    above = price > high
    share_value = nav * (BPS + settings.mint_cost_bps if above else BPS - settings.redeem_cost_bps) / BPS
    inside = settings.band_bps - min(settings.aim_bps, settings.band_bps)  # bps from NAV the cycle aims at
    edge = _cycle(pair, nav * (BPS + inside if above else BPS - inside) / BPS, share_value, above)
    if edge.profit >= settings.min_profit and edge.shares:
        return edge
    kept = Fraction(FEE_KEPT, FEE_BASE) if pair.v3_fee is None else Fraction(PPM - pair.v3_fee, PPM)
    peak_price = share_value / kept if above else share_value * kept
    if (above and peak_price >= price) or (not above and peak_price <= price):
        return Cycle(NONE, 0, 0, 0, price, "outside the band by less than a cycle's costs")
    peak = _cycle(pair, peak_price, share_value, above)
    if peak.profit < settings.min_profit or not peak.shares:
        return Cycle(NONE, 0, 0, 0, price, "outside the band, but no cycle pays its gas")
    return peak


def _cycle(pair: Pair, target: Fraction, share_value: Fraction, above: bool) -> Cycle:
    """The cycle whose swap moves `pair` to `target`, each share valued at `share_value` (what it costs to mint,
    above; what it returns redeemed, below)."""
    if pair.v3_fee is None:
        swap = swap_to_price_v2(pair.shares, pair.quote, target)  # token a: the shares
        amount_in, amount_out = swap.amount_in, swap.amount_out
        # the fee stays in a V2 pair
        after = (pair.shares + amount_in, pair.quote - amount_out) if above else (
            pair.shares - amount_out, pair.quote + amount_in)  # fmt: skip
    else:
        amount_in, amount_out, after = _swap_to_price_v3(pair, target, above)
    if amount_in <= 0 or amount_out <= 0:
        return Cycle(NONE, 0, 0, 0, pair.price, "the swap rounds to nothing")
    price_after = Fraction(after[1], after[0])
    if above:  # shares in, quote out
        profit = amount_out - _ceil(amount_in * share_value)
        return Cycle(MINT_AND_SELL, amount_in, amount_out, profit, price_after, "above the band")
    profit = int(amount_out * share_value) - amount_in
    return Cycle(BUY_AND_REDEEM, amount_out, amount_in, profit, price_after, "below the band")


def _swap_to_price_v3(pair: Pair, target: Fraction, above: bool) -> tuple[int, int, tuple[int, int]]:
    """(amount in, amount out, reserves after) of the swap moving a full-range V3 pool's virtual reserves to
    `target`: shares in (above) or shares out (below) such that `quote' / shares' = target` on the curve
    `shares * quote = k`, the fee (`v3_fee` ppm of the input) paid beside it and rounded up."""
    k = pair.shares * pair.quote
    # shares' = sqrt(k / target), to the unit: below it when selling shares (the price then reaches the target)
    shares_after = isqrt(k * target.denominator // target.numerator)
    fee_left = PPM - pair.v3_fee
    if above:
        shares_after += 1
        net = shares_after - pair.shares
        quote_after = -(-k // shares_after)
        gross = -(-net * PPM // fee_left)
        return gross, pair.quote - quote_after, (shares_after, quote_after)
    quote_after = -(-k // shares_after)
    net = quote_after - pair.quote
    gross = -(-net * PPM // fee_left)
    return gross, pair.shares - shares_after, (shares_after, quote_after)


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)
