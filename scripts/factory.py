"""`ape run factory deploy|create|list`: permissionless index creation through a VaultFactory.

`deploy` puts the vault's code (two data contracts), the Rebalancer and NavFeed blueprints and the factory
on the network. `create SPEC` launches an index from the same spec file as `ape run deploy`: the vault,
its rebalancer (with the spec's target weights) and its NAV feed in one transaction, with the roles asked
for, the factory keeping none. `list` shows the factory's registry. The factory is `--factory ADDRESS` or
the one in this network's manifest; what the commands deploy is recorded there.
"""

import click
from ape import networks, project
from ape.cli import account_option
from ape.contracts import ContractInstance
from eth_utils import keccak

from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    checked_address,
    is_local,
    load_deployment,
    pick_account,
    save_deployment,
)
from index_vault.common.report import table
from index_vault.common.units import format_units
from index_vault.vault.chain.deploy import DeployError
from index_vault.vault.chain.factory import (
    ZERO_ADDRESS,
    Roles,
    create_from_spec,
    deploy_factory,
    estimate_create_gas,
    vault_init_code,
)
from index_vault.vault.chain.factory import list_vaults as registry
from index_vault.vault.chain.records import fund_local, has_code, record_created, record_factory
from index_vault.vault.spec import SpecError, load_spec

yes_option = click.option("--yes", is_flag=True, help="Send without asking (unattended).")
factory_option = click.option("--factory", "factory_address", help="The VaultFactory (default: the manifest's).")


def _factory(address: str | None) -> ContractInstance:
    """`--factory`, else the manifest's factory."""
    if not address:
        address = load_deployment().factory
        if not has_code(address):
            raise click.UsageError("no VaultFactory in this network's manifest: run `ape run factory deploy` first")
    elif not has_code(address := checked_address(address, "--factory")):
        raise click.UsageError(f"no contract at {address}")
    return project.VaultFactory.at(address)


@click.group()
def cli():
    """Create index vaults through a VaultFactory, and list them."""


@cli.command(cls=ScriptCommand)
@account_option(prompt=False)
@click.option("--redeploy", is_flag=True, help="Deploy a new factory even if the manifest has one.")
@yes_option
def deploy(account, redeploy, yes):
    """Deploy a VaultFactory: the vault's code chunks, the blueprints, the factory."""
    deployer = pick_account(account)
    deployment = load_deployment()
    if not redeploy and has_code(deployment.factory):
        click.echo(f"VaultFactory already deployed at {deployment.factory} (manifest); --redeploy for another")
        if project.VaultFactory.at(deployment.factory).vault_code_hash() != keccak(vault_init_code()):
            click.echo("  its vault code is not this build's IndexVault")
        return
    click.echo(f"will deploy, from {deployer.address}:")
    click.echo("  the IndexVault init code in two data contracts (0xFE and 24,575 bytes each)")
    click.echo("  Rebalancer and NavFeed blueprints (EIP-5202)")
    click.echo("  VaultFactory (owner: the deployer, who may only change the code of vaults created later)")
    authorize(deployer, "Deploy a VaultFactory", yes)
    try:
        deployed = deploy_factory(deployer, echo=click.echo)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    factory = deployed.factory
    record_factory(deployment, deployed)
    click.echo(f"factory at {factory.address}")
    click.echo(f"manifest: {save_deployment(deployment)}")


@cli.command(cls=ScriptCommand)
@click.argument("spec_file", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@factory_option
@account_option(prompt=False)
@click.option("--oracle", help="A configured OracleRouter (required on live networks; local chains build one).")
@click.option("--admin", help="Admin of the vault and its rebalancer (default: the account).")
@click.option("--guardian", help="May pause the vault (default: the admin).")
@click.option("--manager", help="The vault's MANAGER_ROLE (default: nobody).")
@click.option("--keeper", help="The vault's KEEPER_ROLE (default: nobody).")
@click.option("--fee-manager", help="May change the fee recipient (default: nobody).")
@click.option("--fee-recipient", help="Receives the fees (default: the admin).")
@click.option(
    "--fund-shares", default="1000", show_default=True, help="Local chains: fund test accounts for this many shares."
)
@click.option("--replace", is_flag=True, help="Record the new vault even if the manifest has one for this symbol.")
@yes_option
def create(
    spec_file, factory_address, account, oracle, admin, guardian, manager, keeper, fee_manager, fee_recipient,
    fund_shares, replace, yes,
):  # fmt: skip
    """Create the index vault described by SPEC (YAML or JSON) through the factory."""
    try:
        spec = load_spec(spec_file)
    except SpecError as exc:
        raise click.BadParameter(str(exc), param_hint="SPEC") from exc
    creator = pick_account(account)
    local = is_local()
    if problems := spec.deploy_problems(local=local, oracle=bool(oracle)):
        raise click.BadParameter("; ".join(problems), param_hint="SPEC")
    oracle = checked_address(oracle, "--oracle") if oracle else None
    for option, value in (
        ("--admin", admin),
        ("--guardian", guardian),
        ("--manager", manager),
        ("--keeper", keeper),
        ("--fee-manager", fee_manager),
        ("--fee-recipient", fee_recipient),
    ):
        if value:
            checked_address(value, option)
    factory = _factory(factory_address)
    deployment = load_deployment()
    if not replace and has_code(deployment.vaults.get(spec.symbol)):
        raise click.UsageError(
            f"the manifest already has a {spec.symbol} vault at {deployment.vaults[spec.symbol]}: pass --replace to "
            "create another and record it instead"
        )
    admin = admin or creator.address
    roles = Roles(
        admin=admin,
        guardian=guardian or admin,
        manager=manager or ZERO_ADDRESS,
        keeper=keeper or ZERO_ADDRESS,
        fee_manager=fee_manager or ZERO_ADDRESS,
        fee_recipient=fee_recipient or admin,
    )

    click.echo(f"{spec.name} ({spec.symbol}): {len(spec.constituents)} constituents, creator {creator.address}")
    for c in spec.constituents:
        click.echo(f"  {c.symbol:<6} {c.units_text:>16} per share  {c.address or '(test token)'}")
    click.echo(f"through the VaultFactory at {factory.address} (code version {factory.code_version()}):")
    missing = [c.symbol for c in spec.constituents if not c.address]
    if missing:
        click.echo(f"  first, test tokens for {', '.join(missing)}")
    if not oracle:
        click.echo("  first, a local price market: Chainlink feeds, Uniswap V3 with a pool per asset, an OracleRouter")
    weights = " (target weights set)" if spec.weights else ""
    click.echo(f"  one transaction: IndexVault, Rebalancer{weights}, NavFeed")
    for field in ("admin", "guardian", "manager", "keeper", "fee_manager", "fee_recipient"):
        value = getattr(roles, field)
        click.echo(f"  {field.replace('_', ' '):<14} {value if value != ZERO_ADDRESS else 'nobody'}")
    if spec.has_all_addresses and oracle:
        gas = estimate_create_gas(spec, factory, creator, oracle, roles)
        cost = gas * networks.provider.gas_price
        click.echo(f"  about {gas:,} gas ({format_units(cost, 18, 6)} ETH at the current gas price)")
    authorize(creator, f"Create {spec.symbol}", yes)

    try:
        created = create_from_spec(spec, factory, creator, local=local, oracle=oracle, roles=roles, echo=click.echo)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    record_created(deployment, spec, created, factory.address)
    if local:
        fund_local(deployment, spec, created.tokens, fund_shares, creator, echo=click.echo)
    click.echo(f"manifest: {save_deployment(deployment)}")


@cli.command("list", cls=ScriptCommand)
@factory_option
@click.option("--full", is_flag=True, help="Also each vault's name, rebalancer and NAV feed (a wide table).")
def list_(factory_address, full):
    """The factory's vaults, in creation order."""
    factory = _factory(factory_address)
    listed = registry(factory)
    click.echo(f"VaultFactory at {factory.address}: {len(listed)} vaults, code version {factory.code_version()}")
    if not listed:
        return
    if full:
        rows = [
            [str(v.index), v.symbol, v.name, str(v.constituents), v.address, v.rebalancer, v.nav_feed, v.creator,
             str(v.code_version)]
            for v in listed
        ]  # fmt: skip
        headers = ["#", "symbol", "name", "assets", "vault", "rebalancer", "NAV feed", "creator", "code"]
        click.echo(table(headers, rows, right={0, 3, 8}))
        return
    rows = [
        [
            str(v.index),
            v.symbol,
            str(v.constituents),
            v.address,
            f"{v.creator[:6]}...{v.creator[-4:]}",
            str(v.code_version),
        ]
        for v in listed
    ]
    click.echo(table(["#", "symbol", "assets", "vault", "creator", "code"], rows, right={0, 2, 5}))
