"""What the execution policy needs of the chain (`index_vault.keeper.execution`): how deep each asset's pools are,
and how its price moved against the index's, read from the pools themselves.

- `depths_usd`: per asset, the USD its pools hold a side at the current price, summed over its Uniswap V3 pools
  with the keeper's hubs (a pool's virtual reserve `L / sqrt(P)` or `L * sqrt(P)`: within the current range a
  concentrated position trades as a constant-product pool of those reserves, which is what the policy's impact
  maths assumes) and its V2 pairs (the reserve).
- `tracking_variances`: per asset, the daily variance of its return less the index's over the last `days` days
  (`tracking_variance`, the backtest's rule), the prices being 10-minute TWAPs at each day's end from one
  `observe` call per asset on its pool with a common quote (the hub most assets have a pool with): the index's
  return in a common quote differs from its USD return by the quote's own return, which the difference cancels.
  An asset whose pool cannot look back that far (its observation cardinality) gets an infinite variance, as the
  backtest gives one with too short a history: its gaps outside the keeper's band are always worth trading.
"""

import math
from collections.abc import Sequence
from itertools import pairwise

from web3.exceptions import ContractLogicError

from index_vault.keeper.chain.config import DAY
from index_vault.keeper.chain.snapshot import Snapshot
from index_vault.keeper.chain.venues import Venues
from index_vault.keeper.execution import tracking_variance

POINT_WINDOW = 600  # seconds averaged for a day's closing price
Q96 = 2**96
LOG_TICK = math.log(1.0001)


def depths_usd(venues: Venues, snap: Snapshot) -> dict[str, float]:
    """Each asset's pool depth a side in USD (module doc); an asset without a pool is absent."""
    depths: dict[str, float] = {}
    hubs = venues.hubs(snap.assets)
    for i, asset in enumerate(snap.assets):
        if not snap.prices[i]:
            continue
        unit = 10 ** snap.decimals[i]
        total = 0.0
        for hub in hubs:
            if hub == asset:
                continue
            token0 = int(asset, 16) < int(hub, 16)
            for pool in venues.v3_pools(asset, hub):
                liquidity = venues.tx.call(pool.functions.liquidity(), snap.block)
                sqrt_price = venues.tx.call(pool.functions.slot0(), snap.block)[0]
                if sqrt_price:
                    reserve = liquidity * Q96 // sqrt_price if token0 else liquidity * sqrt_price // Q96
                    total += reserve * snap.prices[i] / unit / 1e18
            if (pair := venues.v2_pair(asset, hub)) is not None:
                r0, r1 = venues.tx.call(pair.functions.getReserves(), snap.block)[:2]
                total += (r0 if token0 else r1) * snap.prices[i] / unit / 1e18
        if total > 0:
            depths[asset] = total
    return depths


def _closing_log_prices(venues: Venues, snap: Snapshot, asset: str, quote: str, days: int) -> list[float] | None:
    """ln(price of `asset` in `quote`) at the end of each of the last `days + 1` days, oldest first (up to a
    constant: the decimals), or None without a pool that remembers that long."""
    pools = venues.v3_pools(asset, quote)
    if not pools:
        return None
    pool = pools[0]
    ago = [s for k in range(days + 1) for s in (k * DAY + POINT_WINDOW, k * DAY)]
    try:
        cumulatives = venues.tx.call(pool.functions.observe(ago), snap.block)[0]
    except ContractLogicError:  # "OLD": the pool's observations do not reach that far back
        return None
    sign = 1.0 if int(asset, 16) < int(quote, 16) else -1.0
    ticks = [(cumulatives[2 * k + 1] - cumulatives[2 * k]) / POINT_WINDOW for k in range(days + 1)]
    return [sign * tick * LOG_TICK for tick in reversed(ticks)]


def tracking_variances(venues: Venues, snap: Snapshot, weights: Sequence[float], days: int = 30) -> dict[str, float]:
    """Each asset's daily tracking variance against the index of `weights` (module doc)."""
    hubs = venues.hubs(snap.assets)
    if not hubs:
        return dict.fromkeys(snap.assets, math.inf)
    # the quote: the hub with a pool against the most assets (the first such, in the venues' order)
    quote = max(hubs, key=lambda h: sum(1 for a in snap.assets if a == h or venues.v3_pools(a, h)))
    logs: dict[str, list[float] | None] = {}
    for asset in snap.assets:
        if asset == quote:
            logs[asset] = [0.0] * (days + 1)
        else:
            logs[asset] = _closing_log_prices(venues, snap, asset, quote, days)
    returns = {
        asset: [math.exp(later - earlier) - 1 for earlier, later in pairwise(series)]
        for asset, series in logs.items()
        if series is not None
    }
    if len(returns) < len(snap.assets):  # a return of the index needs every asset's
        return dict.fromkeys(snap.assets, math.inf)
    index = [sum(w * returns[a][d] for a, w in zip(snap.assets, weights, strict=True)) for d in range(days)]
    return {a: tracking_variance(returns[a], index) for a in snap.assets}
