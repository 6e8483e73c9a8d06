"""`ape run governance deploy|pending|propose-fees|execute|cancel`: timelocked administration.

A Governor holds the admin role of vaults and oracle routers (`ape run deploy --governor ADDRESS` hands it
over at deployment). Changes are proposed, wait the Governor's delay, and are then executed by anyone until
they expire; guardians cancel. `deploy` records the Governor in the network's manifest, and every other
command uses that one unless `--governor` names another.
"""

from datetime import UTC, datetime

import click
from ape import chain, project
from ape.cli import account_option

from index_vault.chain.scripting import (
    ScriptCommand,
    authorize,
    contract_at,
    deployed_block,
    load_deployment,
    network_label,
    pick_account,
    resolve_governor_address,
    resolve_vault_address,
    save_deployment,
    would_revert,
)
from index_vault.common.report import table
from index_vault.vault.chain.governance import DAY, admin_refusal, deploy_governor, pending_calls
from index_vault.vault.fees import annual_bps_from_rate, rate_from_annual_bps

governor_option = click.option(
    "--governor", "governor_address", help="The Governor (default: the one in this network's manifest)."
)
yes_option = click.option("--yes", is_flag=True, help="Send without asking (unattended).")


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _governor(address: str | None):
    return contract_at(project.Governor, resolve_governor_address(address), "--governor", "delay")


def _proposal(governor, proposal_id: int):
    """The pending proposal `proposal_id`, or a clear error."""
    for call in pending_calls(governor):
        if call.id == proposal_id:
            return call
    raise click.UsageError(
        f"no pending proposal {proposal_id} at {governor.address} (see `ape run governance pending`)"
    )


@click.group()
def cli():
    """Timelocked administration of vaults and oracle routers."""


@cli.command(cls=ScriptCommand)
@account_option(prompt=False)
@click.option("--proposer", "proposers", multiple=True, help="May propose (default: the account).")
@click.option("--guardian", "guardians", multiple=True, help="May cancel (default: the account).")
@click.option(
    "--delay-days",
    default=2.0,
    show_default=True,
    type=click.FloatRange(1, 30),
    help="Delay between proposal and execution, 1 to 30 days.",
)
@yes_option
def deploy(account, proposers, guardians, delay_days, yes):
    """Deploy a Governor and record it in the network's manifest."""
    sender = pick_account(account)
    proposers, guardians = list(proposers) or [sender.address], list(guardians) or [sender.address]
    click.echo(f"a Governor on {network_label()}: delay {delay_days:g} days")
    click.echo(f"  proposers {', '.join(proposers)}; guardians {', '.join(guardians)}")
    authorize(sender, "Deploy a Governor", yes)
    governor = deploy_governor(sender, proposers, guardians, int(delay_days * DAY))
    deployment = load_deployment()
    deployment.governor = governor.address
    click.echo(f"governor at {governor.address} (delay {governor.delay()} s); manifest: {save_deployment(deployment)}")


@cli.command(cls=ScriptCommand)
@governor_option
def pending(governor_address):
    """What is coming, and when."""
    governor = _governor(governor_address)
    now = chain.blocks.head.timestamp
    calls = pending_calls(governor)
    if not calls:
        click.echo(f"no pending proposals at {governor.address}")
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


@cli.command("propose-fees", cls=ScriptCommand)
@governor_option
@click.option("--vault", "vault_ref", help="Vault address, or its symbol in the manifest (default: its only vault).")
@click.option("--management-bps", type=click.IntRange(0, 1_000), help="Annual management fee (at most 10%).")
@click.option("--mint-bps", type=click.IntRange(0, 100), help="In-kind mint fee (at most 1%).")
@click.option("--redeem-bps", type=click.IntRange(0, 100), help="In-kind redeem fee (at most 1%).")
@click.option("--entry-bps", type=click.IntRange(0, 500), help="NAV-path entry fee (at most 5%).")
@click.option("--exit-bps", type=click.IntRange(0, 500), help="NAV-path exit fee (at most 5%).")
@account_option(prompt=False)
@yes_option
def propose_fees(governor_address, vault_ref, management_bps, mint_bps, redeem_bps, entry_bps, exit_bps, account, yes):
    """Propose a vault's fee schedule; fees not given keep their current value."""
    governor, sender = _governor(governor_address), pick_account(account)
    vault = contract_at(project.IndexVault, resolve_vault_address(vault_ref), "--vault", "LOCKED_SHARES")
    if refusal := admin_refusal(vault, governor.address, "the vault", deployed_block(vault.address)):
        raise click.ClickException(refusal)
    if not governor.hasRole(governor.PROPOSER_ROLE(), sender):
        raise click.ClickException(f"{sender.address} may not propose to the Governor {governor.address}")
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
    click.echo(f"propose to the Governor {governor.address}, fees of {vault.symbol()}: {text}")
    authorize(sender, "Propose", yes)
    receipt = governor.propose(vault, vault.set_fees.encode_input(*schedule), f"fees: {text}", sender=sender)
    (event,) = governor.ProposalCreated.from_receipt(receipt)
    click.echo(f"proposal {event.id} ({text}): executable from {_when(event.eta)} until {_when(event.expires)}")


@cli.command(cls=ScriptCommand)
@governor_option
@click.argument("proposal_id", type=int)
@account_option(prompt=False)
@yes_option
def execute(governor_address, proposal_id, account, yes):
    """Execute a proposal whose delay has passed (anyone may)."""
    governor, sender = _governor(governor_address), pick_account(account)
    call = _proposal(governor, proposal_id)
    now = chain.blocks.head.timestamp
    if now < call.eta:
        raise click.ClickException(f"proposal {proposal_id} is executable from {_when(call.eta)}, not before")
    if now >= call.expires:
        raise click.ClickException(f"proposal {proposal_id} expired at {_when(call.expires)}: propose it again")
    if reason := would_revert(governor, "execute", proposal_id, sender=sender):
        name = call.function.split("(")[0]
        raise click.ClickException(f"proposal {proposal_id} ({name} on {call.target}) would revert: {reason}")
    click.echo(f"execute proposal {proposal_id}: {call.function} on {call.target}")
    authorize(sender, f"Execute proposal {proposal_id}", yes)
    governor.execute(proposal_id, sender=sender)
    click.echo(f"executed proposal {proposal_id}")


@cli.command(cls=ScriptCommand)
@governor_option
@click.argument("proposal_id", type=int)
@account_option(prompt=False)
@yes_option
def cancel(governor_address, proposal_id, account, yes):
    """Cancel a pending proposal (guardian or proposer)."""
    governor, sender = _governor(governor_address), pick_account(account)
    call = _proposal(governor, proposal_id)
    click.echo(f"cancel proposal {proposal_id}: {call.function} on {call.target}")
    authorize(sender, f"Cancel proposal {proposal_id}", yes)
    governor.cancel(proposal_id, sender=sender)
    click.echo(f"cancelled proposal {proposal_id}")
