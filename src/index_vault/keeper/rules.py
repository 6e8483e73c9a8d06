"""The Rebalancer's rules in Python: the state a trade is judged by and the contract's checks, in its order.

Pure Python, no chain. It mirrors the integer maths of `contracts/rebalancer/Rebalancer.vy`: `start_targets`
is `start_rebalance` (target units per undiluted share from the target weights, the prices and the NAV);
`check_trade` gives the revert reason `trade` would give (`_legs`, `_oracle_out`, `_check_sale`, `_book_trade`,
then the vault's swap checks and the buy's ceiling), and `Book` is the running copy of the state the planner
(`index_vault.keeper.planner`) sizes trades against, so that every planned trade passes the contract's checks
in order.

A trade is judged in units against the rebalance's snapshot: for each side, the target is its target units per
10**18 undiluted shares times the undiluted supply now, the band is `weight_tolerance` of the snapshot NAV
(its NAV per share times that supply) in the asset's units at its snapshot price, and the prices are the
snapshot's, each no older than `max_age`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from index_vault.common.units import BPS, WAD
from index_vault.vault.basket import MAX_ASSETS

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
MAX_OPEN_DELAY = 365 * 86400
MIN_MAX_AGE = 60
MAX_MAX_AGE = 86400

# The contract's revert reasons, in the order `trade` can raise them.
ZERO_AMOUNT = "rebalancer: zero amount"
COOLING_DOWN = "rebalancer: pair cooling down"
NO_REBALANCE = "rebalancer: no rebalance started"
NO_SNAPSHOT = "rebalancer: no snapshot"
STALE_SNAPSHOT = "rebalancer: stale snapshot"
BELOW_ORACLE_BOUND = "rebalancer: minimum out below oracle bound"
SELL_NOT_OVERWEIGHT = "rebalancer: sell is not overweight"
BUY_NOT_UNDERWEIGHT = "rebalancer: buy is not underweight"
SELL_UNDERSHOOTS = "rebalancer: sell would undershoot its target"
ABOVE_SIZE_CAP = "rebalancer: trade above size cap"
PERIOD_CAP = "rebalancer: period cap reached"
NOT_A_PAIR = "vault: not a constituent pair"
# The sell token's own revert when the vault holds less than `amount_in` (the reason is the token's).
EXCEEDS_BALANCE = "token: transfer amount exceeds balance"
SWAP_SHORT = "vault: swap short"
BUY_OVERSHOOTS = "rebalancer: buy would overshoot its target"


def mul_div(x: int, y: int, d: int, round_up: bool = False) -> int:
    """`snekmate.utils.math._mul_div`: `x * y / d`, rounded down or up (the contract reverts on `d == 0`)."""
    if d == 0:
        raise ZeroDivisionError("mul_div by zero")
    return -(-x * y // d) if round_up else x * y // d


# --- inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constituent:
    """One constituent as the contract sees it: the vault's balance, its snapshot and its target weight.

    `price` and `price_at` are the snapshot's price and time (`Rebalancer.snapshot`); `price_at` 0 means no
    snapshot in the current rebalance. `target` is the target weight (1e18 fixed point) a start turns into
    `target_units`, the snapshot's units per 10**18 undiluted shares.
    """

    address: str
    symbol: str
    holding: int  # token units held by the vault
    price: int  # USD per whole token, 18 decimals
    decimals: int
    target: int  # target weight, 1e18 fixed point
    target_units: int = 0  # units per 10**18 undiluted shares, from the last start
    price_at: int = 0  # when the snapshot price was checked; 0: no snapshot

    @property
    def unit(self) -> int:
        """`10 ** decimals`."""
        return 10**self.decimals

    @property
    def value(self) -> int:
        """USD value (18 decimals) at the snapshot price: rounded down."""
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
    max_age: int = 3600

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
            and MIN_OPEN_DELAY <= self.open_delay <= MAX_OPEN_DELAY
            and MIN_MAX_AGE <= self.max_age <= MAX_MAX_AGE
        ):
            raise ValueError("rebalancer: limits out of bounds")


@dataclass(frozen=True)
class Trade:
    """One `Rebalancer.trade(sell, buy, amount_in, min_out, ...)` call and what the plan expects of it."""

    sell: str
    buy: str
    amount_in: int  # units of `sell`
    min_out: int  # units of `buy`: the snapshot's value less the keeper's slippage
    expected_out: int  # units of `buy` the pool (or the default quote) is expected to pay
    value_usd: int  # the contract's value of `amount_in`: USD, 18 decimals, rounded down
    oracle_out: int = 0  # units of `buy` the snapshot says `amount_in` is worth (`_oracle_out`)


@dataclass(frozen=True)
class RebalancerState:
    """What the contract judges a trade by: the basket and its snapshot, the bounds, the period and cool-down
    books, the undiluted supply, the time.

    `last_trade` maps `(sell, buy)` to the pair's last trade time (absent pairs read 0, as the contract's
    storage does); the contract's cool-down is the pair's either way, so a pair's time is the later of both
    orders (`pair_last_trade`). `nav_per_share` is the snapshot's NAV per 10**18 undiluted shares and `started_at` the
    rebalance's start (0: none yet). Addresses are compared as given.
    """

    constituents: tuple[Constituent, ...]
    limits: Limits = field(default_factory=Limits)
    now: int = 0
    period_start: int = 0
    period_used: int = 0
    last_trade: Mapping[tuple[str, str], int] = field(default_factory=dict)
    supply: int = WAD  # the vault's `undiluted_supply()`
    nav_per_share: int = 0
    started_at: int = 0

    def __post_init__(self) -> None:
        if len(self.constituents) > MAX_ASSETS:
            raise ValueError(f"at most {MAX_ASSETS} constituents")
        if len({c.address for c in self.constituents}) != len(self.constituents):
            raise ValueError("duplicate constituent")
        if sum(c.target for c in self.constituents) != WAD:
            raise ValueError("rebalancer: weights must sum to 10**18")
        for c in self.constituents:
            if c.price <= 0 or min(c.holding, c.target, c.target_units, c.price_at) < 0 or not 0 <= c.decimals <= 36:
                raise ValueError(f"{c.symbol}: price must be positive, holding/targets/decimals in range")

    @cached_property
    def index(self) -> dict[str, int]:
        """Position of each constituent by address."""
        return {c.address: i for i, c in enumerate(self.constituents)}

    @cached_property
    def nav(self) -> int:
        """The NAV the size caps apply to: the snapshot's NAV per share times the undiluted supply."""
        return mul_div(self.nav_per_share, self.supply, WAD)

    @cached_property
    def market_value(self) -> int:
        """The holdings at the snapshot prices (`sum(holding * price // 10**decimals)`)."""
        return sum(c.value for c in self.constituents)

    def weights(self) -> list[int]:
        """Each constituent's weight at the snapshot prices (1e18 fixed point, rounded down); zeros at NAV 0."""
        total = self.market_value
        return [c.value * WAD // total if total else 0 for c in self.constituents]

    def started(self) -> "RebalancerState":
        """The state right after `start_rebalance` at `now` with these prices (`start_targets`)."""
        nav_per_share, units = start_targets(self.constituents, self.supply)
        parts = tuple(
            replace(c, target_units=u, price_at=self.now) for c, u in zip(self.constituents, units, strict=True)
        )
        return replace(self, constituents=parts, nav_per_share=nav_per_share, started_at=self.now)

    def apply(self, trade: Trade, received: int | None = None) -> "RebalancerState":
        """The state after `trade` executes at `now` for `received` of `buy` (by default its `expected_out`):
        holdings, the period book (`_book_trade`) and the pair's cool-down. It does not check the trade."""
        received = trade.expected_out if received is None else received
        s, b = self.index[trade.sell], self.index[trade.buy]
        parts = list(self.constituents)
        parts[s] = replace(parts[s], holding=parts[s].holding - trade.amount_in)
        parts[b] = replace(parts[b], holding=parts[b].holding + received)
        start, used = self.period_start, self.period_used
        if self.now >= start + self.limits.period:
            start, used = self.now, 0
        return replace(
            self,
            constituents=tuple(parts),
            period_start=start,
            period_used=used + trade.value_usd,
            last_trade={**self.last_trade, (trade.sell, trade.buy): self.now},
        )


def pair_last_trade(last_trade: Mapping[tuple[str, str], int], a: str, b: str) -> int:
    """When the pair {a, b} last traded, either way, as `Rebalancer.last_trade` reads it (0: never)."""
    return max(last_trade.get((a, b), 0), last_trade.get((b, a), 0))


def start_targets(constituents: Sequence[Constituent], supply: int) -> tuple[int, list[int]]:
    """`start_rebalance`'s maths at the constituents' prices: the NAV per 10**18 undiluted shares and each
    constituent's target units per 10**18 undiluted shares. Raises `ValueError` at zero supply."""
    if supply <= 0:
        raise ValueError("rebalancer: no shares yet")
    nav = sum(c.value for c in constituents)
    nav_per_share = mul_div(nav, WAD, supply)
    return nav_per_share, [mul_div(mul_div(c.target, nav_per_share, WAD), c.unit, c.price) for c in constituents]


def snapshot_reason(price_at: int, started_at: int, now: int, max_age: int) -> str | None:
    """`_leg`'s refusal of one side's snapshot at `now`: none in the current rebalance (`price_at` 0 or before
    `started_at`), or older than `max_age`; None when it can be traded on."""
    if price_at == 0 or price_at < started_at:
        return NO_SNAPSHOT
    if now > price_at + max_age:
        return STALE_SNAPSHOT
    return None


class Book:
    """A mutable working copy of a `RebalancerState`, for the planner's inner loop: per constituent its
    holding, its target and band in units (whole vault), its snapshot price and unit."""

    __slots__ = (
        "addresses",
        "bands",
        "holdings",
        "index",
        "last_trade",
        "limits",
        "nav",
        "now",
        "period_start",
        "period_used",
        "price_at",
        "prices",
        "started_at",
        "targets",
        "units",
    )

    def __init__(self, state: RebalancerState) -> None:
        cs = state.constituents
        lim = state.limits
        self.addresses = [c.address for c in cs]
        self.index = dict(state.index)
        self.holdings = [c.holding for c in cs]
        self.prices = [c.price for c in cs]
        self.units = [c.unit for c in cs]
        self.price_at = [c.price_at for c in cs]
        self.nav = state.nav
        self.targets = [mul_div(c.target_units, state.supply, WAD) for c in cs]
        self.bands = [mul_div(mul_div(lim.weight_tolerance, self.nav, WAD), c.unit, c.price) for c in cs]
        self.limits = lim
        self.now = state.now
        self.started_at = state.started_at
        self.period_start = state.period_start
        self.period_used = state.period_used
        self.last_trade = dict(state.last_trade)

    def value(self, i: int, amount: int) -> int:
        """USD (18 decimals) of `amount` of constituent `i` at its snapshot price, rounded down."""
        return mul_div(amount, self.prices[i], self.units[i])

    def oracle_out(self, s: int, b: int, amount_in: int) -> int:
        """`_oracle_out`: the value of `amount_in` of `s`, in units of `b`, each step rounded down."""
        return mul_div(mul_div(amount_in, self.prices[s], self.units[s]), self.units[b], self.prices[b])

    def gap(self, i: int) -> int:
        """USD held above (positive) or below (negative) the target, at the snapshot price."""
        return self.value(i, self.holdings[i]) - self.value(i, self.targets[i])

    def apply(self, s: int, b: int, amount_in: int, received: int, value_in: int) -> None:
        """Books an executed trade as the contract and the vault do."""
        self.holdings[s] -= amount_in
        self.holdings[b] += received
        if self.now >= self.period_start + self.limits.period:
            self.period_start, self.period_used = self.now, 0
        self.period_used += value_in
        self.last_trade[(self.addresses[s], self.addresses[b])] = self.now

    def drift(self) -> int:
        """USD held above target: `sum(max(0, holding - target))` valued at the snapshot prices."""
        return sum(max(0, self.gap(i)) for i in range(len(self.holdings)))

    def _leg_reason(self, i: int) -> str | None:
        return snapshot_reason(self.price_at[i], self.started_at, self.now, self.limits.max_age)

    def check(self, s: int, b: int, amount_in: int, min_out: int, fills: tuple[int, ...]) -> str | None:
        """`Rebalancer.trade`'s checks in order (keeper, adapter and pause checks assumed to pass), then the
        vault's, then the buy's ceiling for each amount received in `fills`."""
        lim = self.limits
        if amount_in == 0:
            return ZERO_AMOUNT
        last = pair_last_trade(self.last_trade, self.addresses[s], self.addresses[b])
        if last != 0 and self.now < last + lim.cooldown:
            return COOLING_DOWN
        if self.started_at == 0:
            return NO_REBALANCE
        why = self._leg_reason(s) or self._leg_reason(b)
        if why:
            return why
        oracle_out = self.oracle_out(s, b, amount_in)
        if min_out < mul_div(oracle_out, BPS - lim.max_slippage_bps, BPS, True):
            return BELOW_ORACLE_BOUND
        sell_held, buy_held = self.holdings[s], self.holdings[b]
        if sell_held <= self.targets[s] + self.bands[s]:
            return SELL_NOT_OVERWEIGHT
        if buy_held >= self.targets[b]:
            return BUY_NOT_UNDERWEIGHT
        if sell_held - min(sell_held, amount_in) < self.targets[s] - min(self.targets[s], self.bands[s]):
            return SELL_UNDERSHOOTS
        value_in = self.value(s, amount_in)
        if value_in * BPS > self.nav * lim.max_trade_bps:
            return ABOVE_SIZE_CAP
        used = (0 if self.now >= self.period_start + lim.period else self.period_used) + value_in
        if used * BPS > self.nav * lim.period_cap_bps:
            return PERIOD_CAP
        if s == b:
            return NOT_A_PAIR
        if amount_in > sell_held:
            return EXCEEDS_BALANCE
        if any(received < min_out for received in fills):  # the vault's check, inside the swap
            return SWAP_SHORT
        if any(buy_held + received > self.targets[b] + self.bands[b] for received in fills):
            return BUY_OVERSHOOTS
        return None


def check_trade(state: RebalancerState, trade: Trade, received: int | None = None) -> str | None:
    """The revert reason `Rebalancer.trade` would give for `trade` in `state`, or None if it passes.

    The checks run in the contract's order: zero amount, cool-down, a rebalance started, each side's snapshot
    (current, then no older than `max_age`), the snapshot floor of `min_out`
    (`ceil(oracle_out * (10000 - max_slippage_bps) / 10000)`), the sale's drift checks (`_check_sale`), the
    trade and period size caps, then the vault's (a constituent pair, the balance, `received >= min_out`),
    then the buy's ceiling on the amount received. With `received` None it checks every fill the plan
    anticipates: `expected_out`, the snapshot's value and `min_out` (the ceiling only tightens as the fill
    grows, so a fill between them passes too). The keeper role, the adapter allowlist and the pause are
    assumed. Raises `KeyError` for an address outside the basket.
    """
    book = Book(state)
    s, b = state.index[trade.sell], state.index[trade.buy]
    if received is None:
        fills = (trade.expected_out, book.oracle_out(s, b, trade.amount_in), trade.min_out)
    else:
        fills = (received,)
    return book.check(s, b, trade.amount_in, trade.min_out, fills)
