"""`ape run keeper run|status`: the rebalancing keeper of an index vault.

`run` plays rounds (see `index_vault.keeper.chain.keeper`): read the chain, plan, simulate each trade with eth_call,
send under a gas price cap, wait for the receipt, read again. Killed at any point and restarted, it re-plans
from the chain and never sends a second transaction while one of its account is in flight. `--dry-run`
plans and simulates only and prints the plan as a table; `--fill-auctions` also fills the vault's Dutch
auctions when reselling the lot on the DEX pays; `--execution default` sizes trades by the execution policy the
backtest uses (`index_vault.keeper.execution`: a cost-aware no-trade band, one slice within the impact budget
per asset a round, the rest on later rounds of the window). `status` shows drift per constituent, the last trades,
the gas they cost and whether the keeper would trade now.

The vault is `--vault ADDRESS`, a symbol of this network's manifest, or the manifest's only vault; its
rebalancer is the vault's; the adapter is `--adapter` or the manifest's "uniswap-v3" adapter, the quoter
`--quoter` or the manifest's (local deployments record the market's QuoterV2). Events go to
stdout, one line each (`--log-format json`: one JSON object per line; the dry run's table then goes to
stderr); a metrics summary is printed on exit, Ctrl-C included.
"""

import sys

import click
from ape.cli import account_option

from index_vault.chain.scripting import ScriptCommand, authorize, load_deployment, pick_account, unattended
from index_vault.common.sending import GWEI, RetryPolicy
from index_vault.common.units import WAD
from index_vault.keeper.chain.build import KeeperOptions, build_keeper
from index_vault.keeper.chain.config import KeeperError
from index_vault.keeper.chain.status import format_keeper_status, format_plan_table, keeper_status
from index_vault.keeper.execution import POLICIES
from index_vault.keeper.policy import LOG_FORMATS


def _keeper_options(f):
    options = [
        click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest."),
        account_option(prompt=False),
        click.option("--adapter", help="An allowlisted UniswapV3Adapter (default: the manifest's uniswap-v3)."),
        click.option(
            "--v2-adapter",
            help="An allowlisted UniswapV2Adapter (default: the manifest's uniswap-v2, if any): each trade then "
            "goes to the venue quoting more.",
        ),
        click.option(
            "--split-adapter",
            help="An allowlisted SplitAdapter over the two (default: the manifest's split, if any): a trade then "
            "goes to both venues at once when that pays more than its extra gas.",
        ),
        click.option(
            "--quoter",
            help="A Uniswap V3 QuoterV2 for expected outs (default: the manifest's; without one, the oracle less "
            "the pools' fees).",
        ),
        click.option("--swap-router", help="A Uniswap V3 SwapRouter: --fill-auctions resells its lots through it."),
        click.option("--hub", "hubs", multiple=True, help="A token two-hop routes may go through (repeatable)."),
        click.option("--band-bps", default=100, show_default=True, type=click.IntRange(0, 10_000), help="Drift band."),
        click.option("--min-trade-usd", default="100", show_default=True, help="The smallest trade worth sending."),
        click.option(
            "--slippage-bps", type=click.IntRange(0, 500), help="Min out below the oracle (default: the vault's max)."
        ),
        click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _build(
    vault_ref,
    account,
    adapter,
    v2_adapter,
    split_adapter,
    quoter,
    swap_router,
    hubs,
    band_bps,
    min_trade_usd,
    slippage_bps,
    log_format,
    **config,
):
    try:
        min_usd = float(min_trade_usd)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--min-trade-usd") from exc
    options = KeeperOptions(
        vault_ref, adapter, v2_adapter, quoter, hubs, band_bps, min_usd, slippage_bps, log_format, swap_router,
        split_adapter,
    )  # fmt: skip
    try:
        keeper = build_keeper(options, unattended(pick_account(account)), **config)
    except KeeperError as exc:
        raise click.ClickException(f"{exc} (--vault, --adapter)") from exc
    return keeper, keeper.log


@click.group()
def cli():
    """The rebalancing keeper: run it, or see what it would do."""


@cli.command(cls=ScriptCommand)
@_keeper_options
@click.option("--dry-run", is_flag=True, help="Plan and simulate only; print the plan as a table.")
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between rounds.")
@click.option("--max-rounds", type=click.IntRange(1), help="Stop after this many rounds.")
@click.option("--max-gas-gwei", type=float, help="Never send above this gas price (wait instead).")
@click.option("--priority-fee-gwei", type=float, help="The tip (default: the node's eth_maxPriorityFeePerGas).")
@click.option("--receipt-timeout", default=180.0, show_default=True, help="Seconds to wait for a receipt.")
@click.option("--fill-auctions", is_flag=True, help="Also fill the vault's Dutch auctions when reselling pays.")
@click.option("--min-fill-profit-usd", default="0", show_default=True, help="Least profit (after gas) of a fill.")
@click.option("--retries", default=6, show_default=True, type=click.IntRange(1), help="Tries of each RPC call.")
@click.option(
    "--execution",
    type=click.Choice(sorted(POLICIES)),
    default="naive",
    show_default=True,
    help="How trades are sized: naive (whole gaps) or default (cost-aware band, slices within the impact budget).",
)
@click.option("--yes", is_flag=True, help="Trade without asking (unattended).")
def run(
    dry_run,
    once,
    interval,
    max_rounds,
    max_gas_gwei,
    priority_fee_gwei,
    receipt_timeout,
    fill_auctions,
    min_fill_profit_usd,
    retries,
    execution,
    yes,
    **options,
):
    """Rebalance the vault: rounds of read, plan, simulate, send, read again."""
    keeper, log = _build(
        **options,
        dry_run=dry_run,
        max_gas_price=int(max_gas_gwei * GWEI) if max_gas_gwei is not None else None,
        priority_fee=int(priority_fee_gwei * GWEI) if priority_fee_gwei is not None else None,
        receipt_timeout=receipt_timeout,
        fill_auctions=fill_auctions,
        min_fill_profit_usd=int(float(min_fill_profit_usd) * WAD),
        retry=RetryPolicy(attempts=retries),
        execution=POLICIES[execution],
    )
    if not dry_run:
        authorize(pick_account(options["account"]), f"Run the keeper of {keeper.vault.address}", yes)
    log(
        "start",
        vault=keeper.vault.address,
        rebalancer=keeper.rebalancer.address,
        keeper=keeper.address,
        quoter=keeper.quoter.address if keeper.quoter else "none (oracle less pool fees)",
        dry_run=dry_run,
    )
    rounds = 1 if (once or dry_run) else max_rounds
    try:
        results = keeper.run(max_rounds=rounds, interval=interval)
        if dry_run and results and results[-1].snapshot is not None:
            out = sys.stderr if log.fmt == "json" else sys.stdout
            print(format_plan_table(results[-1].snapshot, results[-1]), file=out)
    except (KeyboardInterrupt, SystemExit) as exc:  # Ape turns SIGINT/SIGTERM into SystemExit(130/143)
        log("stop", reason="interrupted", code=getattr(exc, "code", 130))
        raise
    finally:
        if log.fmt == "json":
            keeper.log_summary()
        else:
            click.echo("keeper summary:\n" + keeper.metrics.format_summary())


@cli.command(cls=ScriptCommand)
@_keeper_options
@click.option("--from-block", type=int, help="Look for trades from this block (default: the vault's deployment).")
@click.option("--last", default=10, show_default=True, help="How many of the last trades to show.")
def status(from_block, last, **options):
    """Drift per constituent, the last trades, gas spent and whether the keeper would trade now."""
    keeper, _ = _build(**options)
    if from_block is None:
        record = next((r for k, r in load_deployment().records.items() if k.endswith(":IndexVault")), None)
        if record and record.get("address") == keeper.vault.address and record.get("block"):
            from_block = record["block"]
        else:
            from_block = 0
    click.echo(format_keeper_status(keeper_status(keeper, from_block=from_block, last=last)))
