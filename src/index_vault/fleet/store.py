"""What the fleet keeps in Redis: coordination only, every bit of it re-derivable from the chain.

Keys, all under the deployment's namespace `NS`:

- `NS:vaults` (hash): vault -> JSON of its registry entry (rebalancer, factory index, creation block), and
  `NS:cursor`: the last block the registry scan has read. Lost (a Redis without persistence restarted), the scan
  starts again from the start block.
- `NS:lease:vault:V`, `NS:lease:account:A`, `NS:lease:registry`: leases (`index_vault.fleet.lease`); a round holds
  its vault's and its keeper account's.
- `NS:queued:V`: a round of V is in the queue (set when dispatched, cleared when a worker starts it; expires).
- `NS:keeper:V`: which configured account holds V's keeper role (checked again by every round).
- `NS:status:V` (hash): the last round of V (`index_vault.fleet.status.RoundRecord`) and counters.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from index_vault.fleet.lease import Lease, holder_of

COUNTERS = ("rounds", "trades_total", "starts_total", "refreshes_total", "errors_total", "waits_total", "gas_total")


@dataclass(frozen=True)
class VaultEntry:
    """One vault of the factory's registry, as its `VaultCreated` event says."""

    vault: str
    rebalancer: str
    index: int
    block: int
    symbol: str = ""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class FleetStore:
    """The fleet's keys in `redis` (a redis-py client) under `namespace`."""

    def __init__(self, redis: Any, namespace: str):
        self.redis, self.ns = redis, namespace

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *(p.lower() if p.startswith("0x") else p for p in parts)))

    # --- the registry -------------------------------------------------------------------------------------

    def vaults(self) -> dict[str, VaultEntry]:
        """Every vault found so far, by address, in factory order."""
        raw = self.redis.hgetall(self.key("vaults"))
        entries = [VaultEntry(**json.loads(_text(v))) for v in raw.values()]
        return {e.vault: e for e in sorted(entries, key=lambda e: e.index)}

    def entry(self, vault: str) -> VaultEntry | None:
        raw = self.redis.hget(self.key("vaults"), vault.lower())
        return VaultEntry(**json.loads(_text(raw))) if raw is not None else None

    def add_vaults(self, entries: Iterable[VaultEntry], cursor: int) -> None:
        """Records `entries` and moves the scan's cursor to `cursor`, in one transaction."""
        pipe = self.redis.pipeline()
        for e in entries:
            pipe.hset(self.key("vaults"), e.vault.lower(), json.dumps(asdict(e)))
        pipe.set(self.key("cursor"), cursor)
        pipe.execute()

    def cursor(self) -> int | None:
        value = self.redis.get(self.key("cursor"))
        return int(value) if value is not None else None

    # --- leases and the queue -------------------------------------------------------------------------------

    def lease(self, kind: str, name: str, token: str, ttl: float) -> Lease:
        return Lease(self.redis, self.key("lease", kind, name), token, ttl)

    def holder(self, kind: str, name: str) -> str | None:
        """The worker holding the lease, or None."""
        return holder_of(self.redis.get(self.key("lease", kind, name)))

    def mark_queued(self, vault: str, block: int, ttl: float) -> bool:
        """Marks a round of `vault` as queued unless one already is; True when marked (then dispatch it)."""
        return bool(self.redis.set(self.key("queued", vault), block, nx=True, px=max(int(ttl * 1000), 1)))

    def clear_queued(self, vault: str) -> None:
        self.redis.delete(self.key("queued", vault))

    def busy(self, vaults: Iterable[str]) -> set[str]:
        """The vaults among `vaults` with a round queued or running."""
        vaults = list(vaults)
        if not vaults:
            return set()
        pipe = self.redis.pipeline()
        for v in vaults:
            pipe.exists(self.key("queued", v), self.key("lease", "vault", v))
        return {v for v, n in zip(vaults, pipe.execute(), strict=True) if n}

    def queued(self, vault: str) -> bool:
        return bool(self.redis.exists(self.key("queued", vault)))

    # --- keepers and status ---------------------------------------------------------------------------------

    def keeper_of(self, vault: str) -> str | None:
        value = self.redis.get(self.key("keeper", vault))
        return _text(value) if value is not None else None

    def set_keeper(self, vault: str, account: str | None) -> None:
        if account is None:
            self.redis.delete(self.key("keeper", vault))
        else:
            self.redis.set(self.key("keeper", vault), account)

    def record_round(self, vault: str, fields: Mapping[str, Any], counters: Mapping[str, int]) -> None:
        """Writes the last round's `fields` and adds `counters` to the vault's totals, in one transaction."""
        pipe = self.redis.pipeline()
        key = self.key("status", vault)
        pipe.hset(key, mapping={k: "" if v is None else str(v) for k, v in fields.items()})
        for name, amount in counters.items():
            if amount:
                pipe.hincrby(key, name, int(amount))
        pipe.execute()

    def status(self, vault: str) -> dict[str, str]:
        return {_text(k): _text(v) for k, v in self.redis.hgetall(self.key("status", vault)).items()}
