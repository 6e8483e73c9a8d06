"""The keeper's rebalance planner: which `Rebalancer.trade` calls bring the vault back to its targets.

Pure Python, no chain. It sizes trades against `index_vault.keeper.rules`, the contract's checks in Python,
so that every planned trade passes them in order against the state the previous planned trades leave:
`plan` emits only trades `rules.check_trade` accepts.

Targets are the rebalance's: units (whole vault) from the snapshot's target units and the undiluted supply,
and gaps are USD at the snapshot prices (`rules.Book.gap`); the keeper's drift band is a share of the
snapshot's NAV. A state without a rebalance started has no targets and gets an empty plan: the keeper
plans on `RebalancerState.started()` for a start it is about to send.

The planning rule, in short: every constituent outside the keeper's drift band is taken back to its
target, trading each overweight one only against underweight ones; what balances the two sides comes
first from the smaller side's out-of-band constituents going past their targets (by up to `OVERSHOOT` of
the contract's tolerance), then from in-band counterparties, most off-target first; the most overweight
is matched with the most underweight, each trade closing the smaller of the two gaps within the
size cap, the period cap left and the pairs' cool-downs. See `plan` for why this is the least
turnover and, to within what subset sums could save, the fewest trades.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from index_vault.common.units import BPS, WAD
from index_vault.keeper.rules import (
    BUY_OVERSHOOTS,
    SELL_UNDERSHOOTS,
    SWAP_SHORT,
    ZERO_AMOUNT,
    Book,
    Limits,
    RebalancerState,
    Trade,
    mul_div,
    pair_last_trade,
)

# Why a plan stops short of every band (`Plan.limited_by`).
LIMIT_SIZE = "size"  # a trade was cut to `max_trade_bps` of NAV
LIMIT_PERIOD = "period"  # the period cap left was too small
LIMIT_COOLDOWN = "cooldown"  # a pair the greedy wanted is cooling down
LIMIT_MIN_TRADE = "min_trade"  # an out-of-band remainder is left in pieces below the keeper's minimum trade
LIMIT_SLIPPAGE = "slippage"  # the pool quote pays less than `min_out` at any useful size
LIMIT_TOLERANCE = "tolerance"  # the unit checks refuse any useful size (the contract's band around a target)
LIMIT_MAX_TRADES = "max_trades"  # the keeper's trade count ran out
LIMIT_GAS = "gas"  # the drift removed does not pay the gas: the plan is empty
LIMIT_IMPACT = "impact"  # an asset's cap (`KeeperSettings.caps`: the execution policy's slice or band) held it


# A pool quote: (sell, buy, amount_in) -> expected units of `buy` out, or None to use the default.
Quote = Callable[[str, str, int], int | None]


@dataclass(frozen=True)
class Market:
    """What trading costs: the pools' expected outs and the gas.

    `quote(sell, buy, amount_in)` gives the expected out of a pool; without it (or for pairs it returns
    `None` for), the expected out is the oracle's less `pair_slippage_bps[(sell, buy)]`, else less
    `expected_slippage_bps`. Gas: `gas_price` in wei, `gas_per_trade` (a trade reads only its two legs'
    snapshots: about 170,000 whatever the basket's size), `eth_price` in USD with 18 decimals.
    """

    quote: Quote | None = None
    expected_slippage_bps: int = 30
    pair_slippage_bps: Mapping[tuple[str, str], int] = field(default_factory=dict)
    gas_price: int = 0
    gas_per_trade: int = 180_000
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

    `band`: how far a constituent may drift from its target before the keeper acts (1e18 fixed point, a
    share of the snapshot NAV: `|holding - target|` valued at the snapshot price), with per-address
    overrides in `bands`. `min_trade_usd`: the smallest trade worth
    sending (USD, 18 decimals, at least 1). `slippage_bps`: how far below the oracle's value `min_out`
    is set, at most the vault's `max_slippage_bps`. `max_trades`: the longest plan. `caps`: the most an
    asset may trade in this plan, either side (USD, 18 decimals; 0: not at all), as the execution policy
    sets them (`index_vault.keeper.execution.keeper_settings`); an asset without one is not capped.
    """

    band: int = 10**16
    bands: Mapping[str, int] = field(default_factory=dict)
    min_trade_usd: int = 100 * WAD
    slippage_bps: int = 50
    max_trades: int = 100
    caps: Mapping[str, int] = field(default_factory=dict)

    def band_of(self, address: str) -> int:
        """The drift band of one constituent."""
        return self.bands.get(address, self.band)


@dataclass(frozen=True)
class Plan:
    """An ordered list of trades, why it stops where it does, and what it is expected to achieve.

    `limited_by` names the bounds that kept the plan from bringing every constituent inside its band (see the
    `LIMIT_*` constants); it is empty when the plan is expected to. `nav_*` is the holdings' value at the
    snapshot prices and drift the USD value held above target (`Book.drift`); `*_after` figures assume every
    trade fills at `expected_out`.
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


# --- the planner --------------------------------------------------------------------------------------


def _min_out(oracle_out: int, slippage_bps: int, max_slippage_bps: int) -> int:
    """The oracle's value less the keeper's slippage, rounded up, never below the contract's floor."""
    return max(
        mul_div(oracle_out, BPS - slippage_bps, BPS, True),
        mul_div(oracle_out, BPS - max_slippage_bps, BPS, True),
    )


class _Sizer:
    """Builds a trade of a given size and finds the largest one the contract accepts."""

    def __init__(self, book: Book, settings: KeeperSettings, market: Market) -> None:
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
        # Both the pool's shortfall and the unit checks only ease as the size falls: bisect, to within
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


def _outside(book: Book, settings: KeeperSettings, i: int) -> bool:
    """Whether constituent `i` is outside the keeper's band: its USD gap to target (at the snapshot price)
    above `band` of the snapshot NAV."""
    return abs(book.gap(i)) * WAD > settings.band_of(book.addresses[i]) * book.nav


OVERSHOOT = (4, 5)  # of the contract's tolerance: how far past its target a planned trade may take a side


def _needs(book: Book, settings: KeeperSettings) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """USD each constituent is to sell (overweight) and buy (underweight), and how far past its target each
    may go (`allow`, USD): the whole gap to target of every one outside its band; then what balances the
    sides, first by letting the smaller side's out-of-band constituents go past their targets, largest
    first, by up to `OVERSHOOT` of the contract's tolerance (within it the contract never trades them back),
    then from in-band ones, most off-target first. An in-band counterparty is a trade more; going past a
    target that is being traded anyway is not."""
    sell: dict[int, int] = {}
    buy: dict[int, int] = {}
    spare_sell: list[tuple[int, int]] = []
    spare_buy: list[tuple[int, int]] = []
    for i in range(len(book.holdings)):
        off = book.gap(i)
        if off == 0:
            continue
        # a sale never takes the asset below its target: its gap in units, valued down
        gap = book.value(i, book.holdings[i] - book.targets[i]) if off > 0 else -off
        needs, spare = (sell, spare_sell) if off > 0 else (buy, spare_buy)
        if _outside(book, settings, i):
            needs[i] = gap
        else:
            spare.append((gap, i))
    short, spare, side = sum(sell.values()) - sum(buy.values()), spare_buy, buy
    if short < 0:
        short, spare, side = -short, spare_sell, sell
    allow: dict[int, int] = {}
    for i in sorted(side, key=side.__getitem__, reverse=True):
        if short <= 0:
            break
        allow[i] = min(book.value(i, book.bands[i]) * OVERSHOOT[0] // OVERSHOOT[1], short)
        side[i] += allow[i]
        short -= allow[i]
    for gap, i in sorted(spare, reverse=True):
        if short <= 0:
            break
        side[i] = min(gap, short)
        short -= side[i]
    return sell, buy, allow


def inside_bands(state: RebalancerState, settings: KeeperSettings) -> list[bool]:
    """Whether each constituent is within the keeper's band of its target: `|holding - target|` in units,
    valued at the snapshot price, at most `band` of the snapshot NAV. Without a rebalance started (NAV 0)
    every constituent reads inside: there is no target to trade to."""
    book = Book(state)
    return [not _outside(book, settings, i) for i in range(len(book.holdings))]


def plan(state: RebalancerState, settings: KeeperSettings | None = None, market: Market | None = None) -> Plan:
    """The trades that bring every constituent inside its band, in the order to send them.

    Targets and bands are the rebalance's snapshot's (module doc); an empty plan without a rebalance started.
    Rule: every constituent outside its band is taken back to its target units (not to the band's edge, which
    the next drift would cross again); overweight ones are sold only for underweight ones. What balances
    the two sides is taken first from the smaller side's out-of-band constituents, each going past its
    target by up to `OVERSHOOT` of the contract's tolerance (which the contract then never trades back),
    and only then from in-band constituents, most off-target first, never past their target: each in-band
    counterparty is one trade more. No constituent is both sold and bought, so the USD sold is the sum of
    the out-of-band gaps on the larger side: the least turnover that restores them. Greedy
    matching then pairs the largest remaining sell gap with the largest remaining buy gap whose pair is
    not cooling down, sizing each trade to the smaller gap, cut to `max_trade_bps` of NAV and the period
    cap left; an uncut trade closes one side, so a plan has at most one trade fewer than participants
    (a spanning tree: fewer would need gaps that sum alike, a subset-sum search not worth its time).
    Each trade is checked with the contract's maths (`Book.check`, in the contract's order) on the state
    the previous ones leave at their `expected_out`, for fills at `expected_out`, the snapshot's value and
    `min_out`, and shrunk by bisection when rounding trips a unit check or a pool's quote falls short of
    `min_out` (the pair then waits for the next plan: a quote knows nothing of the planned trades before it).
    Remainders below `min_trade_usd` are left.

    Gas: the plan is sent only if the drift it removes (USD above target before less after, at the
    expected fills) is at least its gas (`len(trades) * gas_per_trade * gas_price * eth_price`);
    otherwise the plan is empty and `limited_by` holds "gas". The plan is also empty, with nothing in
    `limited_by`, when every constituent is inside its band.

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

    book = Book(state)
    nav_before, drift_before = _market_value(book), book.drift()
    empty = Plan((), frozenset(), nav_before, nav_before, drift_before, drift_before, 0)
    if book.nav == 0 or not any(_outside(book, settings, i) for i in range(len(book.holdings))):
        return empty

    sell_need, buy_need, allow = _needs(book, settings)
    cap_left = {i: settings.caps[a] for i, a in enumerate(book.addresses) if a in settings.caps}
    sizer = _Sizer(book, settings, market)
    floor = settings.min_trade_usd
    limited: set[str] = set()
    dead: set[tuple[int, int]] = set()
    trades: list[Trade] = []

    def drop(needs: dict[int, int], i: int) -> None:
        if needs.pop(i) > 0 and _outside(book, settings, i):
            limited.add(LIMIT_MIN_TRADE)

    while sell_need and buy_need:
        for needs in (sell_need, buy_need):  # an asset whose cap is spent trades no more in this plan
            for i in [i for i in needs if i in cap_left and cap_left[i] < floor]:
                needs.pop(i)
                limited.add(LIMIT_IMPACT)
        if not (sell_need and buy_need):
            break
        if len(trades) >= settings.max_trades:
            limited.add(LIMIT_MAX_TRADES)
            break
        s = max(sell_need, key=sell_need.__getitem__)
        b = None
        for j in sorted(buy_need, key=buy_need.__getitem__, reverse=True):
            if (s, j) in dead:
                continue
            if book.now < pair_last_trade(book.last_trade, book.addresses[s], book.addresses[j]) + limits.cooldown:
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
        # a buy filled short of the oracle's value leaves its gap: no need may outgrow the book's gap now
        over_s, over_b = allow.get(s, 0), allow.get(b, 0)
        sell_need[s] = min(sell_need[s], max(0, book.value(s, book.holdings[s] - book.targets[s]) + over_s))
        buy_need[b] = min(buy_need[b], max(0, over_b - book.gap(b)))
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
        value = min(gap, size_cap, period_left, cap_left.get(s, gap), cap_left.get(b, gap))
        if value < gap:
            limited.add(LIMIT_SIZE if value == size_cap else LIMIT_PERIOD if value == period_left else LIMIT_IMPACT)

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
        for i in (s, b):
            if i in cap_left:
                cap_left[i] -= trade.value_usd
        if sell_need[s] < floor:
            drop(sell_need, s)
        if buy_need[b] < floor:
            drop(buy_need, b)

    if not limited and any(_outside(book, settings, i) for i in range(len(book.holdings))):
        # nothing else held it back: what is left is spread over counterparties below the minimum each
        # (or is what the expected slippage leaves a buyer short)
        limited.add(LIMIT_MIN_TRADE)
    if not trades:
        return Plan((), frozenset(limited), nav_before, nav_before, drift_before, drift_before, 0)
    drift_after = book.drift()
    gas = market.gas_usd(len(trades))
    if drift_before - drift_after < gas:
        return Plan((), frozenset({*limited, LIMIT_GAS}), nav_before, nav_before, drift_before, drift_before, 0)
    return Plan(tuple(trades), frozenset(limited), nav_before, _market_value(book), drift_before, drift_after, gas)


def _market_value(book: Book) -> int:
    """The holdings at the snapshot prices, each rounded down."""
    return sum(book.value(i, h) for i, h in enumerate(book.holdings))


def limits_text(limited_by: Iterable[str], limits: Limits, settings: KeeperSettings) -> str:
    """`limited_by` in words with the figure of each bound: "limited by size (a trade is at most 5% of NAV),
    min_trade (pieces under the $100 minimum trade are left)"."""
    words = {
        LIMIT_SIZE: f"a trade is at most {limits.max_trade_bps / 100:g}% of NAV",
        LIMIT_PERIOD: f"at most {limits.period_cap_bps / 100:g}% of NAV trades per {limits.period / 3600:g} h",
        LIMIT_COOLDOWN: f"a pair trades once per {limits.cooldown} s",
        LIMIT_MIN_TRADE: f"pieces under the ${settings.min_trade_usd / WAD:,.0f} minimum trade are left",
        LIMIT_SLIPPAGE: f"the pools pay less than the oracle value less {settings.slippage_bps} bps",
        LIMIT_TOLERANCE: f"the contract's tolerance of {limits.weight_tolerance / 10**16:g}% around a target",
        LIMIT_MAX_TRADES: f"at most {settings.max_trades} trades a plan",
        LIMIT_GAS: "the drift removed does not pay the gas",
        LIMIT_IMPACT: "the execution policy holds a price impact or a gap not worth its cost to a later day",
    }
    return "limited by " + ", ".join(
        f"{name} ({words[name]})" if name in words else name for name in sorted(limited_by)
    )
