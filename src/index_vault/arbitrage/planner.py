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
units), profits in quote base units. A V3 pool within one range trades as a pair of its virtual reserves; this
planner sizes on a V2 pair's reserves.
"""

from dataclasses import dataclass
from fractions import Fraction

from index_vault.market.uniswap_v2_math import FEE_BASE, FEE_KEPT, swap_to_price_v2

BPS = 10_000
NONE, MINT_AND_SELL, BUY_AND_REDEEM = "none", "mint-and-sell", "buy-and-redeem"


@dataclass(frozen=True)
class Pair:
    """The index token's pair: its reserves of shares and of the quote token, in base units."""

    shares: int
    quote: int

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
    peak_price = share_value * FEE_BASE / FEE_KEPT if above else share_value * FEE_KEPT / FEE_BASE
    if (above and peak_price >= price) or (not above and peak_price <= price):
        return Cycle(NONE, 0, 0, 0, price, "outside the band by less than a cycle's costs")
    peak = _cycle(pair, peak_price, share_value, above)
    if peak.profit < settings.min_profit or not peak.shares:
        return Cycle(NONE, 0, 0, 0, price, "outside the band, but no cycle pays its gas")
    return peak


def _cycle(pair: Pair, target: Fraction, share_value: Fraction, above: bool) -> Cycle:
    """The cycle whose swap moves `pair` to `target`, each share valued at `share_value` (what it costs to mint,
    above; what it returns redeemed, below)."""
    swap = swap_to_price_v2(pair.shares, pair.quote, target)  # token a: the shares
    if swap.amount_in == 0:
        return Cycle(NONE, 0, 0, 0, pair.price, "the swap rounds to nothing")
    if above:  # shares in, quote out
        shares, quote = swap.amount_in, swap.amount_out
        profit = quote - _ceil(shares * share_value)
        after = Pair(pair.shares + shares, pair.quote - quote)
        return Cycle(MINT_AND_SELL, shares, quote, profit, after.price, "above the band")
    quote, shares = swap.amount_in, swap.amount_out
    profit = int(shares * share_value) - quote
    after = Pair(pair.shares - shares, pair.quote + quote)
    return Cycle(BUY_AND_REDEEM, shares, quote, profit, after.price, "below the band")


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)
