"""The keeper's rebalance planner: which `Rebalancer.trade` calls bring the vault back to its targets.

Pure Python, no chain. It mirrors the integer maths of `contracts/rebalancer/Rebalancer.vy` (`trade`,
`_quote`, `_oracle_out`, `_use_size`, `_check_weights`) and the vault's NAV (the oracle's
`sum(holding * price // 10**decimals)`), so that every planned trade passes the contract's checks in
order against the state the previous planned trades leave. `check_trade` gives the contract's revert
reason for one trade; `plan` emits only trades it accepts.

The planning rule, in short: every constituent outside the keeper's drift band is taken back to its
target, trading each overweight one only against underweight ones (in-band constituents join only
as the counterparties needed to balance the two sides, most off-target first); the most overweight
is matched with the most underweight, each trade closing the smaller of the two gaps within the
size cap, the period cap left and the pairs' cool-downs. See `plan` for why this is the least
turnover and, to within what subset sums could save, the fewest trades.

Length: over 500 lines on purpose. The state types, `check_trade`, the sizer and the greedy mirror one
contract function's checks in its order and share the `_Book` of running balances; kept together, the mirror
reads against `Rebalancer.vy` top to bottom.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from index_vault.common.units import BPS, WAD

# The contract's hard bounds (`Rebalancer.vy` constants).
MAX_SLIPPAGE_BPS = 500
MAX_WEIGHT_TOLERANCE = 5 * 10**16
MIN_PERIOD = 3600
MAX_PERIOD = 7 * 86400
MAX_COOLDOWN = 86400
MIN_AUCTION_DURATION = 900
MAX_AUCTION_DURATION = 7 * 86400
MAX_AUCTION_PREMIUM_BPS = 2_000
MIN_OPEN_DELAY = 3600
MAX_ASSETS = 50

# The contract's revert reasons, in the order `trade` can raise them.
ZERO_AMOUNT = "rebalancer: zero amount"
COOLING_DOWN = "rebalancer: pair cooling down"
BELOW_ORACLE_BOUND = "rebalancer: minimum out below oracle bound"
ABOVE_SIZE_CAP = "rebalancer: trade above size cap"
PERIOD_CAP = "rebalancer: period cap reached"
NOT_A_PAIR = "vault: not a constituent pair"
# The sell token's own revert when the vault holds less than `amount_in` (the reason is the token's).
EXCEEDS_BALANCE = "token: transfer amount exceeds balance"
SWAP_SHORT = "vault: swap short"
SELL_NOT_OVERWEIGHT = "rebalancer: sell is not overweight"
BUY_NOT_UNDERWEIGHT = "rebalancer: buy is not underweight"
SELL_UNDERSHOOTS = "rebalancer: sell would undershoot its target"
BUY_OVERSHOOTS = "rebalancer: buy would overshoot its target"

# Why a plan stops short of every band (`Plan.limited_by`).
LIMIT_SIZE = "size"  # a trade was cut to `max_trade_bps` of NAV
LIMIT_PERIOD = "period"  # the period cap left was too small
LIMIT_COOLDOWN = "cooldown"  # a pair the greedy wanted is cooling down
LIMIT_MIN_TRADE = "min_trade"  # an out-of-band remainder is left in pieces below the keeper's minimum trade
LIMIT_SLIPPAGE = "slippage"  # the pool quote pays less than `min_out` at any useful size
LIMIT_TOLERANCE = "tolerance"  # the weight checks refuse any useful size (rounding at zero tolerance)
LIMIT_MAX_TRADES = "max_trades"  # the keeper's trade count ran out
LIMIT_GAS = "gas"  # the drift removed does not pay the gas: the plan is empty


def mul_div(x: int, y: int, d: int, round_up: bool = False) -> int:
    """`snekmate.utils.math._mul_div`: `x * y / d`, rounded down or up (the contract reverts on `d == 0`)."""
    if d == 0:
        raise ZeroDivisionError("mul_div by zero")
    return -(-x * y // d) if round_up else x * y // d


# --- inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constituent:
    """One constituent as the contract sees it: the vault's balance, the oracle price and the target."""

    address: str
    symbol: str
    holding: int  # token units held by the vault
    price: int  # USD per whole token, 18 decimals (`OracleRouter.price`)
    decimals: int
    target: int  # target weight, 1e18 fixed point

    @property
    def unit(self) -> int:
        """`10 ** decimals`."""
        return 10**self.decimals

    @property
    def value(self) -> int:
        """USD value (18 decimals) as the oracle's valuation: rounded down."""
        return mul_div(self.holding, self.price, self.unit)


@dataclass(frozen=True)
class Limits:
    """The `Limits` struct of `Rebalancer.vy`; the defaults are the constructor's."""

    max_slippage_bps: int = 100
    weight_tolerance: int = 5 * 10**15
    max_trade_bps: int = 500
    period_cap_bps: int = 2_000
    period: int = 86400
    cooldown: int = 300
    auction_duration: int = 3600
    auction_premium_bps: int = 200
    auction_discount_bps: int = 100
    open_delay: int = 86400

    def check(self) -> None:
        """Raises `ValueError` where `_set_limits` reverts with "rebalancer: limits out of bounds"."""
        if not (
            0 <= self.max_slippage_bps <= MAX_SLIPPAGE_BPS
            and 0 <= self.weight_tolerance <= MAX_WEIGHT_TOLERANCE
            and 0 <= self.max_trade_bps <= BPS
            and 0 <= self.period_cap_bps <= BPS
            and MIN_PERIOD <= self.period <= MAX_PERIOD
            and 0 <= self.cooldown <= MAX_COOLDOWN
            and MIN_AUCTION_DURATION <= self.auction_duration <= MAX_AUCTION_DURATION
            and 0 <= self.auction_premium_bps <= MAX_AUCTION_PREMIUM_BPS
            and 0 <= self.auction_discount_bps <= self.max_slippage_bps
            and self.open_delay >= MIN_OPEN_DELAY
        ):
            raise ValueError("rebalancer: limits out of bounds")


@dataclass(frozen=True)
class Trade:
    """One `Rebalancer.trade(sell, buy, amount_in, min_out, ...)` call and what the plan expects of it."""

    sell: str
    buy: str
    amount_in: int  # units of `sell`
    min_out: int  # units of `buy`: the oracle's value less the keeper's slippage
    expected_out: int  # units of `buy` the pool (or the default quote) is expected to pay
    value_usd: int  # the contract's `value_in`: USD, 18 decimals, rounded down
    oracle_out: int = 0  # units of `buy` the oracle says `amount_in` is worth (`_oracle_out`)


@dataclass(frozen=True)
class RebalancerState:
    """What the contract judges a trade by: the basket, the bounds, the period and cool-down books, the time.

    `last_trade` maps `(sell, buy)` to the pair's last trade time (absent pairs read 0, as the contract's
    storage does). Addresses are compared as given.
    """

    constituents: tuple[Constituent, ...]
    limits: Limits = field(default_factory=Limits)
    now: int = 0
    period_start: int = 0
    period_used: int = 0
    last_trade: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.constituents) > MAX_ASSETS:
            raise ValueError(f"at most {MAX_ASSETS} constituents")
        if len({c.address for c in self.constituents}) != len(self.constituents):
            raise ValueError("duplicate constituent")
        if sum(c.target for c in self.constituents) != WAD:
            raise ValueError("rebalancer: weights must sum to 10**18")
        for c in self.constituents:
            if c.price <= 0 or c.holding < 0 or c.target < 0 or not 0 <= c.decimals <= 77:
                raise ValueError(f"{c.symbol}: price must be positive, holding/target/decimals in range")

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each constituent by address."""
        return {c.address: i for i, c in enumerate(self.constituents)}

    @cached_property
    def nav(self) -> int:
        """`IndexVault.total_value()`: the sum of each holding's value, each rounded down."""
        return sum(c.value for c in self.constituents)

    def weights(self) -> list[int]:
        """Each constituent's weight (1e18 fixed point, rounded down); zeros when NAV is 0."""
        nav = self.nav
        return [c.value * WAD // nav if nav else 0 for c in self.constituents]

    def apply(self, trade: Trade, received: int | None = None) -> "RebalancerState":
        """The state after `trade` executes at `now` for `received` of `buy` (by default its `expected_out`):
        holdings, the period book (`_use_size`) and the pair's cool-down. It does not check the trade."""
        received = trade.expected_out if received is None else received
        s, b = self.index[trade.sell], self.index[trade.buy]
        parts = list(self.constituents)
        parts[s] = _with_holding(parts[s], parts[s].holding - trade.amount_in)
        parts[b] = _with_holding(parts[b], parts[b].holding + received)
        start, used = self.period_start, self.period_used
        if self.now >= start + self.limits.period:
            start, used = self.now, 0
        return RebalancerState(
            constituents=tuple(parts),
            limits=self.limits,
            now=self.now,
            period_start=start,
            period_used=used + trade.value_usd,
            last_trade={**self.last_trade, (trade.sell, trade.buy): self.now},
        )


def _with_holding(c: Constituent, holding: int) -> Constituent:
    return Constituent(c.address, c.symbol, holding, c.price, c.decimals, c.target)


# A pool quote: (sell, buy, amount_in) -> expected units of `buy` out, or None to use the default.
Quote = Callable[[str, str, int], int | None]


@dataclass(frozen=True)
class Market:
    """What trading costs: the pools' expected outs and the gas.

    `quote(sell, buy, amount_in)` gives the expected out of a pool; without it (or for pairs it returns
    `None` for), the expected out is the oracle's less `pair_slippage_bps[(sell, buy)]`, else less
    `expected_slippage_bps`. Gas: `gas_price` in wei, `gas_per_trade` (a trade values the whole basket
    through the oracle: measure it for the basket's size), `eth_price` in USD with 18 decimals.
    """

    quote: Quote | None = None
    expected_slippage_bps: int = 30
    pair_slippage_bps: Mapping[tuple[str, str], int] = field(default_factory=dict)
    gas_price: int = 0
    gas_per_trade: int = 500_000
    eth_price: int = 0

    def expected_out(self, sell: str, buy: str, amount_in: int, oracle_out: int) -> int:
        """The expected out of selling `amount_in` of `sell` for `buy`."""
        if self.quote is not None:
            out = self.quote(sell, buy, amount_in)
            if out is not None:
                return out
        bps = self.pair_slippage_bps.get((sell, buy), self.expected_slippage_bps)
        return mul_div(oracle_out, BPS - bps, BPS)

    def gas_usd(self, trades: int) -> int:
        """USD (18 decimals) the gas of `trades` trades costs."""
        return trades * self.gas_per_trade * self.gas_price * self.eth_price // WAD


@dataclass(frozen=True)
class KeeperSettings:
    """The keeper's own policy.

    `band`: how far (1e18 fixed point, absolute weight) a constituent may drift from its target before
    the keeper acts, with per-address overrides in `bands`. `min_trade_usd`: the smallest trade worth
    sending (USD, 18 decimals, at least 1). `slippage_bps`: how far below the oracle's value `min_out`
    is set, at most the vault's `max_slippage_bps`. `max_trades`: the longest plan.
    """

    band: int = 10**16
    bands: Mapping[str, int] = field(default_factory=dict)
    min_trade_usd: int = 100 * WAD
    slippage_bps: int = 50
    max_trades: int = 100

    def band_of(self, address: str) -> int:
        """The drift band of one constituent."""
        return self.bands.get(address, self.band)


@dataclass(frozen=True)
class Plan:
    """An ordered list of trades, why it stops where it does, and what it is expected to achieve.

    `limited_by` names the bounds that kept the plan from bringing every weight inside its band (see the
    `LIMIT_*` constants); it is empty when the plan is expected to. Drift is the USD value held above
    target, `sum(max(0, value - target * nav))`; `*_after` figures assume every trade fills at
    `expected_out`.
    """

    trades: tuple[Trade, ...]
    limited_by: frozenset[str]
    nav_before: int
    nav_after: int
    drift_before: int
    drift_after: int
    gas_usd: int

    def __iter__(self) -> Iterator[Trade]:
        return iter(self.trades)

    def __len__(self) -> int:
        return len(self.trades)


# --- the contract's checks ---------------------------------------------------------------------------


class _Book:
    """A mutable working copy of a `RebalancerState`, for the planner's inner loop."""

    __slots__ = (
        "addresses",
        "holdings",
        "index",
        "last_trade",
        "limits",
        "nav",
        "now",
        "period_start",
        "period_used",
        "prices",
        "targets",
        "units",
        "values",
    )

    def __init__(self, state: RebalancerState) -> None:
        cs = state.constituents
        self.addresses = [c.address for c in cs]
        self.index = dict(state.index)
        self.holdings = [c.holding for c in cs]
        self.prices = [c.price for c in cs]
        self.units = [c.unit for c in cs]
        self.targets = [c.target for c in cs]
        self.values = [c.value for c in cs]
        self.nav = sum(self.values)
        self.limits = state.limits
        self.now = state.now
        self.period_start = state.period_start
        self.period_used = state.period_used
        self.last_trade = dict(state.last_trade)

    def oracle_out(self, s: int, b: int, amount_in: int) -> int:
        """`_oracle_out`: the value of `amount_in` of `s`, in units of `b`, each step rounded down."""
        return mul_div(mul_div(amount_in, self.prices[s], self.units[s]), self.units[b], self.prices[b])

    def apply(self, s: int, b: int, amount_in: int, received: int, value_in: int) -> None:
        """Books an executed trade as the contract and the vault do."""
        self.holdings[s] -= amount_in
        self.holdings[b] += received
        for i in (s, b):
            value = mul_div(self.holdings[i], self.prices[i], self.units[i])
            self.nav += value - self.values[i]
            self.values[i] = value
        if self.now >= self.period_start + self.limits.period:
            self.period_start, self.period_used = self.now, 0
        self.period_used += value_in
        self.last_trade[(self.addresses[s], self.addresses[b])] = self.now

    def drift(self) -> int:
        """USD held above target: `sum(max(0, value - target * nav))`, rounded down."""
        nav = self.nav
        return sum(max(0, v * WAD - t * nav) for v, t in zip(self.values, self.targets, strict=True)) // WAD

    def check(self, s: int, b: int, amount_in: int, min_out: int, fills: tuple[int, ...]) -> str | None:
        """`Rebalancer.trade`'s checks in order (keeper, adapter, price and pause checks assumed to pass),
        then the vault's, then `_check_weights` for each amount received in `fills`."""
        lim = self.limits
        if amount_in == 0:
            return ZERO_AMOUNT
        last = self.last_trade.get((self.addresses[s], self.addresses[b]), 0)
        if last != 0 and self.now < last + lim.cooldown:
            return COOLING_DOWN
        oracle_out = self.oracle_out(s, b, amount_in)
        if min_out < mul_div(oracle_out, BPS - lim.max_slippage_bps, BPS, True):
            return BELOW_ORACLE_BOUND
        nav = self.nav
        value_in = mul_div(amount_in, self.prices[s], self.units[s])
        if value_in * BPS > nav * lim.max_trade_bps:
            return ABOVE_SIZE_CAP
        used = (0 if self.now >= self.period_start + lim.period else self.period_used) + value_in
        if used * BPS > nav * lim.period_cap_bps:
            return PERIOD_CAP
        if s == b:
            return NOT_A_PAIR
        sell_held, buy_held = self.holdings[s], self.holdings[b]
        if amount_in > sell_held:
            return EXCEEDS_BALANCE
        if any(received < min_out for received in fills):  # the vault's check, inside the swap
            return SWAP_SHORT
        # `_check_weights`, after the swap: the weights before, then after each fill
        if mul_div(sell_held, self.prices[s], self.units[s]) * WAD <= (self.targets[s] + lim.weight_tolerance) * nav:
            return SELL_NOT_OVERWEIGHT
        if mul_div(buy_held, self.prices[b], self.units[b]) * WAD >= self.targets[b] * nav:
            return BUY_NOT_UNDERWEIGHT
        sell_after = mul_div(sell_held - amount_in, self.prices[s], self.units[s])
        sell_floor = self.targets[s] - min(self.targets[s], lim.weight_tolerance)
        buy_ceiling = self.targets[b] + lim.weight_tolerance
        for received in fills:
            value_out = mul_div(received, self.prices[b], self.units[b])
            nav_after = nav + value_out - min(nav + value_out, value_in)
            if sell_after * WAD < sell_floor * nav_after:
                return SELL_UNDERSHOOTS
            if mul_div(buy_held + received, self.prices[b], self.units[b]) * WAD > buy_ceiling * nav_after:
                return BUY_OVERSHOOTS
        return None


def check_trade(state: RebalancerState, trade: Trade, received: int | None = None) -> str | None:
    """The revert reason `Rebalancer.trade` would give for `trade` in `state`, or None if it passes.

    The checks run in the contract's order: zero amount, cool-down, the oracle floor of `min_out`
    (`ceil(oracle_out * (10000 - max_slippage_bps) / 10000)`), the trade and period size caps, then the
    vault's (a constituent pair, the balance, `received >= min_out`), then `_check_weights` on the amount
    received. With `received` None it checks every fill the plan anticipates: `expected_out`, the
    oracle's value and `min_out` (the weight checks are monotone in the fill up to the rounding of one
    unit's value, so a fill between them passes too). The keeper role, the adapter allowlist, the pause and the
    prices' usability are assumed. Raises `KeyError` for an address outside the basket.
    """
    book = _Book(state)
    s, b = state.index[trade.sell], state.index[trade.buy]
    if received is None:
        fills = (trade.expected_out, book.oracle_out(s, b, trade.amount_in), trade.min_out)
    else:
        fills = (received,)
    return book.check(s, b, trade.amount_in, trade.min_out, fills)


# --- the planner --------------------------------------------------------------------------------------


def _min_out(oracle_out: int, slippage_bps: int, max_slippage_bps: int) -> int:
    """The oracle's value less the keeper's slippage, rounded up, never below the contract's floor."""
    return max(
        mul_div(oracle_out, BPS - slippage_bps, BPS, True),
        mul_div(oracle_out, BPS - max_slippage_bps, BPS, True),
    )


class _Sizer:
    """Builds a trade of a given size and finds the largest one the contract accepts."""

    def __init__(self, book: _Book, settings: KeeperSettings, market: Market) -> None:
        self.book, self.settings, self.market = book, settings, market

    def make(self, s: int, b: int, amount_in: int) -> Trade:
        book = self.book
        oracle_out = book.oracle_out(s, b, amount_in)
        sell, buy = book.addresses[s], book.addresses[b]
        return Trade(
            sell=sell,
            buy=buy,
            amount_in=amount_in,
            min_out=_min_out(oracle_out, self.settings.slippage_bps, book.limits.max_slippage_bps),
            expected_out=self.market.expected_out(sell, buy, amount_in, oracle_out),
            value_usd=mul_div(amount_in, book.prices[s], book.units[s]),
            oracle_out=oracle_out,
        )

    def reason(self, s: int, b: int, trade: Trade) -> str | None:
        fills = (trade.expected_out, trade.oracle_out, trade.min_out)
        return self.book.check(s, b, trade.amount_in, trade.min_out, fills)

    def fit(self, s: int, b: int, amount_in: int) -> tuple[Trade | None, str | None]:
        """The largest trade of at most `amount_in` that passes, and the reason the full size failed."""
        trade = self.make(s, b, amount_in)
        why = self.reason(s, b, trade)
        if why is None:
            return trade, None
        # Both the pool's shortfall and the weight checks only ease as the size falls: bisect, to within
        # 1/1024 of the size that fails (a closer fit is not worth the pool quotes).
        good, lo, hi = None, 0, amount_in
        while hi - lo > max(1, hi >> 10):
            mid = (lo + hi) // 2
            candidate = self.make(s, b, mid)
            if self.reason(s, b, candidate) is None:
                good, lo = candidate, mid
            else:
                hi = mid
        return good, why


def _limit_of(reason: str | None) -> str:
    """The `LIMIT_*` behind a trade that could not be sized (`reason`: why its full size failed)."""
    if reason == SWAP_SHORT:
        return LIMIT_SLIPPAGE
    if reason in (SELL_UNDERSHOOTS, BUY_OVERSHOOTS):
        return LIMIT_TOLERANCE
    return LIMIT_MIN_TRADE  # no whole unit, or rounded below the minimum


def _needs(book: _Book, settings: KeeperSettings) -> tuple[dict[int, int], dict[int, int]]:
    """USD each constituent is to sell (overweight) and buy (underweight): the whole gap to target of
    every one outside its band, then in-band ones, most off-target first, for what balances the sides."""
    nav = book.nav
    sell: dict[int, int] = {}
    buy: dict[int, int] = {}
    spare_sell: list[tuple[int, int]] = []
    spare_buy: list[tuple[int, int]] = []
    for i, (value, target) in enumerate(zip(book.values, book.targets, strict=True)):
        off = value * WAD - target * nav
        gap = abs(off) // WAD  # rounded down: a trade sized to it never passes the target
        if gap == 0:
            continue
        outside = abs(off) > settings.band_of(book.addresses[i]) * nav
        needs, spare = (sell, spare_sell) if off > 0 else (buy, spare_buy)
        if outside:
            needs[i] = gap
        else:
            spare.append((gap, i))
    short, spare, side = sum(sell.values()) - sum(buy.values()), spare_buy, buy
    if short < 0:
        short, spare, side = -short, spare_sell, sell
    for gap, i in sorted(spare, reverse=True):
        if short <= 0:
            break
        side[i] = min(gap, short)
        short -= side[i]
    return sell, buy


def _inside(book: _Book, settings: KeeperSettings, i: int) -> bool:
    nav = book.nav
    return abs(book.values[i] * WAD - book.targets[i] * nav) <= settings.band_of(book.addresses[i]) * nav


def inside_bands(state: RebalancerState, settings: KeeperSettings) -> list[bool]:
    """Whether each weight is within its band: `|value * 1e18 - target * nav| <= band * nav`."""
    nav = state.nav
    return [abs(c.value * WAD - c.target * nav) <= settings.band_of(c.address) * nav for c in state.constituents]


def plan(state: RebalancerState, settings: KeeperSettings | None = None, market: Market | None = None) -> Plan:
    """The trades that bring every weight inside its band, in the order to send them.

    Rule: every constituent outside its band is taken back to its target (not to the band's edge, which
    the next drift would cross again); overweight ones are sold only for underweight ones, and in-band
    constituents join only as the counterparties needed to balance the two sides, most off-target
    first, and never past their target. No constituent is both sold and bought, so the USD sold is the
    sum of the out-of-band gaps on the larger side: the least turnover that restores them. Greedy
    matching then pairs the largest remaining sell gap with the largest remaining buy gap whose pair is
    not cooling down, sizing each trade to the smaller gap, cut to `max_trade_bps` of NAV and the period
    cap left; an uncut trade closes one side, so a plan has at most one trade fewer than participants
    (a spanning tree: fewer would need gaps that sum alike, a subset-sum search not worth its time).
    Each trade is checked with the contract's maths (`check_trade`) on the state the previous ones leave
    at their `expected_out`, for fills at `expected_out`, the oracle's value and `min_out`, and shrunk
    by bisection when rounding trips a weight check or a pool's quote falls short of `min_out` (the pair
    then waits for the next plan: a quote knows nothing of the planned trades before it).
    Remainders below `min_trade_usd` are left.

    Gas: the plan is sent only if the drift it removes (USD above target before less after, at the
    expected fills) is at least its gas (`len(trades) * gas_per_trade * gas_price * eth_price`);
    otherwise the plan is empty and `limited_by` holds "gas". The plan is also empty, with nothing in
    `limited_by`, when every weight is inside its band.

    The plan is a snapshot at `state.now`: the keeper sends it in order and plans again after any fill
    far from `expected_out` or any change of prices.

    Length: over 80 lines, a quarter of them this docstring; the greedy loop reads as one piece.
    """
    settings = settings or KeeperSettings()
    market = market or Market()
    limits = state.limits
    limits.check()
    if not 0 <= settings.slippage_bps <= limits.max_slippage_bps:
        raise ValueError("the keeper's slippage must be within the vault's max_slippage_bps")
    if settings.min_trade_usd < 1 or settings.max_trades < 0:
        raise ValueError("min_trade_usd must be at least 1 and max_trades non-negative")

    book = _Book(state)
    nav_before, drift_before = book.nav, book.drift()
    empty = Plan((), frozenset(), nav_before, nav_before, drift_before, drift_before, 0)
    if nav_before == 0 or all(inside_bands(state, settings)):
        return empty

    sell_need, buy_need = _needs(book, settings)
    sizer = _Sizer(book, settings, market)
    floor = settings.min_trade_usd
    limited: set[str] = set()
    dead: set[tuple[int, int]] = set()
    trades: list[Trade] = []

    def drop(needs: dict[int, int], i: int) -> None:
        if needs.pop(i) > 0 and not _inside(book, settings, i):
            limited.add(LIMIT_MIN_TRADE)

    while sell_need and buy_need:
        if len(trades) >= settings.max_trades:
            limited.add(LIMIT_MAX_TRADES)
            break
        s = max(sell_need, key=sell_need.__getitem__)
        b = None
        for j in sorted(buy_need, key=buy_need.__getitem__, reverse=True):
            if (s, j) in dead:
                continue
            if book.now < book.last_trade.get((book.addresses[s], book.addresses[j]), 0) + limits.cooldown:
                dead.add((s, j))
                limited.add(LIMIT_COOLDOWN)
                continue
            b = j
            break
        if b is None:  # no buyer left for the largest seller
            sell_need.pop(s)
            continue

        nav = book.nav
        size_cap = nav * limits.max_trade_bps // BPS
        used = 0 if book.now >= book.period_start + limits.period else book.period_used
        period_left = max(0, nav * limits.period_cap_bps // BPS - used)
        # slippage lowers NAV as the plan goes: no gap may outgrow the one the current weights show
        sell_need[s] = min(sell_need[s], max(0, book.values[s] * WAD - book.targets[s] * nav) // WAD)
        buy_need[b] = min(buy_need[b], max(0, book.targets[b] * nav - book.values[b] * WAD) // WAD)
        gap = min(sell_need[s], buy_need[b])
        if period_left < floor:
            limited.add(LIMIT_PERIOD)
            break
        if size_cap < floor:
            limited.add(LIMIT_SIZE)
            break
        if gap < floor:
            drop(sell_need if sell_need[s] < floor else buy_need, s if sell_need[s] < floor else b)
            continue
        value = min(gap, size_cap, period_left)
        if value < gap:
            limited.add(LIMIT_SIZE if value == size_cap else LIMIT_PERIOD)

        amount = min(value * book.units[s] // book.prices[s], book.holdings[s])
        trade, why = sizer.fit(s, b, amount) if amount else (None, ZERO_AMOUNT)
        if trade is None or trade.value_usd < floor:
            dead.add((s, b))
            limited.add(_limit_of(why))
            continue
        if why == SWAP_SHORT:  # cut to what the pool pays within the slippage: its depth is spent for now
            dead.add((s, b))
            limited.add(LIMIT_SLIPPAGE)
        book.apply(s, b, trade.amount_in, trade.expected_out, trade.value_usd)
        trades.append(trade)
        sell_need[s] -= trade.value_usd
        buy_need[b] -= trade.value_usd
        if sell_need[s] < floor:
            drop(sell_need, s)
        if buy_need[b] < floor:
            drop(buy_need, b)

    if not limited and not all(_inside(book, settings, i) for i in range(len(book.values))):
        # nothing else held it back: what is left is spread over counterparties below the minimum each
        # (or is what the expected slippage leaves a buyer short)
        limited.add(LIMIT_MIN_TRADE)
    if not trades:
        return Plan((), frozenset(limited), nav_before, nav_before, drift_before, drift_before, 0)
    drift_after = book.drift()
    gas = market.gas_usd(len(trades))
    if drift_before - drift_after < gas:
        return Plan((), frozenset({*limited, LIMIT_GAS}), nav_before, nav_before, drift_before, drift_before, 0)
    return Plan(tuple(trades), frozenset(limited), nav_before, book.nav, drift_before, drift_after, gas)
