"""The fleet's settings, read from the environment the silverback bot and its workers share.

Silverback itself is configured by its own variables (`SILVERBACK_BROKER_CLASS`, `SILVERBACK_BROKER_KWARGS` as
JSON, `SILVERBACK_RESULT_BACKEND_CLASS`, `SILVERBACK_RESULT_BACKEND_KWARGS`); the fleet reads the broker's Redis
URL and queue name from `SILVERBACK_BROKER_KWARGS` unless `FLEET_REDIS_URL` / `FLEET_NAMESPACE` say otherwise. The
queue name is the deployment's namespace: silverback's task names are not namespaced per bot, so two deployments
on one Redis must have two queues, and the fleet's own keys live under the same name.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass


class FleetConfigError(ValueError):
    """A setting the fleet cannot run with, and which one."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _number(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise FleetConfigError(f"{name}={text!r} is not a number") from None


def broker_kwargs(env: Mapping[str, str]) -> dict:
    """`SILVERBACK_BROKER_KWARGS` decoded (empty when unset)."""
    text = (env.get("SILVERBACK_BROKER_KWARGS") or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FleetConfigError(f"SILVERBACK_BROKER_KWARGS is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FleetConfigError("SILVERBACK_BROKER_KWARGS must be a JSON object")
    return value


@dataclass(frozen=True)
class FleetSettings:
    """Where the fleet coordinates, which vaults it keeps, how, and with which accounts."""

    redis_url: str
    namespace: str
    factory: str
    start_block: int = 0
    keepers: tuple[str, ...] = ()  # account aliases (TEST::n on local chains); a vault's is the one with its role
    adapter: str | None = None  # an allowlisted UniswapV3Adapter (one per chain serves every vault)
    v2_adapter: str | None = None
    split_adapter: str | None = None  # a SplitAdapter over the two: a trade on both venues when that pays its gas
    quoter: str | None = None
    swap_router: str | None = None
    band_bps: int = 100
    min_trade_usd: float = 100.0
    slippage_bps: int | None = None
    max_gas_gwei: float | None = None
    every_blocks: int = 1  # a vault's round every this many blocks (spread over the blocks by address)
    lease_seconds: float = 30.0  # a dead worker's vault waits at most this long for another
    max_round_seconds: float = 600.0  # a round's leases are renewed at most this long
    queued_seconds: float = 120.0  # a dispatched round that no worker started is dispatched again after this
    receipt_timeout: float = 120.0
    page_blocks: int = 5_000  # blocks per eth_getLogs of the registry scan
    dry_run: bool = False
    log_format: str = "json"

    def __post_init__(self) -> None:
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise FleetConfigError(f"the fleet's Redis URL {self.redis_url!r} is not a redis:// URL")
        if not self.factory:
            raise FleetConfigError("FLEET_FACTORY is not set: the VaultFactory whose vaults the fleet keeps")
        if self.every_blocks < 1 or self.lease_seconds <= 0 or self.page_blocks < 1:
            raise FleetConfigError("FLEET_EVERY_BLOCKS and FLEET_PAGE_BLOCKS >= 1, FLEET_LEASE_SECONDS > 0")
        if self.receipt_timeout >= self.max_round_seconds:
            raise FleetConfigError("FLEET_RECEIPT_TIMEOUT must be shorter than FLEET_MAX_ROUND_SECONDS")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "FleetSettings":
        """The settings of `env` (default: `os.environ`); raises `FleetConfigError` naming a bad variable."""
        env = os.environ if env is None else env
        kwargs = broker_kwargs(env)
        url = env.get("FLEET_REDIS_URL") or kwargs.get("url") or ""
        namespace = env.get("FLEET_NAMESPACE") or kwargs.get("queue_name") or "index-vault-fleet"
        keepers = tuple(k.strip() for k in (env.get("FLEET_KEEPERS") or "").split(",") if k.strip())
        slippage = _number(env, "FLEET_SLIPPAGE_BPS", None)
        return cls(
            redis_url=url,
            namespace=namespace,
            factory=(env.get("FLEET_FACTORY") or "").strip(),
            start_block=int(_number(env, "FLEET_START_BLOCK", 0)),
            keepers=keepers,
            adapter=env.get("FLEET_ADAPTER") or None,
            v2_adapter=env.get("FLEET_V2_ADAPTER") or None,
            split_adapter=env.get("FLEET_SPLIT_ADAPTER") or None,
            quoter=env.get("FLEET_QUOTER") or None,
            swap_router=env.get("FLEET_SWAP_ROUTER") or None,
            band_bps=int(_number(env, "FLEET_BAND_BPS", 100)),
            min_trade_usd=_number(env, "FLEET_MIN_TRADE_USD", 100.0),
            slippage_bps=int(slippage) if slippage is not None else None,
            max_gas_gwei=_number(env, "FLEET_MAX_GAS_GWEI", None),
            every_blocks=int(_number(env, "FLEET_EVERY_BLOCKS", 1)),
            lease_seconds=_number(env, "FLEET_LEASE_SECONDS", 30.0),
            max_round_seconds=_number(env, "FLEET_MAX_ROUND_SECONDS", 600.0),
            queued_seconds=_number(env, "FLEET_QUEUED_SECONDS", 120.0),
            receipt_timeout=_number(env, "FLEET_RECEIPT_TIMEOUT", 120.0),
            page_blocks=int(_number(env, "FLEET_PAGE_BLOCKS", 5_000)),
            dry_run=_flag(env.get("FLEET_DRY_RUN")),
            log_format=env.get("FLEET_LOG_FORMAT") or "json",
        )
