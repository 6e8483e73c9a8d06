"""The keeper's pure policy: DEX routes, gas in USD, auction profit, events and metrics.

Retries and gas price caps are `index_vault.common.sending` (every sender uses them).

Nothing here touches a chain; `index_vault.keeper.chain.keeper` applies it.

- `find_route`: a Uniswap V3 path between two tokens from the pools known to exist: the direct pool
  if any, else two hops through a hub token (the stablecoin the pools quote in, WETH).
- `auction_buy_in` / `fill_profit`: what a Dutch auction fill costs and what reselling on the DEX earns.
- `EventLog`: one event per line, human text or one JSON object (`--log-format json`).
- `Metrics`: counters for the summary printed on exit.
"""

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from index_vault.common.units import WAD
from index_vault.keeper.routes import v3_route

FEE_DENOMINATOR = 1_000_000  # Uniswap V3 fees are in hundredths of a bip

# --- routes --------------------------------------------------------------------------------------------

# Fee tiers in the order a direct pool is preferred when several exist (the one most pairs trade in first).
FEE_PREFERENCE = (3000, 500, 10000, 100)


def pair_key(a: str, b: str) -> frozenset[str]:
    """The unordered, case-insensitive key of a pool's two tokens."""
    return frozenset((a.lower(), b.lower()))


@dataclass(frozen=True)
class Route:
    """A Uniswap V3 path: tokens from the one sold to the one bought, one fee tier per hop."""

    tokens: tuple[str, ...]
    fees: tuple[int, ...]

    @property
    def hops(self) -> int:
        return len(self.fees)

    @property
    def fee_bps(self) -> float:
        """What the pools' fees take, in bps of the amount (compounded over the hops)."""
        kept = 1.0
        for fee in self.fees:
            kept *= 1 - fee / FEE_DENOMINATOR
        return (1 - kept) * 10_000

    def encode(self) -> bytes:
        """The packed path the V3 adapter, the SwapRouter and the QuoterV2 take."""
        return v3_route(list(self.tokens), list(self.fees))

    def describe(self, symbols: Mapping[str, str] | None = None) -> str:
        names = [(symbols or {}).get(t, t[:8]) for t in self.tokens]
        parts = [names[0]]
        for fee, name in zip(self.fees, names[1:], strict=True):
            parts.append(f"-({fee / 10_000:g}%)-> {name}")
        return " ".join(parts)


def _best_fee(pools: Mapping[frozenset[str], Sequence[int]], a: str, b: str) -> int | None:
    fees = pools.get(pair_key(a, b), ())
    if not fees:
        return None
    ranked = sorted(fees, key=lambda f: FEE_PREFERENCE.index(f) if f in FEE_PREFERENCE else len(FEE_PREFERENCE))
    return ranked[0]


def find_route(
    sell: str, buy: str, pools: Mapping[frozenset[str], Sequence[int]], hubs: Sequence[str] = ()
) -> Route | None:
    """The route to sell `sell` for `buy`: the direct pool when one exists, else two hops through the first
    hub (in the order given) pooled with both; None when there is neither.

    `pools` maps `pair_key(a, b)` to the fee tiers of the pools of that pair that exist (and hold liquidity).
    """
    if sell.lower() == buy.lower():
        return None
    fee = _best_fee(pools, sell, buy)
    if fee is not None:
        return Route((sell, buy), (fee,))
    for hub in hubs:
        if hub.lower() in (sell.lower(), buy.lower()):
            continue
        first, second = _best_fee(pools, sell, hub), _best_fee(pools, hub, buy)
        if first is not None and second is not None:
            return Route((sell, hub, buy), (first, second))
    return None


# --- gas ------------------------------------------------------------------------------------------------


def gas_usd(gas: int, gas_price: int, eth_price: int) -> int:
    """USD (18 decimals) of `gas` at `gas_price` wei with ether at `eth_price` USD (18 decimals)."""
    return gas * gas_price * eth_price // WAD


# --- auctions -------------------------------------------------------------------------------------------


def auction_buy_in(amount: int, rate: int) -> int:
    """What a fill of `amount` of the auction's `sell` pays in `buy` at `rate` (units per 10**18), rounded up
    as `Rebalancer.fill` rounds it."""
    return -(-amount * rate // WAD)


def fill_profit(buy_in: int, dex_out: int, buy_price: int, buy_unit: int, gas_cost_usd: int) -> int:
    """USD (18 decimals) a filler earns by paying `buy_in` of `buy` for the lot and selling the lot on the
    DEX for `dex_out` of `buy`, less the gas: negative when filling does not pay."""
    return (dex_out - buy_in) * buy_price // buy_unit - gas_cost_usd


# --- events ---------------------------------------------------------------------------------------------

LOG_FORMATS = ("text", "json")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_jsonable(v) for v in items]
    return str(value)


def _text(value: Any) -> str:
    value = _jsonable(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


def format_event(kind: str, fields: Mapping[str, Any], fmt: str = "text", now: float | None = None) -> str:
    """One event as one line.

    json: `{"ts": ISO-8601 UTC, "event": kind, **fields}` (integers stay exact, bytes are 0x-hex).
    text: `ts kind key=value ...`, except waits, which read `ts waiting: <reason> key=value ...`.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).isoformat(timespec="milliseconds")
    if fmt == "json":
        return json.dumps({"ts": stamp, "event": kind, **{k: _jsonable(v) for k, v in fields.items()}})
    rest = dict(fields)
    head = f"{stamp} {kind}"
    if kind == "wait" and "reason" in rest:
        head = f"{stamp} waiting: {rest.pop('reason')}"
    elif "message" in rest:
        head = f"{head}: {rest.pop('message')}"
    tail = " ".join(f"{k}={_text(v)}" for k, v in rest.items() if v is not None)
    return f"{head} {tail}".rstrip()


class EventLog:
    """Writes one event per line to `stream` (stdout by default) in `fmt`; `log_event(kind, **fields)`."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None, clock: Callable[[], float] = time.time):
        if fmt not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
        self.fmt, self.stream, self.clock = fmt, stream, clock

    def log_event(self, kind: str, /, **fields: Any) -> str:
        line = format_event(kind, fields, self.fmt, self.clock())
        stream = self.stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()
        return line

    __call__ = log_event


# --- metrics --------------------------------------------------------------------------------------------


@dataclass
class Metrics:
    """What a keeper did since it started (summed over rounds)."""

    started: float = field(default_factory=time.time)
    rounds: int = 0
    plans: int = 0
    trades_sent: int = 0
    trades_mined: int = 0
    trades_reverted: int = 0  # mined but reverted on chain
    reverts_skipped: int = 0  # simulated, would revert: never sent
    fills: int = 0
    starts: int = 0  # rebalances started (mined)
    refreshes: int = 0  # snapshot prices refreshed (mined)
    retries: int = 0
    errors: int = 0  # rounds ended by an error that was not transient
    gas_used: int = 0
    gas_cost_wei: int = 0
    gas_by_kind: Counter = field(default_factory=Counter)  # "trade", "start", "refresh", "fill"... -> gas
    waits: Counter = field(default_factory=Counter)  # reason kind -> rounds spent waiting

    def add_receipt(self, gas_used: int, effective_gas_price: int, kind: str = "other") -> None:
        self.gas_used += gas_used
        self.gas_cost_wei += gas_used * effective_gas_price
        self.gas_by_kind[kind] += gas_used

    def wait(self, kind: str) -> None:
        self.waits[kind] += 1

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """Every counter, the waits by kind and the run time, as plain JSON-able values."""
        elapsed = (time.time() if now is None else now) - self.started
        return {
            "rounds": self.rounds,
            "plans": self.plans,
            "trades_sent": self.trades_sent,
            "trades_mined": self.trades_mined,
            "trades_reverted": self.trades_reverted,
            "reverts_skipped": self.reverts_skipped,
            "fills": self.fills,
            "starts": self.starts,
            "refreshes": self.refreshes,
            "retries": self.retries,
            "errors": self.errors,
            "waits": dict(sorted(self.waits.items())),
            "gas_used": self.gas_used,
            "gas_by_kind": dict(sorted(self.gas_by_kind.items())),
            "gas_cost_eth": f"{self.gas_cost_wei / WAD:.6f}",
            "seconds": round(max(elapsed, 0.0), 1),
        }

    def format_summary(self, now: float | None = None) -> str:
        """The summary as aligned `name  value` lines."""
        data = self.summary(now)
        waits = data.pop("waits")
        by_kind = data.pop("gas_by_kind")
        lines = [f"{k.replace('_', ' '):<16}{f'{v:,}' if isinstance(v, int) else v}" for k, v in data.items()]
        lines.append(f"{'gas by kind':<16}" + (", ".join(f"{k} {v:,}" for k, v in by_kind.items()) or "none"))
        lines.append(f"{'waits':<16}" + (", ".join(f"{k} {v}" for k, v in waits.items()) or "none"))
        return "\n".join(lines)
