"""How to execute a rebalance so that it loses little to the pools: one pure policy (no chain), in USD floats.

A rebalance leaves each asset a *gap*: the USD it must buy (positive) or sell (negative) to reach its target.
`ExecutionPolicy.decide` says, for one asset on one day of a rebalance, how much of its gap to trade and where:

1. **Cost-aware no-trade band.** A gap is traded only when the tracking it buys is worth its cost (the no-trade
   region of portfolio choice with transaction costs): leaving a gap of `g` (a fraction of NAV) until the next
   rebalance adds `g**2 * s2` to the index's tracking variance, `s2` the variance over that horizon of the asset's
   return less the index's; at the price `tracking_price` (NAV per unit of tracking variance) that is worth
   `tracking_price * g**2 * s2`, against the trade's cost as a fraction of NAV (gas, pool fee and price impact).
   Whatever the costs, a gap wider than `max_band` of NAV is always traded, so the band can never widen the
   tracking error past what gaps of `max_band` give.
2. **Spread over days.** A trade whose price impact (beyond the fee) would exceed `impact_budget_bps` is cut to
   the size whose impact meets the budget; the rest waits for the next day of the rebalance (arbitrage refills
   the pool in between), for at most `window_days` days.
3. **The rest on the last day.** On the window's last day what is left trades whole in the pools. A name with
   no pool at all (no depth) goes to the rebalancer's Dutch auction instead, filled at the oracle price less
   `auction_discount_bps` (what a filler asks). The auction is credited with no liquidity the model does not
   see: a filler unwinds through the same pools (or pays as much elsewhere), so for a name that has pools the
   auction would cost their price impact plus the filler's margin, more than trading them directly.
4. **Split across venues.** Each slice is split across an asset's pools (V2, SushiSwap, V3) in proportion to
   their depth, which leaves their marginal prices equal (`index_vault.market.liquidity.split_by_depth`); the
   depth the policy is given is their sum.

`NAIVE` trades every gap at once, whole, against the summed depth: the backtest's `--execution naive`.

The backtest and the keeper take their decisions through the same function, `decide_all` (the gaps of a day,
in USD, to decisions); the keeper turns them into the planner's settings with `keeper_settings`: an asset the
band leaves is not traded at all in that plan (cap 0), a sliced one at most its slice (USD), and the planner
pairs the rest as it always does. The keeper's day of a rebalance is counted from the rebalance's start on
the chain, so a restarted keeper knows its last day.
"""

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from index_vault.common.units import WAD
from index_vault.keeper.planner import KeeperSettings
from index_vault.keeper.rules import Book, RebalancerState

BPS = 10_000.0


@dataclass(frozen=True)
class Decision:
    """What to do with one asset's gap today: trade `pool_usd` in the pools, `auction_usd` in the auction."""

    pool_usd: float  # signed as the gap: positive buys, negative sells
    auction_usd: float
    reason: str  # "band", "whole", "slice", "auction" (no pool) or "none"

    @property
    def traded_usd(self) -> float:
        return self.pool_usd + self.auction_usd


@dataclass(frozen=True)
class ExecutionPolicy:
    """The policy's parameters (module doc); `naive` trades every gap whole at once."""

    name: str = "default"
    naive: bool = False
    tracking_price: float = 10.0  # NAV per unit of tracking variance: 1% of annual TE squared is worth 10 bps of NAV
    max_band: float = 0.01  # gaps wider than this share of NAV always trade
    impact_budget_bps: float = 25.0  # a pool slice's price impact beyond the fee
    window_days: int = 5  # days a rebalance may spread over
    auction_discount_bps: float = 50.0  # what an auction fill gives up against the oracle price

    def __post_init__(self) -> None:
        if self.tracking_price < 0 or not 0 <= self.max_band <= 1:
            raise ValueError("execution: the tracking price must be non-negative and the band within 0..1")
        if not 0 < self.impact_budget_bps < BPS or self.window_days < 1 or not 0 <= self.auction_discount_bps < BPS:
            raise ValueError("execution: impact budget within (0, 10000) bps, a window of a day or more")

    def worth_trading(self, gap_share: float, tracking_variance: float, cost_share: float) -> bool:
        """Whether closing a gap of `gap_share` of NAV (either sign) is worth `cost_share` of NAV, given the
        variance `tracking_variance` of the asset's return less the index's until the next rebalance."""
        gap = abs(gap_share)
        if gap > self.max_band:
            return True
        return self.tracking_price * gap * gap * tracking_variance >= cost_share  # a free trade never hurts

    def max_slice_usd(self, depth_usd: float) -> float:
        """The largest trade whose price impact beyond the fee meets the budget in a constant-product pool of
        `depth_usd` a side: `x / (D + x) = b`, so `x = b D / (1 - b)`."""
        b = self.impact_budget_bps / BPS
        return b * depth_usd / (1 - b)

    def decide(
        self,
        gap_usd: float,
        nav_usd: float,
        depth_usd: float,
        tracking_variance: float,
        fixed_cost_usd: float,
        fee_bps: float,
        last_day: bool,
    ) -> Decision:
        """How much of `gap_usd` to trade today (module doc), for an index of `nav_usd`, pools `depth_usd` deep a
        side in all, a trade costing `fixed_cost_usd` (gas) plus `fee_bps`, on the window's `last_day` or not."""
        if gap_usd == 0 or nav_usd <= 0:
            return Decision(0.0, 0.0, "none")
        if self.naive:
            return Decision(gap_usd, 0.0, "whole")
        size = abs(gap_usd)
        if depth_usd <= 0:
            cost = fixed_cost_usd + size * self.auction_discount_bps / BPS
        else:
            cost = fixed_cost_usd + size * fee_bps / BPS + impact_usd(size, depth_usd)
        if not self.worth_trading(gap_usd / nav_usd, tracking_variance, cost / nav_usd):
            return Decision(0.0, 0.0, "band")
        if depth_usd <= 0:
            return Decision(0.0, gap_usd, "auction")
        cap = self.max_slice_usd(depth_usd)
        if size <= cap or last_day:
            return Decision(gap_usd, 0.0, "whole")
        return Decision(math.copysign(cap, gap_usd), 0.0, "slice")


NOISE = 1e-9  # gaps below this share of NAV are left: rounding, not drift
MIN_RETURNS = 5  # fewer daily returns than this give no variance: every gap outside the band is worth trading


def tracking_variance(asset_returns: Sequence[float], index_returns: Sequence[float]) -> float:
    """The daily variance of an asset's return less the index's, day by day (infinite with fewer than
    `MIN_RETURNS` days: a gap is then always worth trading): what the no-trade band weighs, in the backtest
    and in the keeper alike."""
    diffs = [a - i for a, i in zip(asset_returns, index_returns, strict=True)]
    return statistics.variance(diffs) if len(diffs) >= MIN_RETURNS else math.inf


def decide_all(
    policy: ExecutionPolicy,
    gaps_usd: Mapping[str, float],
    nav_usd: float,
    depths_usd: Mapping[str, float],
    variances: Mapping[str, float],
    fixed_cost_usd: float,
    fee_bps: float,
    last_day: bool,
) -> dict[str, Decision]:
    """`policy.decide` for every asset whose gap is above `NOISE` of the NAV: the one place the backtest and
    the keeper decide (module doc). `variances` is each asset's tracking variance until the next rebalance;
    an asset missing from `depths_usd` has no pool."""
    return {
        asset: policy.decide(
            gap, nav_usd, depths_usd.get(asset, 0.0), variances[asset], fixed_cost_usd, fee_bps, last_day
        )
        for asset, gap in sorted(gaps_usd.items())
        if abs(gap) > NOISE * nav_usd
    }


def state_gaps_usd(state: RebalancerState) -> tuple[dict[str, float], float]:
    """The USD each constituent must buy (positive) or sell (negative) to reach its target units, at the
    snapshot prices (the planner's `Book.gap`, negated), and the holdings' value: the keeper's view of a day's
    gaps, as `decide_all` takes them."""
    book = Book(state)
    gaps = {a: -book.gap(i) / WAD for i, a in enumerate(book.addresses)}
    nav = sum(book.value(i, h) for i, h in enumerate(book.holdings))
    return gaps, nav / WAD


def keeper_settings(
    policy: ExecutionPolicy,
    state: RebalancerState,
    settings: KeeperSettings,
    depths_usd: Mapping[str, float],
    variances: Mapping[str, float],
    fixed_cost_usd: float,
    fee_bps: float,
    last_day: bool,
    sliced: Collection[str] = (),
) -> tuple[KeeperSettings, dict[str, Decision]]:
    """The planner's settings under `policy` for the keeper's state, and the decisions they come from: each
    asset the band leaves, or that goes to the auction (the keeper's auctions take it), is capped at 0 for the
    pools, a sliced one at its slice (USD, 18 decimals); the others keep the planner's own caps. `NAIVE`
    leaves `settings` as they are. An asset in `sliced` has traded its slice already (the keeper's round: a
    slice a round, the pools refilled by arbitrage in between) and is capped at 0 too."""
    if policy.naive:
        return settings, {}
    gaps, nav = state_gaps_usd(state)
    decisions = decide_all(policy, gaps, nav, depths_usd, variances, fixed_cost_usd, fee_bps, last_day)
    caps = dict(settings.caps)
    for asset, decision in decisions.items():
        if decision.reason in ("band", "auction"):
            caps[asset] = 0
        elif decision.reason == "slice":
            slice_usd = 0 if asset in sliced else abs(int(decision.pool_usd * WAD))
            caps[asset] = min(caps.get(asset, slice_usd), slice_usd)
    return replace(settings, caps=caps), decisions


NAIVE = ExecutionPolicy(name="naive", naive=True)
DEFAULT = ExecutionPolicy()
POLICIES = {"default": DEFAULT, "naive": NAIVE}


def impact_usd(amount_usd: float, depth_usd: float) -> float:
    """The price impact beyond the fee of trading `amount_usd` against a constant-product pool `depth_usd` deep a
    side: the value given up, `x - D x / (D + x)`."""
    if amount_usd <= 0 or math.isinf(depth_usd):
        return 0.0
    if depth_usd <= 0:
        return amount_usd
    return amount_usd - depth_usd * amount_usd / (depth_usd + amount_usd)
