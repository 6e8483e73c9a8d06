"""What the keeper judges a trade by: a `Snapshot` of the Rebalancer, its vault and the oracle at one block.

`SnapshotReader.read_snapshot` reads, pinned to the head block: holdings, every oracle price with its status
(`OracleRouter.price_data`, never the reverting `price`), target weights, the current rebalance
(`Rebalancer.rebalance`) and each constituent's snapshot (`Rebalancer.snapshot`: target units, price and its
time), the undiluted supply, limits, the period book, the pairs' last trades, the pause, the keeper role and
the adapter allowlist. Nothing is carried over from an earlier read but token symbols and decimals.
`Snapshot.wait_reason` and `trading_blocked` say why nothing can be done (a pause, an unusable price, no
targets, a missing role or adapter).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from ape import project
from eth_utils import to_checksum_address

from index_vault.chain.contracts import ERC20_ABI, web3_contract
from index_vault.chain.tx import TxSender
from index_vault.common.units import WAD
from index_vault.keeper.rules import Constituent, Limits, RebalancerState


@dataclass(frozen=True)
class Snapshot:
    """The chain as a trade is judged by it, read at one block."""

    block: int
    timestamp: int
    base_fee: int
    oracle: str
    assets: tuple[str, ...]
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    holdings: tuple[int, ...]
    prices: tuple[int, ...]  # the oracle's now; 0 where unusable
    price_problems: tuple[tuple[str, str], ...]  # (symbol, the oracle's reason)
    targets: tuple[int, ...]  # target weights (1e18 fixed point)
    targets_set: bool
    started_at: int  # the current rebalance's start; 0: none yet
    nav_per_share: int  # per 10**18 undiluted shares, at the start
    targets_changed_at: int
    target_units: tuple[int, ...]  # the snapshot's, per 10**18 undiluted shares; 0 without a snapshot
    snapshot_prices: tuple[int, ...]  # 0 without a snapshot in the current rebalance
    snapshot_at: tuple[int, ...]  # when each snapshot price was checked; 0 without one
    supply: int  # the vault's undiluted supply
    limits: Limits
    period_start: int
    period_used: int
    last_trade: Mapping[tuple[str, str], int]
    paused: bool
    is_keeper: bool
    adapter_allowed: bool
    keeper: str

    def symbol(self, address: str) -> str:
        return dict(zip(self.assets, self.symbols, strict=True)).get(address, address[:10])

    def index(self, address: str) -> int:
        return self.assets.index(address)

    def wait_reason(self) -> tuple[str, str] | None:
        """(kind, reason) nothing can be traded or filled for, or None: no targets, a pause, a bad price."""
        if not self.targets_set:
            return "targets", "the rebalancer has no target weights"
        if self.paused:
            return "paused", "vault paused"
        if self.price_problems:
            text = ", ".join(f"{s}: {r}" for s, r in self.price_problems)
            return "prices", f"unusable prices ({text})"
        if sum(self.targets) != WAD:
            return "targets", "target weights do not sum to 100%"
        return None

    def trading_blocked(self) -> tuple[str, str] | None:
        """(kind, reason) this account cannot send keeper trades for (auctions it may still fill), or None."""
        if not self.is_keeper:
            return "role", f"{self.keeper} lacks the vault's KEEPER_ROLE"
        if not self.adapter_allowed:
            return "adapter", "the adapter is not allowed on the rebalancer"
        return None

    def state(self) -> RebalancerState:
        """The contract's view: the snapshot's prices, unit targets and times (a constituent without a
        snapshot carries the oracle's price and time 0, which the contract refuses to trade); the oracle's
        prices must all be usable."""
        constituents = tuple(
            Constituent(a, s, h, sp or p, d, t, u, at)
            for a, s, h, p, d, t, u, sp, at in zip(
                self.assets,
                self.symbols,
                self.holdings,
                self.prices,
                self.decimals,
                self.targets,
                self.target_units,
                self.snapshot_prices,
                self.snapshot_at,
                strict=True,
            )
        )
        return RebalancerState(
            constituents=constituents,
            limits=self.limits,
            now=self.timestamp,
            period_start=self.period_start,
            period_used=self.period_used,
            last_trade=dict(self.last_trade),
            supply=self.supply,
            nav_per_share=self.nav_per_share if self.started_at else 0,
            started_at=self.started_at,
        )


class SnapshotReader:
    """Reads `Snapshot`s of `rebalancer` and `vault` (web3 contracts) for the keeper `tx.address`, whose trades
    go through `adapter` (an address); token symbols and decimals are read once."""

    def __init__(self, tx: TxSender, rebalancer, vault, adapter: str):
        self.tx, self.w3 = tx, tx.w3
        self.rebalancer, self.vault, self.adapter = rebalancer, vault, adapter
        self.address = tx.address
        self.keeper_role = tx.read(vault.functions.KEEPER_ROLE().call)
        self._meta: dict[str, tuple[str, int]] = {}

    def token(self, address: str) -> tuple[str, int]:
        """(symbol, decimals) of a token, read once."""
        if address not in self._meta:
            token = self.w3.eth.contract(address=address, abi=ERC20_ABI)
            self._meta[address] = (self.tx.call(token.functions.symbol()), self.tx.call(token.functions.decimals()))
        return self._meta[address]

    def read_snapshot(self) -> Snapshot:
        """Everything a trade is judged by, read at the head block."""
        head = self.tx.head()
        b = head["number"]
        r, v = self.rebalancer.functions, self.vault.functions
        assets = tuple(to_checksum_address(a) for a in self.tx.call(v.assets(), b))
        oracle_address = to_checksum_address(self.tx.call(v.oracle(), b))
        oracle = web3_contract(self.w3, oracle_address, project.OracleRouter.contract_type)
        holdings = tuple(self.tx.call(v.holdings(), b))
        metas = [self.token(a) for a in assets]
        prices, problems = [], []
        for asset, (symbol, _) in zip(assets, metas, strict=True):
            data = self.tx.call(oracle.functions.price_data(asset), b)
            status, price = data[0], data[1]
            if status != 0 or price == 0:
                reason = self.tx.call(oracle.functions.status_reason(status), b) if status else "no price"
                problems.append((symbol, reason))
                price = 0
            prices.append(price)
        rebalance = self.tx.call(r.rebalance(), b)
        snapshots = [self.tx.call(r.snapshot(a), b) for a in assets]
        # empty until set, or when they were set for another basket: none to trade to
        weights = tuple(self.tx.call(r.target_weights(), b))
        targets = weights if len(weights) == len(assets) else (0,) * len(assets)
        last_trade = {}  # either order reads the pair's time (`pair_last_trade`): the contract keys it low, high
        for sell in assets:
            for buy in assets:
                if sell != buy and (t := self.tx.call(r.last_trade(sell, buy), b)):
                    last_trade[(sell, buy)] = t
        return Snapshot(
            block=b,
            timestamp=head["timestamp"],
            base_fee=head.get("baseFeePerGas", 0) or 0,
            oracle=oracle_address,
            assets=assets,
            symbols=tuple(m[0] for m in metas),
            decimals=tuple(m[1] for m in metas),
            holdings=holdings,
            prices=tuple(prices),
            price_problems=tuple(problems),
            targets=targets,
            targets_set=self.tx.call(r.targets_set(), b),
            started_at=rebalance[0],
            nav_per_share=rebalance[1],
            targets_changed_at=rebalance[2],
            target_units=tuple(x[0] for x in snapshots),
            snapshot_prices=tuple(x[1] for x in snapshots),
            snapshot_at=tuple(x[2] for x in snapshots),
            supply=self.tx.call(v.undiluted_supply(), b),
            limits=Limits(*self.tx.call(r.limits(), b)),
            period_start=self.tx.call(r.period_start(), b),
            period_used=self.tx.call(r.period_used(), b),
            last_trade=last_trade,
            paused=self.tx.call(v.paused(), b),
            is_keeper=self.tx.call(v.hasRole(self.keeper_role, self.address), b),
            adapter_allowed=self.tx.call(r.adapter_allowed(self.adapter), b),
            keeper=self.address,
        )
