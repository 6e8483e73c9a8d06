"""The fleet as `ape run fleet status` shows it: the store's record of each vault beside what the chain says now
(the weights' drift, a price or pause that makes the vault wait, its keeper account's transactions in flight)."""

from types import SimpleNamespace

from index_vault.fleet.status import FleetRow, drift_bps, weights_of
from index_vault.fleet.store import FleetStore
from index_vault.keeper.chain.config import KeeperConfig
from index_vault.keeper.chain.keeper import Keeper

ZERO = "0x" + "00" * 20


def fleet_rows(store: FleetStore, w3, *, adapter: str | None = None, chain_reads: bool = True) -> list[FleetRow]:
    """A row per vault of the registry, in factory order; `chain_reads=False` shows only the store's record."""
    rows = []
    reader = SimpleNamespace(address=ZERO)  # reads only: nothing is signed
    for entry in store.vaults().values():
        row = FleetRow(
            vault=entry.vault,
            symbol=entry.symbol or entry.vault[:8],
            status=store.status(entry.vault),
            running_on=store.holder("vault", entry.vault),
            queued=store.queued(entry.vault),
        )
        if chain_reads:
            keeper = Keeper(entry.rebalancer, reader, adapter=adapter or ZERO, config=KeeperConfig(), web3=w3)
            snap = keeper.read_snapshot()
            if why := snap.wait_reason():
                row.wait_now = why[1]
            else:
                weights = weights_of(list(snap.holdings), list(snap.prices), list(snap.decimals))
                row.drift_now_bps = drift_bps(weights, list(snap.targets))
            if account := store.keeper_of(entry.vault):
                latest = w3.eth.get_transaction_count(account, "latest")
                row.pending = w3.eth.get_transaction_count(account, "pending") - latest
        rows.append(row)
    return rows
