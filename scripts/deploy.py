"""`ape run deploy SPEC`: deploy an index vault for the basket in a spec file.

It checks everything the deployment needs before its first transaction, shows what it will deploy (with
a gas estimate where every address is known), asks once (`--yes`: never), and records each contract in
the network's manifest (address, transaction, block, constructor arguments, git commit) as soon as it
exists: run again after an interruption, it deploys only what is missing
(`index_vault.vault.chain.records`). On local chains, constituents without an address get test tokens (an
OpenZeppelin ERC-20 from npm, with the spec's symbol and decimals), a local price market is built for the
oracle, and the test accounts are funded. Roles (`--keeper`, ...) are granted before the admin role is
handed to `--admin` or `--governor`.
"""

import click
from ape import networks
from ape.cli import account_option
from ape.contracts import ContractInstance

from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    checked_address,
    is_local,
    load_deployment,
    network_label,
    pick_account,
    save_deployment,
)
from index_vault.common.units import format_units
from index_vault.vault.chain.deploy import DeployError, deploy_vault, estimate_vault_gas
from index_vault.vault.chain.governance import hand_over
from index_vault.vault.chain.records import fund_local, record_deployed, record_vault, resume_deployment
from index_vault.vault.spec import SpecError, load_spec


def _address(value: str | None, option: str) -> str | None:
    return checked_address(value, option) if value else None


@click.command(cls=ScriptCommand)
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
@click.option("--keeper", help="Grant the vault's KEEPER_ROLE (trades through the rebalancer) to this address.")
@click.option("--manager", help="Grant the vault's MANAGER_ROLE to this address.")
@click.option("--guardian", help="Grant the vault's GUARDIAN_ROLE (may pause) to this address, besides the admin.")
@click.option("--fee-manager", help="Grant the vault's FEE_MANAGER_ROLE (names the fee recipient) to this address.")
@click.option("--redeploy", is_flag=True, help="Deploy a new vault even if the manifest has one for this symbol.")
@click.option("--yes", is_flag=True, help="Send without asking (unattended).")
def cli(
    spec_file, account, fund_shares, oracle, admin, governor, keeper, manager, guardian, fee_manager, redeploy, yes
):
    """Deploy the index vault described by SPEC (YAML or JSON)."""
    try:
        spec = load_spec(spec_file)
    except SpecError as exc:
        raise click.BadParameter(str(exc), param_hint="SPEC") from exc
    deployer = pick_account(account)
    oracle, admin, governor = _address(oracle, "--oracle"), _address(admin, "--admin"), _address(governor, "--governor")
    roles = {
        name: address
        for name, value, option in (
            ("keeper", keeper, "--keeper"),
            ("manager", manager, "--manager"),
            ("guardian", guardian, "--guardian"),
            ("fee-manager", fee_manager, "--fee-manager"),
        )
        if (address := _address(value, option))
    }
    if governor and admin and admin != deployer.address:
        raise click.UsageError("--governor hands over the deployer's admin role: do not combine it with --admin")
    local = is_local()
    if problems := spec.deploy_problems(local=local, oracle=bool(oracle)):
        raise click.BadParameter("; ".join(problems), param_hint="SPEC")
    deployment = load_deployment()
    try:
        resumed = not redeploy and resume_deployment(
            spec, deployment, deployer, echo=click.echo, before_sending=lambda what: authorize(deployer, what, yes)
        )
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    if resumed:
        click.echo(f"manifest: {save_deployment(deployment)}")
        return

    click.echo(f"{spec.name} ({spec.symbol}) on {network_label()}: {len(spec.constituents)} constituents")
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
    for name, address in roles.items():
        click.echo(f"  {name} role to {address}")
    if governor:
        click.echo(f"  then the admin role handed to the Governor {governor}")
    authorize(deployer, f"Deploy {spec.symbol}", yes)

    def save_vault(vault: ContractInstance, router: ContractInstance) -> None:
        record_vault(deployment, spec, vault, router, deployer.address)
        save_deployment(deployment)

    try:
        deployed = deploy_vault(
            spec,
            deployer,
            local=local,
            oracle=oracle,
            admin=admin,
            roles=roles,
            echo=click.echo,
            after_vault=save_vault,
        )
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc
    record_deployed(deployment, spec, deployed, deployer.address)
    if local:
        fund_local(deployment, spec, deployed.tokens, fund_shares, deployer, echo=click.echo)
    if governor:
        targets = [deployed.vault, deployed.rebalancer] + ([deployed.oracle] if deployed.market else [])
        hand_over(governor, targets, deployer, echo=click.echo)
        deployment.governor = governor
    click.echo(f"manifest: {save_deployment(deployment)}")
