"""A local market priced from real history: the daily panel, token metadata and the liquidity rule (no chain).

The panel (`data/prices/panel_daily_21assets.csv`, see `data/README.md`) gives each asset's USD price and
market cap per day. A `MarketPlan` turns one day of it into what a local chain needs: a token per asset
(BTC as WBTC with 8 decimals, ETH as WETH, every other asset an 18-decimal token of its own symbol, and USDC
with 6 decimals at $1 as the stable quote), a Chainlink answer per asset, and how deep each pool is.

Liquidity (`plan_market(..., liquidity=)`): by default (`base`, or `thin`, `deep`) the liquidity model of
`index_vault.market.liquidity`, the same the backtest reads: an asset's real full-range depth (its Uniswap V2
and SushiSwap pairs) and concentrated capital (its Uniswap V3 pools) on the day, each split evenly across the
asset's pools here (against USDC and against WETH; ETH has only ETH/USDC). Each pool is built twice: a 0.3%
Uniswap V2 pair holds the full-range share (`PoolPlan.v2_amount_asset`, `v2_amount_quote`), and a 0.3% Uniswap
V3 pool one position of the concentrated share over [P/k, P*k] of the build day's price, k the variant's
range (`PoolPlan.amount_asset`, `amount_quote`, `range_factor`; the whole range for thin). Every venue holds at
least `MIN_VENUE_USD` a side (the oracle's TWAP needs a V3 pool, and V3 did not exist before May 2021). A price
that leaves a V3 position's range over a replay leaves that pool without liquidity there (the oracle then finds
it too thin): rebuild the market for a later period.

`liquidity="legacy"`, the rule before the model: a pool's depth in USD *per side* is
`clamp(market_cap * 1e-4, $250k, $50M)`, rounded down to whole dollars; a pool of two assets takes the smaller
depth of the two (USDC counts as the ceiling); V2 and a full-range V3 position get the same amounts.

A whale holds 1% of each token's depth (`WHALE_SHARE`).

Prices stay exact Decimals read from the CSV text; amounts that meet the chain are integer base units,
rounded down (`usd_to_units`). Feed answers are the price rounded half-even to the feed's 8 decimals.
"""

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from index_vault.common.artifacts import project_root
from index_vault.market.liquidity import VARIANTS, LiquidityModel

PANEL_PATH = "data/prices/panel_daily_21assets.csv"
STABLE = "USDC"
DEPTH_SHARE = Decimal("0.0001")  # pool depth per side as a share of market cap (1 bp)
MIN_DEPTH_USD = 250_000
MAX_DEPTH_USD = 50_000_000
WHALE_SHARE = Fraction(1, 100)  # a whale holds 1% of its token's depth
MIN_VENUE_USD = 250_000  # the least a V2 pair or a V3 position holds a side under the liquidity model
FEED_DECIMALS = 8
POOL_FEE = 3000  # 0.3%


class MarketDataError(LookupError):
    """A date or symbol the panel does not have, or a malformed panel."""


@dataclass(frozen=True)
class DayQuote:
    """One asset on one day: USD price and market cap, exact as the CSV writes them."""

    price_usd: Decimal
    market_cap_usd: Decimal


@dataclass(frozen=True)
class TokenMeta:
    """The token standing for an index asset on the local chain."""

    asset: str  # the index symbol (BTC, ETH, LINK, USDC)
    symbol: str  # the token's own symbol (WBTC, WETH, LINK, USDC)
    name: str
    decimals: int


@dataclass(frozen=True)
class Panel:
    """The daily panel: quotes by ISO date, then by symbol."""

    days: dict[str, dict[str, DayQuote]]

    def dates(self) -> list[str]:
        """Every date of the panel, ascending (ISO format)."""
        return sorted(self.days)

    def symbols(self, day: str) -> list[str]:
        """The symbols quoted on `day`, sorted."""
        return sorted(self._day(day))

    def quote(self, day: str, symbol: str) -> DayQuote:
        """`symbol`'s quote on `day`; `MarketDataError` names what is missing."""
        quotes = self._day(day)
        if symbol == STABLE:
            return DayQuote(Decimal(1), Decimal(0))
        if symbol not in quotes:
            known = {s for q in self.days.values() for s in q}
            if symbol in known:
                raise MarketDataError(f"{symbol} has no quote on {day} (the panel has it on other days)")
            raise MarketDataError(f"unknown symbol {symbol!r}; the panel has {', '.join(sorted(known))}")
        return quotes[symbol]

    def price(self, day: str, symbol: str) -> Decimal:
        """`symbol`'s USD price on `day`."""
        return self.quote(day, symbol).price_usd

    def market_cap(self, day: str, symbol: str) -> Decimal:
        """`symbol`'s USD market cap on `day`."""
        return self.quote(day, symbol).market_cap_usd

    def _day(self, day: str) -> dict[str, DayQuote]:
        key = parse_date(day)
        if key not in self.days:
            first, last = min(self.days), max(self.days)
            raise MarketDataError(f"no prices for {key}: the panel covers {first}..{last}")
        return self.days[key]


def parse_date(text: str) -> str:
    """An ISO date (YYYY-MM-DD), checked; raises `MarketDataError` otherwise."""
    try:
        return date.fromisoformat(str(text).strip()).isoformat()
    except ValueError as exc:
        raise MarketDataError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _decimal(text: str, what: str, line: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MarketDataError(f"line {line}: {what} is not a number: {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise MarketDataError(f"line {line}: {what} must be a non-negative number: {text!r}")
    return value


def load_panel(path: str | Path | None = None) -> Panel:
    """Reads the panel CSV (default: the project's `data/prices/panel_daily_21assets.csv`)."""
    path = Path(path) if path is not None else project_root() / PANEL_PATH
    if not path.is_file():
        raise MarketDataError(f"no price panel at {path}")
    days: dict[str, dict[str, DayQuote]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"date", "symbol", "price_usd", "market_cap_usd"} - set(reader.fieldnames or ())
        if missing:
            raise MarketDataError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            day, symbol = parse_date(row["date"]), row["symbol"].strip()
            days.setdefault(day, {})
            if not row["price_usd"].strip() and not row["market_cap_usd"].strip():
                continue  # a day the asset has no data (LDO before 2021-01-05): it stays unquoted
            quote = DayQuote(
                _decimal(row["price_usd"], "price_usd", line), _decimal(row["market_cap_usd"], "market_cap_usd", line)
            )
            if quote.price_usd == 0:
                raise MarketDataError(f"line {line}: {symbol} has a zero price on {day}")
            if symbol in days[day]:
                raise MarketDataError(f"line {line}: {symbol} is quoted twice on {day}")
            days[day][symbol] = quote
    if not days:
        raise MarketDataError(f"{path}: no rows")
    return Panel(days)


def token_meta(asset: str) -> TokenMeta:
    """The token for an index asset: BTC -> WBTC (8), ETH -> WETH (18), USDC (6), others their own (18)."""
    asset = asset.strip().upper()
    if not asset:
        raise ValueError("empty asset symbol")
    special = {
        "BTC": TokenMeta("BTC", "WBTC", "Wrapped BTC", 8),
        "ETH": TokenMeta("ETH", "WETH", "Wrapped Ether", 18),
        STABLE: TokenMeta(STABLE, STABLE, "USD Coin", 6),
    }
    return special.get(asset, TokenMeta(asset, asset, asset, 18))


def pool_depth_usd(market_cap_usd: Decimal | int) -> int:
    """Depth per side in whole USD: clamp(market_cap * 1e-4, $250k, $50M), rounded down (see the module doc)."""
    cap = Decimal(market_cap_usd)
    if cap < 0:
        raise ValueError(f"market cap must be non-negative: {market_cap_usd}")
    return max(MIN_DEPTH_USD, min(MAX_DEPTH_USD, int(cap * DEPTH_SHARE)))


def usd_to_units(usd: Fraction | Decimal | int, price_usd: Decimal, decimals: int) -> int:
    """Base units of a token worth `usd` at `price_usd` per whole token, rounded down (exact)."""
    if price_usd <= 0:
        raise ValueError(f"price must be positive: {price_usd}")
    return int(Fraction(usd) * 10**decimals / Fraction(price_usd))


def feed_price(price_usd: Decimal, decimals: int = FEED_DECIMALS) -> Decimal:
    """The price a feed with `decimals` decimals reports: rounded half-even, never to zero."""
    step = Decimal(1).scaleb(-decimals)
    return max(price_usd.quantize(step, rounding=ROUND_HALF_EVEN), step)


def pair_key(asset: str, quote: str) -> str:
    """A pool's key in plans and address books, by index symbols: "BTC/USDC", "LINK/ETH"."""
    return f"{asset}/{quote}"


@dataclass(frozen=True)
class PoolPlan:
    """A 0.3% pool of `asset` against `quote`, at `asset`'s price in `quote`, funded with both amounts."""

    asset: str
    quote: str
    price: Decimal  # whole quote tokens per whole asset token
    depth_usd: int  # the V3 position's USD a side
    amount_asset: int  # base units, the V3 position
    amount_quote: int  # base units, the V3 position
    v2_depth_usd: int | None = None  # the V2 pair's USD a side (None: as the V3 position)
    v2_amount_asset: int | None = None
    v2_amount_quote: int | None = None
    range_factor: float = 0.0  # the V3 position over [P/k, P*k]; 0: the whole range

    @property
    def v2_amounts(self) -> tuple[int, int]:
        """The V2 pair's amounts (asset, quote), base units."""
        if self.v2_amount_asset is None or self.v2_amount_quote is None:
            return self.amount_asset, self.amount_quote
        return self.v2_amount_asset, self.v2_amount_quote

    @property
    def key(self) -> str:
        return pair_key(self.asset, self.quote)


@dataclass(frozen=True)
class MarketPlan:
    """One day of the panel as a market: tokens, prices, pool depths and whale balances (all by index symbol).

    `assets` are the index assets in the order given; `tokens` adds USDC (and ETH, which every pool set
    needs as the second quote). Depths are whole USD per side; whale balances are base units.
    """

    date: str
    assets: tuple[str, ...]
    tokens: dict[str, TokenMeta]
    prices: dict[str, Decimal]
    depths_usd: dict[str, int]
    whale_balances: dict[str, int]
    pools: tuple[PoolPlan, ...] = field(default=())

    def pool(self, key: str) -> PoolPlan:
        """The planned pool `key` ("LINK/USDC")."""
        for pool in self.pools:
            if pool.key == key:
                return pool
        raise KeyError(f"no pool {key} in the plan ({', '.join(p.key for p in self.pools)})")


def plan_market(
    day: str, assets: list[str] | tuple[str, ...], panel: Panel | None = None, liquidity: str = "base"
) -> MarketPlan:
    """The market for `assets` on `day`: every asset against USDC and against WETH (WETH/USDC once), as deep as
    `liquidity` says (the liquidity model's variant, or "legacy"; module doc)."""
    panel = panel or load_panel()
    day = parse_date(day)
    wanted = [a.strip().upper() for a in assets if a.strip()]
    if not wanted:
        raise ValueError("no assets given")
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"assets given twice: {', '.join(wanted)}")
    if STABLE in wanted:
        raise ValueError(f"{STABLE} is always present as the quote; do not list it")
    symbols = [*wanted, *(["ETH"] if "ETH" not in wanted else []), STABLE]
    tokens = {s: token_meta(s) for s in symbols}
    prices = {s: panel.price(day, s) for s in symbols}
    if liquidity == "legacy":
        depths = {s: MAX_DEPTH_USD if s == STABLE else pool_depth_usd(panel.market_cap(day, s)) for s in symbols}
        pools = [_legacy_pool(a, q, prices, tokens, min(depths[a], depths[q])) for a, q in _pairs(symbols)]
    else:
        shares = _model_shares(panel, day, symbols, liquidity)
        pools = [_model_pool(a, q, prices, tokens, shares[a], liquidity) for a, q in _pairs(symbols)]
        depths = {s: MAX_DEPTH_USD if s == STABLE else sum(shares[s][:2]) for s in symbols}
    whales = {s: usd_to_units(depths[s] * WHALE_SHARE, prices[s], tokens[s].decimals) for s in symbols}
    return MarketPlan(day, tuple(wanted), tokens, prices, depths, whales, tuple(pools))


def _pairs(symbols: list[str]) -> list[tuple[str, str]]:
    """Every asset against USDC and against ETH (ETH/USDC once), in `symbols`' order."""
    return [(a, q) for a in symbols if a != STABLE for q in (STABLE, "ETH") if a != q]


def _legacy_pool(asset: str, quote: str, prices: dict, tokens: dict, depth: int) -> PoolPlan:
    """A pool of the legacy rule: V2 and a full-range V3 position of `depth` USD a side each."""
    return PoolPlan(
        asset=asset,
        quote=quote,
        price=prices[asset] / prices[quote],
        depth_usd=depth,
        amount_asset=usd_to_units(depth, prices[asset], tokens[asset].decimals),
        amount_quote=usd_to_units(depth, prices[quote], tokens[quote].decimals),
    )


_MODELS: dict[int, tuple[Panel, LiquidityModel]] = {}  # by panel: loading takes a third of a second


def _liquidity_model(panel: Panel) -> LiquidityModel:
    """The liquidity model over `panel`'s market caps, loaded once per panel."""
    cached = _MODELS.get(id(panel))
    if cached is None or cached[0] is not panel:

        def market_cap(symbol: str, day: str) -> float | None:
            try:
                return float(panel.market_cap(day, symbol)) if symbol != STABLE else None
            except MarketDataError:
                return None

        cached = _MODELS[id(panel)] = (panel, LiquidityModel.load(market_cap))
    return cached[1]


def _model_shares(panel: Panel, day: str, symbols: list[str], variant: str) -> dict[str, tuple[int, int]]:
    """Each asset's (full-range, concentrated) USD a side per pool: the liquidity model's depth that day split
    evenly across the asset's pools here, each at least `MIN_VENUE_USD`."""
    model = _liquidity_model(panel)
    pools_of = {s: sum(1 for a, _ in _pairs(symbols) if a == s) for s in symbols}
    shares = {}
    for s in symbols:
        if s == STABLE:
            continue
        depth = model.depth(s, day, float(panel.market_cap(day, s)), variant)
        n = pools_of[s]
        shares[s] = (
            max(MIN_VENUE_USD, int(depth.full_range_usd / n)),
            max(MIN_VENUE_USD, int(depth.concentrated_usd / n)),
        )
    return shares


def _model_pool(asset: str, quote: str, prices: dict, tokens: dict, share: tuple[int, int], variant: str) -> PoolPlan:
    """A pool of the liquidity model: the V2 pair holds the asset's full-range share, the V3 position its
    concentrated share over the variant's range."""
    full, concentrated = share
    price = prices[asset] / prices[quote]
    return PoolPlan(
        asset=asset,
        quote=quote,
        price=price,
        depth_usd=concentrated,
        amount_asset=usd_to_units(concentrated, prices[asset], tokens[asset].decimals),
        amount_quote=usd_to_units(concentrated, prices[quote], tokens[quote].decimals),
        v2_depth_usd=full,
        v2_amount_asset=usd_to_units(full, prices[asset], tokens[asset].decimals),
        v2_amount_quote=usd_to_units(full, prices[quote], tokens[quote].decimals),
        range_factor=VARIANTS[variant].range_factor,
    )


@dataclass
class AddressBook:
    """Where a built market lives: JSON-able, keyed by index symbol ("BTC", "USDC"; pools "BTC/ETH").

    `tokens[asset]` holds `address`, `symbol`, `name` and `decimals`; `uniswap` the V3 factory, position
    manager, router and quoter (and WETH); `pools` the V3 pools; `uniswap_v2` the V2 `factory` and `router`
    (Router02); `v2_pairs` the V2 pairs, keyed as `pools`; `whales[asset]` the account holding that token.
    Books written before V2 was added load with `uniswap_v2` and `v2_pairs` empty.
    """

    chain_id: int
    date: str
    assets: list[str]
    tokens: dict[str, dict] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)
    pools: dict[str, str] = field(default_factory=dict)
    uniswap: dict[str, str] = field(default_factory=dict)
    whales: dict[str, str] = field(default_factory=dict)
    uniswap_v2: dict[str, str] = field(default_factory=dict)
    v2_pairs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "AddressBook":
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as exc:
            raise MarketDataError(f"not an address book: {exc}") from exc

    def write_address_book(self, path: str | Path) -> Path:
        """Writes the book as JSON to `path` (folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path


def read_address_book(path: str | Path) -> AddressBook:
    """Reads an address book written by `AddressBook.write_address_book`."""
    path = Path(path)
    if not path.is_file():
        raise MarketDataError(f"no address book at {path}")
    return AddressBook.from_json(path.read_text())
