"""What the keeper sees and would do: `keeper_status` (`ape run keeper status`), the dry run's plan table."""

from dataclasses import dataclass
from datetime import UTC, datetime

from index_vault.common.report import table
from index_vault.common.units import BPS, WAD, format_units
from index_vault.keeper.chain.config import KeeperError, RoundResult
from index_vault.keeper.chain.history import TradeRecord, snapshot_gas
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.chain.snapshot import Snapshot
from index_vault.keeper.planner import Plan, limits_text
from index_vault.keeper.rules import RebalancerState, mul_div


@dataclass
class KeeperStatus:
    snapshot: Snapshot
    band: int
    wait: tuple[str, str] | None
    plan: Plan | None
    history: list[TradeRecord]
    gas_used: int  # this keeper's trades
    gas_cost_wei: int
    snapshot_gas: dict[str, tuple[int, int]]  # "start"/"refresh" -> (count, gas) of this keeper's
    decision: str  # what a round would do now (`index_vault.keeper.rebalance`)
    limits: str  # why the plan stops short of the bands, with each bound's figure ("" when it does not)
    pending: int
    auctions: list[tuple[int, tuple, int]]
    keeper: str


def keeper_status(keeper: Keeper, *, from_block: int = 0, last: int = 10) -> KeeperStatus:
    """Drift per constituent, the last trades, the gas they cost and whether the keeper would trade now."""
    latest, pending = keeper.tx.nonces()
    snap = keeper.read_snapshot()
    wait = ("pending", f"{pending - latest} transaction(s) in flight") if pending > latest else None
    wait = wait or snap.wait_reason() or snap.trading_blocked()
    current, decision = None, "-"
    if not snap.price_problems and snap.targets_set and sum(snap.targets) == WAD:
        current = keeper.plan(snap)
        chosen = keeper.decide(snap)
        decision = f"{chosen.action}: {chosen.reason}"
        if chosen.refresh:
            decision += " (refresh " + ", ".join(snap.symbol(a) for a in chosen.refresh) + ")"
    history = keeper.trade_history(from_block)
    mine = [t for t in history if t.keeper == keeper.address]
    return KeeperStatus(
        snapshot=snap,
        band=keeper.config.band,
        wait=wait,
        plan=current,
        history=history[-last:],
        gas_used=sum(t.gas_used for t in mine),
        gas_cost_wei=sum(t.gas_cost_wei for t in mine),
        snapshot_gas=snapshot_gas(
            keeper.rebalancer, from_block, caller=keeper.address, read=keeper.tx.read, w3=keeper.w3
        ),
        decision=decision,
        limits=limits_text(current.limited_by, snap.limits, keeper.settings(snap))
        if current and current.limited_by
        else "",
        pending=pending - latest,
        auctions=keeper.live_auctions(snap),
        keeper=keeper.address,
    )


def _pct(weight: int) -> str:
    return f"{weight / 10**16:.2f}%"


def format_keeper_status(status: KeeperStatus) -> str:
    snap = status.snapshot
    lines = [f"rebalancer at block {snap.block} ({_when(snap.timestamp)}); keeper {status.keeper}"]
    nav = sum(mul_div(h, p, 10**d) for h, p, d in zip(snap.holdings, snap.prices, snap.decimals, strict=True))
    lines.append(f"NAV ${format_units(nav, 18, 2)}" if not snap.price_problems else "NAV unusable")
    if snap.started_at:
        ages = ", ".join(
            f"{s} {snap.timestamp - t}s" if t else f"{s} none"
            for s, t in zip(snap.symbols, snap.snapshot_at, strict=True)
        )
        lines.append(
            f"rebalance started {_when(snap.started_at)} (targets changed {_when(snap.targets_changed_at)}); "
            f"snapshot price ages: {ages} (max age {snap.limits.max_age}s)"
        )
    else:
        lines.append("no rebalance started")
    rows = []
    for s, h, p, d, t in zip(snap.symbols, snap.holdings, snap.prices, snap.decimals, snap.targets, strict=True):
        value = mul_div(h, p, 10**d)
        weight = value * WAD // nav if nav and p else None
        problem = dict(snap.price_problems).get(s)
        if weight is None:
            rows.append([s, format_units(h, d, 6), "-", "-", _pct(t), "-", problem or "-"])
            continue
        drift = weight - t
        state = "inside" if abs(drift) <= status.band else ("over" if drift > 0 else "under")
        rows.append(
            [
                s,
                format_units(h, d, 6),
                f"${format_units(value, 18, 2)}",
                _pct(weight),
                _pct(t),
                f"{drift / 10**14:+.0f}",
                state,
            ]
        )
    lines.append(
        table(["asset", "holding", "value", "weight", "target", "drift bps", "band"], rows, right={1, 2, 3, 4, 5})
    )
    lines.append("")
    if status.history:
        symbol = snap.symbol
        rows = [
            [
                _when(t.timestamp),
                f"{symbol(t.sell)} -> {symbol(t.buy)}",
                format_units(t.amount_in, _dec(snap, t.sell), 6),
                format_units(t.amount_out, _dec(snap, t.buy), 6),
                f"{t.shortfall * BPS / max(t.oracle_out, 1):.1f}",
                f"{t.gas_used:,}",
                t.tx_hash[:12],
            ]
            for t in status.history
        ]
        lines.append("last trades:")
        lines.append(table(["time", "pair", "sold", "bought", "cost bps", "gas", "tx"], rows, right={2, 3, 4, 5}))
    else:
        lines.append("last trades: none")
    starts, refreshes = status.snapshot_gas.get("start", (0, 0)), status.snapshot_gas.get("refresh", (0, 0))
    total = status.gas_used + starts[1] + refreshes[1]
    lines.append(
        f"gas spent by this keeper: {total:,} gas: {starts[0]} starts {starts[1]:,}, {refreshes[0]} refreshes "
        f"{refreshes[1]:,}, trades {status.gas_used:,} ({status.gas_cost_wei / WAD:.6f} ETH for the trades)"
    )
    if status.auctions:
        lines.append(
            "live auctions: "
            + ", ".join(f"#{i} {snap.symbol(a[0])}->{snap.symbol(a[1])}" for i, a, _ in status.auctions)
        )
    lines.append("decision now: " + status.decision)
    lines.append("would trade now: " + would_trade(status))
    return "\n".join(lines)


def would_trade(status: KeeperStatus) -> str:
    if status.wait:
        return f"no, waiting: {status.wait[1]}"
    current = status.plan
    if current is None:
        return "no"
    if current.trades:
        first = current.trades[0]
        snap = status.snapshot
        return (
            f"yes, {len(current.trades)} trade(s); first {snap.symbol(first.sell)} -> {snap.symbol(first.buy)} "
            f"${format_units(first.value_usd, 18, 2)}"
        )
    if current.limited_by:
        return "no, " + status.limits
    return "no, every weight is inside its band"


def format_plan_table(snap: Snapshot, result: RoundResult) -> str:
    """The dry run's plan: one row per trade with its simulation."""
    current = result.plan
    if current is None:
        return f"no plan: {result.reason or 'nothing to do'}"
    head = (
        f"plan at block {snap.block}: {len(current.trades)} trade(s), NAV ${format_units(current.nav_before, 18, 2)}, "
        f"drift ${format_units(current.drift_before, 18, 2)} -> ${format_units(current.drift_after, 18, 2)}"
    )
    if current.limited_by:
        head += f" (limited by {', '.join(sorted(current.limited_by))})"
    sims = {id(t): (out, why) for t, out, why in result.simulations}
    rows = []
    for i, trade in enumerate(current.trades, 1):
        s, b = snap.index(trade.sell), snap.index(trade.buy)
        out, why = sims.get(id(trade), (None, "not simulated"))
        rows.append(
            [
                str(i),
                snap.symbols[s],
                snap.symbols[b],
                format_units(trade.amount_in, snap.decimals[s], 6),
                format_units(trade.value_usd, 18, 2),
                format_units(trade.min_out, snap.decimals[b], 6),
                format_units(trade.expected_out, snap.decimals[b], 6),
                format_units(out, snap.decimals[b], 6)
                if out is not None
                else (why if why.startswith("not simulated") else f"reverts: {why}"),
            ]
        )
    body = table(
        ["#", "sell", "buy", "amount in", "USD", "min out", "expected out", "simulated out"], rows, {3, 4, 5, 6}
    )
    return head + "\n" + body


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _dec(snap: Snapshot, address: str) -> int:
    return snap.decimals[snap.assets.index(address)] if address in snap.assets else 18


def read_state(keeper: Keeper) -> RebalancerState:
    """The planner's `RebalancerState` read from the chain; raises `KeeperError` with the reason to wait."""
    snap = keeper.read_snapshot()
    if why := snap.wait_reason():
        raise KeeperError(f"waiting: {why[1]}")
    return snap.state()
