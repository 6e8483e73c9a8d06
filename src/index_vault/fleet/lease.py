"""Leases in Redis: at most one holder of a name at a time, for a bounded time unless renewed.

A lease is a Redis key holding its holder's token, set with `SET NX PX` (only if nobody holds it, expiring after
`ttl`). Renewal and release compare the token first (one Lua script each, atomic in Redis), so a holder whose
lease expired and was taken by another can neither extend nor delete the new holder's. A worker killed while
holding a lease stops renewing it and the lease expires `ttl` after its last renewal.

`Lease.check(margin)` is the fence a worker crosses before it broadcasts a transaction: it renews the lease and
raises `LeaseLost` unless the lease is still this holder's. `Heartbeat` renews leases from a thread while a round
runs, for at most `max_hold` seconds (a stuck round lets its leases go).
"""

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLost(RuntimeError):  # noqa: N818 - what happened, as `Wait` and `Reverted`
    """The lease is no longer this holder's (it expired, or Redis lost it): stop before sending anything."""


def new_token(worker: str) -> str:
    """A holder's token: the worker's name (shown by `fleet status`) and a random part (unique per acquisition)."""
    return f"{worker}/{uuid.uuid4().hex[:12]}"


def holder_of(token: str | bytes | None) -> str | None:
    """The worker named in a lease token, or None when nobody holds it."""
    if token is None:
        return None
    text = token.decode() if isinstance(token, bytes) else token
    return text.rpartition("/")[0] or text


class Lease:
    """One lease on `key` in `redis` (a redis-py client) for `ttl` seconds, held by `token`."""

    def __init__(self, redis: Any, key: str, token: str, ttl: float):
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")
        self.redis, self.key, self.token, self.ttl = redis, key, token, ttl
        self.held = False

    @property
    def ttl_ms(self) -> int:
        return max(int(self.ttl * 1000), 1)

    def acquire(self) -> bool:
        """Takes the lease if nobody holds it; True when taken."""
        self.held = bool(self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def renew(self) -> bool:
        """Extends the lease to `ttl` from now if it is still this holder's; False (and not held) otherwise."""
        self.held = bool(self.redis.eval(RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    def check(self) -> None:
        """Renews the lease, or raises `LeaseLost` (the fence before a broadcast)."""
        if not self.renew():
            raise LeaseLost(f"the lease {self.key} is no longer held by {holder_of(self.token)}")

    def release(self) -> bool:
        """Gives the lease up if it is still this holder's; True when it was."""
        released = bool(self.redis.eval(RELEASE, 1, self.key, self.token))
        self.held = False
        return released


def acquire_all(leases: Sequence[Lease]) -> Lease | None:
    """Takes every lease in order, or none: returns None when all were taken, else the first one held by another
    (the ones taken before it are released). Never waits, so two workers cannot deadlock."""
    taken: list[Lease] = []
    for lease in leases:
        if not lease.acquire():
            for done in reversed(taken):
                done.release()
            return lease
        taken.append(lease)
    return None


class Heartbeat:
    """Renews `leases` every `ttl / 3` seconds from a daemon thread until stopped or for at most `max_hold`
    seconds; `on_error(exc)` is told of a renewal that raised (Redis down: the leases then expire by themselves)."""

    def __init__(
        self,
        leases: Sequence[Lease],
        *,
        max_hold: float,
        on_error: Callable[[BaseException], None] = lambda _exc: None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.leases, self.max_hold, self.on_error, self.clock = list(leases), max_hold, on_error, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return min(lease.ttl for lease in self.leases) / 3

    def _run(self) -> None:
        deadline = self.clock() + self.max_hold
        while not self._stop.wait(self.interval):
            if self.clock() >= deadline:
                return
            for lease in self.leases:
                try:
                    lease.renew()
                except Exception as exc:  # the round's own fence decides; the heartbeat only keeps trying
                    self.on_error(exc)

    def __enter__(self) -> "Heartbeat":
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
