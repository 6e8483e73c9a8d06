"""`ape run dashboard [serve] | bench | screenshot`: the web dashboard of this network's vaults.

`ape run dashboard` serves the page for the manifest's vaults and the factory's (`--network` the Ape way; on
a persistent local chain prefix `APE_FOUNDRY_HOST=http://127.0.0.1:PORT`) on 127.0.0.1 and a free port, and
prints its URL. `bench` (local chains) builds vaults of 10 and 50 constituents with 90 days of history and
prints the time to a fully drawn page in headless Chromium and the RPC calls of one page view; `screenshot`
builds a demo vault and writes a picture of the page.
"""

from pathlib import Path

import click
from ape import networks

from index_vault.chain.scripting import ScriptCommand, is_local, load_deployment
from index_vault.dashboard.chain.backend import ChainBackend, error_words
from index_vault.dashboard.chain.reads import Sources
from index_vault.dashboard.chain.rpc import Rpc
from index_vault.dashboard.server import Dashboard


class _ServeByDefault(click.Group):
    """`ape run dashboard [--network ...]` means `ape run dashboard serve [--network ...]`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


def manifest_backend(rpc: Rpc) -> ChainBackend:
    """The backend over this network's manifest: its vaults, Governor, factory, index-token pools, zaps, the
    arbitrage contract, and the Uniswap V3 adapter and quoter the zaps' legs use."""
    deployment = load_deployment()
    starts = {}
    for key, record in deployment.records.items():
        symbol = key.split(":", 1)[0]
        if symbol in deployment.vaults and record.get("block") is not None:
            address = deployment.vaults[symbol]
            starts[address] = min(starts.get(address, record["block"]), record["block"])
    by_symbol = deployment.vaults
    sources = Sources(
        governor=deployment.governor,
        # recorded by the index-token pool and zap deployments when they exist (by vault symbol)
        index_pools={
            by_symbol[s]: a for s, a in (getattr(deployment, "index_pools", None) or {}).items() if s in by_symbol
        },
        zaps={by_symbol[s]: a for s, a in (getattr(deployment, "zaps", None) or {}).items() if s in by_symbol},
        start_blocks=starts,
        arbitrage=deployment.arbitrage,
        adapter=deployment.adapters.get("uniswap-v3"),
        quoter=deployment.quoters.get("uniswap-v3"),
    )
    return ChainBackend(rpc, deployment.vaults, sources, deployment.factory)


def provider_uri() -> str:
    uri = getattr(networks.provider, "uri", None) or getattr(networks.provider, "http_uri", None)
    if not uri or not str(uri).startswith("http"):
        raise click.ClickException("the dashboard reads through an HTTP JSON-RPC endpoint; this network has none")
    return str(uri)


@click.group(cls=_ServeByDefault)
def cli():
    """The web dashboard: NAV, composition, fees, governance, trades and wallet actions of the vaults."""


@cli.command(cls=ScriptCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=0, help="Port (default: a free one).")
def serve(host, port):
    """Serve the dashboard until interrupted; prints its URL."""
    dashboard = Dashboard(manifest_backend(Rpc(provider_uri())), host, port, errors=error_words)
    click.echo(f"dashboard at {dashboard.url} (Ctrl-C stops it)", err=False)
    try:
        dashboard.serve()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.httpd.server_close()


@cli.command(cls=ScriptCommand)
@click.option("--sizes", default="10,50", show_default=True, help="Constituents of each vault measured.")
@click.option("--days", type=int, default=90, show_default=True, help="Days of history built before measuring.")
@click.option("--views", type=int, default=3, show_default=True, help="Page views timed per vault (median).")
def bench(sizes, days, views):
    """Time to a fully drawn page and RPC calls per page view, at each size (local chains only)."""
    from index_vault.dashboard.chain.bench import run_bench

    if not is_local():
        raise click.UsageError("the benchmark builds vaults of test tokens: run it on a local chain")
    for line in run_bench([int(s) for s in sizes.split(",")], days, views, provider_uri(), echo=click.echo):
        click.echo(line)


@cli.command(cls=ScriptCommand)
@click.option("--out", default="docs/img/dashboard.png", show_default=True, type=click.Path(dir_okay=False))
@click.option("--days", type=int, default=30, show_default=True, help="Days of history built first.")
def screenshot(out, days):
    """Build the demo basket with some history and trades on the local chain and write a picture of the page."""
    from index_vault.dashboard.chain.bench import take_screenshot

    if not is_local():
        raise click.UsageError("the screenshot builds a demo vault: run it on a local chain")
    take_screenshot(Path(out), days, provider_uri(), echo=click.echo)
    click.echo(f"wrote {out}")
