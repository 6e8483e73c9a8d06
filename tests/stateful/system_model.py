"""A Python model of the whole index system, to the wei, for the stateful machine of
`test_system_machine.py`: the vault's share ledger and fees (`index_vault.fees.FeeModel` with the fee
multiplier, `Ledger`), its holdings, in-kind and ERC-4626 flows, the mock oracle's prices and bands, the
Rebalancer's two-step rebalance (a start that snapshots prices and unit targets per undiluted share,
`rules.start_targets`; refreshes; keeper trades judged by `index_vault.keeper.rules.check_trade`; Dutch
auctions and their fills, modelled here against the same snapshot `rules.Book`), and the Governor's
timelock over target weights.

Every operation either returns what the contract returns and updates the model as the contract updates
its storage, or raises `Revert` with the reason the contract reverts with, in the contract's order of
checks. A caller that catches `Revert` must restore the model it had before the call (`SystemModel.copy`):
an operation may have settled the management fee before failing, as the contract does before a revert
undoes it.

The machine once found `rules.check_trade` judging the weights after the swap, where the contracts judged
them before; today the Rebalancer judges the sale before the vault swaps and only the buy's ceiling after
it, and `check_trade` follows (see `test_check_trade_names_the_first_reason_the_contracts_give`).
"""

from copy import deepcopy
from dataclasses import dataclass, field
from fractions import Fraction

from index_vault.common.units import BPS, WAD
from index_vault.keeper import rules
from index_vault.keeper.rules import Limits, mul_div
from index_vault.vault.basket import ceil_div, mint_amounts
from index_vault.vault.fees import RAY, FeeModel, check_fees, mint_fee_shares

# --- revert reasons (the contracts', in their words) ------------------------------------------------

PAUSED = "pausable: contract is paused"
NOT_PAUSED = "pausable: contract is not paused"
STALE = "oracle: stale price"
MISSING_ROLE = "access_control: account is missing role"
AMOUNT_IN_ABOVE_MAX = "vault: amount in exceeds maximum"
AMOUNT_OUT_BELOW_MIN = "vault: amount out below minimum"
ZERO_SHARES = "vault: zero shares"
ZERO_FLOW = "vault: zero amount or receiver"
FLOW_CAP = "vault: flow cap reached"
BURN_EXCEEDS = "erc20: burn amount exceeds balance"
TOKEN_REFUSED = "mock: transfer refused"  # MockToken, when the sender holds too little
DEX_SHORT = "mock dex: too little received"
FEE_ABOVE_CAP = "fees: fee above cap"
KEEPERS_ACTING = "rebalancer: keepers still acting"
TARGETS_UNCHANGED = "rebalancer: targets unchanged"
VAULT_PAUSED = "rebalancer: vault paused"
ZERO_AMOUNT = rules.ZERO_AMOUNT
PAIR_IN_AUCTION = "rebalancer: pair already in auction"
ABOVE_SIZE_CAP = rules.ABOVE_SIZE_CAP
PERIOD_CAP = rules.PERIOD_CAP
AUCTION_NOT_LIVE = "rebalancer: auction not live"
NOT_FOR_SALE = "rebalancer: amount not for sale"
PRICE_ABOVE_MAX = "rebalancer: price above maximum"
AUCTION_BELOW_ORACLE = "rebalancer: auction price below oracle bound"
NOT_PENDING = "governor: not pending"
TOO_EARLY = "governor: too early"
EXPIRED = "governor: expired"
ONE_WEIGHT_EACH = "rebalancer: one weight per constituent"
WEIGHTS_SUM = "rebalancer: weights must sum to 10**18"

# `check_trade` names the sell token's refusal generically; the mock tokens and DEX word it their own way.
_TRADE_REASONS = {rules.EXCEEDS_BALANCE: TOKEN_REFUSED, rules.SWAP_SHORT: DEX_SHORT}
# `check_trade`'s reasons the Rebalancer gives before it calls the vault (whose pause comes first of the rest).
_BEFORE_THE_VAULT = {
    rules.ZERO_AMOUNT,
    rules.COOLING_DOWN,
    rules.NO_REBALANCE,
    rules.NO_SNAPSHOT,
    rules.STALE_SNAPSHOT,
    rules.BELOW_ORACLE_BOUND,
    rules.SELL_NOT_OVERWEIGHT,
    rules.BUY_NOT_UNDERWEIGHT,
    rules.SELL_UNDERSHOOTS,
    rules.ABOVE_SIZE_CAP,
    rules.PERIOD_CAP,
}


class Revert(Exception):  # noqa: N818 (it names what the contract does)
    """The contract would revert with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Ledger(FeeModel):
    """`FeeModel` with the fee multiplier (`fees._accrual`'s upper bits): each settlement multiplies it by the
    supply before over the supply after, rounded down, so that the undiluted supply ignores the fee."""

    multiplier: int = RAY

    def accrue(self, now: int) -> int:
        supply = self.supply
        shares = super().accrue(now)
        if shares:
            self.multiplier = mul_div(self.multiplier, supply, supply + shares)
        return shares


@dataclass
class Snapshot:
    """`Rebalancer.Snapshot`: target units per 10**18 undiluted shares, price, decimals, when priced."""

    target_units: int
    price: int
    decimals: int
    updated_at: int


@dataclass
class Feed:
    """One asset's entry in the mock oracle: price and band (USD per whole token, 18 decimals)."""

    price: int
    low: int
    high: int
    decimals: int
    stale: bool = False

    @property
    def unit(self) -> int:
        return 10**self.decimals


@dataclass
class Auction:
    """`Rebalancer.Auction`, with constituents by index."""

    sell: int
    buy: int
    remaining: int
    start_rate: int
    end_rate: int
    start: int
    duration: int
    end: int

    def rate_at(self, now: int) -> int:
        """`_rate_at`: linear from the start rate to the end rate, then flat."""
        elapsed = min(now - self.start, self.duration)
        return self.start_rate - (self.start_rate - self.end_rate) * elapsed // self.duration


@dataclass
class Proposal:
    """A Governor proposal of new target weights."""

    weights: list[int]
    eta: int
    expires: int
    state: str = "pending"  # "executed", "cancelled"


@dataclass
class Nav:
    """The mock oracle's valuation of the holdings: mid, low and high (USD, 18 decimals)."""

    mid: int
    low: int
    high: int


@dataclass
class SystemModel:
    """The whole system's state as the contracts hold it. Constituents are named by basket index."""

    symbols: list[str]
    ledger: Ledger
    holdings: list[int]
    feeds: list[Feed]
    targets: list[int]
    limits: Limits
    last_keeper_action: int
    governor_delay: int
    base: int = 0
    entry_fee_bps: int = 0
    exit_fee_bps: int = 0
    paused: bool = False
    flow_cap_bps: int = 1_000
    flow_period: int = 86400
    entry_start: int = 0
    entry_used: int = 0
    exit_start: int = 0
    exit_used: int = 0
    period_start: int = 0
    period_used: int = 0
    last_trade: dict[tuple[int, int], int] = field(default_factory=dict)
    auctions: dict[int, Auction] = field(default_factory=dict)
    live_auction: dict[tuple[int, int], int] = field(default_factory=dict)
    auction_count: int = 0
    proposals: dict[int, Proposal] = field(default_factory=dict)
    grace_period: int = 14 * 86400
    targets_changed_at: int = 0
    targets_pending: bool = True  # weights set since the last start (those set before any start count)
    started_at: int = 0
    nav_per_share: int = 0
    snapshots: dict[int, Snapshot] = field(default_factory=dict)

    def copy(self) -> "SystemModel":
        return deepcopy(self)

    # --- views ------------------------------------------------------------------------------------

    @property
    def n(self) -> int:
        return len(self.holdings)

    def balance(self, who: str) -> int:
        return self.ledger.balances.get(who, 0)

    def supply_now(self, now: int) -> int:
        """`fees._supply_after_accrual`: what previews price against."""
        return self.ledger.supply_after_accrual(now)

    def require_prices(self, indexes) -> None:
        for i in indexes:
            if self.feeds[i].stale:
                raise Revert(STALE)

    def nav(self) -> Nav:
        """`MockOracleRouter._valuation` of the holdings (reverts while any price is stale)."""
        self.require_prices(range(self.n))
        mid = low = high = 0
        for held, feed in zip(self.holdings, self.feeds, strict=True):
            mid += held * feed.price // feed.unit
            low += held * feed.low // feed.unit
            high += ceil_div(held * feed.high, feed.unit)
        return Nav(mid, low, high)

    def exact_value(self, holdings: list[int] | None = None) -> Fraction:
        """The holdings' value at the feeds' mid prices, without rounding (for the invariants)."""
        holdings = self.holdings if holdings is None else holdings
        return sum(
            (Fraction(h * f.price, f.unit) for h, f in zip(holdings, self.feeds, strict=True)), start=Fraction(0)
        )

    def claim(self, who: str, now: int) -> list[int]:
        """`preview_redeem_in_kind(balanceOf(who))`."""
        shares, supply = self.balance(who), self.supply_now(now)
        net = shares - ceil_div(shares * self.ledger.redeem_fee_bps, BPS)
        return [net * h // supply for h in self.holdings]

    def oracle_out(self, sell: int, buy: int, amount: int) -> int:
        """The oracle's value of `amount` of `sell` in units of `buy` now (the market: the Rebalancer's own
        `_oracle_out` reads the snapshot, `rules.Book.oracle_out`)."""
        s, b = self.feeds[sell], self.feeds[buy]
        return mul_div(mul_div(amount, s.price, s.unit), b.unit, b.price)

    def oracle_rate(self, sell: int, buy: int) -> int:
        """`oracle_out` of 10**18 units of `sell`."""
        return self.oracle_out(sell, buy, WAD)

    def value_of(self, index: int, amount: int) -> int:
        feed = self.feeds[index]
        return mul_div(amount, feed.price, feed.unit)

    # --- in kind ----------------------------------------------------------------------------------

    def mint_in_kind(self, now: int, shares: int, receiver: str, max_in: list[int] | None = None) -> list[int]:
        if self.paused:
            raise Revert(PAUSED)
        if shares == 0:
            raise Revert(ZERO_SHARES)
        self.ledger.accrue(now)
        fee = mint_fee_shares(shares, self.ledger.mint_fee_bps)
        amounts = mint_amounts(shares + fee, self.ledger.supply, self.holdings, [])
        if max_in is not None and any(a > m for a, m in zip(amounts, max_in, strict=True)):
            raise Revert(AMOUNT_IN_ABOVE_MAX)
        self.ledger.mint(now, shares, receiver)
        self.holdings = [h + a for h, a in zip(self.holdings, amounts, strict=True)]
        return amounts

    def redeem_in_kind(
        self, now: int, shares: int, owner: str, skipped: frozenset[int] = frozenset(), min_out: list[int] | None = None
    ) -> list[int]:
        if shares > self.balance(owner):
            raise ValueError("the machine redeems only what a holder holds")
        if shares == 0:
            raise Revert(ZERO_SHARES)
        net, _fee, supply = self.ledger.redeem(now, shares, owner)
        amounts = [0 if i in skipped else net * h // supply for i, h in enumerate(self.holdings)]
        if min_out is not None and any(a < m for a, m in zip(amounts, min_out, strict=True)):
            raise Revert(AMOUNT_OUT_BELOW_MIN)
        self.holdings = [h - a for h, a in zip(self.holdings, amounts, strict=True)]
        return amounts

    def transfer(self, sender: str, receiver: str, shares: int) -> None:
        self.ledger.transfer(sender, receiver, shares)

    def donate(self, index: int, amount: int) -> None:
        self.holdings[index] += amount

    # --- ERC-4626 at NAV --------------------------------------------------------------------------

    def _quote(self, now: int) -> tuple[int, Nav, Feed]:
        """Settles the fee (as `deposit` and friends do first) and reads `nav._quote`."""
        self.ledger.accrue(now)
        nav = self.nav()
        return self.ledger.supply, nav, self.feeds[self.base]

    def _remaining(self, now: int, entry: bool, nav_mid: int) -> int:
        start, used = (self.entry_start, self.entry_used) if entry else (self.exit_start, self.exit_used)
        if now >= start + self.flow_period:
            used = 0
        cap = nav_mid * self.flow_cap_bps // BPS
        return cap - min(cap, used)

    def _use_flow(self, now: int, entry: bool, amount_usd: int, nav_mid: int) -> None:
        if amount_usd > self._remaining(now, entry, nav_mid):
            raise Revert(FLOW_CAP)
        if entry:
            if now >= self.entry_start + self.flow_period:
                self.entry_start, self.entry_used = now, 0
            self.entry_used += amount_usd
        else:
            if now >= self.exit_start + self.flow_period:
                self.exit_start, self.exit_used = now, 0
            self.exit_used += amount_usd

    def _enter(self, now: int, assets: int, shares: int, receiver: str, nav: Nav, base: Feed) -> None:
        if self.paused:
            raise Revert(PAUSED)
        if assets == 0 or shares == 0:
            raise Revert(ZERO_FLOW)
        self._use_flow(now, True, mul_div(assets, base.low, base.unit), nav.mid)
        self.ledger._credit(receiver, shares)
        self.ledger.supply += shares
        self.holdings[self.base] += assets

    def _exit(self, now: int, assets: int, shares: int, owner: str, nav: Nav, base: Feed) -> None:
        if self.paused:
            raise Revert(PAUSED)
        if assets == 0 or shares == 0:
            raise Revert(ZERO_FLOW)
        self._use_flow(now, False, mul_div(assets, base.high, base.unit, True), nav.mid)
        if self.balance(owner) < shares:
            raise Revert(BURN_EXCEEDS)
        if self.holdings[self.base] < assets:
            raise Revert(TOKEN_REFUSED)
        self.ledger._debit(owner, shares)
        self.ledger.supply -= shares
        self.holdings[self.base] -= assets

    def deposit_shares(self, assets: int, supply: int, nav: Nav, base: Feed) -> int:
        value = mul_div(assets, base.low, base.unit)
        return mul_div(mul_div(value, BPS - self.entry_fee_bps, BPS), supply, nav.high)

    def deposit(self, now: int, assets: int, receiver: str) -> int:
        supply, nav, base = self._quote(now)
        shares = self.deposit_shares(assets, supply, nav, base)
        self._enter(now, assets, shares, receiver, nav, base)
        return shares

    def mint(self, now: int, shares: int, receiver: str) -> int:
        supply, nav, base = self._quote(now)
        net = mul_div(shares, nav.high, supply, True)
        assets = mul_div(mul_div(net, BPS, BPS - self.entry_fee_bps, True), base.unit, base.low, True)
        self._enter(now, assets, shares, receiver, nav, base)
        return assets

    def withdraw(self, now: int, assets: int, owner: str) -> int:
        supply, nav, base = self._quote(now)
        value = mul_div(assets, base.high, base.unit, True)
        shares = mul_div(mul_div(value, BPS, BPS - self.exit_fee_bps, True), supply, nav.low, True)
        self._exit(now, assets, shares, owner, nav, base)
        return shares

    def redeem_assets(self, shares: int, supply: int, nav: Nav, base: Feed) -> int:
        gross = mul_div(shares, nav.low, supply)
        return mul_div(mul_div(gross, BPS - self.exit_fee_bps, BPS), base.unit, base.high)

    def redeem(self, now: int, shares: int, owner: str) -> int:
        supply, nav, base = self._quote(now)
        assets = self.redeem_assets(shares, supply, nav, base)
        self._exit(now, assets, shares, owner, nav, base)
        return assets

    def max_deposit(self, now: int) -> int:
        """`maxDeposit`: the rest of the period's entry cap in base units; 0 while paused or halted."""
        if self.paused or any(f.stale for f in self.feeds):
            return 0
        base = self.feeds[self.base]
        return mul_div(self._remaining(now, True, self.nav().mid), base.unit, base.low)

    # --- fees -------------------------------------------------------------------------------------

    def set_fees(self, now: int, rate: int, mint_bps: int, redeem_bps: int, entry_bps: int, exit_bps: int) -> int:
        """`set_fees`; returns the management fee shares it settled."""
        try:
            check_fees(rate, mint_bps, redeem_bps, entry_bps, exit_bps)
        except ValueError as exc:
            raise Revert(FEE_ABOVE_CAP) from exc
        due = self.ledger.pending(now) if self.ledger.rate else 0
        self.ledger.set_fees(now, rate, mint_bps, redeem_bps)
        self.entry_fee_bps, self.exit_fee_bps = entry_bps, exit_bps
        return due

    # --- pause and prices -------------------------------------------------------------------------

    def pause(self) -> None:
        if self.paused:
            raise Revert(PAUSED)
        self.paused = True

    def unpause(self) -> None:
        if not self.paused:
            raise Revert(NOT_PAUSED)
        self.paused = False

    def set_price(self, index: int, price: int, low: int, high: int) -> None:
        """`MockOracleRouter.set_price`: also clears the status."""
        self.feeds[index] = Feed(price, low, high, self.feeds[index].decimals)

    # --- the Rebalancer ---------------------------------------------------------------------------

    def undiluted_supply(self) -> int:
        """`undiluted_supply()`: the settled supply scaled back by the fee multiplier (unsettled fee shares
        are in neither factor)."""
        return mul_div(self.ledger.supply, self.ledger.multiplier, RAY)

    def snapshot(self, index: int) -> Snapshot | None:
        """`Rebalancer.snapshot`: the constituent's snapshot if it is current (taken or refreshed since the
        rebalance's start), else None."""
        snap = self.snapshots.get(index)
        if snap is None or self.started_at == 0 or snap.updated_at < self.started_at:
            return None
        return snap

    def rebalancer_state(self, now: int) -> rules.RebalancerState:
        """The planner's view of the Rebalancer (constituents named by symbol): each constituent at its
        current snapshot (or, without one, at the oracle's price and no snapshot)."""
        parts = []
        for i, (sym, held, feed, target) in enumerate(
            zip(self.symbols, self.holdings, self.feeds, self.targets, strict=True)
        ):
            snap = self.snapshot(i)
            if snap is None:
                parts.append(rules.Constituent(sym, sym, held, feed.price, feed.decimals, target))
            else:
                parts.append(
                    rules.Constituent(
                        sym, sym, held, snap.price, snap.decimals, target, snap.target_units, snap.updated_at
                    )
                )
        last = {(self.symbols[s], self.symbols[b]): t for (s, b), t in self.last_trade.items()}
        return rules.RebalancerState(
            tuple(parts),
            self.limits,
            now,
            self.period_start,
            self.period_used,
            last,
            supply=self.undiluted_supply(),
            nav_per_share=self.nav_per_share,
            started_at=self.started_at,
        )

    def book(self, now: int) -> rules.Book:
        """`rules.Book` of `rebalancer_state`: the targets and bands in units, the snapshot prices."""
        return rules.Book(self.rebalancer_state(now))

    def room(self, now: int, sell: int, buy: int) -> int:
        """Roughly the most of `sell` a fill at the snapshot price trades toward both unit targets within one
        trade's size cap (a guide for sizing the machine's trades, not a contract rule); 0 without a
        rebalance."""
        if self.started_at == 0:
            return 0
        book = self.book(now)
        excess = book.value(sell, book.holdings[sell] - book.targets[sell])
        deficit = book.value(buy, book.targets[buy] - book.holdings[buy])
        usd = min(excess, deficit, book.nav * self.limits.max_trade_bps // BPS)
        return max(0, usd) * book.units[sell] // book.prices[sell]

    def start_rebalance(self, now: int, keeper: bool) -> tuple[int, list[int]]:
        """`Rebalancer.start_rebalance`; returns the NAV per share and the target units (`rules.start_targets`
        at the oracle's prices)."""
        if keeper:
            self.last_keeper_action = now
        else:
            if not self.targets_pending:
                raise Revert(TARGETS_UNCHANGED)
            if now < self.last_keeper_action + self.limits.open_delay:
                raise Revert(KEEPERS_ACTING)
        if self.paused:
            raise Revert(VAULT_PAUSED)
        self.require_prices(range(self.n))
        constituents = [
            rules.Constituent(sym, sym, held, feed.price, feed.decimals, target)
            for sym, held, feed, target in zip(self.symbols, self.holdings, self.feeds, self.targets, strict=True)
        ]
        nav_per_share, units = rules.start_targets(constituents, self.undiluted_supply())
        pairs = enumerate(zip(units, self.feeds, strict=True))
        self.snapshots = {i: Snapshot(u, feed.price, feed.decimals, now) for i, (u, feed) in pairs}
        self.started_at, self.nav_per_share, self.targets_pending = now, nav_per_share, False
        return nav_per_share, units

    def refresh(self, now: int, index: int) -> None:
        """`Rebalancer.refresh(asset)`: re-prices one constituent, keeping its target units."""
        if self.started_at == 0:
            raise Revert(rules.NO_REBALANCE)
        self.require_prices((index,))
        snap = self.snapshot(index)
        feed = self.feeds[index]
        self.snapshots[index] = Snapshot(snap.target_units if snap else 0, feed.price, feed.decimals, now)

    def _book_size(self, now: int, value_usd: int, keeper: bool) -> None:
        """`_book_trade` once its caps passed: the period book and a keeper's action."""
        if now >= self.period_start + self.limits.period:
            self.period_start, self.period_used = now, 0
        self.period_used += value_usd
        if keeper:
            self.last_keeper_action = now

    def trade(
        self, now: int, sell: int, buy: int, amount_in: int, min_out: int, dex_rate: int, dex_checks: bool = True
    ) -> int:
        """`Rebalancer.trade` by a keeper through the allowlisted mock DEX paying `dex_rate` (units of `buy`
        per 10**18 `sell`); a DEX that ignores the minimum out (a malicious one) is caught by the vault. The
        trade's own checks are `rules.check_trade`'s; this adds the pause it assumes, where the vault checks
        it, and the mock token's and DEX's wording."""
        received = amount_in * dex_rate // WAD
        state = self.rebalancer_state(now)
        trade = rules.Trade(self.symbols[sell], self.symbols[buy], amount_in, min_out, received, 0)
        reason = rules.check_trade(state, trade, received)
        if reason in _BEFORE_THE_VAULT:
            raise Revert(reason)
        if self.paused:  # `rebalance_swap`
            raise Revert(PAUSED)
        if reason == rules.SWAP_SHORT and not dex_checks:
            raise Revert(rules.SWAP_SHORT)
        if reason is not None:
            raise Revert(_TRADE_REASONS.get(reason, reason))
        book = rules.Book(state)
        self._book_size(now, book.value(sell, amount_in), True)
        self.holdings[sell] -= amount_in
        self.holdings[buy] += received
        self.last_trade[(sell, buy)] = now
        return received

    def _legs(self, now: int, sell: int, buy: int) -> rules.Book:
        """`Rebalancer._legs`: a rebalance started, each side's snapshot current and no older than
        `max_age` (the side sold first); the state both sides are judged by."""
        if self.started_at == 0:
            raise Revert(rules.NO_REBALANCE)
        for i in (sell, buy):
            snap = self.snapshot(i)
            if snap is None:
                raise Revert(rules.NO_SNAPSHOT)
            if now > snap.updated_at + self.limits.max_age:
                raise Revert(rules.STALE_SNAPSHOT)
        return self.book(now)

    @staticmethod
    def _check_sale(book: rules.Book, s: int, b: int, amount: int) -> None:
        """`Rebalancer._check_sale` in units."""
        held, target, band = book.holdings[s], book.targets[s], book.bands[s]
        if held <= target + band:
            raise Revert(rules.SELL_NOT_OVERWEIGHT)
        if book.holdings[b] >= book.targets[b]:
            raise Revert(rules.BUY_NOT_UNDERWEIGHT)
        if held - min(held, amount) < target - min(target, band):
            raise Revert(rules.SELL_UNDERSHOOTS)

    def _live(self, now: int, sell: int, buy: int) -> int:
        id_ = self.live_auction.get((sell, buy), 0)
        if id_ == 0 or now >= self.auctions[id_].end or self.auctions[id_].remaining == 0:
            return 0
        return id_

    def open_auction(self, now: int, sell: int, buy: int, amount: int, keeper: bool) -> int:
        lim = self.limits
        if keeper:
            self.last_keeper_action = now
        elif now < self.last_keeper_action + lim.open_delay:
            raise Revert(KEEPERS_ACTING)
        if self.paused:
            raise Revert(VAULT_PAUSED)
        if amount == 0:
            raise Revert(ZERO_AMOUNT)
        live = self._live(now, sell, buy)
        if live and amount < 2 * self.auctions[live].remaining:  # twice what is left replaces the live one
            raise Revert(PAIR_IN_AUCTION)
        book = self._legs(now, sell, buy)
        self._check_sale(book, sell, buy, amount)
        if book.holdings[buy] + book.oracle_out(sell, buy, amount) > book.targets[buy] + book.bands[buy]:
            raise Revert(rules.BUY_OVERSHOOTS)
        if book.value(sell, amount) * BPS > book.nav * lim.max_trade_bps:
            raise Revert(ABOVE_SIZE_CAP)
        if live:
            self.auctions[live].end = now
        rate = book.oracle_out(sell, buy, WAD)
        self.auction_count += 1
        self.auctions[self.auction_count] = Auction(
            sell=sell,
            buy=buy,
            remaining=amount,
            start_rate=mul_div(rate, BPS + lim.auction_premium_bps, BPS, True),
            end_rate=mul_div(rate, BPS - lim.auction_discount_bps, BPS, True),
            start=now,
            duration=lim.auction_duration,
            end=now + lim.auction_duration,
        )
        self.live_auction[(sell, buy)] = self.auction_count
        return self.auction_count

    def fill(self, now: int, id_: int, amount: int, max_buy_in: int) -> int:
        """`Rebalancer.fill` by a filler who holds and approved (to the rebalancer) enough of every token."""
        auction = self.auctions.get(id_)
        if auction is None or now >= auction.end:
            raise Revert(AUCTION_NOT_LIVE)
        if amount == 0 or amount > auction.remaining:
            raise Revert(NOT_FOR_SALE)
        rate = auction.rate_at(now)
        buy_in = mul_div(amount, rate, WAD, True)
        if buy_in > max_buy_in:
            raise Revert(PRICE_ABOVE_MAX)
        sell, buy, lim = auction.sell, auction.buy, self.limits
        book = self._legs(now, sell, buy)
        if rate * BPS < book.oracle_out(sell, buy, WAD) * (BPS - lim.auction_discount_bps):
            raise Revert(AUCTION_BELOW_ORACLE)
        self._check_sale(book, sell, buy, amount)
        if book.holdings[buy] + buy_in > book.targets[buy] + book.bands[buy]:
            raise Revert(rules.BUY_OVERSHOOTS)
        value_in = book.value(sell, amount)
        if value_in * BPS > book.nav * lim.max_trade_bps:
            raise Revert(ABOVE_SIZE_CAP)
        used = (0 if now >= self.period_start + lim.period else self.period_used) + value_in
        if used * BPS > book.nav * lim.period_cap_bps:
            raise Revert(PERIOD_CAP)
        self._book_size(now, value_in, False)
        auction.remaining -= amount
        if self.paused:  # `rebalance_swap`
            raise Revert(PAUSED)
        if self.holdings[sell] < amount:  # the filler pays first, then the vault pays the filler
            raise Revert(TOKEN_REFUSED)
        self.holdings[sell] -= amount
        self.holdings[buy] += buy_in
        return buy_in

    def close_auction(self, now: int, id_: int) -> None:
        auction = self.auctions.get(id_)
        if auction is None or now >= auction.end:
            raise Revert(AUCTION_NOT_LIVE)
        auction.end = now

    # --- the Governor over the target weights -----------------------------------------------------

    def propose(self, now: int, weights: list[int]) -> int:
        id_ = len(self.proposals) + 1
        eta = now + self.governor_delay
        self.proposals[id_] = Proposal(list(weights), eta, eta + self.grace_period)
        return id_

    def execute(self, now: int, id_: int) -> None:
        proposal = self.proposals.get(id_)
        if proposal is None or proposal.state != "pending":
            raise Revert(NOT_PENDING)
        if now < proposal.eta:
            raise Revert(TOO_EARLY)
        if now >= proposal.expires:
            raise Revert(EXPIRED)
        if len(proposal.weights) != self.n:
            raise Revert(ONE_WEIGHT_EACH)
        if sum(proposal.weights) != WAD:
            raise Revert(WEIGHTS_SUM)
        proposal.state = "executed"
        self.targets = list(proposal.weights)
        self.targets_changed_at, self.targets_pending = now, True

    def cancel(self, id_: int, allowed: bool) -> None:
        proposal = self.proposals.get(id_)
        if proposal is None or proposal.state != "pending":
            raise Revert(NOT_PENDING)
        if not allowed:
            raise Revert(MISSING_ROLE)
        proposal.state = "cancelled"

    def pending_proposals(self, now: int) -> set[int]:
        """`Governor.pending()`'s ids."""
        return {i for i, p in self.proposals.items() if p.state == "pending" and now < p.expires}
