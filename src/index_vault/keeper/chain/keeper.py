"""The keeper on a chain: read the Rebalancer and its vault, plan (`index_vault.keeper.planner`), simulate,
send, re-read. `Keeper` plays the rounds over its parts: `SnapshotReader` (`snapshot`), `Venues` (`venues`),
`TxSender` (`index_vault.chain.tx`) and `AuctionFiller` (`auctions`).

A round:
1. If the keeper's account has transactions in flight (`eth_getTransactionCount` "pending" above "latest"),
   wait for them: a keeper killed between send and receipt and restarted never sends a second trade while
   its first may still land.
2. Read a snapshot pinned to the head block (`read_snapshot`). A paused vault, an unusable price, missing
   targets, a missing role or adapter make the keeper wait and say why.
3. Fill auctions (filler mode), then decide (`index_vault.keeper.rebalance.decide`): start a rebalance,
   reuse the snapshot (refreshing the stale prices of the legs it trades) or stay idle.
4. Send a start if decided (simulated first), read the chain again, then plan and send the plan's first
   trade only: refresh each of its legs whose snapshot price is, or is about to be, older than `max_age`
   (once per asset a round; then read and plan again), simulate the trade with a plain `eth_call`
   (skipped, with the reason, when it would revert), estimate its gas, refuse to send above the gas price
   cap, sign, broadcast, wait for the receipt; then read the chain again and plan again from what actually
   happened. The chain (snapshot, rebalance, limits, book, holdings, supply, prices) is read afresh for
   every decision: a restarted keeper re-plans from the chain. Only gas estimates are remembered: the
   last start's and refresh's receipts (`snapshot_gas`).

Every transaction sent is counted by kind (`Metrics.gas_by_kind`, `RoundResult.gas`): starts, refreshes,
trades, and a filler's fills, approvals and resales.

Length: 600 lines, kept whole: the round, its decision, the snapshot transactions and the trades share the
sender, reader and metrics (apart they would pass all three around); the DEX side is in `venues`.
"""

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from ape import project
from ape.api import AccountAPI
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from index_vault.chain.contracts import web3_contract
from index_vault.chain.tx import Reverted, SignerError, TxSender, Wait, hex_str, short_error
from index_vault.common.units import BPS, format_units
from index_vault.keeper.chain.auctions import AuctionFiller
from index_vault.keeper.chain.config import (
    DAY,
    GAS_PER_TRADE,
    POOL_FEE_BPS,
    KeeperConfig,
    KeeperError,
    RoundResult,
    TradeOutcome,
    TxOutcome,
)
from index_vault.keeper.chain.history import TradeRecord, trade_history
from index_vault.keeper.chain.market_state import depths_usd, tracking_variances
from index_vault.keeper.chain.snapshot import Snapshot, SnapshotReader
from index_vault.keeper.chain.venues import Venue, Venues
from index_vault.keeper.execution import keeper_settings
from index_vault.keeper.planner import KeeperSettings, Market, Plan, inside_bands, limits_text, plan
from index_vault.keeper.policy import EventLog, Metrics
from index_vault.keeper.rebalance import IDLE, START, Decision, SnapshotGas, decide, narrowed, stale, with_prices
from index_vault.keeper.rules import RebalancerState, Trade


class Keeper:
    """Rounds of read, plan, simulate, send, read again for one Rebalancer, from one account.

    `rebalancer`, `adapter` (an allowlisted `UniswapV3Adapter`), `v2_adapter` (an allowlisted
    `UniswapV2Adapter`, optional), `split_adapter` (an allowlisted `SplitAdapter` over those two, optional),
    `quoter` (a Uniswap V3 QuoterV2; without one the expected out is the oracle's less the route's fees and
    `QUOTE_MARGIN_BPS`) and `swap_router` (a V3 SwapRouter: a filler resells its lots through it) are addresses.
    With both adapters each trade goes to the venue that quotes more for it (`Venues`), at planning and again at
    sending; with the split adapter too, a trade is sent to both venues at once when that pays more than its extra
    gas (`Venues.split_worth`). `hubs` are extra tokens
    two-hop routes may go through. `sleep` and `clock` are injectable for tests.
    """

    def __init__(
        self,
        rebalancer: str,
        account: AccountAPI,
        *,
        adapter: str,
        v2_adapter: str | None = None,
        split_adapter: str | None = None,
        quoter: str | None = None,
        swap_router: str | None = None,
        hubs: Sequence[str] = (),
        config: KeeperConfig | None = None,
        log: EventLog | None = None,
        metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        web3=None,
    ):
        self._config = config or KeeperConfig()
        self.account = account
        self.log = log or EventLog()
        self.metrics = metrics or Metrics()
        self.tx = TxSender(
            account,
            web3=web3,
            gas=self.config.gas_policy(),
            retry=self.config.retry,
            log=self.log,
            on_retry=self._count_retry,
            on_sent=self._count_sent,
            on_receipt=self._count_receipt,
            sleep=sleep,
            clock=clock,
        )
        self.address, self.w3, self.clock = self.tx.address, self.tx.w3, clock
        self.rebalancer = web3_contract(self.w3, rebalancer, project.Rebalancer.contract_type)
        vault = self.tx.read(self.rebalancer.functions.vault().call)
        self.vault = web3_contract(self.w3, vault, project.IndexVault.contract_type)
        self.reader = SnapshotReader(self.tx, self.rebalancer, self.vault, to_checksum_address(adapter))
        self.venues = Venues(
            self.tx,
            self.reader.token,
            adapter=adapter,
            v2_adapter=v2_adapter,
            split_adapter=split_adapter,
            quoter=quoter,
            swap_router=swap_router,
            hubs=hubs,
        )
        self.adapter, self.v2_adapter, self.quoter = self.venues.adapter, self.venues.v2_adapter, self.venues.quoter
        self.filler = AuctionFiller(
            self.tx, self.venues, self.rebalancer, self.config, self.log, self.metrics, self.refresh
        )
        self._busy = threading.Lock()
        self._sending = "other"
        self._measured: dict[str, tuple[int, int]] = {}  # "start"/"refresh" -> (gas used, basket size)
        self._variances: tuple[int, dict[str, float]] | None = None  # (day, tracking variances read that day)

    @property
    def config(self) -> KeeperConfig:
        """The keeper's settings; a new value reaches its sender (gas, receipt wait, retries) and its filler."""
        return self._config

    @config.setter
    def config(self, config: KeeperConfig) -> None:
        self._config = config
        self.tx.gas, self.tx.retry = config.gas_policy(), config.retry
        self.filler.config = config

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.tx.sleep

    @sleep.setter
    def sleep(self, sleep: Callable[[float], None]) -> None:
        self.tx.sleep = sleep

    def _count_retry(self) -> None:
        self.metrics.retries += 1

    def _count_sent(self, what: str) -> None:
        self._sending = what
        if what == "trade":
            self.metrics.trades_sent += 1

    def _count_receipt(self, gas_used: int, gas_price: int) -> None:
        self.metrics.add_receipt(gas_used, gas_price, self._sending)

    def read_snapshot(self) -> Snapshot:
        """Everything a trade is judged by, read at the head block (`SnapshotReader`)."""
        return self.reader.read_snapshot()

    def simulate(self, tx: dict) -> bytes:
        """A plain eth_call of `tx` at the latest block; raises `Reverted` with the reason."""
        return self.tx.simulate(tx)

    # --- planning -------------------------------------------------------------------------------------------

    def priority_fee(self) -> int:
        return self.tx.priority_fee()

    def _best_venue(self, snap: Snapshot, trade: Trade) -> tuple[Venue, int] | None:
        """Where `trade` goes now: the venue quoting the most, or both at once when that pays its extra gas."""
        worth = None
        if self.venues.split_adapter:
            worth = self.venues.split_worth(snap, trade.buy, snap.base_fee + self.priority_fee())
        return self.venues.venue(snap, trade.sell, trade.buy, trade.amount_in, "latest", split_worth=worth)

    def settings(self, snap: Snapshot) -> KeeperSettings:
        cap = snap.limits.max_slippage_bps
        slippage = cap if self.config.slippage_bps is None else min(self.config.slippage_bps, cap)
        return KeeperSettings(
            band=self.config.band,
            min_trade_usd=self.config.min_trade_usd,
            slippage_bps=slippage,
            max_trades=self.config.max_trades_per_round,
        )

    def market(self, snap: Snapshot) -> Market:
        cache: dict = {}
        return Market(
            quote=lambda sell, buy, amount: self.venues.expected_out(snap, sell, buy, amount, cache),
            gas_price=snap.base_fee + self.priority_fee(),
            gas_per_trade=self.config.gas_per_trade or GAS_PER_TRADE,
            eth_price=self.venues.eth_price(snap),
        )

    def snapshot_gas(self, snap: Snapshot) -> SnapshotGas:
        """Gas of a start and of a refresh: the configuration's, else the last receipt's (a start's only for
        the same basket size), else `SnapshotGas.default`."""
        n = len(snap.assets)
        default = SnapshotGas.default(n)
        start = self._measured.get("start")
        refresh = self._measured.get("refresh")
        return SnapshotGas(
            start=self.config.gas_per_start or (start[0] if start and start[1] == n else default.start),
            refresh=self.config.gas_per_refresh or (refresh[0] if refresh else default.refresh),
        )

    def decide(self, snap: Snapshot) -> Decision:
        """Start, reuse the snapshot (refreshing stale legs) or stay idle (`index_vault.keeper.rebalance`)."""
        self.metrics.plans += 1
        return decide(
            snap.state(),
            snap.prices,
            self.settings(snap),
            self.market(snap),
            self.snapshot_gas(snap),
            margin=self.config.snapshot_margin,
            trade_band=self.config.trade_band,
        )

    def trading_state(self, snap: Snapshot) -> RebalancerState:
        """The chain's state with every price that a trade landing now would find stale replaced by the
        oracle's, as the refresh the keeper sends first leaves it."""
        state = snap.state()
        return with_prices(state, snap.prices, stale(state, self.config.snapshot_margin))

    def plan(self, snap: Snapshot, excluded: Iterable[tuple[str, str]] = (), traded: Iterable[str] = ()) -> Plan:
        """The planner's trades on the snapshot (`trading_state`), to the trade band; `excluded` pairs are
        treated as cooling down (this round only); `traded` assets already traded a slice this round."""
        state = self.trading_state(snap)
        excluded = list(excluded)
        if excluded:
            last = {**state.last_trade, **{pair: state.now for pair in excluded}}
            limits = replace(state.limits, cooldown=max(state.limits.cooldown, 1))
            state = replace(state, last_trade=last, limits=limits)
        self.metrics.plans += 1
        settings, market = narrowed(state, self.settings(snap), self.config.trade_band), self.market(snap)
        return plan(state, self.execution_settings(snap, state, settings, market, set(traded)), market)

    def execution_settings(
        self,
        snap: Snapshot,
        state: RebalancerState,
        settings: KeeperSettings,
        market: Market,
        traded: set[str] = frozenset(),
    ) -> KeeperSettings:
        """`settings` with the execution policy's caps (`index_vault.keeper.execution.keeper_settings`): the pools'
        depths at this block, the tracking variances of the day (read once a day), the gas of one trade, and
        whether today is the last day of the rebalance's window (counted from its start on the chain). A slice is
        one trade a round: an asset sliced and already traded this round (`traded`) waits for the next round,
        when arbitrage has refilled its pools."""
        policy = self.config.execution
        if policy.naive or not snap.started_at:
            return settings
        day = snap.timestamp // DAY
        if self._variances is None or self._variances[0] != day:
            weights = [w / 1e18 for w in snap.targets]
            self._variances = (day, tracking_variances(self.venues, snap, weights, self.config.variance_days))
        variances = {a: v * self.config.horizon_days for a, v in self._variances[1].items()}
        last_day = snap.timestamp >= snap.started_at + (policy.window_days - 1) * DAY
        fixed = market.gas_usd(1) / 1e18
        depths = depths_usd(self.venues, snap)
        capped, decisions = keeper_settings(
            policy, state, settings, depths, variances, fixed, POOL_FEE_BPS, last_day, sliced=traded
        )
        if not traded:  # the round's first plan
            self.log(
                "execution",
                policy=policy.name,
                last_day=last_day,
                decisions={snap.symbols[snap.index(a)]: d.reason for a, d in decisions.items()},
            )
        return capped

    # --- snapshot transactions ------------------------------------------------------------------------------

    def _snapshot_tx(self, kind: str, fn: str, args: list, **fields) -> TxOutcome:
        """Simulates and sends `start_rebalance` or `refresh`; raises `Reverted` when the simulation fails."""
        tx = self.tx.tx(self.rebalancer, fn, args)
        self.tx.simulate(tx)
        receipt = self.tx.send(tx, kind, **fields)
        tx_hash, gas = hex_str(receipt["transactionHash"]), receipt["gasUsed"]
        if receipt["status"] != 1:
            self.log("reverted", what=kind, tx=tx_hash, gas_used=gas, **fields)
            return TxOutcome(kind, tx_hash, "reverted", gas, fields.get("asset", ""))
        self.log(kind, tx=tx_hash, block=receipt["blockNumber"], gas_used=gas, **fields)
        return TxOutcome(kind, tx_hash, "mined", gas, fields.get("asset", ""))

    def start(self, snap: Snapshot, reason: str = "") -> TxOutcome:
        """Sends `start_rebalance` (simulated first) and records its gas for `snapshot_gas`."""
        outcome = self._snapshot_tx("start", "start_rebalance", [], reason=reason)
        if outcome.status == "mined":
            self.metrics.starts += 1
            self._measured["start"] = (outcome.gas_used, len(snap.assets))
        return outcome

    def refresh(self, snap: Snapshot, asset: str) -> TxOutcome:
        """Sends `refresh(asset)` (simulated first) and records its gas for `snapshot_gas`."""
        outcome = self._snapshot_tx("refresh", "refresh", [asset], asset=snap.symbol(asset))
        if outcome.status == "mined":
            self.metrics.refreshes += 1
            self._measured["refresh"] = (outcome.gas_used, len(snap.assets))
        return outcome

    # --- trades -------------------------------------------------------------------------------------------

    def _trade_args(self, snap: Snapshot, trade: Trade, venue: Venue | None = None) -> tuple | None:
        """`Rebalancer.trade`'s arguments through `venue` (default: the best venue now); None without a route."""
        if venue is None:
            best = self._best_venue(snap, trade)
            if best is None:
                return None
            venue = best[0]
        return (trade.sell, trade.buy, trade.amount_in, trade.min_out, venue.adapter, venue.route)

    def _trade_fields(self, snap: Snapshot, trade: Trade, venue: Venue | None = None) -> dict:
        s, b = snap.index(trade.sell), snap.index(trade.buy)
        return {
            **({"venue": venue.name, "hops": len(venue.path) - 1} if venue else {}),
            "sell": snap.symbols[s],
            "buy": snap.symbols[b],
            "amount_in": format_units(trade.amount_in, snap.decimals[s]),
            "value_usd": format_units(trade.value_usd, 18, 2),
            "min_out": format_units(trade.min_out, snap.decimals[b]),
            "expected_out": format_units(trade.expected_out, snap.decimals[b]),
        }

    def simulate_trade(self, snap: Snapshot, trade: Trade) -> int:
        """The amount out `Rebalancer.trade` would return now; raises `Reverted`."""
        args = self._trade_args(snap, trade)
        if args is None:
            raise Reverted("no route between the pair's pools")
        out = self.tx.simulate(self.tx.tx(self.rebalancer, "trade", args))
        return int.from_bytes(out[:32], "big")

    def execute(self, snap: Snapshot, trade: Trade) -> TradeOutcome:
        """Simulates, sends and waits for one trade through the best venue now; raises `Reverted` when the
        simulation fails."""
        best = self._best_venue(snap, trade)
        if best is None:
            raise Reverted("no route between the pair's pools")
        venue = best[0]
        fields = self._trade_fields(snap, trade, venue)
        args = self._trade_args(snap, trade, venue)
        self.tx.simulate(self.tx.tx(self.rebalancer, "trade", args))
        receipt = self.tx.send(self.tx.tx(self.rebalancer, "trade", args), "trade", **fields)
        tx_hash = hex_str(receipt["transactionHash"])
        if receipt["status"] != 1:
            self.metrics.trades_reverted += 1
            self.log("reverted", what="trade", tx=tx_hash, gas_used=receipt["gasUsed"], **fields)
            return TradeOutcome(trade, tx_hash, "reverted", gas_used=receipt["gasUsed"], venue=venue.name)
        (event,) = self.rebalancer.events.TradeExecuted().process_receipt(receipt, errors=DISCARD)
        self.metrics.trades_mined += 1
        b = snap.index(trade.buy)
        self.log(
            "trade",
            tx=tx_hash,
            block=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            amount_out=format_units(event.args.amount_out, snap.decimals[b]),
            shortfall_bps=round(event.args.shortfall * BPS / max(event.args.oracle_out, 1), 2),
            **fields,
        )
        return TradeOutcome(
            trade,
            tx_hash,
            "mined",
            event.args.amount_out,
            event.args.shortfall,
            gas_used=receipt["gasUsed"],
            venue=venue.name,
        )

    # --- rounds -------------------------------------------------------------------------------------------

    def run_round(self) -> RoundResult:
        """One round (see the module's notes). Never raises for a wait; transient RPC errors are retried and
        raise only once the retry policy gives up."""
        if not self._busy.acquire(blocking=False):  # a bot may call again while a round is still running
            return RoundResult(number=self.metrics.rounds, status="busy", reason="a round is already running")
        try:
            self.metrics.rounds += 1
            result = RoundResult(number=self.metrics.rounds)
            gas_before = self.metrics.gas_used
            try:
                self._round(result)
            except Wait as wait:
                result.status, result.reason = "waiting", wait.reason
                self.metrics.wait(wait.kind)
                self.log("wait", reason=wait.reason, kind=wait.kind, round=result.number)
            finally:
                known = result.gas()["total"]
                result.other_gas = max(0, self.metrics.gas_used - gas_before - known)
            return result
        finally:
            self._busy.release()

    def _round(self, result: RoundResult) -> None:
        if not self.config.dry_run:
            self.tx.next_nonce()
        snap = result.snapshot = self.read_snapshot()
        if why := snap.wait_reason():
            raise Wait(*why)
        if self.config.fill_auctions:
            self._fill_auctions(snap, result)
            if result.fills:
                snap = result.snapshot = self.read_snapshot()
                if why := snap.wait_reason():
                    raise Wait(*why)
        blocked = None if self.config.dry_run else snap.trading_blocked()
        if blocked and not self.config.fill_auctions:
            raise Wait(*blocked)
        if blocked:  # a filler without the keeper role: auctions only
            result.reason = blocked[1]
            self._end_round(snap, result)
            return

        decision = self.decide(snap)
        result.decision = f"{decision.action}: {decision.reason}"
        self.log("decide", round=result.number, action=decision.action, reason=decision.reason)
        if decision.action == IDLE:
            result.plan, result.reason = decision.plan, decision.reason
            self._end_round(snap, result)
            return
        if self.config.dry_run:
            result.plan = decision.plan
            self._log_plan(snap, decision.plan, result.number)
            first = {START: "a start comes first"}.get(decision.action)
            if decision.refresh:
                first = "refreshes come first: " + ", ".join(snap.symbol(a) for a in decision.refresh)
            self._dry_run(snap, decision.plan, result, first)
            return
        if decision.action == START:
            try:
                result.starts.append(self.start(snap, decision.reason))
            except Reverted as exc:
                result.reason = f"start refused: {exc.reason}"
                self.log("skip", what="start", reason=exc.reason)
                self._end_round(snap, result)
                return
            snap = self._reread(result)
        self._trade_loop(snap, result)

    def _trade_loop(self, snap: Snapshot, result: RoundResult) -> None:
        """Plans, refreshes the legs about to be stale, sends the first trade, reads again (module doc)."""
        excluded: list[tuple[str, str]] = []
        refreshed: set[str] = set()
        for _ in range(self.config.max_trades_per_round + 2 * len(snap.assets) ** 2):
            sliced = {a for outcome in result.trades for a in (outcome.trade.sell, outcome.trade.buy)}
            current = self.plan(snap, excluded, traded=sliced)
            if result.plan is None:
                result.plan = current
                self._log_plan(snap, current, result.number)
            if not current.trades:
                if current.limited_by:
                    result.reason = limits_text(current.limited_by, snap.limits, self.settings(snap))
                break
            trade = current.trades[0]
            late = [snap.assets[i] for i in stale(snap.state(), self.config.snapshot_margin)]
            legs = [a for a in (trade.sell, trade.buy) if a in late]
            if any(a in refreshed for a in legs):  # refreshed this round and stale again: not this round
                excluded.append((trade.sell, trade.buy))
                continue
            if legs:
                for asset in legs:
                    refreshed.add(asset)
                    try:
                        result.refreshes.append(self.refresh(snap, asset))
                    except Reverted as exc:
                        self.log("skip", what="refresh", asset=snap.symbol(asset), reason=exc.reason)
                snap = self._reread(result)
                continue
            try:
                outcome = self.execute(snap, trade)
            except Reverted as exc:
                self.metrics.reverts_skipped += 1
                result.skipped.append((trade, exc.reason))
                excluded.append((trade.sell, trade.buy))
                self.log("skip", reason=exc.reason, **self._trade_fields(snap, trade))
                continue
            result.trades.append(outcome)
            if len(result.trades) >= self.config.max_trades_per_round:
                break
            snap = self._reread(result)
        self._end_round(snap, result)

    def _reread(self, result: RoundResult) -> Snapshot:
        """The chain read again after a transaction of the round (never the round's memory of it); raises `Wait`
        when trading is blocked now."""
        snap = result.snapshot = self.read_snapshot()
        if why := snap.wait_reason() or snap.trading_blocked():
            raise Wait(*why)
        return snap

    def _end_round(self, snap: Snapshot, result: RoundResult) -> None:
        sent = result.trades or result.fills or result.starts or result.refreshes
        result.status = "traded" if sent else "idle"
        inside = inside_bands(self.trading_state(snap), self.settings(snap))
        gas = result.gas()
        self.log(
            "round",
            round=result.number,
            status=result.status,
            trades=len(result.trades),
            skipped=len(result.skipped),
            fills=len(result.fills),
            starts=len(result.starts),
            refreshes=len(result.refreshes),
            gas_start=gas["start"],
            gas_refresh=gas["refresh"],
            gas_trade=gas["trade"],
            gas_total=gas["total"],
            outside_band=[s for s, ok in zip(snap.symbols, inside, strict=True) if not ok],
            reason=result.reason,
        )

    def _log_plan(self, snap: Snapshot, current: Plan, number: int) -> None:
        self.log(
            "plan",
            round=number,
            block=snap.block,
            trades=len(current.trades),
            nav_usd=format_units(current.nav_before, 18, 2),
            drift_usd=format_units(current.drift_before, 18, 2),
            drift_after_usd=format_units(current.drift_after, 18, 2),
            limited_by=sorted(current.limited_by),
        )

    def _dry_run(self, snap: Snapshot, current: Plan, result: RoundResult, first: str | None = None) -> None:
        """Simulates every planned trade against the current chain (each alone: a later trade of the plan is
        not simulated after the earlier ones) and sends nothing. When a start or refreshes must come first
        (`first` says which), the trades are listed but not simulated: the chain has no snapshot for them."""
        for trade in current.trades:
            if first:
                out, why = None, f"not simulated: {first}"
            else:
                try:
                    out, why = self.simulate_trade(snap, trade), None
                except Reverted as exc:
                    out, why = None, exc.reason
            result.simulations.append((trade, out, why))
            self.log("simulated", result=why or "ok", **self._trade_fields(snap, trade))
        result.status = "dry-run"

    def run(self, *, max_rounds: int | None = None, interval: float = 60.0) -> list[RoundResult]:
        """Rounds every `interval` seconds until `max_rounds` (forever by default). An error the retry policy
        gave up on, or any other, is logged and counted and the next round comes after `interval`:
        an unattended keeper does not stop on a flaky node. Returns the rounds' results (the last 100)."""
        results: list[RoundResult] = []
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            rounds += 1
            try:
                results.append(self.run_round())
            except (KeeperError, SignerError, KeyboardInterrupt):
                raise
            except Exception as exc:
                self.metrics.errors += 1
                self.log("error", round=self.metrics.rounds, error=short_error(exc))
            del results[:-100]
            if max_rounds is None or rounds < max_rounds:
                self.sleep(interval)
        return results

    def log_summary(self) -> dict:
        summary = self.metrics.summary()
        self.log("summary", **summary)
        return summary

    # --- auctions and history -------------------------------------------------------------------------------

    def _fill_auctions(self, snap: Snapshot, result: RoundResult) -> None:
        """Resells any lot a killed run left unsold, then fills what pays (`AuctionFiller`)."""
        if not self.config.dry_run:
            self.filler.resell_unsold(snap)
        gas_price = snap.base_fee + self.priority_fee()
        self.filler.fill_auctions(snap, result, gas_price, self.venues.eth_price(snap))

    def live_auctions(self, snap: Snapshot) -> list[tuple[int, tuple, int]]:
        return self.filler.live_auctions(snap)

    def unsold_lots(self, snap: Snapshot) -> dict[tuple[str, str], int]:
        return self.filler.unsold_lots(snap)

    def trade_history(
        self, from_block: int = 0, *, keeper: str | None = None, with_gas: bool = True, page=10_000
    ) -> list[TradeRecord]:
        """Every `TradeExecuted` of the rebalancer since `from_block` (of `keeper` only if given), oldest first."""
        return trade_history(
            self.rebalancer, from_block, keeper=keeper, with_gas=with_gas, page=page, read=self.tx.read, w3=self.w3
        )
