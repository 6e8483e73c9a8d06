"""`ape run vault status|mint|redeem|buy|sell|deposit|redeem-nav|propose-targets|roles|grant|revoke`: use an index
vault. `buy` and `sell` go through the zap (one token in or out; `index_vault.vault.chain.zapping`).

The vault is `--vault ADDRESS`, or a symbol from this network's manifest, or the manifest's only
vault. Amounts of shares are human numbers (`1.5`); slippage limits come from the previews. Each command
shows what it will send and asks once (`--yes`: never, for unattended use).
"""

import click
from ape import project
from ape.cli import account_option

from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    checked_address,
    contract_at,
    deployed_block,
    is_local,
    load_deployment,
    pick_account,
    resolve_governor_address,
    resolve_vault_address,
    save_deployment,
)
from index_vault.common.report import format_status
from index_vault.common.units import parse_units
from index_vault.methodology.history import MethodologyError
from index_vault.methodology.proposal import ProposalError, weights_for_basket
from index_vault.methodology.weights import read_proposal
from index_vault.vault.chain.client import VaultClient, VaultError
from index_vault.vault.chain.governance import ROLES, admin_refusal, role_holders
from index_vault.vault.chain.records import has_code
from index_vault.vault.chain.zapping import ZapClient

vault_option = click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest.")
slippage_option = click.option(
    "--slippage-bps", default=50, show_default=True, type=click.IntRange(0, 10_000), help="Tolerance on the previews."
)


def _shares(value: str) -> int:
    try:
        return parse_units(value, 18)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SHARES") from exc


yes_option = click.option("--yes", is_flag=True, help="Send without asking (unattended).")


def _governing(contract, governor_ref: str | None, sender):
    """The Governor to propose through: `--governor`, else, when `sender` is not `contract`'s admin, the
    manifest's Governor if it is; None to send directly."""
    if governor_ref:
        return contract_at(project.Governor, resolve_governor_address(governor_ref), "--governor", "delay")
    if contract.hasRole(ROLES["admin"], sender):
        return None
    recorded = load_deployment().governor
    if recorded and has_code(recorded) and contract.hasRole(ROLES["admin"], recorded):
        return project.Governor.at(recorded)
    return None


def _client(vault_ref: str | None) -> VaultClient:
    return VaultClient(contract_at(project.IndexVault, resolve_vault_address(vault_ref), "--vault", "LOCKED_SHARES"))


@click.group()
def cli():
    """Status, in-kind mint and redeem, and NAV-priced deposit and redeem of an index vault."""


@cli.command(cls=ScriptCommand)
@vault_option
@account_option(prompt=False)
def status(vault_ref, account):
    """Constituents, holdings, units per share, supply and your balance."""
    client = _client(vault_ref)
    click.echo(format_status(client.status(pick_account(account))))


@cli.command(cls=ScriptCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@slippage_option
@yes_option
def mint(shares, vault_ref, account, slippage_bps, yes):
    """Mint SHARES index shares, paying each constituent in kind."""
    client, sender = _client(vault_ref), pick_account(account)
    symbol = client.vault.symbol()
    try:
        paid = client.mint(
            sender, _shares(shares), slippage_bps, echo=click.echo, confirm=lambda: authorize(sender, "Mint", yes)
        )
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"minted {shares} {symbol}, paid {client.describe(paid)}")


@cli.command(cls=ScriptCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@slippage_option
@click.option("--skip", multiple=True, help="A constituent (symbol or address) to leave behind, e.g. a paused token.")
@yes_option
def redeem(shares, vault_ref, account, slippage_bps, skip, yes):
    """Redeem SHARES index shares for each constituent in kind (`--skip`: forfeit a constituent's share)."""
    client, sender = _client(vault_ref), pick_account(account)
    symbol = client.vault.symbol()
    try:
        got = client.redeem(
            sender,
            _shares(shares),
            slippage_bps,
            skip=skip,
            echo=click.echo,
            confirm=lambda: authorize(sender, "Redeem", yes),
        )
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"redeemed {shares} {symbol}, received {client.describe(got)}")


@cli.command(cls=ScriptCommand)
@click.argument("amount")
@vault_option
@account_option(prompt=False)
@slippage_option
@yes_option
def deposit(amount, vault_ref, account, slippage_bps, yes):
    """Buy shares with AMOUNT of the base asset at NAV (ERC-4626), paying at most AMOUNT."""
    client, sender = _client(vault_ref), pick_account(account)
    base = client.base_index()
    try:
        assets = parse_units(amount, client.decimals[base])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="AMOUNT") from exc
    try:
        paid, shares = client.deposit(
            sender, assets, slippage_bps, echo=click.echo, confirm=lambda: authorize(sender, "Deposit", yes)
        )
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"deposited {client.describe_one(base, paid)}, received {shares / 10**18:g} {client.vault.symbol()}")


def _zapper(client: VaultClient, fee: int) -> ZapClient:
    """The vault's zap (the manifest's; on a local chain one is deployed and recorded when there is none), with the
    manifest's Uniswap V3 adapter and quoter."""
    deployment = load_deployment()
    symbol = next((s for s, a in deployment.vaults.items() if a.lower() == client.vault.address.lower()), None)
    zap = deployment.zaps.get(symbol or "")
    if not zap and symbol and is_local():
        zap = project.Zap.deploy(100, 100, 3_600, sender=pick_account(None)).address
        deployment.zaps[symbol] = zap
        save_deployment(deployment)
    if not zap:
        raise click.ClickException("the manifest records no zap for this vault (`ape run arbitrage setup` deploys one)")
    adapter = deployment.adapters.get("uniswap-v3")
    if not adapter:
        raise click.ClickException("the manifest records no uniswap-v3 adapter")
    return ZapClient(client, project.Zap.at(zap), adapter, deployment.quoters.get("uniswap-v3"), fee)


def _token(client: VaultClient, token: str) -> str:
    for t in client.tokens:
        if t.symbol() == token:
            return t.address
    return load_deployment().tokens.get(token) or checked_address(token, "--token")


fee_option = click.option("--fee", default=3000, show_default=True, help="V3 fee tier of the constituents' pools.")
token_option = click.option("--token", default="USDC", show_default=True, help="The token paid or received.")


def _zap_options(f):
    for option in reversed(
        [click.argument("shares"), vault_option, account_option(prompt=False), token_option, slippage_option,
         fee_option, yes_option]
    ):  # fmt: skip
        f = option(f)
    return f


def _zap(what: str, shares, vault_ref, account, token, slippage_bps, fee, yes):
    """The client, the zap's trade (`buy` or `sell` of ZapClient) and the token's address."""
    client, sender = _client(vault_ref), pick_account(account)
    zapper, address = _zapper(client, fee), _token(client, token)
    try:
        trade = getattr(zapper, what)(
            sender,
            address,
            _shares(shares),
            slippage_bps,
            echo=click.echo,
            confirm=lambda: authorize(sender, what.capitalize(), yes),
        )
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    return client, zapper, trade


@cli.command(cls=ScriptCommand)
@_zap_options
def buy(shares, vault_ref, account, token, slippage_bps, fee, yes):
    """Buy SHARES index shares paying one token through the zap; shown beside the ERC-4626 deposit."""
    client, zapper, bought = _zap("buy", shares, vault_ref, account, token, slippage_bps, fee, yes)
    click.echo(f"bought {shares} {client.vault.symbol()} for {bought.amount} base units of {token} (the constituents "
               f"bought beyond the mint handed back): {bought.premium:+.3%} against NAV")  # fmt: skip
    other = zapper.deposit_comparison(bought.token_value)
    base = client.tokens[client.base_index()].symbol()
    click.echo(f"the ERC-4626 deposit of the same value in {base} buys {other.shares / 10**18:.6f}: "
               f"{other.premium:+.3%} against NAV")  # fmt: skip


@cli.command(cls=ScriptCommand)
@_zap_options
def sell(shares, vault_ref, account, token, slippage_bps, fee, yes):
    """Sell SHARES index shares for one token through the zap."""
    client, _, sold = _zap("sell", shares, vault_ref, account, token, slippage_bps, fee, yes)
    click.echo(f"sold {shares} {client.vault.symbol()} for {sold.amount} base units of {token}: "
               f"{sold.premium:+.3%} against NAV")  # fmt: skip


@cli.command("redeem-nav", cls=ScriptCommand)
@click.argument("shares")
@vault_option
@account_option(prompt=False)
@yes_option
def redeem_nav(shares, vault_ref, account, yes):
    """Sell SHARES for the base asset at NAV (ERC-4626 redeem)."""
    client, sender = _client(vault_ref), pick_account(account)
    try:
        assets, burnt = client.redeem_at_nav(
            sender, _shares(shares), echo=click.echo, confirm=lambda: authorize(sender, "Redeem at NAV", yes)
        )
    except VaultError as exc:
        raise click.ClickException(str(exc)) from exc
    base = client.base_index()
    click.echo(f"redeemed {burnt / 10**18:g} {client.vault.symbol()} for {client.describe_one(base, assets)}")


@cli.command("propose-targets", cls=ScriptCommand)
@click.argument("proposal_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@vault_option
@click.option(
    "--governor",
    "governor_address",
    help="Propose through this Governor (default: the manifest's, when it is the rebalancer's admin).",
)
@account_option(prompt=False)
@yes_option
def propose_targets(proposal_file, vault_ref, governor_address, account, yes):
    """Set the target weights of FILE (`index-vault weights --out FILE`): through the Governor's timelock when a
    Governor is the rebalancer's admin, else directly (the account must be the rebalancer's admin)."""
    client, sender = _client(vault_ref), pick_account(account)
    try:
        proposal = read_proposal(proposal_file)
        weights = weights_for_basket(proposal.assets, proposal.weights, client.symbols)
    except (MethodologyError, ProposalError) as exc:
        raise click.BadParameter(str(exc), param_hint="FILE") from exc
    rebalancer = project.Rebalancer.at(client.vault.rebalancer())
    text = ", ".join(f"{s} {w / 10**16:.2f}%" for s, w in zip(client.symbols, weights, strict=True))
    governor = _governing(rebalancer, governor_address, sender)
    if governor is not None:
        if refusal := admin_refusal(rebalancer, governor.address, "the rebalancer", deployed_block(rebalancer.address)):
            raise click.ClickException(refusal)
        click.echo(f"propose to the Governor {governor.address}:")
    click.echo(f"target weights for {client.vault.symbol()}: {text}")
    authorize(sender, "Set the targets" if governor is None else "Propose", yes)
    if governor is not None:
        data = rebalancer.set_target_weights.encode_input(weights)
        receipt = governor.propose(rebalancer, data, f"targets: {text}", sender=sender)
        (event,) = governor.ProposalCreated.from_receipt(receipt)
        click.echo(f"proposal {event.id} ({text}): executable from timestamp {event.eta} until {event.expires}")
    else:
        rebalancer.set_target_weights(weights, sender=sender)
        click.echo(f"target weights set: {text}")


def _role_change_options(f):
    """What `grant` and `revoke` take: ROLE, ACCOUNT, the vault, a Governor to propose through, the account."""
    options = [
        click.argument("role", type=click.Choice(list(ROLES))),
        click.argument("address", metavar="ACCOUNT"),
        vault_option,
        click.option(
            "--governor",
            "governor_ref",
            help="Propose through this Governor (default: the manifest's, when it is the admin).",
        ),
        account_option(prompt=False),
        yes_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


@cli.command(cls=ScriptCommand)
@vault_option
def roles(vault_ref):
    """Who holds each role of the vault (and the admin role of its rebalancer)."""
    client = _client(vault_ref)
    vault, start = client.vault, deployed_block(client.vault.address)
    click.echo(f"roles of {vault.symbol()} at {vault.address} (granted since block {start}):")
    for name, role in ROLES.items():
        holders = role_holders(vault, role, start)
        click.echo(f"  {name:<12} {', '.join(holders) if holders else 'nobody'}")
    rebalancer = project.Rebalancer.at(vault.rebalancer())
    holders = role_holders(rebalancer, ROLES["admin"], deployed_block(rebalancer.address))
    click.echo(f"  rebalancer admin {', '.join(holders) if holders else 'nobody'}")


def _change_role(vault_ref, role: str, address: str, governor_ref, account, yes: bool, grant: bool) -> None:
    """Grants or revokes `role` of the vault (the admin role: of its rebalancer too), directly from the admin
    or proposed through the Governor that holds the admin role."""
    client, sender = _client(vault_ref), pick_account(account)
    target = checked_address(address, "ACCOUNT")
    vault = client.vault
    contracts = [vault] + ([project.Rebalancer.at(vault.rebalancer())] if role == "admin" else [])
    function = "grantRole" if grant else "revokeRole"
    verb = "grant" if grant else "revoke"
    governor = _governing(vault, governor_ref, sender)
    if governor is not None:
        for contract in contracts:
            if refusal := admin_refusal(contract, governor.address, "the contract", deployed_block(contract.address)):
                raise click.ClickException(refusal)
        click.echo(f"propose to the Governor {governor.address}: {verb} {role} of {vault.symbol()} to {target}")
        authorize(sender, "Propose", yes)
        for contract in contracts:
            data = getattr(contract, function).encode_input(ROLES[role], target)
            receipt = governor.propose(contract, data, f"{verb} {role}: {target}", sender=sender)
            (event,) = governor.ProposalCreated.from_receipt(receipt)
            click.echo(f"proposal {event.id} on {contract.address}: executable from timestamp {event.eta}")
        return
    for contract in contracts:
        if not contract.hasRole(ROLES["admin"], sender):
            holders = role_holders(contract, ROLES["admin"], deployed_block(contract.address))
            raise click.ClickException(
                f"{sender.address} is not the admin of {contract.address} (the admin is "
                f"{', '.join(holders) or 'unknown'}): pass --governor if a Governor holds it, or --account ADMIN"
            )
    if grant == bool(vault.hasRole(ROLES[role], target)) and role != "admin":
        click.echo(
            f"{target} {'already holds' if grant else 'does not hold'} {role} of {vault.symbol()}: nothing to do"
        )
        return
    click.echo(f"{verb} {role} of {vault.symbol()} {'to' if grant else 'from'} {target}")
    authorize(sender, verb.capitalize(), yes)
    for contract in contracts:
        getattr(contract, function)(ROLES[role], target, sender=sender)
    click.echo(f"{role} {'granted to' if grant else 'revoked from'} {target}")


@cli.command(cls=ScriptCommand)
@_role_change_options
def grant(role, address, vault_ref, governor_ref, account, yes):
    """Grant ROLE of the vault to ACCOUNT (e.g. `grant keeper 0x...` for the keeper's account)."""
    _change_role(vault_ref, role, address, governor_ref, account, yes, grant=True)


@cli.command(cls=ScriptCommand)
@_role_change_options
def revoke(role, address, vault_ref, governor_ref, account, yes):
    """Revoke ROLE of the vault from ACCOUNT."""
    _change_role(vault_ref, role, address, governor_ref, account, yes, grant=False)
