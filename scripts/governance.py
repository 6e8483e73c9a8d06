"""`ape run governance deploy|pending|propose-nav-fees|execute|cancel`: timelocked administration.

A Governor holds the admin role of vaults and oracle routers (`ape run deploy --governor ADDRESS` hands it
over at deployment). Changes are proposed, wait the Governor's delay, and are then executed by anyone until
they expire; guardians cancel.
"""

from datetime import UTC, datetime

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand, account_option

from index_vault.chain.cli import confirm_live, pick_account
from index_vault.chain.governance import DAY, deploy_governor, pending_calls
from index_vault.report import table

governor_option = click.option("--governor", "governor_address", required=True, help="The Governor's address.")


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def cli():
    """Timelocked administration of vaults and oracle routers."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--proposer", "proposers", multiple=True, help="May propose (default: the account).")
@click.option("--guardian", "guardians", multiple=True, help="May cancel (default: the account).")
@click.option("--delay-days", default=2.0, show_default=True, help="Delay between proposal and execution (>= 1).")
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def deploy(account, proposers, guardians, delay_days, yes):
    """Deploy a Governor."""
    sender = pick_account(account)
    confirm_live("Deploy a Governor", yes)
    governor = deploy_governor(
        sender, list(proposers) or [sender.address], list(guardians) or [sender.address], int(delay_days * DAY)
    )
    click.echo(f"governor at {governor.address} (delay {governor.delay()} s)")


@cli.command(cls=ConnectedProviderCommand)
@governor_option
def pending(governor_address):
    """What is coming, and when."""
    governor = project.Governor.at(governor_address)
    now = chain.blocks.head.timestamp
    calls = pending_calls(governor)
    if not calls:
        click.echo("no pending proposals")
        return
    rows = [
        [
            str(c.id),
            c.function.split("(")[0],
            c.target,
            _when(c.eta),
            _when(c.expires),
            "ready" if now >= c.eta else "waiting",
        ]
        for c in calls
    ]
    click.echo(table(["id", "call", "target", "executable from", "expires", "state"], rows))


@cli.command("propose-nav-fees", cls=ConnectedProviderCommand)
@governor_option
@click.option("--vault", "vault_address", required=True, help="The vault.")
@click.option("--entry-bps", type=click.IntRange(0, 500), required=True)
@click.option("--exit-bps", type=click.IntRange(0, 500), required=True)
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def propose_nav_fees(governor_address, vault_address, entry_bps, exit_bps, account, yes):
    """Propose new NAV-path fees for a vault."""
    governor, sender = project.Governor.at(governor_address), pick_account(account)
    vault = project.IndexVault.at(vault_address)
    data = vault.set_nav_fees.encode_input(entry_bps, exit_bps)
    confirm_live(f"Propose NAV fees {entry_bps}/{exit_bps} bps for {vault.symbol()}", yes)
    receipt = governor.propose(vault, data, f"NAV fees {entry_bps}/{exit_bps} bps", sender=sender)
    (event,) = governor.ProposalCreated.from_receipt(receipt)
    click.echo(f"proposal {event.id}: executable from {_when(event.eta)} until {_when(event.expires)}")


@cli.command(cls=ConnectedProviderCommand)
@governor_option
@click.argument("proposal_id", type=int)
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def execute(governor_address, proposal_id, account, yes):
    """Execute a proposal whose delay has passed."""
    governor, sender = project.Governor.at(governor_address), pick_account(account)
    confirm_live(f"Execute proposal {proposal_id}", yes)
    governor.execute(proposal_id, sender=sender)
    click.echo(f"executed proposal {proposal_id}")


@cli.command(cls=ConnectedProviderCommand)
@governor_option
@click.argument("proposal_id", type=int)
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def cancel(governor_address, proposal_id, account, yes):
    """Cancel a pending proposal (guardian or proposer)."""
    governor, sender = project.Governor.at(governor_address), pick_account(account)
    confirm_live(f"Cancel proposal {proposal_id}", yes)
    governor.cancel(proposal_id, sender=sender)
    click.echo(f"cancelled proposal {proposal_id}")
