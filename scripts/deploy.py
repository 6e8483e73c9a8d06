"""`ape run deploy SPEC`: deploy an index vault for the basket in a spec file.

On local chains, constituents without an address get test tokens (an OpenZeppelin ERC-20 from
npm, with the spec's symbol and decimals) and the test accounts are funded.
"""

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option

from index_vault.chain.cli import confirm_live, is_local, load_deployment, pick_account, save_deployment
from index_vault.chain.deploy import DeployError, deploy_vault, fund_test_accounts
from index_vault.chain.governance import hand_over
from index_vault.spec import SpecError, load_spec
from index_vault.units import parse_units


@click.command(cls=ConnectedProviderCommand)
@click.argument("spec_file", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@account_option(prompt=False)
@click.option(
    "--fund-shares", default="1000", show_default=True, help="Local chains: fund test accounts for this many shares."
)
@click.option("--oracle", help="A configured OracleRouter (required on live networks; local chains build one).")
@click.option("--admin", help="The vault's admin and guardian (default: the deployer).")
@click.option("--governor", help="Hand the vault's and its router's admin role to this Governor after deploying.")
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def cli(spec_file, account, fund_shares, oracle, admin, governor, yes):
    """Deploy the index vault described by SPEC (YAML or JSON)."""
    try:
        spec = load_spec(spec_file)
    except SpecError as exc:
        raise click.BadParameter(str(exc), param_hint="SPEC") from exc
    deployer = pick_account(account)
    if governor and admin and admin != deployer.address:
        raise click.UsageError("--governor hands over the deployer's admin role: do not combine it with --admin")
    local = is_local()
    click.echo(f"{spec.name} ({spec.symbol}): {len(spec.constituents)} constituents, deployer {deployer.address}")
    for c in spec.constituents:
        click.echo(f"  {c.symbol:<6} {c.units_text:>16} per share  {c.address or '(test token)'}")
    confirm_live("Deploy", yes)
    try:
        deployed = deploy_vault(spec, deployer, local=local, oracle=oracle, admin=admin, echo=click.echo)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from exc

    deployment = load_deployment()
    deployment.vaults[spec.symbol] = deployed.vault.address
    deployment.oracles[spec.symbol] = deployed.oracle.address
    deployment.nav_feeds[spec.symbol] = deployed.nav_feed.address
    if local:
        deployment.tokens.update({c.symbol: t.address for c, t in zip(spec.constituents, deployed.tokens, strict=True)})
        shares = parse_units(fund_shares, 18)
        if shares:
            fund_test_accounts(spec, deployed.tokens, list(accounts.test_accounts)[:3], shares, sender=deployer)
            click.echo(f"  funded test accounts 0-2 for {fund_shares} shares each")
    if governor:
        targets = [deployed.vault] + ([deployed.oracle] if deployed.market else [])
        hand_over(governor, targets, deployer, echo=click.echo)
    click.echo(f"manifest: {save_deployment(deployment)}")
