"""When the keeper starts a rebalance, which snapshot prices it refreshes, and which plan it follows.

Pure Python, no chain. The Rebalancer trades against a snapshot (`Rebalancer.start_rebalance`: target units
per undiluted share and a price per constituent, each price tradable for `max_age` seconds, renewable one
asset at a time by `Rebalancer.refresh`). A start values the whole basket (about 80,000 + 56,000 gas a
constituent), a refresh one asset (about 145,000), a trade reads only its two legs. `decide` picks, from the
chain as read (`state`: the snapshot's prices and unit targets) and the oracle's prices now:

1. Trade on the snapshot, with nothing to send first, when its targets still serve (no target moved, see
   3) and every leg of its plan is priced within `max_age` (a start or a refresh earlier in the round).
2. `fresh`: the state right after a start now (`RebalancerState.started()` at the oracle's prices). If its
   plan is empty, every holding is within the keeper's band of the targets a start would give (or a cap, a
   cool-down or the pools hold every trade back: `Plan.limited_by` says which): nothing to do (no start, no
   refresh, no trade), whatever the snapshot says.
3. Start when no rebalance is started, or when the snapshot's unit targets no longer serve: a start now
   would move some constituent's target by more than the keeper's band of NAV (valued at the oracle's
   price: new target weights, or prices moved far enough that the same holds; `targets_moved`), or the
   snapshot's own plan is empty while a start's is not.
4. Otherwise reuse the snapshot: plan on it with every stale price (older than `max_age` when a trade
   would land, `margin` seconds from now) replaced by the oracle's, as the refreshes will leave it; the
   plan's stale legs are refreshed before the trades, unless the refreshes would cost more gas than a
   start, in which case start instead.

Once the band is crossed the keeper trades to a narrower band (`trade_band`, at least the contract's
tolerance: `Decision.plan` is planned with it), and keeps trading to it while the snapshot is current: the
start (or the refreshes) is the dear part, the trades that follow it are cheap, and holdings brought close
to their targets take longer to cross the band again.

What the demo measured (`ape run demo`: 90 days, five constituents re-targeted every day; each start's reason
is in the keeper's log and the demo's table): after the first, every start came from 3 (targets moved past the
band, or the snapshot's own plan empty while a start's is not), none from a stale price alone. A snapshot's
unit targets carry the prices of the day it was taken: a day or more later they are mostly off by about the
very drift that fires the trigger, and a refresh keeps them: reuse (4) served once in 90 days (2 refreshes, to
finish two days later a rebalance the pools' slippage had cut short). A start is paid once per rebalance day,
and the keeper's gas is about a start plus its trades per rebalance day: fewer rebalance days come from a
wider band, fewer trades per rebalance from the trade band and the planner's overshoot (`planner.OVERSHOOT`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from index_vault.common.units import WAD
from index_vault.keeper.planner import KeeperSettings, Market, Plan, limits_text, plan
from index_vault.keeper.rules import RebalancerState, mul_div, snapshot_reason

START = "start"
TRADE = "trade"
IDLE = "idle"


@dataclass(frozen=True)
class SnapshotGas:
    """Gas of one `start_rebalance` and of one `refresh`: measured from receipts when the keeper has sent
    one, else the defaults (`default`)."""

    start: int
    refresh: int

    @staticmethod
    def default(assets: int) -> "SnapshotGas":
        """About what the bench measures: a start 80,000 + 56,000 a constituent, a refresh 145,000."""
        return SnapshotGas(start=80_000 + 56_000 * assets, refresh=145_000)


@dataclass(frozen=True)
class Decision:
    """What a round does: `action` START (then trade on the new snapshot), TRADE (refresh `refresh`, the
    addresses of stale legs, then trade `plan`) or IDLE; `reason` says why; `plan` is the plan it trades on
    (for a start, the plan on the state the start will leave)."""

    action: str
    reason: str
    plan: Plan | None = None
    refresh: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()  # symbols whose targets a start now would move past the band


def with_prices(state: RebalancerState, prices: Sequence[int], assets: Sequence[int] | None = None) -> RebalancerState:
    """`state` with the snapshot price of each constituent in `assets` (default: all) replaced by `prices`
    (the oracle's now), checked at `state.now`, as `Rebalancer.refresh` leaves it (target units kept)."""
    chosen = range(len(state.constituents)) if assets is None else set(assets)
    parts = tuple(
        replace(c, price=prices[i], price_at=state.now) if i in chosen else c for i, c in enumerate(state.constituents)
    )
    return replace(state, constituents=parts)


def fresh_state(state: RebalancerState, prices: Sequence[int]) -> RebalancerState:
    """The state right after `start_rebalance` now, at the oracle's `prices`."""
    return with_prices(state, prices).started()


def stale(state: RebalancerState, margin: int = 0) -> list[int]:
    """Constituents whose snapshot price is missing or will be older than `max_age` `margin` seconds from
    now (when a trade sent now lands)."""
    age, then = state.limits.max_age, state.now + margin
    return [
        i
        for i, c in enumerate(state.constituents)
        if snapshot_reason(c.price_at, state.started_at, then, age) is not None
    ]


def targets_moved(state: RebalancerState, fresh: RebalancerState, band: int) -> list[int]:
    """Constituents whose target a start now (`fresh`) would move by more than `band` (1e18 = 100%) of the
    NAV now: `|fresh units - snapshot units|` for the whole vault, valued at the fresh price."""
    if state.started_at == 0:
        return list(range(len(state.constituents)))
    nav = fresh.nav
    moved = []
    for i, (old, new) in enumerate(zip(state.constituents, fresh.constituents, strict=True)):
        diff = abs(new.target_units - old.target_units)
        usd = mul_div(mul_div(diff, state.supply, WAD), new.price, new.unit)
        if usd * WAD > band * nav:
            moved.append(i)
    return moved


def decide(
    state: RebalancerState,
    prices: Sequence[int],
    settings: KeeperSettings,
    market: Market,
    gas: SnapshotGas,
    *,
    margin: int = 0,
    trade_band: int | None = None,
) -> Decision:
    """The round's action (module doc). `state` is the chain's (snapshot prices, unit targets), `prices`
    the oracle's now (all usable), `settings.band` the keeper's trigger band; plans that follow the trigger
    use `trade_band` (default: the band), never below the contract's tolerance."""
    narrow = narrowed(state, settings, trade_band)
    symbols = [c.symbol for c in state.constituents]
    fresh = fresh_state(state, prices)
    moved = targets_moved(state, fresh, settings.band)
    late = stale(state, margin)
    reuse = with_prices(state, prices, late)
    reuse_plan = plan(reuse, narrow, market) if not moved else None
    refresh: tuple[str, ...] = ()
    if reuse_plan is not None:
        legs = {state.index[a] for t in reuse_plan.trades for a in (t.sell, t.buy)}
        refresh = tuple(state.constituents[i].address for i in sorted(legs) if i in late)
        if reuse_plan.trades and not refresh:
            return Decision(TRADE, "the snapshot serves and its traded prices are current", reuse_plan)
    trigger = plan(fresh, settings, market)
    if not trigger.trades:
        if trigger.limited_by:  # outside a band, but a cap, a cool-down or the pools hold every trade back
            return Decision(IDLE, limits_text(trigger.limited_by, fresh.limits, settings), trigger)
        return Decision(IDLE, "every constituent is inside its band of the targets a start would give", trigger)
    fresh_plan = plan(fresh, narrow, market)
    if state.started_at == 0:
        return Decision(START, "no rebalance started", fresh_plan)
    if moved:
        names = tuple(symbols[i] for i in moved)
        return Decision(START, "targets moved past the band: " + ", ".join(names), fresh_plan, moved=names)
    if reuse_plan is None or not plan(reuse, settings, market).trades:
        return Decision(START, "the snapshot's targets no longer serve", fresh_plan)
    if len(refresh) * gas.refresh > gas.start:
        return Decision(START, f"{len(refresh)} refreshes cost more than a start", fresh_plan)
    return Decision(TRADE, "the snapshot serves", reuse_plan, refresh)


def narrowed(state: RebalancerState, settings: KeeperSettings, trade_band: int | None) -> KeeperSettings:
    """The settings trades are planned with once the keeper acts: `trade_band` (at most the band), never
    within the contract's tolerance (a seller must be beyond it)."""
    if trade_band is None:
        return settings
    return replace(settings, band=max(min(trade_band, settings.band), state.limits.weight_tolerance + 1))
