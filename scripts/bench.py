"""`ape run bench` (what `make bench` runs): gas of the vault's flows beside its peers and its floor.

The harness is `index_vault.bench.chain` (what is measured, and how the figures are made repeatable); the
targets and the report are `index_vault.bench.report`. Writes bench/results/gas.json and gas.md.
"""

import time
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from index_vault.bench.chain import BenchError, run_bench
from index_vault.bench.report import write_results
from index_vault.chain.scripting import is_local

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


@click.command(cls=ConnectedProviderCommand)
@click.option("--sizes", default="2,5,10,20,50", show_default=True, help="Basket sizes of the in-kind flows.")
@click.option("--nav-sizes", default="2,10,50", show_default=True, help="Basket sizes of the NAV-priced flows.")
def cli(sizes, nav_sizes):
    """Measure the vault's gas beside its peers at each basket size; write bench/results/."""
    if not is_local():
        raise click.UsageError("the benchmark deploys test tokens: run it on a local chain")
    logger.set_level("WARNING")
    started = time.monotonic()

    def progress(text: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.0f} s] {text}")

    try:
        rows = run_bench([int(s) for s in sizes.split(",") if s], [int(s) for s in nav_sizes.split(",") if s], progress)
    except BenchError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(write_results(rows, RESULTS))
    progress("done: bench/results/gas.json, gas.md")
