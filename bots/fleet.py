"""The keeper fleet as one silverback bot: every vault of a factory kept on target by any number of workers.

    # the client: one process, follows the chain and dispatches
    silverback run fleet --network ethereum:mainnet:node
    # the workers: as many processes, on as many hosts, as the fleet needs
    silverback worker fleet --network ethereum:mainnet:node -w 2

Every process gets the same environment: silverback's broker and result backend (Redis, through
`index_vault.fleet.broker`, with the deployment's own queue name) and the fleet's settings
(`index_vault.fleet.settings.FleetSettings`: `FLEET_FACTORY`, `FLEET_START_BLOCK`, `FLEET_KEEPERS`,
`FLEET_ADAPTER`...). On each new block the client sends `dispatch` to a worker, which reads the factory's new
`VaultCreated` events into the store and queues a `fleet_vault_round` task for every vault whose round is due and
neither queued nor running; any worker takes any of them (`index_vault.fleet.chain.round`: the vault's lease and
its keeper account's, the keeper's round, its record). Workers keep nothing a round needs: the chain is the truth,
Redis holds only coordination. `ape run fleet status` shows the fleet.
"""

import asyncio
import logging
from typing import Any

import redis
from ape import accounts, chain
from silverback import SilverbackBot
from silverback.main import SharedState

from index_vault.chain.scripting import unattended
from index_vault.fleet.chain.registry import sync
from index_vault.fleet.chain.round import FleetWorker, worker_name
from index_vault.fleet.schedule import dispatch as due_vaults
from index_vault.fleet.settings import FleetSettings
from index_vault.fleet.store import FleetStore

bot = SilverbackBot()
# Silverback loads its state snapshot on one worker only; its block handler's checkpoint writes `bot.state` on
# every worker. The fleet keeps nothing there: an empty state on the others.
bot.state = SharedState()
settings = FleetSettings.from_env()
store = FleetStore(
    redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=15),
    settings.namespace,
)
logger = logging.getLogger("index_vault.fleet")
_worker: FleetWorker | None = None


def _account(alias: str):
    if alias.startswith("TEST::"):
        return accounts.test_accounts[int(alias.removeprefix("TEST::"))]
    return unattended(accounts.load(alias))  # its passphrase in APE_ACCOUNTS_<alias>_PASSPHRASE


def worker() -> FleetWorker:
    """This process's `FleetWorker`, made on first use (the keeper accounts are loaded then)."""
    global _worker
    if _worker is None:
        _worker = FleetWorker(settings, store, [_account(a) for a in settings.keepers], chain.provider.web3)
    return _worker


def fleet_vault_round(vault: str, block: int) -> dict[str, Any]:
    """One vault's keeper round, on whichever worker took the task."""
    return worker().run_round(vault, block)


vault_round = bot.broker.register_task(fleet_vault_round, task_name="fleet_vault_round")


def _due(block: int) -> tuple[int, int, list[str], int]:
    added = sync(store, chain.provider.web3, settings, block, worker_name())
    vaults = list(store.vaults())
    busy = store.busy(vaults)
    marked = [v for v in due_vaults(vaults, block, settings.every_blocks, busy)
              if store.mark_queued(v, block, settings.queued_seconds)]  # fmt: skip
    return added, len(vaults), marked, len(busy)


@bot.on_(chain.blocks)
async def dispatch(block) -> dict[str, Any]:
    """Reads new vaults from the registry and queues the rounds this block is due for."""
    try:
        added, count, marked, busy = await asyncio.to_thread(_due, block.number)
        for vault in marked:
            await vault_round.kiq(vault, block.number)
    except Exception as exc:  # never halt the client: the next block tries again
        logger.error("dispatch at block %s failed: %s: %s", block.number, type(exc).__name__, exc)
        return {"dispatch_errors": 1}
    return {"vaults": count, "new_vaults": added, "dispatched": len(marked), "busy": busy}
