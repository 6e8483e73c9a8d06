"""The keeper's configuration and what its rounds report (no chain access here)."""

from dataclasses import dataclass, field

from index_vault.chain.tx import GasPolicy
from index_vault.common.sending import RetryPolicy
from index_vault.common.units import WAD
from index_vault.keeper.chain.snapshot import Snapshot
from index_vault.keeper.execution import NAIVE, ExecutionPolicy
from index_vault.keeper.planner import Plan
from index_vault.keeper.rules import Trade

GAS_PER_TRADE = 180_000  # a keeper trade reads only its two legs (bench: ~158k-168k)


class KeeperError(RuntimeError):
    """A configuration the keeper cannot run with (no adapter, an unsigned transaction...)."""


DAY = 86_400
POOL_FEE_BPS = 30.0  # the pool fee the execution policy prices a trade at (the 0.3% tier)


@dataclass(frozen=True)
class KeeperConfig:
    """How the keeper trades. Amounts in USD have 18 decimals; gas prices are in wei."""

    band: int = 10**16  # drift band (absolute weight, 1e18 = 100%)
    min_trade_usd: int = 100 * WAD
    slippage_bps: int | None = None  # min out below the oracle; None: the vault's max_slippage_bps
    max_trades_per_round: int = 10
    max_gas_price: int | None = None  # refuse to send above this (wait instead)
    priority_fee: int | None = None  # None: the node's eth_maxPriorityFeePerGas
    gas_per_trade: int | None = None  # for the plan's gas test; None: `GAS_PER_TRADE`
    gas_per_start: int | None = None  # start vs refreshes; None: the last start's receipt, else 80k + 56k each
    gas_per_refresh: int | None = None  # None: the last refresh's receipt, else 145k
    trade_band: int | None = 5 * 10**15  # once the band is crossed, trade to this (None: the band; at least
    # the contract's tolerance)
    snapshot_margin: int = 120  # seconds: a snapshot price is refreshed when it would be stale this soon
    gas_multiplier: float = 1.25  # gas limit over the estimate
    receipt_timeout: float = 180.0  # seconds; then the round ends and the next waits for the transaction
    poll_interval: float = 1.0
    dry_run: bool = False
    fill_auctions: bool = False
    min_fill_profit_usd: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    execution: ExecutionPolicy = NAIVE  # how trades are sized (`index_vault.keeper.execution`): naive = whole gaps
    horizon_days: float = 30.0  # how long a gap left today lasts, for the execution policy's no-trade band
    variance_days: int = 30  # days of pool prices the tracking variance is measured over

    def gas_policy(self) -> GasPolicy:
        """What the transaction sender needs of this configuration."""
        return GasPolicy(
            max_gas_price=self.max_gas_price,
            priority_fee=self.priority_fee,
            gas_multiplier=self.gas_multiplier,
            receipt_timeout=self.receipt_timeout,
            poll_interval=self.poll_interval,
        )


@dataclass
class TradeOutcome:
    """A trade the keeper sent: its receipt's verdict, or still pending."""

    trade: Trade
    tx_hash: str
    status: str  # "mined", "reverted"
    amount_out: int = 0
    shortfall: int = 0
    gas_used: int = 0
    venue: str = ""  # "uniswap-v3", "uniswap-v2" or "split" (both)


@dataclass
class TxOutcome:
    """A snapshot transaction the keeper sent: `kind` "start" or "refresh" (with its asset's symbol)."""

    kind: str
    tx_hash: str
    status: str  # "mined", "reverted"
    gas_used: int = 0
    asset: str = ""


@dataclass
class FillOutcome:
    auction: int
    amount: int
    buy_in: int
    tx_hash: str
    status: str
    resold: int = 0  # what the DEX paid for the lot, in `buy`


@dataclass
class RoundResult:
    """What one round did."""

    number: int
    status: str = "idle"  # "traded", "idle", "waiting", "dry-run" ("traded": it sent a trade, start or refresh)
    reason: str | None = None  # why it waited, or what limited the plan
    plan: Plan | None = None  # the round's first plan
    trades: list[TradeOutcome] = field(default_factory=list)
    skipped: list[tuple[Trade, str]] = field(default_factory=list)  # simulated to revert: not sent
    simulations: list[tuple[Trade, int | None, str | None]] = field(default_factory=list)  # dry run
    fills: list[FillOutcome] = field(default_factory=list)
    snapshot: Snapshot | None = None
    decision: str = ""  # "start", "trade", "idle" (`index_vault.keeper.rebalance`), and why after a colon
    starts: list[TxOutcome] = field(default_factory=list)
    refreshes: list[TxOutcome] = field(default_factory=list)
    other_gas: int = 0  # the round's other transactions (fills, approvals, resales)

    def gas(self) -> dict[str, int]:
        """Gas of every transaction the round sent, by kind, and in total."""
        by_kind = {
            "start": sum(t.gas_used for t in self.starts),
            "refresh": sum(t.gas_used for t in self.refreshes),
            "trade": sum(t.gas_used for t in self.trades),
            "other": self.other_gas,
        }
        return by_kind | {"total": sum(by_kind.values())}
