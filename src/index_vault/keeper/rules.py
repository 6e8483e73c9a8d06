"""The Rebalancer's rules in Python: the state a trade is judged by and the contract's checks, in its order.

Pure Python, no chain. It mirrors the integer maths of `contracts/rebalancer/Rebalancer.vy` (`trade`,
`_quote`, `_oracle_out`, `_use_size`, `_check_weights`) and the vault's NAV (the oracle's
`sum(holding * price // 10**decimals)`): `check_trade` gives the revert reason the contract would give for one
trade, and `Book` is the running copy of the state the planner (`index_vault.keeper.planner`) sizes trades
against, so that every planned trade passes the contract's checks in order.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
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


class Book:
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
    book = Book(state)
    s, b = state.index[trade.sell], state.index[trade.buy]
    if received is None:
        fills = (trade.expected_out, book.oracle_out(s, b, trade.amount_in), trade.min_out)
    else:
        fills = (received,)
    return book.check(s, b, trade.amount_in, trade.min_out, fills)
