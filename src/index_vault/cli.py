"""`index-vault`: the commands that need no chain."""

import json
import sys

import click
import yaml

from index_vault.basket import LOCKED_SHARES, MAX_ASSETS, MIN_UNIT, mint_amounts, redeem_amounts
from index_vault.report import format_amounts, table
from index_vault.spec import SpecError, load_spec
from index_vault.units import format_units, parse_units


@click.group()
@click.version_option(package_name="index-vault")
def main() -> None:
    """Index vault tooling that needs no chain (see `ape run deploy|vault|demo` for the rest)."""


@main.group()
def spec() -> None:
    """Basket spec files."""


@spec.command("check")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the normalised spec as JSON.")
def spec_check(spec_file: str, as_json: bool) -> None:
    """Validate SPEC and show the basket as the vault will hold it."""
    try:
        basket = load_spec(spec_file)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(basket.to_dict(), indent=2))
        return
    click.echo(f"{basket.name} ({basket.symbol}): {len(basket.constituents)} of at most {MAX_ASSETS} constituents")
    rows = [
        [c.symbol, str(c.decimals), c.units_text, str(c.units), c.address or "(test token on local chains)"]
        for c in basket.constituents
    ]
    click.echo(table(["asset", "decimals", "units/share", "base units", "address"], rows, right={1, 2, 3}))
    click.echo(f"\nok: every unit is at least {MIN_UNIT} base units, so the locked shares hold some of each")


@spec.command("preview")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.argument("shares")
def spec_preview(spec_file: str, shares: str) -> None:
    """What the first mint of SHARES would pay, and what a redemption of them would return."""
    try:
        basket = load_spec(spec_file)
        amount = parse_units(shares, 18)
    except (SpecError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if amount <= LOCKED_SHARES:
        raise click.ClickException(f"the first mint must exceed {LOCKED_SHARES} wei of shares (0.01 share)")
    symbols = [c.symbol for c in basket.constituents]
    decimals = [c.decimals for c in basket.constituents]
    paid = mint_amounts(amount, 0, [], basket.units)
    back = redeem_amounts(amount - LOCKED_SHARES, amount, paid)
    click.echo(f"first mint of {shares} shares pays: {format_amounts(symbols, decimals, paid)}")
    received = format_units(amount - LOCKED_SHARES, 18)
    click.echo(f"the minter receives {received} shares (0.01 is locked); redeeming them returns:")
    click.echo(f"  {format_amounts(symbols, decimals, back)}")


@spec.command("template")
def spec_template() -> None:
    """Print an example spec to start from."""
    example = {
        "name": "My Index",
        "symbol": "MYIDX",
        "constituents": [
            {"symbol": "WETH", "decimals": 18, "units": "0.01"},
            {"symbol": "USDC", "decimals": 6, "units": "25"},
        ],
    }
    yaml.safe_dump(example, sys.stdout, sort_keys=False)
