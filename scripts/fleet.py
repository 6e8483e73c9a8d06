"""`ape run fleet status|bench`: the keeper fleet's vaults, their last rounds, drift, pending work, workers and errors.

The fleet itself runs as a silverback bot (`bots/fleet.py`: `silverback run fleet` and any number of
`silverback worker fleet`). `status` reads the fleet's Redis (the same `SILVERBACK_BROKER_KWARGS` or
`FLEET_REDIS_URL`, and the deployment's queue name or `FLEET_NAMESPACE`) and the chain. `bench` measures the
fleet on a local chain (`index_vault.fleet.chain.bench`).
"""

import json
import os
from pathlib import Path

import click
import redis
from ape import chain

from index_vault.chain.scripting import ScriptCommand, is_local
from index_vault.common.report import table
from index_vault.fleet.chain.bench import run_bench
from index_vault.fleet.chain.status import fleet_rows
from index_vault.fleet.settings import broker_kwargs
from index_vault.fleet.status import format_fleet, sizing
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


@cli.command(cls=ScriptCommand)
@click.option("--assets", default=10, show_default=True, type=click.IntRange(2, 50), help="Constituents (N).")
@click.option("--vaults", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--keepers", default=8, show_default=True, type=click.IntRange(1, 8), help="Keeper accounts.")
@click.option("--passes", default=3, show_default=True, type=click.IntRange(1), help="Idle passes timed.")
@click.option("--block-seconds", default=12.0, show_default=True, help="For the sizing: the chain's block time.")
@click.option("--out", type=click.Path(file_okay=False), default="build/fleet-bench", show_default=True)
def bench(assets, vaults, keepers, passes, block_seconds, out):
    """Vault rounds per worker per minute (nothing to trade, with trades), RPC calls per vault per block, and
    what 1,000 vaults need. A local chain only: it builds its own market, factory and vaults."""
    if not is_local():
        raise click.UsageError("the benchmark builds its own market: run it on a local chain")
    phases = run_bench(assets=assets, vaults=vaults, keepers=keepers, passes=passes, workdir=Path(out),
                       echo=click.echo)  # fmt: skip
    rows = [[p.name, str(p.rounds), f"{p.seconds:.1f}", f"{p.per_minute:.1f}", f"{p.rpc_per_round:.1f}",
             str(p.trades)] for p in phases]  # fmt: skip
    click.echo(f"one worker process (-w 1), {vaults} vaults of N = {assets}:")
    headers = ["rounds", "count", "seconds", "rounds / worker / min", "RPC calls / round", "trades"]
    click.echo(table(headers, rows, right={1, 2, 3, 4, 5}))
    for phase in phases:
        size = sizing(1000, rounds_per_worker_minute=phase.per_minute, rpc_per_round=phase.rpc_per_round,
                      block_seconds=block_seconds)  # fmt: skip
        name = phase.name if phase.trades == 0 else "every round trading"
        click.echo(
            f"1,000 vaults, a round each per {block_seconds:g} s block, {name}: {size.rounds_per_minute:,.0f} rounds "
            f"a minute, {size.workers} single-thread workers (2x headroom), {size.rpc_per_second:,.0f} RPC calls a s"
        )
