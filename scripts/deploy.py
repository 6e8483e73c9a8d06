"""`ape run deploy SPEC`: deploy an index vault for the basket in a spec file.

It shows what it will deploy (with a gas estimate where every address is known), asks before
sending on a live network, and records each contract in the network's manifest (address,
transaction, block, constructor arguments, git commit) as soon as it exists: run again after an
interruption, it deploys only what is missing. On local chains, constituents without an address
get test tokens (an OpenZeppelin ERC-20 from npm, with the spec's symbol and decimals), a local
price market is built for the oracle, and the test accounts are funded.
"""

import click
from ape import accounts, chain, networks, project
from ape.cli import ConnectedProviderCommand, account_option
from ape.contracts import ContractInstance

from index_vault.chain.scripting import confirm_live, is_local, load_deployment, pick_account, save_deployment
from index_vault.common.units import format_units, parse_units
from index_vault.vault.chain.deploy import (
    DeployError,
    deploy_rebalancer,
    deploy_vault,
    estimate_vault_gas,
    fund_test_accounts,
    vault_constructor_args,
)
from index_vault.vault.chain.governance import hand_over
from index_vault.vault.manifest import Deployment, deployment_record
from index_vault.vault.spec import BasketSpec, SpecError, load_spec

ZERO_ADDRESS = "0x" + "00" * 20


def _record(deployment: Deployment, key: str, contract: ContractInstance, args: list) -> None:
    tx_hash = getattr(contract, "txn_hash", None)
    block = chain.provider.get_receipt(tx_hash).block_number if tx_hash else None
    deployment.records[key] = deployment_record(contract.address, str(tx_hash) if tx_hash else None, block, args)


def _has_code(address: str | None) -> bool:
    return bool(address) and len(chain.provider.get_code(address)) > 0


def _resume(spec: BasketSpec, deployment: Deployment, deployer) -> bool:
    """Finishes a deployment of `spec` recorded in the manifest; False when there is none to resume."""
    vault_address = deployment.vaults.get(spec.symbol)
    if not _has_code(vault_address):
        return False
    vault = project.IndexVault.at(vault_address)
    if (vault.name(), vault.symbol()) != (spec.name, spec.symbol):
        raise click.ClickException(f"the manifest's {spec.symbol} vault at {vault_address} is another index")
    if spec.has_all_addresses and [a.lower() for a in vault.assets()] != [c.address.lower() for c in spec.constituents]:
        raise click.ClickException(f"the manifest's {spec.symbol} vault holds other constituents than the spec")
    click.echo(f"  vault {spec.symbol} already deployed at {vault_address} (manifest)")
    done = True
    if not _has_code(deployment.rebalancers.get(spec.symbol)):
        if vault.rebalancer() != ZERO_ADDRESS:
            raise click.ClickException(f"the {spec.symbol} vault names a rebalancer the manifest does not know")
        rebalancer = deploy_rebalancer(spec, vault, deployer, echo=click.echo)
        deployment.rebalancers[spec.symbol] = rebalancer.address
        _record(deployment, f"{spec.symbol}:Rebalancer", rebalancer, [vault_address, deployer.address])
        done = False
    if not _has_code(deployment.nav_feeds.get(spec.symbol)):
        nav_feed = project.NavFeed.deploy(vault, sender=deployer)
        deployment.nav_feeds[spec.symbol] = nav_feed.address
        _record(deployment, f"{spec.symbol}:NavFeed", nav_feed, [vault_address])
        click.echo(f"  NAV feed {spec.symbol} / USD at {nav_feed.address} (was missing)")
        done = False
    if done:
        click.echo("  nothing left to deploy")
    return True


@click.command(cls=ConnectedProviderCommand)
@click.argument("spec_file", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@account_option(prompt=False)
@click.option(
    "--fund-shares", default="1000", show_default=True, help="Local chains: fund test accounts for this many shares."
)
@click.option("--oracle", help="A configured OracleRouter (required on live networks; local chains build one).")
@click.option(
    "--admin", help="Admin, guardian and fee recipient of the vault, admin of its rebalancer (default: the deployer)."
)
@click.option(
    "--governor",
    help="Hand the admin role of the vault, its rebalancer and its router to this Governor after deploying.",
)
@click.option("--redeploy", is_flag=True, help="Deploy a new vault even if the manifest has one for this symbol.")
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def cli(spec_file, account, fund_shares, oracle, admin, governor, redeploy, yes):
    """Deploy the index vault described by SPEC (YAML or JSON)."""
    try:
        spec = load_spec(spec_file)
    except SpecError as exc:
        raise click.BadParameter(str(exc), param_hint="SPEC") from exc
    deployer = pick_account(account)
    if governor and admin and admin != deployer.address:
        raise click.UsageError("--governor hands over the deployer's admin role: do not combine it with --admin")
    local = is_local()
    if not local and not oracle:
        raise click.UsageError("pass --oracle ADDRESS: a configured OracleRouter for every constituent")
    deployment = load_deployment()
    if not redeploy and _resume(spec, deployment, deployer):
        click.echo(f"manifest: {save_deployment(deployment)}")
        return

    click.echo(f"{spec.name} ({spec.symbol}): {len(spec.constituents)} constituents, deployer {deployer.address}")
    for c in spec.constituents:
        click.echo(f"  {c.symbol:<6} {c.units_text:>16} per share  {c.address or '(test token)'}")
    missing = [c.symbol for c in spec.constituents if not c.address]
    click.echo("will deploy:")
    if missing:
        click.echo(f"  test tokens for {', '.join(missing)}")
    if not oracle:
        click.echo("  a local price market: Chainlink feeds, Uniswap V3 with a pool per asset, an OracleRouter")
    if spec.has_all_addresses and oracle:
        gas = estimate_vault_gas(spec, deployer, oracle, deployer.address)
        cost = gas * networks.provider.gas_price
        click.echo(f"  IndexVault: about {gas:,} gas ({format_units(cost, 18, 6)} ETH at the current gas price)")
    else:
        click.echo("  IndexVault")
    click.echo("  Rebalancer (keeps the target weights), NavFeed")
    confirm_live("Deploy", yes)

    def save_vault(vault: ContractInstance, router: ContractInstance) -> None:
        deployment.vaults[spec.symbol] = vault.address
        deployment.oracles[spec.symbol] = router.address
        args = vault_constructor_args(spec, list(vault.assets()), router.address, deployer.address)
        _record(deployment, f"{spec.symbol}:IndexVault", vault, args)
        save_deployment(deployment)

    try:
        deployed = deploy_vault(
            spec, deployer, local=local, oracle=oracle, admin=admin, echo=click.echo, after_vault=save_vault
        )
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    deployment.nav_feeds[spec.symbol] = deployed.nav_feed.address
    _record(deployment, f"{spec.symbol}:NavFeed", deployed.nav_feed, [deployed.vault.address])
    deployment.rebalancers[spec.symbol] = deployed.rebalancer.address
    for name, adapter in deployed.adapters.items():
        deployment.adapters[name] = adapter.address
        _record(deployment, f"{spec.symbol}:{name}", adapter, [adapter.router()])
    if deployed.market:  # the keeper's pool quotes on the local market
        deployment.quoters["uniswap-v3"] = deployed.market.uniswap.quoter_v2.address
    _record(deployment, f"{spec.symbol}:Rebalancer", deployed.rebalancer, [deployed.vault.address, deployer.address])
    if local:
        deployment.tokens.update({c.symbol: t.address for c, t in zip(spec.constituents, deployed.tokens, strict=True)})
        shares = parse_units(fund_shares, 18)
        if shares:
            fund_test_accounts(spec, deployed.tokens, list(accounts.test_accounts)[:3], shares, sender=deployer)
            click.echo(f"  funded test accounts 0-2 for {fund_shares} shares each")
    if governor:
        targets = [deployed.vault, deployed.rebalancer] + ([deployed.oracle] if deployed.market else [])
        hand_over(governor, targets, deployer, echo=click.echo)
    click.echo(f"manifest: {save_deployment(deployment)}")
