"""What a round reports, what `ape run fleet status` shows, and how large a fleet must be (pure).

`round_record` turns a round's outcome into the fields the store keeps per vault (`NS:status:V`); `FleetRow` is a
vault's line of the status table; `sizing` turns the benchmark's figures into workers and RPC capacity.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Any

from index_vault.common.report import table


@dataclass(frozen=True)
class RoundOutcome:
    """A round as the fleet records it: plain values, no chain objects."""

    status: str  # "traded", "idle", "waiting", "dry-run", "busy" (another worker has it), "error"
    reason: str = ""
    decision: str = ""
    trades: int = 0
    starts: int = 0
    refreshes: int = 0
    gas: int = 0
    drift_bps: float | None = None  # the largest |weight - target| after the round, in basis points
    outside: tuple[str, ...] = ()  # constituents outside their band after the round
    keeper: str = ""
    error: str = ""


def round_record(
    outcome: RoundOutcome, *, block: int, worker: str, seconds: float, rpc_calls: int, now: float | None = None
) -> tuple[dict[str, Any], dict[str, int]]:
    """(fields, counters) of a round for `FleetStore.record_round`."""
    fields: dict[str, Any] = {
        "block": block,
        "time": round(time.time() if now is None else now, 3),
        "status": outcome.status,
        "reason": outcome.reason,
        "decision": outcome.decision,
        "trades": outcome.trades,
        "drift_bps": "" if outcome.drift_bps is None else round(outcome.drift_bps, 1),
        "outside": ",".join(outcome.outside),
        "worker": worker,
        "keeper": outcome.keeper,
        "seconds": round(seconds, 3),
        "rpc_calls": rpc_calls,
    }
    if outcome.error:
        fields |= {"error": outcome.error, "error_time": fields["time"]}
    counters = {
        "rounds": 1,
        "trades_total": outcome.trades,
        "starts_total": outcome.starts,
        "refreshes_total": outcome.refreshes,
        "gas_total": outcome.gas,
        "errors_total": int(outcome.status == "error"),
        "waits_total": int(outcome.status == "waiting"),
    }
    return fields, counters


def weights_of(holdings: list[int], prices: list[int], decimals: list[int]) -> list[int]:
    """Each holding's share of the basket's value (1e18 = 100%) at `prices` (USD, 18 decimals, per whole token)."""
    values = [h * p // 10**d for h, p, d in zip(holdings, prices, decimals, strict=True)]
    total = sum(values)
    return [v * 10**18 // total if total else 0 for v in values]


def drift_bps(weights: list[int], targets: list[int]) -> float:
    """The largest |weight - target| in basis points (weights and targets in 1e18 = 100%)."""
    return max((abs(w - t) / 1e14 for w, t in zip(weights, targets, strict=True)), default=0.0)


@dataclass
class FleetRow:
    """One vault of the fleet, as `ape run fleet status` shows it."""

    vault: str
    symbol: str
    status: dict[str, str] = field(default_factory=dict)  # the store's NS:status:V
    running_on: str | None = None  # the worker holding the vault's lease
    queued: bool = False
    pending: int = 0  # the keeper account's transactions in flight
    drift_now_bps: float | None = None  # read from the chain by the status command
    wait_now: str = ""

    def work(self) -> str:
        """Pending work: in flight, running, queued, or nothing."""
        parts = []
        if self.pending:
            parts.append(f"{self.pending} tx in flight")
        if self.running_on:
            parts.append(f"running on {self.running_on}")
        if self.queued:
            parts.append("queued")
        return ", ".join(parts) or "-"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def format_fleet(rows: list[FleetRow], *, now: float | None = None) -> str:
    """The fleet's table: a line per vault, then the errors and waits in full."""
    now = time.time() if now is None else now
    lines, notes = [], []
    for r in rows:
        s = r.status
        last = "never"
        if s.get("time"):
            last = f"#{s.get('block', '?')} {_age(now - float(s['time']))} {s.get('status', '')}"
        drift = r.drift_now_bps if r.drift_now_bps is not None else None
        lines.append(
            [
                r.symbol,
                f"{r.vault[:8]}..{r.vault[-4:]}",
                last,
                f"{drift:.0f}" if drift is not None else "-",
                r.work(),
                s.get("worker", "-") or "-",
                s.get("rounds", "0"),
                s.get("trades_total", "0"),
                s.get("errors_total", "0"),
            ]
        )
        if r.wait_now:
            notes.append(f"{r.symbol}: waits now: {r.wait_now}")
        elif s.get("status") == "waiting" and s.get("reason"):
            notes.append(f"{r.symbol}: waiting: {s['reason']}")
        if s.get("error"):
            notes.append(f"{r.symbol}: last error {_age(now - float(s.get('error_time') or now))}: {s['error']}")
    headers = ["vault", "address", "last round", "drift bps", "pending work", "worker", "rounds", "trades", "errors"]
    out = table(headers, lines, right={3, 6, 7, 8})
    return out + ("\n" + "\n".join(notes) if notes else "")


@dataclass(frozen=True)
class Sizing:
    """Workers and RPC capacity for a fleet of `vaults`, from measured rates."""

    vaults: int
    rounds_per_minute: float  # what the fleet must run
    workers: int
    rpc_per_second: float


def sizing(
    vaults: int,
    *,
    rounds_per_worker_minute: float,
    rpc_per_round: float,
    block_seconds: float = 12.0,
    every_blocks: int = 1,
    headroom: float = 2.0,
) -> Sizing:
    """One round per vault every `every_blocks` blocks of `block_seconds`: the rounds a minute that takes, the
    workers that run them at `rounds_per_worker_minute` with `headroom` (a burst of trading rounds, a worker
    down), and the RPC calls a second at `rpc_per_round`."""
    if rounds_per_worker_minute <= 0 or block_seconds <= 0 or every_blocks < 1:
        raise ValueError("positive rates, block time and every_blocks")
    per_minute = vaults * (60.0 / block_seconds) / every_blocks
    workers = math.ceil(per_minute * headroom / rounds_per_worker_minute)
    return Sizing(vaults, per_minute, workers, per_minute * rpc_per_round / 60.0)
