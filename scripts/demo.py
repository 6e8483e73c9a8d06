"""`ape run demo` (what `make demo` runs): an index vault's life on a local chain.

Deploys a five-asset basket (test tokens with real symbols and decimals), then two holders mint
in kind, one redeems, and the vault's status is shown between the steps.
"""

from pathlib import Path

import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from index_vault.chain.cli import is_local
from index_vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.chain.vault import VaultClient
from index_vault.report import format_status
from index_vault.spec import load_spec
from index_vault.units import format_units

DEFAULT_SPEC = Path(__file__).resolve().parents[1] / "specs" / "demo-top5.yaml"
SHARE = 10**18


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _gas(client: VaultClient) -> str:
    return f"(gas {client.last_receipt.gas_used:,})"


@click.command(cls=ConnectedProviderCommand)
@click.option("--spec", "spec_file", default=str(DEFAULT_SPEC), show_default=True, type=click.Path(exists=True))
def cli(spec_file):
    """Deploy a basket on a local chain, mint, redeem, and show the vault at each step."""
    if not is_local():
        raise click.UsageError("the demo mints test tokens: run it on a local chain (the default network)")
    logger.set_level("WARNING")  # the story below, not one line per confirmed transaction
    spec = load_spec(spec_file)
    deployer, alice, bob = list(accounts.test_accounts)[:3]

    _step(f"Deploy {spec.name} on chain {chain.chain_id}")
    deployed = deploy_vault(spec, deployer, local=True, echo=click.echo)
    fund_test_accounts(spec, deployed.tokens, [alice, bob], 1_000 * SHARE, sender=deployer)
    client = VaultClient(deployed.vault)
    click.echo(f"  alice {alice.address} and bob {bob.address} hold test tokens for 1,000 shares each")

    _step("Alice mints 10 shares (the first mint pays the starting units)")
    paid = client.mint(alice, 10 * SHARE, echo=click.echo)
    click.echo(f"  paid {client.describe(paid)} {_gas(client)}")
    click.echo(f"  {format_units(deployed.vault.LOCKED_SHARES(), 18)} shares are locked forever at the dead address")

    _step("Bob mints 2.5 shares (pro rata to holdings, rounded up)")
    paid = client.mint(bob, 25 * SHARE // 10, echo=click.echo)
    click.echo(f"  paid {client.describe(paid)} {_gas(client)}")

    _step("Status, seen by alice")
    click.echo(format_status(client.status(alice)))

    _step("Bob deposits 0.05 WETH at NAV (ERC-4626; valued at the low end of the price band)")
    paid, shares = client.deposit(bob, 5 * 10**16, echo=click.echo)
    click.echo(f"  paid {client.describe_one(0, paid)} for {format_units(shares, 18)} shares {_gas(client)}")

    _step("Bob redeems those shares for WETH at NAV (ERC-4626; band and exit both favour the vault)")
    assets, _ = client.redeem_at_nav(bob, shares, echo=click.echo)
    click.echo(f"  received {client.describe_one(0, assets)} {_gas(client)}")

    _step("Alice redeems 4 shares in kind (pro rata, rounded down)")
    got = client.redeem(alice, 4 * SHARE, echo=click.echo)
    click.echo(f"  received {client.describe(got)} {_gas(client)}")

    _step("Status, seen by alice")
    click.echo(format_status(client.status(alice)))
