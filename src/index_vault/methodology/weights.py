"""Index methodology: which assets, at which target weights, from real daily history (no chain).

A `Methodology` is a weighting method, a universe rule, per-asset floor and cap, and a few windows. Its
`weights(history, day)` gives a `Proposal`: the basket in order and integer weights (1e18 fixed point)
summing to exactly 10**18, ready for `Rebalancer.set_target_weights`.

Methods (the score each eligible asset is weighted by):
- `market-cap`: robust market cap (below); `sqrt-market-cap`: its square root (Indexed Finance's rule);
- `capped-market-cap`: market cap with a single-asset cap, 25% unless `cap` says otherwise (DPI, March 2021);
- `equal`: 1 each; `liquidity`: trailing mean daily USD volume (below);
- `metric:COLUMN`: the trailing median of any numeric column of the data folder (the panel, or another CSV
  there with `date` and `symbol` columns).

Floors and caps apply to every method: `w_i = clip(lam * s_i, floor, cap)` with the one `lam` that makes the
weights sum to 1, solved exactly in rational arithmetic. With caps only this is the fixed point of DPI's
iterative redistribution (each pass hands the excess over the cap to the uncapped names pro rata to their
scores). Weights are then rounded to integers by largest remainder (`to_wad`): each gets `floor(w * 1e18)`
and the units left go to the largest fractional parts (ties: basket order), so the sum is exactly 10**18 and
an exact cap such as 25% is never exceeded by a wei.

Liquidity caps (`depth_multiple`, `nav_usd`; any method): each asset's weight is also capped at `depth_multiple`
times its DEX depth per side (`index_vault.market.liquidity`, base variant, on the day's robust market cap) over
the NAV, so that the index's position in it stays within that multiple of what its pools hold; the same `lam`
solution applies with each asset's own cap (`bounded_proportional(caps=...)`), a warning names every asset the
liquidity cap holds down, and an index too large for the caps to reach 100% is refused.

Universe: `assets` fixes the basket and its order; `top` takes the N largest eligible assets by robust market
cap on the day (basket order: market cap, descending). Eligible: a price on the day, a usable score, and at
least `min_history_days` since the asset's first price.

Data faults (`data/README.md`) and the choices made for them (nothing ever looks past the day):
- Market caps come only from CoinGecko (the panel), never CoinMarketCap, whose supply definitions give caps
  0.7-2.3x apart for SNX, SUSHI, BAL, LDO, UNI.
- Circulating-supply jumps (BAL 2022-06-16 x3.2, LDO May 2021, 1INCH 2021-08-05..12): the robust market cap on
  a day is that day's price times the median circulating supply (`market_cap / price`) of the trailing
  `window_days` (30). A glitch shorter than half the window never shows; a lasting re-definition (BAL) is
  adopted after about 15 days. Smoothing supply rather than the cap keeps the day's price move in the weight.
- Gaps (LDO has no rows for 2021-01-01..04): a price is carried forward at most `PRICE_FILL_DAYS` (3) days;
  beyond that the asset has no price. Windows are calendar days, so gaps in the dates are handled too.
- Missing volume (complete only for BTC, ETH, LINK; ten assets stop on 2021-10-17; eight have none): the
  liquidity score is the trailing 30-day mean of the panel's `volume_usd` when at least two thirds
  (`MIN_COVERAGE`, 20 of 30) of those days have it; otherwise the mean of CoinMarketCap's monthly 24h volumes
  of the trailing `CMC_LOOKBACK_DAYS` (92, so up to three snapshots) when the panel's folder also has the
  optional `cmc_top200_monthly.csv` (`data/` ships none); otherwise the asset is excluded with a warning.
  Coinbase volume is not used: one venue, a small and varying share of the aggregate volume the other two
  report.
- Excluded assets: under `top` they are skipped (the next one takes the place); under fixed `assets` an
  excluded asset keeps its place at weight 0 (floors do not apply to it) and a warning says why, so the
  weights still line up with the basket. Every warning is kept in `Proposal.warnings`.

Proposal file (`Proposal.to_json`, read back by `read_proposal`), for `ape run vault propose-targets`:

    {"date": "2022-12-31", "method": "capped-market-cap", "assets": ["BTC", "ETH", "UNI", ...],
     "weights": ["250000000000000000", "250000000000000000", "200665517861861239", ...],
     "universe": "top 10", "cap": "1/4", "floor": "0", "metric": "market_cap_usd",
     "metrics": {"BTC": 319384880568.77, ...}, "warnings": []}

`assets` is the basket order the weights are for (one weight per asset, as decimal strings so that no JSON
reader rounds them; plain integers are accepted on reading); they sum to exactly 10**18. A reader must check
that the vault's constituents are these assets in this order before calling `set_target_weights`.

The history these rules read (`History`, `load_history`) is `index_vault.methodology.history`.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from index_vault.common.units import WAD
from index_vault.market.model import parse_date
from index_vault.methodology.history import PRICE_FILL_DAYS, WINDOW_DAYS, History, MethodologyError

BASE_METHODS = ("market-cap", "capped-market-cap", "equal", "liquidity", "sqrt-market-cap")
METRIC_PREFIX = "metric:"
DPI_CAP = Fraction(1, 4)
MIN_HISTORY_DAYS = 90


@dataclass(frozen=True)
class Proposal:
    """Target weights for one day: the basket in order, weights summing to exactly 10**18 (see the module doc)."""

    date: str
    method: str
    assets: tuple[str, ...]
    weights: tuple[int, ...]
    universe: str = ""
    cap: Fraction = Fraction(1)
    floor: Fraction = Fraction(0)
    metric: str = ""
    metrics: tuple[float | None, ...] = ()  # the raw metric per asset, None where unusable
    warnings: tuple[str, ...] = ()
    depth_caps: tuple[Fraction | None, ...] = ()  # each asset's liquidity cap, when the methodology sets them

    def fractions(self) -> dict[str, float]:
        """The weights as floats by symbol (for analytics)."""
        return {a: w / WAD for a, w in zip(self.assets, self.weights, strict=True)}

    def to_dict(self) -> dict:
        return {
            "date": self.date,
            "method": self.method,
            "assets": list(self.assets),
            "weights": [str(w) for w in self.weights],
            "universe": self.universe,
            "cap": str(self.cap),
            "floor": str(self.floor),
            "metric": self.metric,
            "metrics": dict(zip(self.assets, self.metrics, strict=True)) if self.metrics else {},
            "warnings": list(self.warnings),
            **(
                {
                    "depth_caps": {
                        a: None if c is None else str(c) for a, c in zip(self.assets, self.depth_caps, strict=True)
                    }
                }
                if self.depth_caps
                else {}
            ),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | Path) -> Path:
        """Writes the proposal file (folders created); returns its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path


def read_proposal(path: str | Path) -> Proposal:
    """Reads and checks a proposal file: one integer weight per asset, summing to exactly 10**18."""
    path = Path(path)
    if not path.is_file():
        raise MethodologyError(f"no proposal file at {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MethodologyError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(data, dict) or not {"date", "method", "assets", "weights"} <= set(data):
        raise MethodologyError(f"{path}: a proposal needs date, method, assets and weights")
    assets, raw = data["assets"], data["weights"]
    if not isinstance(assets, list) or not assets or not all(isinstance(a, str) and a for a in assets):
        raise MethodologyError(f"{path}: assets must be a non-empty list of symbols")
    if len(set(assets)) != len(assets):
        raise MethodologyError(f"{path}: an asset is listed twice")
    if not isinstance(raw, list) or len(raw) != len(assets):
        raise MethodologyError(f"{path}: one weight per asset is required ({len(assets)} assets)")
    weights = []
    for value in raw:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            raise MethodologyError(f"{path}: weight {value!r} is not a non-negative integer")
        weights.append(int(value))
    if sum(weights) != WAD:
        raise MethodologyError(f"{path}: weights sum to {sum(weights)}, not 10**18")
    return Proposal(
        date=parse_date(data["date"]), method=str(data["method"]), assets=tuple(assets), weights=tuple(weights)
    )


def parse_method(text: str) -> str:
    """A weighting method name, checked (`metric:COLUMN` keeps its column)."""
    method = text.strip()
    if method in BASE_METHODS:
        return method
    if method.startswith(METRIC_PREFIX) and method[len(METRIC_PREFIX) :].strip():
        return METRIC_PREFIX + method[len(METRIC_PREFIX) :].strip()
    raise MethodologyError(f"unknown method {text!r}; use one of {', '.join(BASE_METHODS)} or metric:COLUMN", "method")


def parse_fraction(text: str | float | Fraction, what: str) -> Fraction:
    """A fraction of the index from "0.25", "25%" or "1/4", within 0..1."""
    try:
        raw = str(text).strip()
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError) as exc:
        raise MethodologyError(f"not a fraction: {text!r} (write 0.25, 25% or 1/4)", what) from exc
    if not 0 <= value <= 1:
        raise MethodologyError(f"{text} is not within 0..1", what)
    return value


def bounded_proportional(
    scores: Sequence[Fraction | float | int],
    floor: Fraction = Fraction(0),
    cap: Fraction = Fraction(1),
    caps: Sequence[Fraction] | None = None,
) -> list[Fraction]:
    """Exact weights `clip(lam * s_i, floor, cap_i)` summing to 1 (see the module doc); a list of Fractions.
    `cap_i` is `cap`, or the smaller of `cap` and `caps[i]` (an asset's own cap, such as its liquidity's), never
    below `floor` (the floor wins)."""
    floor, cap = Fraction(floor), Fraction(cap)
    values = [Fraction(s) for s in scores]
    n = len(values)
    if not n:
        raise MethodologyError("no assets to weight")
    if any(s < 0 for s in values):
        raise MethodologyError("scores must be non-negative")
    if floor > cap:
        raise MethodologyError(f"the floor {floor} is above the cap {cap}", "floor")
    if n * floor > 1:
        raise MethodologyError(f"a floor of {float(floor):.4g} on {n} assets exceeds 100%", "floor")
    if n * cap < 1:
        raise MethodologyError(
            f"a cap of {float(cap):.4g} on {n} assets cannot reach 100% (needs at least {math.ceil(1 / cap)} assets)",
            "cap",
        )
    bounds = [cap if caps is None else min(cap, max(floor, Fraction(c))) for c in (caps or [cap] * n)]
    if sum(bounds) < 1:
        raise MethodologyError(
            f"the assets' own caps sum to {float(sum(bounds)):.2%}: they cannot hold the whole index", "cap"
        )

    def weight(lam: Fraction, s: Fraction, bound: Fraction) -> Fraction:
        return min(bound, max(floor, lam * s))

    def total(lam: Fraction) -> Fraction:
        return sum((weight(lam, s, b) for s, b in zip(values, bounds, strict=True)), Fraction(0))

    points = sorted({b / s for s, c in zip(values, bounds, strict=True) if s > 0 for b in (floor, c) if b > 0})
    if not points or total(points[-1]) < 1:
        raise MethodologyError("the assets with a positive score cannot reach 100% under the cap", "cap")
    lo, hi = 0, len(points) - 1  # the first breakpoint where the total reaches 1
    while lo < hi:
        mid = (lo + hi) // 2
        if total(points[mid]) >= 1:
            hi = mid
        else:
            lo = mid + 1
    lam = points[lo]
    if total(lam) != 1:  # strictly inside the segment ending at points[lo]: the total is linear there
        inside = ((points[lo - 1] if lo else Fraction(0)) + lam) / 2
        pairs = list(zip(values, bounds, strict=True))
        fixed = sum((weight(inside, s, b) for s, b in pairs if weight(inside, s, b) != inside * s), Fraction(0))
        free = sum((s for s, b in pairs if weight(inside, s, b) == inside * s), Fraction(0))
        lam = (1 - fixed) / free
    return [weight(lam, s, b) for s, b in zip(values, bounds, strict=True)]


def to_wad(weights: Sequence[Fraction]) -> list[int]:
    """Largest-remainder rounding of exact weights summing to 1 into integers summing to exactly 10**18."""
    if sum(weights, Fraction(0)) != 1 or any(w < 0 for w in weights):
        raise MethodologyError("weights must be non-negative and sum to exactly 1")
    scaled = [Fraction(w) * WAD for w in weights]
    result = [math.floor(x) for x in scaled]
    left = WAD - sum(result)
    for i in sorted(range(len(scaled)), key=lambda i: (result[i] - scaled[i], i))[:left]:
        result[i] += 1
    return result


@dataclass(frozen=True)
class Methodology:
    """A weighting method, a universe (`assets` fixed, else the `top` N), and bounds; see the module doc."""

    method: str
    assets: tuple[str, ...] = ()
    top: int | None = None
    cap: Fraction | None = None  # None: the method's own (25% for capped-market-cap, none otherwise)
    floor: Fraction = Fraction(0)
    min_history_days: int = MIN_HISTORY_DAYS
    window_days: int = WINDOW_DAYS
    depth_multiple: float | None = None  # cap each position at this multiple of its asset's depth per side
    nav_usd: float | None = None  # the index's NAV the liquidity caps are for

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", parse_method(self.method))
        assets = tuple(a.strip().upper() for a in self.assets if a.strip())
        object.__setattr__(self, "assets", assets)
        if bool(assets) == (self.top is not None):
            raise MethodologyError("give either a fixed list of assets or a top N, not both or neither", "assets")
        if len(set(assets)) != len(assets):
            raise MethodologyError(f"an asset is listed twice: {', '.join(assets)}", "assets")
        if self.top is not None and self.top < 1:
            raise MethodologyError("top N needs N >= 1", "top")
        if self.cap is not None and self.cap <= 0:
            raise MethodologyError("the cap must be positive", "cap")
        if self.floor > self.effective_cap:
            raise MethodologyError(f"the floor {self.floor} is above the cap {self.effective_cap}", "floor")
        if self.window_days < 1 or self.min_history_days < 0:
            raise MethodologyError("windows must be positive", "window")
        if self.depth_multiple is not None and not (self.depth_multiple > 0 and (self.nav_usd or 0) > 0):
            raise MethodologyError("liquidity caps need a positive depth multiple and a positive NAV", "depth-multiple")

    @property
    def effective_cap(self) -> Fraction:
        if self.cap is not None:
            return Fraction(self.cap)
        return DPI_CAP if self.method == "capped-market-cap" else Fraction(1)

    @property
    def metric_name(self) -> str:
        """What the raw metric is: `market_cap_usd`, `volume_usd` or the metric's column."""
        if self.method == "liquidity":
            return "volume_usd"
        if self.method.startswith(METRIC_PREFIX):
            return self.method[len(METRIC_PREFIX) :]
        return "market_cap_usd"

    @property
    def universe(self) -> str:
        return f"top {self.top}" if self.top is not None else ",".join(self.assets)

    def check(self, history: History) -> None:
        """Raises `MethodologyError` for symbols or a metric column the data do not have."""
        if self.assets:
            history.check_symbols(self.assets)
        if self.method.startswith(METRIC_PREFIX) and self.metric_name not in history.columns:
            numeric = ", ".join(c for c in history.columns if c not in ("price_usd",))
            raise MethodologyError(
                f"no numeric column {self.metric_name!r} in the data folder; it has {numeric}", "method"
            )

    def metric(self, history: History, symbol: str, i: int) -> tuple[float | None, str]:
        """The raw metric of `symbol` on `dates[i]`, or (None, why it is unusable)."""
        if history.price(symbol, i) is None:
            return None, f"no price within {PRICE_FILL_DAYS} days"
        if self.metric_name == "market_cap_usd":
            cap = history.market_cap(symbol, i, self.window_days)
            return (cap, "") if cap else (None, "no market cap in the trailing window")
        if self.method == "liquidity":
            volume, source = history.liquidity(symbol, i, self.window_days)
            return (volume, source) if volume else (None, source if volume is None else "zero volume")
        value = history.trailing_median(self.metric_name, symbol, i, self.window_days)
        if value is not None and value < 0:
            raise MethodologyError(f"{self.metric_name} is negative for {symbol} on {history.dates[i]}", "method")
        return (value, "") if value else (None, f"no positive {self.metric_name} in the trailing window")

    def score(self, metric: float) -> Fraction:
        if self.method == "equal":
            return Fraction(1)
        if self.method == "sqrt-market-cap":
            return Fraction(math.sqrt(metric))
        return Fraction(metric)

    def weights(self, history: History, day: str | int) -> Proposal:
        """The target weights on `day` (a date, or a position in `history.dates`), from data up to that day."""
        self.check(history)
        i = day if isinstance(day, int) else history.index(day)
        today = history.dates[i]
        warnings: list[str] = []
        if self.assets:
            basket = list(self.assets)
            metrics = {}
            for symbol in basket:
                value, note = self.metric(history, symbol, i)
                metrics[symbol] = value
                if value is None:
                    warnings.append(f"{today}: {symbol} excluded (weight 0): {note}")
                elif note == "cmc":
                    warnings.append(f"{today}: {symbol} liquidity from CoinMarketCap monthly volume")
        else:
            basket, metrics = self._top(history, i, warnings)
        eligible = [s for s in basket if metrics[s] is not None]
        if not eligible and self.top is not None:
            raise MethodologyError(
                f"no asset is eligible for top {self.top} on {today}: each needs a price, a usable "
                f"{self.metric_name} and {self.min_history_days} days since its first price (the data start "
                f"{history.dates[0]})",
                "top",
            )
        if not eligible:
            raise MethodologyError(f"no asset of {self.universe} has a usable {self.metric_name} on {today}", "assets")
        caps = self._depth_caps(history, i, eligible) if self.depth_multiple is not None else None
        # the bounds `bounded_proportional` takes (each cap within the floor and the method's cap), checked here
        # to say which NAV and multiple are too much
        held = sum(min(self.effective_cap, max(self.floor, c)) for c in caps) if caps is not None else 1
        if held < 1:
            raise MethodologyError(
                f"on {today} an index of ${self.nav_usd:,.0f} is too large for its assets' liquidity: "
                f"{self.depth_multiple:g}x their depth holds {float(held):.2%} of it "
                "(lower the NAV or raise the multiple)",
                "depth-multiple",
            )
        scores = [self.score(metrics[s]) for s in eligible]
        fractions = dict(zip(eligible, bounded_proportional(scores, self.floor, self.effective_cap, caps), strict=True))
        if caps is not None:
            warnings.extend(
                f"{today}: {s} held to {float(c):.2%} by its liquidity ({self.depth_multiple:g}x its depth at "
                f"${self.nav_usd:,.0f})"
                for s, c in zip(eligible, caps, strict=True)
                if fractions[s] == c and c < self.effective_cap
            )
        weights = to_wad([fractions.get(s, Fraction(0)) for s in basket])
        return Proposal(
            date=today,
            method=self.method,
            assets=tuple(basket),
            weights=tuple(weights),
            universe=self.universe,
            cap=self.effective_cap,
            floor=self.floor,
            metric=self.metric_name,
            metrics=tuple(metrics[s] for s in basket),
            warnings=tuple(warnings),
            depth_caps=tuple(dict(zip(eligible, caps, strict=True)).get(s) for s in basket) if caps else (),
        )

    def _depth_caps(self, history: History, i: int, eligible: list[str]) -> list[Fraction]:
        """Each asset's liquidity cap: `depth_multiple` times its depth per side (the liquidity model's base
        variant, at the day's robust market cap) over the NAV."""
        model, today = history.liquidity_model(), history.dates[i]
        caps = []
        for symbol in eligible:
            cap = history.market_cap(symbol, i, self.window_days)
            depth = model.depth(symbol, today, cap, "base").total_usd if cap else 0.0
            caps.append(Fraction(self.depth_multiple * depth / self.nav_usd))
        return caps

    def _top(self, history: History, i: int, warnings: list[str]) -> tuple[list[str], dict[str, float | None]]:
        """The N largest eligible assets by robust market cap, largest first, with their metrics."""
        today = history.dates[i]
        ranked = []
        for symbol in history.symbols:
            first = history.first_price(symbol)
            if first is None or history.ordinals[i] - history.ordinals[first] + 1 < self.min_history_days:
                continue
            cap = history.market_cap(symbol, i, self.window_days)
            value, note = self.metric(history, symbol, i)
            if cap is not None and value is not None:
                ranked.append((-cap, symbol, value, note))
        ranked.sort()
        chosen = ranked[: self.top]
        warnings.extend(
            f"{today}: {s} liquidity from CoinMarketCap monthly volume" for _, s, _, note in chosen if note == "cmc"
        )
        if len(chosen) < (self.top or 0):
            warnings.append(f"{today}: only {len(chosen)} eligible assets for top {self.top}")
        return [c[1] for c in chosen], {c[1]: c[2] for c in chosen}
