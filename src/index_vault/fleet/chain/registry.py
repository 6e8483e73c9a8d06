"""The factory's registry read from its `VaultCreated` events, from a start block, into the fleet's store.

Any worker may scan; one at a time does (the registry lease), from the block after the stored cursor to the head,
in pages of `page_blocks` (`eth_getLogs` limits). The symbol is read once per new vault, for the status table.
"""

from ape import project

from index_vault.chain.contracts import web3_contract
from index_vault.fleet.lease import acquire_all, new_token
from index_vault.fleet.schedule import log_pages
from index_vault.fleet.settings import FleetSettings
from index_vault.fleet.store import FleetStore, VaultEntry


def scan(w3, factory: str, start: int, end: int, page: int) -> list[VaultEntry]:
    """Every vault the factory created in blocks `start..end`, in creation order."""
    contract = web3_contract(w3, factory, project.VaultFactory.contract_type)
    found = []
    for lo, hi in log_pages(start, end, page):
        for event in contract.events.VaultCreated().get_logs(from_block=lo, to_block=hi):
            found.append(
                VaultEntry(
                    vault=event.args.vault,
                    rebalancer=event.args.rebalancer,
                    index=int(event.args.index),
                    block=int(event.blockNumber),
                )
            )
    for entry in found:
        vault = web3_contract(w3, entry.vault, project.IndexVault.contract_type)
        object.__setattr__(entry, "symbol", vault.functions.symbol().call())
    return sorted(found, key=lambda e: e.index)


def sync(store: FleetStore, w3, settings: FleetSettings, head: int, worker: str) -> int:
    """Reads the registry's new vaults up to `head` into `store` (unless another worker is scanning); returns how
    many were added."""
    lease = store.lease("registry", "scan", new_token(worker), ttl=max(settings.lease_seconds, 30.0))
    if acquire_all([lease]) is not None:
        return 0
    try:
        cursor = store.cursor()
        start = settings.start_block if cursor is None else cursor + 1
        if start > head:
            return 0
        entries = scan(w3, settings.factory, start, head, settings.page_blocks)
        store.add_vaults(entries, head)
        return len(entries)
    finally:
        lease.release()
