"""One vault's keeper round on whichever worker took it: leases, the keeper, the fence, the record.

`FleetWorker.run_round(vault, block)`:
1. clears the vault's queued mark and finds its keeper account: the configured account that holds the vault's
   `KEEPER_ROLE` (remembered in the store, checked again by the round itself);
2. takes the vault's lease and its keeper account's lease, or neither (another worker has the vault, or the
   account is busy with another of its vaults: the round is skipped, the next block dispatches it again);
3. plays the keeper's round (`index_vault.keeper.chain.keeper.Keeper.run_round`) while a heartbeat renews both
   leases, with a fence before every broadcast: both leases are renewed, or the round waits and sends nothing;
4. records the round (status, reason, drift, gas, RPC calls, worker) in the store and releases the leases.

Nothing a round needs is kept by the worker between rounds: the chain is read afresh by the keeper, and the
account's nonces come from the node (`TxSender`: nothing is sent while a transaction of the account is in flight,
so a worker killed between send and receipt is followed by one that waits for that transaction and re-plans from
what landed). What the worker keeps is a cache of clients (contracts, the keeper's routes), rebuilt on demand.
"""

import contextlib
import os
import socket
import threading
import time
from typing import Any

from ape import project
from ape.api import AccountAPI
from eth_utils import to_checksum_address

from index_vault.chain.contracts import web3_contract
from index_vault.chain.tx import Wait, short_error
from index_vault.common.units import BPS, WAD
from index_vault.fleet.lease import Heartbeat, Lease, LeaseLost, acquire_all, new_token
from index_vault.fleet.settings import FleetSettings
from index_vault.fleet.status import RoundOutcome, drift_bps, round_record, weights_of
from index_vault.fleet.store import FleetStore, VaultEntry
from index_vault.keeper.chain.config import KeeperConfig, RoundResult
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.policy import EventLog


def worker_name() -> str:
    """This process's name in leases and the status table: host and PID."""
    return f"{socket.gethostname()}:{os.getpid()}"


class TaggedLog(EventLog):
    """The keeper's event log with the vault's symbol and the worker on every line."""

    def __init__(self, fmt: str, **tags: Any):
        super().__init__(fmt)
        self.tags = tags

    def log_event(self, kind: str, /, **fields: Any) -> str:
        return super().log_event(kind, **self.tags, **fields)

    __call__ = log_event


class RpcCounter:
    """Counts the JSON-RPC requests each thread makes through `w3` (installed once per provider)."""

    def __init__(self, w3):
        self._local = threading.local()
        provider = w3.provider
        if getattr(provider, "_fleet_counter", None) is None:
            real = provider.make_request

            def counted(method, params):
                local = provider._fleet_counter._local
                local.n = getattr(local, "n", 0) + 1
                return real(method, params)

            provider.make_request = counted
            provider._request_func_cache = (None, None)  # web3 caches the middleware chain around the old one
            provider._fleet_counter = self
        self._local = provider._fleet_counter._local

    def reset(self) -> None:
        self._local.n = 0

    @property
    def count(self) -> int:
        return getattr(self._local, "n", 0)


class FleetWorker:
    """A worker process's rounds (see the module doc); `accounts` are the configured keeper accounts."""

    def __init__(self, settings: FleetSettings, store: FleetStore, accounts: list[AccountAPI], w3, name: str = ""):
        self.settings, self.store, self.w3 = settings, store, w3
        self.accounts = {to_checksum_address(a.address): a for a in accounts}
        self.name = name or worker_name()
        self.rpc = RpcCounter(w3)
        self._keepers: dict[tuple[str, str], Keeper] = {}

    def config(self) -> KeeperConfig:
        s = self.settings
        return KeeperConfig(
            band=s.band_bps * WAD // BPS,
            min_trade_usd=max(int(s.min_trade_usd * WAD), 1),
            slippage_bps=s.slippage_bps,
            max_gas_price=int(s.max_gas_gwei * 10**9) if s.max_gas_gwei is not None else None,
            receipt_timeout=s.receipt_timeout,
            poll_interval=0.2,
            dry_run=s.dry_run,
        )

    def keeper_account(self, entry: VaultEntry) -> AccountAPI | None:
        """The configured account holding the vault's keeper role (the store's answer if still one of ours)."""
        known = self.store.keeper_of(entry.vault)
        if known in self.accounts:
            return self.accounts[known]
        vault = web3_contract(self.w3, entry.vault, project.IndexVault.contract_type)
        role = vault.functions.KEEPER_ROLE().call()
        for address, account in self.accounts.items():
            if vault.functions.hasRole(role, address).call():
                self.store.set_keeper(entry.vault, address)
                return account
        return None

    def keeper(self, entry: VaultEntry, account: AccountAPI) -> Keeper:
        key = (entry.vault, account.address)
        if key not in self._keepers:
            s = self.settings
            self._keepers[key] = Keeper(
                entry.rebalancer,
                account,
                adapter=s.adapter,
                v2_adapter=s.v2_adapter,
                split_adapter=s.split_adapter,
                quoter=s.quoter,
                swap_router=s.swap_router,
                config=self.config(),
                log=TaggedLog(s.log_format, vault=entry.symbol or entry.vault, worker=self.name),
                web3=self.w3,
            )
        return self._keepers[key]

    def run_round(self, vault: str, block: int) -> dict[str, Any]:
        """One round of `vault` (module doc); returns numbers for silverback's metrics."""
        self.store.clear_queued(vault)
        entry = self.store.entry(vault)
        if entry is None:
            return {"unknown_vault": 1}
        started = time.monotonic()
        self.rpc.reset()
        try:
            account = self.keeper_account(entry)
        except Exception as exc:
            return self._record(entry, block, started, RoundOutcome("error", error=short_error(exc)))
        if account is None:
            why = "no configured keeper account holds the vault's KEEPER_ROLE"
            return self._record(entry, block, started, RoundOutcome("waiting", reason=why))
        token = new_token(self.name)
        ttl = self.settings.lease_seconds
        leases = [
            self.store.lease("vault", entry.vault, token, ttl),
            self.store.lease("account", account.address, token, ttl),
        ]
        if (taken := acquire_all(leases)) is not None:
            return {"busy": 1, "busy_account": int(taken is leases[1])}
        keeper = self.keeper(entry, account)
        try:
            keeper.tx.before_broadcast = lambda what: self._fence(leases, what)
            with Heartbeat(leases, max_hold=self.settings.max_round_seconds):
                outcome = self._outcome(keeper, keeper.run_round())
        except Exception as exc:  # an unattended worker records it and takes the next task
            keeper.metrics.errors += 1
            keeper.log("error", block=block, error=short_error(exc))
            outcome = RoundOutcome("error", error=short_error(exc), keeper=account.address)
        finally:
            keeper.tx.before_broadcast = lambda what: None
            for lease in leases:
                with contextlib.suppress(Exception):  # Redis down: the lease expires by itself
                    lease.release()
        return self._record(entry, block, started, outcome)

    @staticmethod
    def _fence(leases: list[Lease], what: str) -> None:
        try:
            for lease in leases:
                lease.check()
        except LeaseLost as exc:
            raise Wait("lease", f"not sending the {what}: {exc}") from None

    def _outcome(self, keeper: Keeper, result: RoundResult) -> RoundOutcome:
        drift, outside = None, ()
        snap = result.snapshot
        if snap is not None and not snap.price_problems and snap.targets_set:
            weights = weights_of(list(snap.holdings), list(snap.prices), list(snap.decimals))
            drift = drift_bps(weights, list(snap.targets))
            band = keeper.config.band
            gaps = zip(snap.symbols, weights, snap.targets, strict=True)
            outside = tuple(s for s, w, t in gaps if abs(w - t) > band)
        gas = result.gas()
        return RoundOutcome(
            status=result.status,
            reason=result.reason or "",
            decision=result.decision,
            trades=sum(1 for t in result.trades if t.status == "mined"),
            starts=len(result.starts),
            refreshes=len(result.refreshes),
            gas=gas["total"],
            drift_bps=drift,
            outside=outside,
            keeper=keeper.address,
        )

    def _record(self, entry: VaultEntry, block: int, started: float, outcome: RoundOutcome) -> dict[str, Any]:
        seconds, calls = time.monotonic() - started, self.rpc.count
        fields, counters = round_record(outcome, block=block, worker=self.name, seconds=seconds, rpc_calls=calls)
        self.store.record_round(entry.vault, fields, counters)
        return {
            "rounds": 1,
            "trades": outcome.trades,
            "gas": outcome.gas,
            "errors": int(outcome.status == "error"),
            "waiting": int(outcome.status == "waiting"),
            "seconds": round(seconds, 3),
            "rpc_calls": calls,
        }
