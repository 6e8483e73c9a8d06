"""A Python model of the whole index system, to the wei, for the stateful machine of
`test_system_machine.py`: the vault's share ledger and fees (`index_vault.fees.FeeModel`), its holdings,
in-kind and ERC-4626 flows, the mock oracle's prices and bands, the Rebalancer's keeper trades (judged by
`index_vault.keeper.rules.check_trade`) and Dutch auctions, and the Governor's timelock over target weights.

Every operation either returns what the contract returns and updates the model as the contract updates
its storage, or raises `Revert` with the reason the contract reverts with, in the contract's order of
checks. A caller that catches `Revert` must restore the model it had before the call (`SystemModel.copy`):
an operation may have settled the management fee before failing, as the contract does before a revert
undoes it.

The machine found `rules.check_trade` judging the weights before the fill, where the vault checks the fill
(`rebalance_swap`) before the Rebalancer judges the weights; the planner now follows the contracts (see
`test_check_trade_names_the_first_reason_the_contracts_give`).
"""

from copy import deepcopy
from dataclasses import dataclass, field
from fractions import Fraction

from index_vault.common.units import BPS, WAD
from index_vault.keeper import rules
from index_vault.keeper.rules import Limits, mul_div
from index_vault.vault.basket import ceil_div, mint_amounts
from index_vault.vault.fees import FeeModel, check_fees, mint_fee_shares

# --- revert reasons (the contracts', in their words) ------------------------------------------------

PAUSED = "pausable: contract is paused"
NOT_PAUSED = "pausable: contract is not paused"
STALE = "oracle: stale price"
MISSING_ROLE = "access_control: account is missing role"
AMOUNT_IN_ABOVE_MAX = "vault: amount in exceeds maximum"
AMOUNT_OUT_BELOW_MIN = "vault: amount out below minimum"
ZERO_FLOW = "vault: zero amount or receiver"
FLOW_CAP = "vault: flow cap reached"
BURN_EXCEEDS = "erc20: burn amount exceeds balance"
TOKEN_REFUSED = "mock: transfer refused"  # MockToken, when the sender holds too little
DEX_SHORT = "mock dex: too little received"
FEE_ABOVE_CAP = "fees: fee above cap"
KEEPERS_ACTING = "rebalancer: keepers still acting"
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


class Revert(Exception):  # noqa: N818 (it names what the contract does)
    """The contract would revert with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    ledger: FeeModel
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
        """`Rebalancer._oracle_out`."""
        s, b = self.feeds[sell], self.feeds[buy]
        return mul_div(mul_div(amount, s.price, s.unit), b.unit, b.price)

    def oracle_rate(self, sell: int, buy: int) -> int:
        """`Rebalancer._oracle_rate`: units of `buy` for 10**18 units of `sell`."""
        return self.oracle_out(sell, buy, WAD)

    def value_of(self, index: int, amount: int) -> int:
        feed = self.feeds[index]
        return mul_div(amount, feed.price, feed.unit)

    def room(self, sell: int, buy: int) -> int:
        """Roughly the most of `sell` that a fill at the oracle's price trades toward both targets within
        one trade's size cap (a guide for sizing the machine's trades, not a contract rule)."""
        values = [mul_div(h, f.price, f.unit) for h, f in zip(self.holdings, self.feeds, strict=True)]
        nav = sum(values)
        excess = values[sell] - self.targets[sell] * nav // WAD
        deficit = self.targets[buy] * nav // WAD - values[buy]
        usd = min(excess, deficit, nav * self.limits.max_trade_bps // BPS)
        return max(0, usd) * self.feeds[sell].unit // self.feeds[sell].price

    def rebalancer_state(self, now: int) -> rules.RebalancerState:
        """The planner's view of the Rebalancer (constituents named by symbol)."""
        constituents = tuple(
            rules.Constituent(sym, sym, held, feed.price, feed.decimals, target)
            for sym, held, feed, target in zip(self.symbols, self.holdings, self.feeds, self.targets, strict=True)
        )
        last = {(self.symbols[s], self.symbols[b]): t for (s, b), t in self.last_trade.items()}
        return rules.RebalancerState(constituents, self.limits, now, self.period_start, self.period_used, last)

    # --- in kind ----------------------------------------------------------------------------------

    def mint_in_kind(self, now: int, shares: int, receiver: str, max_in: list[int] | None = None) -> list[int]:
        if self.paused:
            raise Revert(PAUSED)
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

    def check_weights(self, sell: int, buy: int, amount_in: int, amount_out: int, nav: int) -> str | None:
        """`Rebalancer._check_weights`: the reason it reverts with, or None."""
        s, b = self.feeds[sell], self.feeds[buy]
        t_sell, t_buy, tol = self.targets[sell], self.targets[buy], self.limits.weight_tolerance
        sell_held, buy_held = self.holdings[sell], self.holdings[buy]
        if mul_div(sell_held, s.price, s.unit) * WAD <= (t_sell + tol) * nav:
            return rules.SELL_NOT_OVERWEIGHT
        if mul_div(buy_held, b.price, b.unit) * WAD >= t_buy * nav:
            return rules.BUY_NOT_UNDERWEIGHT
        value_in, value_out = mul_div(amount_in, s.price, s.unit), mul_div(amount_out, b.price, b.unit)
        nav_after = nav + value_out - min(nav + value_out, value_in)
        sell_after = mul_div(sell_held - min(sell_held, amount_in), s.price, s.unit)
        if sell_after * WAD < (t_sell - min(t_sell, tol)) * nav_after:
            return rules.SELL_UNDERSHOOTS
        if mul_div(buy_held + amount_out, b.price, b.unit) * WAD > (t_buy + tol) * nav_after:
            return rules.BUY_OVERSHOOTS
        return None

    def _use_size(self, now: int, value_usd: int, nav: int) -> None:
        if value_usd * BPS > nav * self.limits.max_trade_bps:
            raise Revert(ABOVE_SIZE_CAP)
        if now >= self.period_start + self.limits.period:
            self.period_start, self.period_used = now, 0
        if (self.period_used + value_usd) * BPS > nav * self.limits.period_cap_bps:
            raise Revert(PERIOD_CAP)
        self.period_used += value_usd

    def trade(
        self, now: int, sell: int, buy: int, amount_in: int, min_out: int, dex_rate: int, dex_checks: bool = True
    ) -> int:
        """`Rebalancer.trade` by a keeper through the allowlisted mock DEX paying `dex_rate` (units of `buy`
        per 10**18 `sell`); a DEX that ignores the minimum out (a malicious one) is caught by the vault. The
        trade's own checks are `rules.check_trade`'s; this adds the price, pause and token checks it
        assumes, where the contract makes them."""
        received = amount_in * dex_rate // WAD
        state = self.rebalancer_state(now)
        trade = rules.Trade(self.symbols[sell], self.symbols[buy], amount_in, min_out, received, 0)
        reason = rules.check_trade(state, trade, received)
        if reason in (rules.ZERO_AMOUNT, rules.COOLING_DOWN):
            raise Revert(reason)
        self.require_prices((sell, buy))
        self.nav()  # `_quote` values the vault: every price must be usable
        if reason in (rules.BELOW_ORACLE_BOUND, rules.ABOVE_SIZE_CAP, rules.PERIOD_CAP):
            raise Revert(reason)
        if self.paused:  # `rebalance_swap`
            raise Revert(PAUSED)
        if reason == rules.SWAP_SHORT and not dex_checks:
            raise Revert(rules.SWAP_SHORT)
        if reason is not None:
            raise Revert(_TRADE_REASONS.get(reason, reason))
        self._use_size(now, self.value_of(sell, amount_in), self.nav().mid)
        self.holdings[sell] -= amount_in
        self.holdings[buy] += received
        self.last_trade[(sell, buy)] = now
        self.last_keeper_action = now
        return received

    def _live(self, now: int, sell: int, buy: int) -> int:
        id_ = self.live_auction.get((sell, buy), 0)
        if id_ == 0 or now >= self.auctions[id_].end or self.auctions[id_].remaining == 0:
            return 0
        return id_

    def open_auction(self, now: int, sell: int, buy: int, amount: int, keeper: bool) -> int:
        if keeper:
            self.last_keeper_action = now
        elif now < self.last_keeper_action + self.limits.open_delay:
            raise Revert(KEEPERS_ACTING)
        if self.paused:
            raise Revert(VAULT_PAUSED)
        if amount == 0:
            raise Revert(ZERO_AMOUNT)
        if self._live(now, sell, buy):
            raise Revert(PAIR_IN_AUCTION)
        self.require_prices((sell, buy))
        nav = self.nav().mid
        reason = self.check_weights(sell, buy, amount, self.oracle_out(sell, buy, amount), nav)
        if reason is not None:
            raise Revert(reason)
        if self.value_of(sell, amount) * BPS > nav * self.limits.max_trade_bps:
            raise Revert(ABOVE_SIZE_CAP)
        rate, lim = self.oracle_rate(sell, buy), self.limits
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
        """`Rebalancer.fill` by a filler who holds and approved enough of every token."""
        auction = self.auctions.get(id_)
        if auction is None or now >= auction.end:
            raise Revert(AUCTION_NOT_LIVE)
        if amount == 0 or amount > auction.remaining:
            raise Revert(NOT_FOR_SALE)
        rate = auction.rate_at(now)
        buy_in = mul_div(amount, rate, WAD, True)
        if buy_in > max_buy_in:
            raise Revert(PRICE_ABOVE_MAX)
        sell, buy = auction.sell, auction.buy
        self.require_prices((sell, buy))
        nav = self.nav().mid
        if rate * BPS < self.oracle_rate(sell, buy) * (BPS - self.limits.auction_discount_bps):
            raise Revert(AUCTION_BELOW_ORACLE)
        reason = self.check_weights(sell, buy, amount, buy_in, nav)
        if reason is not None:
            raise Revert(reason)
        self._use_size(now, self.value_of(sell, amount), nav)
        auction.remaining -= amount
        if self.paused:  # `rebalance_swap`
            raise Revert(PAUSED)
        if self.holdings[sell] < amount:
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
