"""`ape run vault status|mint|redeem|deposit|redeem-nav|propose-targets`: use an index vault from an Ape account.

The vault is `--vault ADDRESS`, or a symbol from this network's manifest, or the manifest's only
vault. Amounts of shares are human numbers (`1.5`); slippage limits come from the previews.
"""

import click
from ape import project
from ape.cli import ConnectedProviderCommand, account_option

from index_vault.chain.contracts import vault_at
from index_vault.chain.scripting import confirm_live, pick_account, resolve_vault_address
from index_vault.common.report import format_status
from index_vault.common.units import parse_units
from index_vault.methodology.history import MethodologyError
from index_vault.methodology.proposal import ProposalError, weights_for_basket
from index_vault.methodology.weights import read_proposal
from index_vault.vault.chain.client import VaultClient, VaultError

vault_option = click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest.")
slippage_option = click.option(
    "--slippage-bps", default=50, show_default=True, type=click.IntRange(0, 10_000), help="Tolerance on the previews."
)


def _shares(value: str) -> int:
    try:
        return parse_units(value, 18)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SHARES") from exc


def _client(vault_ref: str | None) -> VaultClient:
    return VaultClient(vault_at(resolve_vault_address(vault_ref)))


@click.group()
def cli():
    """Status, in-kind mint and redeem, and NAV-priced deposit and redeem of an index vault."""


@cli.command(cls=ConnectedProviderCommand)
@vault_option
@account_option(prompt=False)
def status(vault_ref, account):
    """Constituents, holdings, units per share, supply and your balance."""
    client = _client(vault_ref)
    click.echo(format_status(client.status(pick_account(account))))


@cli.command(cls=ConnectedProviderCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@slippage_option
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def mint(shares, vault_ref, account, slippage_bps, yes):
    """Mint SHARES index shares, paying each constituent in kind."""
    client, sender = _client(vault_ref), pick_account(account)
    confirm_live(f"Mint {shares} {client.vault.symbol()} from {sender.address}", yes)
    try:
        paid = client.mint(sender, _shares(shares), slippage_bps, echo=click.echo)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"minted {shares} {client.vault.symbol()}, paid {client.describe(paid)}")


@cli.command(cls=ConnectedProviderCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@slippage_option
@click.option("--skip", multiple=True, help="A constituent (symbol or address) to leave behind, e.g. a paused token.")
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def redeem(shares, vault_ref, account, slippage_bps, skip, yes):
    """Redeem SHARES index shares for each constituent in kind."""
    client, sender = _client(vault_ref), pick_account(account)
    confirm_live(f"Redeem {shares} {client.vault.symbol()} from {sender.address}", yes)
    try:
        got = client.redeem(sender, _shares(shares), slippage_bps, skip=skip, echo=click.echo)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"redeemed {shares} {client.vault.symbol()}, received {client.describe(got)}")


@cli.command(cls=ConnectedProviderCommand)
@click.argument("amount")
@vault_option
@account_option(prompt=False)
@slippage_option
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def deposit(amount, vault_ref, account, slippage_bps, yes):
    """Buy shares with AMOUNT of the base asset at NAV (ERC-4626), paying at most AMOUNT."""
    client, sender = _client(vault_ref), pick_account(account)
    base = client.base_index()
    try:
        assets = parse_units(amount, client.decimals[base])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from exc
    confirm_live(f"Deposit {amount} {client.symbols[base]} into {client.vault.symbol()} from {sender.address}", yes)
    try:
        paid, shares = client.deposit(sender, assets, slippage_bps, echo=click.echo)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"deposited {client.describe_one(base, paid)}, received {shares / 10**18:g} {client.vault.symbol()}")


@cli.command("redeem-nav", cls=ConnectedProviderCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def redeem_nav(shares, vault_ref, account, yes):
    """Sell SHARES for the base asset at NAV (ERC-4626 redeem)."""
    client, sender = _client(vault_ref), pick_account(account)
    confirm_live(f"Redeem {shares} {client.vault.symbol()} at NAV from {sender.address}", yes)
    try:
        assets, burnt = client.redeem_at_nav(sender, _shares(shares), echo=click.echo)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    base = client.base_index()
    click.echo(f"redeemed {burnt / 10**18:g} {client.vault.symbol()} for {client.describe_one(base, assets)}")


@cli.command("propose-targets", cls=ConnectedProviderCommand)
@click.argument("proposal_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@vault_option
@click.option("--governor", "governor_address", help="Propose through this Governor (the rebalancer's admin).")
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def propose_targets(proposal_file, vault_ref, governor_address, account, yes):
    """Set the target weights of FILE (`index-vault weights --out FILE`): through the Governor's timelock with
    --governor, else directly (the account must be the rebalancer's admin)."""
    client, sender = _client(vault_ref), pick_account(account)
    try:
        proposal = read_proposal(proposal_file)
        weights = weights_for_basket(proposal.assets, proposal.weights, client.symbols)
    except (MethodologyError, ProposalError) as exc:
        raise click.BadParameter(str(exc), param_hint="FILE") from exc
    rebalancer = project.Rebalancer.at(client.vault.rebalancer())
    text = ", ".join(f"{s} {w / 10**16:.2f}%" for s, w in zip(client.symbols, weights, strict=True))
    confirm_live(f"Target weights for {client.vault.symbol()}: {text}", yes)
    if governor_address:
        governor = project.Governor.at(governor_address)
        data = rebalancer.set_target_weights.encode_input(weights)
        receipt = governor.propose(rebalancer, data, f"targets: {text}", sender=sender)
        (event,) = governor.ProposalCreated.from_receipt(receipt)
        click.echo(f"proposal {event.id} ({text}): executable from timestamp {event.eta} until {event.expires}")
    else:
        rebalancer.set_target_weights(weights, sender=sender)
        click.echo(f"target weights set: {text}")
