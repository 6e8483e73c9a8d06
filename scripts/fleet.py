"""`ape run fleet status`: the keeper fleet's vaults, their last rounds, drift, pending work, workers and errors.

The fleet itself runs as a silverback bot (`bots/fleet.py`: `silverback run fleet` and any number of
`silverback worker fleet`). This command reads the fleet's Redis (the same `SILVERBACK_BROKER_KWARGS` or
`FLEET_REDIS_URL`, and the deployment's queue name or `FLEET_NAMESPACE`) and the chain.
"""

import json
import os

import click
import redis
from ape import chain

from index_vault.chain.scripting import ScriptCommand
from index_vault.fleet.chain.status import fleet_rows
from index_vault.fleet.settings import broker_kwargs
from index_vault.fleet.status import format_fleet
from index_vault.fleet.store import FleetStore


@click.group()
def cli():
    """The keeper fleet: every vault of a factory, kept by silverback workers."""


@cli.command(cls=ScriptCommand)
@click.option("--redis-url", help="The fleet's Redis (default: FLEET_REDIS_URL, else the broker's url).")
@click.option("--namespace", help="The deployment's queue name (default: FLEET_NAMESPACE, else the broker's).")
@click.option("--adapter", envvar="FLEET_ADAPTER", help="The fleet's UniswapV3Adapter (for the drift read).")
@click.option("--no-chain", is_flag=True, help="Only the store's records: no chain reads.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per vault (for scraping).")
def status(redis_url, namespace, adapter, no_chain, as_json):
    """Vaults, last round per vault, drift, pending work, which worker, errors."""
    kwargs = broker_kwargs(os.environ)
    url = redis_url or os.environ.get("FLEET_REDIS_URL") or kwargs.get("url")
    ns = namespace or os.environ.get("FLEET_NAMESPACE") or kwargs.get("queue_name") or "index-vault-fleet"
    if not url:
        raise click.UsageError("no Redis: pass --redis-url or set SILVERBACK_BROKER_KWARGS / FLEET_REDIS_URL")
    store = FleetStore(redis.Redis.from_url(url, socket_timeout=10), ns)
    try:
        rows = fleet_rows(store, chain.provider.web3, adapter=adapter, chain_reads=not no_chain)
    except redis.exceptions.ConnectionError as exc:
        raise click.ClickException(f"the fleet's Redis at {url} does not answer: {exc}") from None
    if as_json:
        for r in rows:
            click.echo(json.dumps({"vault": r.vault, "symbol": r.symbol, "drift_bps": r.drift_now_bps,
                                   "wait": r.wait_now, "pending": r.pending, "running_on": r.running_on,
                                   "queued": r.queued, **r.status}))  # fmt: skip
        return
    click.echo(f"fleet {ns} at {url}: {len(rows)} vaults, head block {chain.blocks.head.number}")
    if rows:
        click.echo(format_fleet(rows))
