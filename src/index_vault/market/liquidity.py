"""How deep each asset's DEX liquidity is on each day, from data (no chain).

Data: `data/liquidity/dex_pools_daily.csv` (provenance in `data/README.md`): the daily TVL of the real Uniswap V2
and SushiSwap pairs of the index's assets against WETH (2021-01-01 .. 2022-01-25) and of eight Uniswap V3 pools
(WBTC, WETH, AAVE, LINK, UNI against WETH or USDT, from V3's launch on 2021-05-05 to 2022-12-31).

Rule, for an asset on a day, in USD *per side* (half a pool's TVL), for each kind of liquidity apart:
- **observed**: the sum over the data's pools that trade the asset: a token's pairs against WETH, ETH's pairs
  against a stablecoin or WBTC, BTC's against WETH or a stablecoin (WBTC/WETH counts for both). Full-range
  liquidity is the V2 and SushiSwap pairs (their reserves); concentrated liquidity is the V3 pools' TVL.
- **as a share of market cap**: each observed depth over the asset's market cap that day. The model uses that
  share, not the depth itself: the median over the trailing `WINDOW` observed days, so that one day's LP exit or
  subgraph glitch does not set it (the base variant; thin and deep take the window's lower and upper quartile).
  A day after the asset's last observation carries its last share forward, times the day's market cap: between
  observations liquidity is assumed to scale with the asset's size.
- **never observed** (an asset without pairs in the data, or concentrated liquidity for an asset without a V3
  pool there): the median share of the observed mid-caps (every asset but BTC and ETH) of that kind on that day.
  Before V3's launch there is no concentrated liquidity.
- **concentrated liquidity counts more**: a V3 position over [P/k, P*k] is as deep, near the price, as a
  full-range one `A = 1 / (1 - k**-0.5)` times its capital. The data hold no ticks, so k is the variant's
  assumption: the whole range (A = 1) for thin, [P/2, 2P] (A = 3.41) for base, [P/1.5, 1.5P] (A = 5.45) for deep.

A trade split across constant-product pools of the same fee so that their marginal prices end equal gives each
pool a share proportional to its depth, and costs what one pool of their summed depth would (`split_by_depth`):
so an asset's depth for a trade is `Depth.total_usd`, its full-range depth plus its concentrated depth times A.

Calibration: none beyond the data. The shares are measured, not fitted to any backtest result; the variants span
the window's quartiles and the concentration assumption. Floats throughout: this is analytics.
"""

import bisect
import csv
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from index_vault.common.artifacts import project_root

POOLS_PATH = "data/liquidity/dex_pools_daily.csv"
WINDOW = 30  # observed days in the trailing median (and quartiles) of the depth's share of market cap
FULL_RANGE_VENUES = ("uniswap-v2", "sushiswap")
CONCENTRATED_VENUES = ("uniswap-v3",)
MAJORS = ("BTC", "ETH")
TOKEN_SYMBOLS = {"WBTC": "BTC", "WETH": "ETH"}
STABLECOINS = ("USDC", "USDT", "DAI")


class LiquidityError(LookupError):
    """A malformed liquidity file, an unknown variant or a missing market cap."""


@dataclass(frozen=True)
class Variant:
    """How thin or deep the model reads the data: which quantile of the trailing shares, and V3's range."""

    name: str
    quantile: int  # index into statistics.quantiles(n=4) + the median: 0 lower quartile, 1 median, 2 upper quartile
    range_factor: float  # V3 positions over [P/k, P*k]; 0 for the whole range

    @property
    def amplification(self) -> float:
        """How many times deeper than full range a V3 position's capital is near the price."""
        return 1.0 if self.range_factor == 0 else 1.0 / (1.0 - self.range_factor**-0.5)


VARIANTS = {
    "thin": Variant("thin", 0, 0.0),
    "base": Variant("base", 1, 2.0),
    "deep": Variant("deep", 2, 1.5),
}


@dataclass(frozen=True)
class Depth:
    """An asset's DEX liquidity on a day, USD per side, and where each figure came from."""

    full_range_usd: float
    concentrated_usd: float  # V3 capital per side (not amplified)
    amplification: float
    full_range_source: str  # "observed", "carried" or "peers"
    concentrated_source: str  # the same, or "none" (before V3)

    @property
    def total_usd(self) -> float:
        """The depth one constant-product pool would need to cost a trade what the split across venues costs."""
        return self.full_range_usd + self.concentrated_usd * self.amplification


@dataclass(frozen=True)
class _Shares:
    """One asset's observed depth share of market cap for one kind of liquidity, with its trailing quartiles."""

    dates: list[str]
    quartiles: list[tuple[float, float, float]]  # trailing lower quartile, median, upper quartile at each date


class LiquidityModel:
    """Depths from the pools file and the market caps the shares are taken of."""

    def __init__(self, pools: dict[str, dict[str, dict[str, float]]], market_cap: Callable[[str, str], float | None]):
        """`pools[kind][symbol][date]` is the observed depth per side; `market_cap(symbol, date)` the day's cap."""
        self._shares: dict[str, dict[str, _Shares]] = {}
        for kind, by_symbol in pools.items():
            self._shares[kind] = {}
            for symbol, by_date in by_symbol.items():
                dates, shares = [], []
                for day in sorted(by_date):
                    cap = market_cap(symbol, day)
                    if cap and cap > 0:
                        dates.append(day)
                        shares.append(by_date[day] / cap)
                if dates:
                    self._shares[kind][symbol] = _Shares(dates, _trailing_quartiles(shares))

    @classmethod
    def load(cls, market_cap: Callable[[str, str], float | None], path: str | Path | None = None) -> "LiquidityModel":
        """The model of the project's pools file (or `path`), taking shares of `market_cap(symbol, date)`."""
        return cls(read_pools(path or project_root() / POOLS_PATH), market_cap)

    def observed_symbols(self, kind: str) -> list[str]:
        """The assets the data observe for `kind` ("full_range" or "concentrated")."""
        return sorted(self._shares.get(kind, {}))

    def depth(self, symbol: str, day: str, market_cap_usd: float, variant: str = "base") -> Depth:
        """`symbol`'s depth per side on `day` (ISO) at `market_cap_usd`, under `variant` (thin, base or deep)."""
        if variant not in VARIANTS:
            raise LiquidityError(f"unknown liquidity variant {variant!r}; use {', '.join(VARIANTS)}")
        if not market_cap_usd or market_cap_usd <= 0:
            raise LiquidityError(f"{symbol} has no market cap on {day}: its depth cannot be modelled")
        v = VARIANTS[variant]
        full, full_source = self._share("full_range", symbol, day, v.quantile)
        # before V3 no pool is observed, its own or a peer's: `_share` finds none
        conc, conc_source = self._share("concentrated", symbol, day, v.quantile)
        return Depth(full * market_cap_usd, conc * market_cap_usd, v.amplification, full_source, conc_source)

    def _share(self, kind: str, symbol: str, day: str, quantile: int) -> tuple[float, str]:
        """The share of market cap of `symbol`'s `kind` of liquidity on `day`, and whether observed or carried."""
        shares = self._shares.get(kind, {})
        own = shares.get(symbol)
        if own is not None:
            at = bisect.bisect_right(own.dates, day) - 1
            if at >= 0:
                return own.quartiles[at][quantile], "observed" if own.dates[at] == day else "carried"
            if kind == "concentrated":
                return 0.0, "none"  # its V3 pool did not exist yet
        peers = []
        for peer, peer_shares in shares.items():
            if peer in MAJORS:
                continue
            at = bisect.bisect_right(peer_shares.dates, day) - 1
            if at >= 0:
                peers.append(peer_shares.quartiles[at][quantile])
        if not peers:
            return 0.0, "none"
        return statistics.median(peers), "peers"


def split_by_depth(amount: float, depths: Iterable[float]) -> list[float]:
    """How to split a trade of `amount` across constant-product pools of these depths (same fee) so that their
    marginal prices end equal: in proportion to depth. Selling x into a pool of depth D moves its marginal price to
    (D / (D + x))**2 of where it was; equal end prices need x_i / D_i equal across pools."""
    depths = list(depths)
    total = sum(depths)
    if total <= 0:
        raise LiquidityError("no depth to split a trade across")
    return [amount * d / total for d in depths]


def equal_price_split(amount: int, first: tuple[int, int], second: tuple[int, int]) -> int:
    """How much of `amount` (base units of the token sold) to sell into the first of two constant-product curves,
    given as (reserve in, reserve out) of each (a V3 pool's in-range virtual reserves count as one), so that both
    marginal prices end equal (same fee on both). Selling d into (x, y) leaves the marginal price x*y/(x + d)**2,
    so equal end prices need (x1 + d1) / sqrt(x1 y1) = (x2 + d2) / sqrt(x2 y2) = t, and d1 + d2 = amount gives
    t = (x1 + x2 + amount) / (sqrt(x1 y1) + sqrt(x2 y2)). Clamped to 0..amount: a curve already dearer than the
    other's end price gets nothing. Rounded down."""
    (x1, y1), (x2, y2) = first, second
    if amount < 0 or min(x1, y1, x2, y2) <= 0:
        raise LiquidityError("a split needs a non-negative amount and two curves with reserves")
    s1, s2 = math.isqrt(x1 * y1), math.isqrt(x2 * y2)
    d1 = (x1 + x2 + amount) * s1 // (s1 + s2) - x1
    return min(max(d1, 0), amount)


def read_pools(path: str | Path) -> dict[str, dict[str, dict[str, float]]]:
    """`{kind: {symbol: {date: USD per side}}}` from a pools file (date, pair, venue, fee_bps, tvl_usd, ...)."""
    pools: dict[str, dict[str, dict[str, float]]] = {"full_range": defaultdict(dict), "concentrated": defaultdict(dict)}
    path = Path(path)
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = {"date", "pair", "venue", "tvl_usd"} - set(reader.fieldnames or ())
            if missing:
                raise LiquidityError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
            for line, row in enumerate(reader, start=2):
                venue = row["venue"]
                if venue in FULL_RANGE_VENUES:
                    kind = "full_range"
                elif venue in CONCENTRATED_VENUES:
                    kind = "concentrated"
                else:
                    raise LiquidityError(f"{path.name}:{line}: unknown venue {venue!r}")
                try:
                    per_side = float(row["tvl_usd"]) / 2
                except ValueError as exc:
                    raise LiquidityError(f"{path.name}:{line}: tvl_usd is not a number: {row['tvl_usd']!r}") from exc
                for token in _assets_of(row["pair"]):
                    symbol = TOKEN_SYMBOLS.get(token, token)
                    by_date = pools[kind][symbol]
                    by_date[row["date"]] = by_date.get(row["date"], 0.0) + per_side
    except FileNotFoundError as exc:
        raise LiquidityError(f"no liquidity file at {path}") from exc
    return {kind: dict(by_symbol) for kind, by_symbol in pools.items()}


def _assets_of(pair: str) -> list[str]:
    """The tokens whose depth a pair counts for: a token against WETH counts for the token only (WETH is every
    token's quote, not what such a pair trades); WETH counts in its pairs against a stablecoin or WBTC, and WBTC
    in its pairs against WETH or a stablecoin. Stablecoins are never index assets."""
    tokens = pair.split("/")
    if "WETH" in tokens:
        other = [t for t in tokens if t != "WETH"]
        if other and other[0] not in STABLECOINS and other[0] != "WBTC":
            return other
    return [t for t in tokens if t not in STABLECOINS]


def _trailing_quartiles(shares: list[float]) -> list[tuple[float, float, float]]:
    """At each index, the lower quartile, median and upper quartile of the last `WINDOW` shares up to it."""
    out = []
    for i in range(len(shares)):
        window = shares[max(0, i - WINDOW + 1) : i + 1]
        if len(window) == 1:
            out.append((window[0], window[0], window[0]))
            continue
        q1, median, q3 = statistics.quantiles(window, n=4, method="inclusive")
        out.append((q1, median, q3))
    return out
