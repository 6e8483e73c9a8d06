"""`ape run arbitrage setup|status|run`: the index token on a DEX, and the arbitrageur that holds its price at NAV.

`setup` puts a vault's index token on a Uniswap V3 pool (0.05%) against a quote token, opened at NAV with a
full-range position of `--shares` and their NAV in the quote token from the account, and deploys the zap and the
arbitrage contract where the manifest records none; it records all three. `status` shows the pool's price against
NAV and what a round would do. `run` plays rounds (see `index_vault.arbitrage.chain.arbitrageur`): read the pool and
the NAV, plan, simulate, send one atomic cycle, read again; killed at any point and restarted, it never sends a
second cycle while one of its account is in flight.
"""

import time
from fractions import Fraction

import click
from ape import project
from ape.cli import account_option

from index_vault.arbitrage.chain.build import ArbitrageError, ArbitrageOptions, build_arbitrageur
from index_vault.arbitrage.chain.pools import INDEX_POOL_FEE, nav_in_quote, seed_index_pool
from index_vault.arbitrage.planner import NONE, plan_cycle
from index_vault.chain.contracts import erc20_at, npm_container, vault_at
from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    checked_address,
    is_local,
    load_deployment,
    pick_account,
    resolve_vault_address,
    save_deployment,
    unattended,
)
from index_vault.market.chain.uniswap_v3 import UniswapV3

ZAP_BOUND_BPS, ZAP_PRICE_AGE = 100, 3_600


def _options(f):
    options = [
        click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest."),
        account_option(prompt=False),
        click.option("--band-bps", default=50, show_default=True, type=click.IntRange(1, 2_000), help="The band."),
        click.option("--min-profit", default=0, show_default=True, help="Least profit a cycle (quote base units)."),
        click.option("--fee", default=3000, show_default=True, help="V3 fee tier of the constituents' pools."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _build(vault_ref, account, band_bps, min_profit, fee, dry_run=False):
    options = ArbitrageOptions(vault=vault_ref, band_bps=band_bps, min_profit=min_profit, fee=fee)
    try:
        return build_arbitrageur(options, unattended(pick_account(account)), dry_run=dry_run)
    except ArbitrageError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def cli():
    """The index token on a DEX, and the arbitrageur that holds its price at NAV."""


@cli.command(cls=ScriptCommand)
@click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest.")
@account_option(prompt=False)
@click.option("--shares", required=True, type=float, help="Whole shares the account puts in the pool.")
@click.option("--quote", default="USDC", show_default=True, help="The quote token: a manifest symbol or an address.")
@click.option("--position-manager", help="Uniswap V3's NonfungiblePositionManager (default: the manifest's).")
@click.option("--yes", is_flag=True, help="Send without asking.")
def setup(vault_ref, account, shares, quote, position_manager, yes):
    """Put the vault's token on a V3 pool at NAV; deploy the zap and the arbitrage contract; record them."""
    vault = vault_at(resolve_vault_address(vault_ref))
    deployment = load_deployment()
    symbol = next((s for s, a in deployment.vaults.items() if a.lower() == vault.address.lower()), vault.symbol())
    quote_address = deployment.tokens.get(quote) or checked_address(quote, "--quote")
    manager = position_manager or deployment.uniswap.get("position_manager")
    if not manager:
        raise click.UsageError("no NonfungiblePositionManager in the manifest: pass --position-manager")
    units = int(Fraction(str(shares)) * 10**18)
    account = pick_account(account)
    oracle = project.OracleRouter.at(vault.oracle())
    amount = int(units * nav_in_quote(vault, oracle, quote_address))
    quote_token = erc20_at(quote_address)
    if vault.balanceOf(account) < units:
        raise click.ClickException(f"{account.address} holds fewer than {shares} shares (`ape run vault mint`)")
    fee = f"{INDEX_POOL_FEE / 10_000:g}%"
    click.echo(f"pool of {symbol} against {quote} at {fee}: {shares} shares and {amount} base units of {quote}")
    account = authorize(account, f"Seed the index pool of {symbol} and deploy its zap", yes)
    if quote_token.balanceOf(account) < amount and is_local():  # a local market's test token
        npm_container("StandardTokenMock").at(quote_address).mint(account, amount, sender=account)
    if quote_token.balanceOf(account) < amount:
        raise click.ClickException(f"{account.address} holds less than the {amount} base units of {quote} needed")
    manager_contract = npm_container("NonfungiblePositionManager").at(manager)
    uni = UniswapV3(
        factory=npm_container("UniswapV3Factory").at(manager_contract.factory()),
        position_manager=manager_contract,
        swap_router=None,
        quoter_v2=None,
        weth=manager_contract.WETH9(),
    )
    pool = seed_index_pool(uni, vault, oracle, quote_address, units, account)
    zap = deployment.zaps.get(symbol) or project.Zap.deploy(ZAP_BOUND_BPS, ZAP_BOUND_BPS, ZAP_PRICE_AGE, sender=account)
    arbitrage = deployment.arbitrage or project.IndexArbitrage.deploy(sender=account).address
    deployment = load_deployment()  # as it is now
    deployment.index_pools[symbol] = pool.address
    deployment.zaps[symbol] = getattr(zap, "address", zap)
    deployment.arbitrage = arbitrage
    path = save_deployment(deployment)
    click.echo(f"index pool {pool.address}, zap {deployment.zaps[symbol]}, arbitrage {arbitrage} ({path})")


@cli.command(cls=ScriptCommand)
@_options
def status(**options):
    """The pool's price against NAV, and what a round would do."""
    arb = _build(**options)
    pair, nav = arb.read()
    cycle = plan_cycle(pair, nav, arb.settings)
    premium = float(pair.price / nav - 1)
    what = "nothing" if cycle.direction == NONE else f"{cycle.direction} {cycle.shares / 10**18:.4f} shares"
    click.echo(
        f"pool {arb.venue.pair}: premium {premium:+.3%} (band {arb.settings.band_bps / 100:g}%); "
        f"a round would do {what} ({cycle.reason})"
    )


@cli.command(cls=ScriptCommand)
@_options
@click.option("--dry-run", is_flag=True, help="Plan and simulate only.")
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--interval", default=12.0, show_default=True, help="Seconds between rounds.")
@click.option("--max-rounds", type=click.IntRange(1), help="Stop after this many rounds.")
@click.option("--yes", is_flag=True, help="Send without asking (unattended).")
def run(dry_run, once, interval, max_rounds, yes, **options):
    """Hold the index token's pool at NAV: rounds of read, plan, simulate, send one cycle, read again."""
    arb = _build(**options, dry_run=dry_run)
    if not dry_run:
        authorize(pick_account(options["account"]), f"Run the arbitrageur of {arb.venue.vault}", yes)
    rounds = 1 if (once or dry_run) else max_rounds
    done = 0
    while rounds is None or done < rounds:
        outcome = arb.run_round()
        done += 1
        line = f"{outcome.status}: {outcome.reason}"
        if outcome.status == "mined":
            line += f" ({outcome.direction} {outcome.shares / 10**18:.4f} shares, profit {outcome.profit}, "
            line += f"{outcome.gas_used:,} gas, tx {outcome.tx_hash})"
        click.echo(line)
        if rounds is None or done < rounds:
            time.sleep(interval)
