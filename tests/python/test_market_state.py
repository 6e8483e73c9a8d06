"""The execution policy's chain inputs, on a fake pool: closing prices from `observe` and the tracking variance."""

import math
from dataclasses import dataclass, field
from itertools import pairwise

from index_vault.keeper.chain.market_state import DAY, POINT_WINDOW, tracking_variances
from index_vault.keeper.execution import tracking_variance

QUOTE = "0x" + "f" * 40  # above every asset: each asset is its pools' token0
ASSETS = ("0x" + "1" * 40, "0x" + "2" * 40, QUOTE)


class _Pool:
    """A pool whose tick is `ticks[k]` throughout the day that ended `k` days ago."""

    def __init__(self, ticks: list[int]):
        self.ticks, self.functions = ticks, self

    def cumulative(self, ago: int) -> int:  # minus the integral of the tick from now back to `ago` seconds ago
        whole, part = divmod(ago, DAY)
        return -(sum(self.ticks[:whole]) * DAY + (self.ticks[whole] * part if part else 0))

    def observe(self, ago: list[int]):
        return lambda: ([self.cumulative(s) for s in ago], [])


class _Tx:
    def call(self, fn, block="latest"):
        return fn()


@dataclass
class _Venues:
    pools: dict
    tx: _Tx = field(default_factory=_Tx)

    def hubs(self, assets):
        return [QUOTE]

    def v3_pools(self, a, b):
        return [self.pools[a]] if a in self.pools and b == QUOTE else []


@dataclass
class _Snap:
    assets: tuple = ASSETS
    block: int = 1


def test_tracking_variances__ticks_known__the_backtests_variance_of_the_closes():
    ticks = {ASSETS[0]: [100 * k * k % 977 for k in range(8)], ASSETS[1]: [-50 * k for k in range(8)]}
    venues = _Venues({a: _Pool(t) for a, t in ticks.items()})
    weights = [0.5, 0.3, 0.2]

    got = tracking_variances(venues, _Snap(), weights, days=6)

    prices = {a: [1.0001**t for t in reversed(ticks[a][:7])] for a in ticks}  # oldest first
    prices[QUOTE] = [1.0] * 7
    returns = {a: [later / earlier - 1 for earlier, later in pairwise(p)] for a, p in prices.items()}
    index = [sum(w * returns[a][d] for a, w in zip(ASSETS, weights, strict=True)) for d in range(6)]
    for asset in ASSETS:
        assert math.isclose(got[asset], tracking_variance(returns[asset], index), rel_tol=1e-9)
    assert POINT_WINDOW < DAY


def test_tracking_variances__a_pool_missing__every_variance_infinite():
    venues = _Venues({ASSETS[0]: _Pool([0] * 8)})  # the second asset has no pool with the quote

    assert tracking_variances(venues, _Snap(), [0.5, 0.3, 0.2], days=6) == dict.fromkeys(ASSETS, math.inf)
