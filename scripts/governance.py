"""`ape run governance deploy|pending|propose-fees|execute|cancel`: timelocked administration.

A Governor holds the admin role of vaults and oracle routers (`ape run deploy --governor ADDRESS` hands it
over at deployment). Changes are proposed, wait the Governor's delay, and are then executed by anyone until
they expire; guardians cancel.
"""

from datetime import UTC, datetime

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand, account_option

from index_vault.chain.scripting import confirm_live, pick_account
from index_vault.common.report import table
from index_vault.vault.chain.governance import DAY, deploy_governor, pending_calls
from index_vault.vault.fees import annual_bps_from_rate, rate_from_annual_bps

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


@cli.command("propose-fees", cls=ConnectedProviderCommand)
@governor_option
@click.option("--vault", "vault_address", required=True, help="The vault.")
@click.option("--management-bps", type=click.IntRange(0, 1_000), help="Annual management fee (at most 10%).")
@click.option("--mint-bps", type=click.IntRange(0, 100), help="In-kind mint fee (at most 1%).")
@click.option("--redeem-bps", type=click.IntRange(0, 100), help="In-kind redeem fee (at most 1%).")
@click.option("--entry-bps", type=click.IntRange(0, 500), help="NAV-path entry fee (at most 5%).")
@click.option("--exit-bps", type=click.IntRange(0, 500), help="NAV-path exit fee (at most 5%).")
@account_option(prompt=False)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
def propose_fees(
    governor_address, vault_address, management_bps, mint_bps, redeem_bps, entry_bps, exit_bps, account, yes
):
    """Propose a vault's fee schedule; fees not given keep their current value."""
    governor, sender = project.Governor.at(governor_address), pick_account(account)
    vault = project.IndexVault.at(vault_address)
    rate = vault.management_fee_rate() if management_bps is None else rate_from_annual_bps(management_bps)
    schedule = [
        rate,
        vault.mint_fee_bps() if mint_bps is None else mint_bps,
        vault.redeem_fee_bps() if redeem_bps is None else redeem_bps,
        vault.entry_fee_bps() if entry_bps is None else entry_bps,
        vault.exit_fee_bps() if exit_bps is None else exit_bps,
    ]
    text = (
        f"management {annual_bps_from_rate(rate):.2f} bps/yr, mint {schedule[1]}, redeem {schedule[2]}, "
        f"entry {schedule[3]}, exit {schedule[4]} bps"
    )
    confirm_live(f"Propose fees for {vault.symbol()}: {text}", yes)
    receipt = governor.propose(vault, vault.set_fees.encode_input(*schedule), f"fees: {text}", sender=sender)
    (event,) = governor.ProposalCreated.from_receipt(receipt)
    click.echo(f"proposal {event.id} ({text}): executable from {_when(event.eta)} until {_when(event.expires)}")


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
