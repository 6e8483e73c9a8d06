"""`ape run market`: a local market from real bytecode, priced from the daily panel.

    ape run market build --date 2022-06-01 --assets ETH,BTC,LINK --out DIR [--dump DIR/state.json]
    ape run market advance --to 2022-06-15 --book DIR/address_book.json
    ape run market refresh [--vault SYMBOL] [--account A --yes]

`refresh` re-posts the test feeds of a vault's oracle at their last answer, stamped now: on a persistent
local chain the feeds go stale a day after they were last written, and the vault's NAV path halts.

`build` deploys on the network given (default: a local anvil) and writes `DIR/address_book.json`. With
`--dump FILE` it starts its own anvil (`--port 0 --dump-state FILE`), builds on it through a child
`ape run market build`, stops it with SIGINT so anvil writes the state, and reports the time and file size;
`anvil --load-state FILE` then serves the market again.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from ape import accounts, chain, networks, project
from ape.cli import ConnectedProviderCommand, account_option
from eth_utils import to_checksum_address

from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    contract_at,
    is_local,
    pick_account,
    resolve_vault_address,
)
from index_vault.cli_options import liquidity_option
from index_vault.common.anvil import AnvilError, start_anvil, stop_anvil
from index_vault.common.artifacts import project_root
from index_vault.market.chain.build import advance_market, build_market
from index_vault.market.model import MarketDataError, load_panel, plan_market, read_address_book
from index_vault.oracle.chain.feeds import refresh_feeds

LOCAL_FOUNDRY = "ethereum:local:foundry"
BOOK_NAME = "address_book.json"


def _assets(text: str) -> list[str]:
    return [a.strip().upper() for a in text.split(",") if a.strip()]


@click.group()
def cli():
    """Build a local market (tokens, Chainlink feeds, Uniswap V3 pools and V2 pairs, whales), move it in time."""


@cli.command(cls=ScriptCommand)
@click.option("--date", "day", required=True, help="The panel day to price the market at (YYYY-MM-DD).")
@click.option("--assets", required=True, help="Index assets, comma-separated (USDC is always added).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for address_book.json.")
@click.option("--dump", type=click.Path(dir_okay=False), help="Build on a fresh anvil and dump its state here.")
@liquidity_option("How deep the pools are: the liquidity model's variant, or the legacy rule.")
@account_option(prompt=False)
def build(day, assets, out, dump, liquidity, account):
    """Deploy the market of ASSETS at DATE's prices on a local chain; write OUT/address_book.json."""
    try:
        plan = plan_market(day, _assets(assets), load_panel(), liquidity)
    except (MarketDataError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc
    if dump:
        _build_and_dump(plan.date, ",".join(plan.assets), Path(out), Path(dump), liquidity)
        return
    if not is_local():
        raise click.UsageError("build deploys test tokens and sets balances: local chains only")
    started = time.monotonic()
    book = build_market(plan, pick_account(account), echo=click.echo)
    path = book.write_address_book(Path(out) / BOOK_NAME)
    elapsed = time.monotonic() - started
    pools = f"{len(book.pools)} V3 pools and {len(book.v2_pairs)} V2 pairs"
    click.echo(f"built {pools} on chain {book.chain_id} in {elapsed:.1f} s")
    click.echo(f"address book: {path}")


def _ape() -> str:
    """The `ape` executable of this environment (next to the interpreter, else on PATH)."""
    beside = Path(sys.executable).parent / "ape"
    return str(beside) if beside.is_file() else (shutil.which("ape") or "ape")


def _build_and_dump(day: str, assets: str, out: Path, dump: Path, liquidity: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dump.parent.mkdir(parents=True, exist_ok=True)
    dump.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "anvil.log"
        started = time.monotonic()
        try:
            proc, port = start_anvil(["--dump-state", str(dump.resolve())], log)
        except AnvilError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            host = f"http://127.0.0.1:{port}"
            click.echo(f"anvil (pid {proc.pid}) on {host}, state to {dump}")
            command = ["run", "market", "build", "--date", day, "--assets", assets, "--out", str(out.resolve())]
            command += ["--liquidity", liquidity]
            child = subprocess.run(
                [_ape(), *command, "--network", LOCAL_FOUNDRY],
                cwd=project_root(),
                env={**os.environ, "APE_FOUNDRY_HOST": host},
                check=False,
            )
            built = time.monotonic() - started
        finally:
            code = stop_anvil(proc)
        if child.returncode != 0:
            raise click.ClickException(f"the build on anvil failed (exit {child.returncode})")
        if not dump.is_file() or dump.stat().st_size == 0:
            raise click.ClickException(f"anvil (exit {code}) wrote no state to {dump}:\n{log.read_text()[-2000:]}")
    click.echo(f"build took {built:.1f} s (anvil start, ape start-up and deployment)")
    click.echo(f"state: {dump} ({dump.stat().st_size:,} bytes); serve it with `anvil --load-state {dump}`")


@cli.command(cls=ScriptCommand)
@click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest (default: its only vault).")
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Send without asking (unattended).")
def refresh(vault_ref, account, yes):
    """Post fresh prices (the last answers, stamped now) to the test feeds of a vault's oracle: local chains."""
    if not is_local():
        raise click.UsageError("refresh writes test feeds: local chains only (live feeds are their providers')")
    vault = contract_at(project.IndexVault, resolve_vault_address(vault_ref), "--vault", "LOCKED_SHARES")
    router = project.OracleRouter.at(vault.oracle())
    sender = pick_account(account)
    click.echo(f"re-post the test feeds of {vault.symbol()}'s oracle at their last answers")
    authorize(sender, "Refresh the feeds", yes)
    try:
        refreshed = refresh_feeds(router, [str(a) for a in vault.assets()], sender)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{len(refreshed)} feeds of {vault.symbol()}'s oracle re-posted at block time {chain.blocks.head.timestamp}"
    )


@cli.command(cls=ConnectedProviderCommand)
@click.option("--to", "day", required=True, help="The panel day to move the market to (YYYY-MM-DD).")
@click.option("--book", required=True, type=click.Path(exists=True, dir_okay=False), help="The address book.")
def advance(day, book):
    """Move the market in BOOK to DATE: feeds, V3 pools and V2 pairs (arbitraged by real swaps) to its prices."""
    if not is_local():
        raise click.UsageError("advance mints tokens to arbitrage: local chains only")
    try:
        address_book = read_address_book(book)
        weth = to_checksum_address(address_book.uniswap["weth"])
        if not networks.provider.get_code(weth):
            raise MarketDataError(f"no contract at WETH {weth}: is this the chain the book was built on?")
        updated = advance_market(address_book, day, accounts.test_accounts[0], load_panel(), echo=click.echo)
    except (MarketDataError, KeyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    updated.write_address_book(book)
    click.echo(f"market at {updated.date}; address book: {book}")
