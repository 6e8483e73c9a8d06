"""The methodology's daily history: the panel (and CSVs beside it) read as floats, with the rules that make it
usable: prices carried forward at most `PRICE_FILL_DAYS` days, the robust market cap (the day's price times the
trailing median circulating supply), the trailing liquidity with CoinMarketCap's monthly volumes as the
fallback. The data faults these rules answer are written in `index_vault.methodology.weights`' docstring.
"""

import bisect
import csv
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

from index_vault.market.liquidity import LiquidityError, LiquidityModel
from index_vault.market.model import MarketDataError, parse_date

WINDOW_DAYS = 30
MIN_COVERAGE = Fraction(2, 3)  # of the window's days with volume, for the trailing mean volume
PRICE_FILL_DAYS = 3
CMC_FILE = "cmc_top200_monthly.csv"
CMC_LOOKBACK_DAYS = 92
REQUIRED_COLUMNS = ("date", "symbol", "price_usd", "market_cap_usd")


class MethodologyError(ValueError):
    """A methodology that cannot give weights (bad method, universe, bounds or dates); `param` names the option."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class History:
    """Daily data as floats: `columns[column][symbol][i]` is the value on `dates[i]`, None where missing."""

    path: Path
    dates: tuple[str, ...]
    symbols: tuple[str, ...]
    columns: dict[str, dict[str, tuple[float | None, ...]]] = field(repr=False)
    monthly_volume: dict[str, tuple[tuple[int, float], ...]] = field(default_factory=dict, repr=False)  # CMC
    ordinals: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ordinals", tuple(date.fromisoformat(d).toordinal() for d in self.dates))

    def index(self, day: str, what: str = "date") -> int:
        """The position of `day` in `dates`; `MethodologyError` (param `what`) when the data lack it."""
        try:
            key = parse_date(day)
        except MarketDataError as exc:
            raise MethodologyError(str(exc), what) from exc
        i = bisect.bisect_left(self.dates, key)
        if i == len(self.dates) or self.dates[i] != key:
            raise MethodologyError(
                f"no data for {key}: {self.path.name} covers {self.dates[0]}..{self.dates[-1]}", what
            )
        return i

    def raw_market_cap(self, symbol: str, day: str) -> float | None:
        """The data's market cap of `symbol` on `day` as written (not the robust one), None where missing."""
        i = bisect.bisect_left(self.dates, day)
        if i == len(self.dates) or self.dates[i] != day or symbol not in self.columns["market_cap_usd"]:
            return None
        return self.columns["market_cap_usd"][symbol][i]

    def liquidity_model(self) -> LiquidityModel:
        """The project's liquidity model (`index_vault.market.liquidity`) over these market caps, loaded once."""
        model = self.__dict__.get("_liquidity_model")
        if model is None:
            try:
                model = LiquidityModel.load(self.raw_market_cap)
            except LiquidityError as exc:
                raise MarketDataError(str(exc)) from exc
            object.__setattr__(self, "_liquidity_model", model)
        return model

    def check_symbols(self, symbols: Sequence[str]) -> None:
        """Raises `MethodologyError` (param `assets`) naming any symbol the data do not have."""
        unknown = [s for s in symbols if s not in self.columns["price_usd"]]
        if unknown:
            raise MethodologyError(
                f"unknown symbol{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"{self.path.name} has {', '.join(self.symbols)}",
                "assets",
            )

    def window(self, i: int, days: int) -> range:
        """Positions of the `days` calendar days ending on `dates[i]` (inclusive)."""
        first = bisect.bisect_left(self.ordinals, self.ordinals[i] - days + 1)
        return range(first, i + 1)

    def price(self, symbol: str, i: int) -> float | None:
        """The price on `dates[i]`, carried forward at most `PRICE_FILL_DAYS` days; None beyond."""
        series = self.columns["price_usd"][symbol]
        for j in reversed(self.window(i, PRICE_FILL_DAYS + 1)):
            if series[j] is not None:
                return series[j]
        return None

    def first_price(self, symbol: str) -> int | None:
        """The position of `symbol`'s first price, None when it has none."""
        return next((j for j, v in enumerate(self.columns["price_usd"][symbol]) if v is not None), None)

    def market_cap(self, symbol: str, i: int, window_days: int = WINDOW_DAYS) -> float | None:
        """Robust market cap: the day's price times the trailing median circulating supply (module doc)."""
        price = self.price(symbol, i)
        if price is None:
            return None
        prices, caps = self.columns["price_usd"][symbol], self.columns["market_cap_usd"][symbol]
        supplies = [caps[j] / prices[j] for j in self.window(i, window_days) if caps[j] and prices[j]]
        return price * statistics.median(supplies) if supplies else None

    def trailing_median(self, column: str, symbol: str, i: int, window_days: int = WINDOW_DAYS) -> float | None:
        """The median of `column`'s observed values over the trailing window; None when it has none."""
        series = self.columns[column][symbol]
        values = [series[j] for j in self.window(i, window_days) if series[j] is not None]
        return statistics.median(values) if values else None

    def liquidity(self, symbol: str, i: int, window_days: int = WINDOW_DAYS) -> tuple[float | None, str]:
        """Trailing mean daily USD volume and its source ("panel", "cmc"), or (None, why) (module doc)."""
        series = self.columns.get("volume_usd", {}).get(symbol)
        if series is not None:
            values = [series[j] for j in self.window(i, window_days) if series[j] is not None]
            if len(values) >= math.ceil(MIN_COVERAGE * window_days):
                return statistics.fmean(values), "panel"
        snapshots = self.monthly_volume.get(symbol, ())
        today = self.ordinals[i]
        recent = [usd for day, usd in snapshots if today - CMC_LOOKBACK_DAYS < day <= today]
        if recent:
            return statistics.fmean(recent), "cmc"
        return None, "no volume in the panel's trailing window nor a CoinMarketCap snapshot"


def find_panel(path: str | Path) -> Path:
    """The panel CSV of a data folder (`panel*.csv` here or in `prices/`, or the one CSV with the columns)."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise MarketDataError(f"no data folder or file at {path}")
    for folder in (path, path / "prices"):
        candidates = [p for p in sorted(folder.glob("*.csv")) if set(REQUIRED_COLUMNS) <= set(_header(p))]
        named = [p for p in candidates if p.name.startswith("panel")] or candidates
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise MarketDataError(f"{folder}: several panels ({', '.join(p.name for p in named)}); give the CSV itself")
    raise MarketDataError(
        f"{path}: no CSV panel with columns {', '.join(REQUIRED_COLUMNS)} here or in {path / 'prices'}"
    )


def _header(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [c.strip() for c in next(csv.reader(handle), [])]


def _number(text: str, what: str, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise MarketDataError(f"{where}: {what} is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise MarketDataError(f"{where}: {what} must be a non-negative number: {text!r}")
    return value


def _read_long_csv(path: Path, columns: Sequence[str] | None) -> tuple[dict[str, dict[str, dict[str, float]]], set]:
    """`values[column][symbol][date]` of a date,symbol CSV; `columns` None takes every numeric column."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f for f in (reader.fieldnames or ()) if f not in ("date", "symbol")]
        rows = list(reader)
    if columns is None:  # numeric columns: every non-empty value parses
        columns = [f for f in fields if all(_is_number(r[f]) for r in rows)]
    values: dict[str, dict[str, dict[str, float]]] = {c: {} for c in columns}
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(rows, start=2):
        where = f"{path.name} line {line}"
        day, symbol = parse_date(row["date"]), row["symbol"].strip().upper()
        if (day, symbol) in seen:
            raise MarketDataError(f"{where}: {symbol} appears twice on {day}")
        seen.add((day, symbol))
        for column in columns:
            value = _number(row[column] or "", column, where)
            if value is not None:
                values[column].setdefault(symbol, {})[day] = value
    return values, {d for d, _ in seen}


def _is_number(text: str | None) -> bool:
    if text is None or not text.strip():
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_history(path: str | Path, columns: Sequence[str] = ()) -> History:
    """Reads a data folder (or panel CSV) into a `History`; `columns` not in the panel come from sibling CSVs."""
    panel = find_panel(path)
    values, days = _read_long_csv(panel, None)
    for required in REQUIRED_COLUMNS[2:]:
        if required not in values:
            raise MarketDataError(f"{panel.name}: column {required} is not numeric")
    if not days:
        raise MarketDataError(f"{panel.name}: no rows")
    for (column, symbol), by_day in [((c, s), v) for c, bs in values.items() for s, v in bs.items()]:
        if column == "price_usd" and any(v == 0 for v in by_day.values()):
            raise MarketDataError(f"{panel.name}: {symbol} has a zero price")
    for column in [c for c in columns if c not in values]:
        values[column] = _sibling_column(panel.parent, panel, column)
    dates = tuple(sorted(days))
    symbols = tuple(sorted(values["price_usd"]))
    table = {
        column: {s: tuple(by_symbol.get(s, {}).get(d) for d in dates) for s in symbols}
        for column, by_symbol in values.items()
    }
    return History(panel, dates, symbols, table, _monthly_volume(panel.parent / CMC_FILE))


def _sibling_column(folder: Path, panel: Path, column: str) -> dict[str, dict[str, float]]:
    for path in sorted(folder.glob("*.csv")):
        header = _header(path)
        if path != panel and {"date", "symbol", column} <= set(header):
            return _read_long_csv(path, [column])[0][column]
    raise MethodologyError(f"no CSV in {folder} has a numeric column {column!r} (with date and symbol)", "method")


def _monthly_volume(path: Path) -> dict[str, tuple[tuple[int, float], ...]]:
    """CoinMarketCap's monthly 24h volume by symbol (the highest-ranked row per symbol and snapshot)."""
    if not path.is_file():
        return {}
    best: dict[tuple[str, int], tuple[int, float]] = {}
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            volume = _number(row.get("volume_24h_usd") or "", "volume_24h_usd", f"{path.name} line {line}")
            if not volume:
                continue
            day = date.fromisoformat(parse_date(row["snapshot_date"])).toordinal()
            key, rank = (row["symbol"].strip().upper(), day), int(row.get("rank") or 0)
            if key not in best or rank < best[key][0]:
                best[key] = (rank, volume)
    result: dict[str, list[tuple[int, float]]] = {}
    for (symbol, day), (_, volume) in sorted(best.items()):
        result.setdefault(symbol, []).append((day, volume))
    return {s: tuple(v) for s, v in result.items()}


def date_range(start: str, end: str) -> tuple[str, str]:
    """Checked ISO start and end dates, start before end."""
    checked = []
    for text, what in ((start, "start"), (end, "end")):
        try:
            checked.append(parse_date(text))
        except MarketDataError as exc:
            raise MethodologyError(str(exc), what) from exc
    first, last = checked
    if first >= last:
        raise MethodologyError(f"empty window: {first}..{last} (the start must come before the end)", "start")
    return first, last


def days_between(first: str, last: str) -> int:
    """Calendar days from `first` to `last`."""
    return (date.fromisoformat(last) - date.fromisoformat(first)) // timedelta(days=1)
