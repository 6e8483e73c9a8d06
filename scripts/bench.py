"""`ape run bench` (what `make bench` runs): gas of the vault's flows at N constituents.

Steady state on anvil: the measured holder has used the flow before, the vault holds every
constituent, the tokens are OpenZeppelin ERC-20s (Set Protocol V2's StandardTokenMock build).
Beside each in-kind figure stands the floor: one transaction that only moves the same N tokens by
`transferFrom` (contracts/bench/TransferFloor.vy). The NAV-priced flows (ERC-4626 deposit and
redeem, `total_value`) run against the real oracle on a local market: Chainlink feeds and Uniswap
V3 pools from npm, one feed and one TWAP read per constituent. Writes bench/results/gas.json and
gas.md.
"""

import json
from decimal import Decimal
from pathlib import Path

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from index_vault.chain.cli import is_local
from index_vault.chain.contracts import npm_container
from index_vault.chain.deploy import deploy_vault
from index_vault.report import table
from index_vault.spec import parse_spec

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
SHARE = 10**18
MAX_UINT = 2**256 - 1


def _measure(n: int, deployer, holder) -> list[dict]:
    token_type = npm_container("StandardTokenMock")
    decimals = [(18, 8, 6)[i % 3] for i in range(n)]
    tokens = [token_type.deploy(deployer, 0, f"Token {i}", f"T{i}", d, sender=deployer) for i, d in enumerate(decimals)]
    units = [10 ** max(d - 2, 2) for d in decimals]
    # the in-kind flows never read the oracle: a mock router stands in
    oracle = project.MockOracleRouter.deploy(sender=deployer)
    vault = project.IndexVault.deploy(
        "Bench Index", "BENCH", tokens, units, tokens[0], oracle, deployer, sender=deployer
    )
    floor = project.TransferFloor.deploy(sender=deployer)
    sink = accounts.test_accounts[5]
    for token in tokens:
        for who in (deployer, holder):
            token.mint(who, 10**40, sender=deployer)
            token.approve(vault, MAX_UINT, sender=who)
            token.approve(floor, MAX_UINT, sender=who)
        token.mint(sink, 10**18, sender=deployer)  # the floor's receiver already holds each token

    vault.mint_in_kind(100 * SHARE, deployer, [MAX_UINT] * n, sender=deployer)  # first mint
    vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)  # the holder's own first mint
    amounts = vault.preview_mint_in_kind(SHARE)
    mint = vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)
    floor_tx = floor.pull(tokens, amounts, sink, sender=holder)
    redeem = vault.redeem_in_kind(SHARE, holder, [0] * n, sender=holder)
    return [
        {"op": "mint_in_kind", "n_assets": n, "gas": mint.gas_used, "floor_gas": floor_tx.gas_used},
        {"op": "redeem_in_kind", "n_assets": n, "gas": redeem.gas_used},
    ]


def _measure_nav(n: int, deployer, holder) -> list[dict]:
    decimals = [(18, 8, 6)[i % 3] for i in range(n)]
    prices = [Decimal(10) ** (i % 4) for i in range(n)]  # $1, $10, $100, $1,000, ...
    spec = parse_spec(
        {
            "name": "Bench NAV Index",
            "symbol": "BNAV",
            "constituents": [
                {"symbol": f"N{i}", "decimals": d, "units": str(Decimal(10) / p), "price_usd": str(p)}
                for i, (d, p) in enumerate(zip(decimals, prices, strict=True))
            ],
        }
    )
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault = deployed.vault
    for token in deployed.tokens:
        for who in (deployer, holder):
            token.mint(who, 10**40, sender=deployer)
            token.approve(vault, MAX_UINT, sender=who)
    vault.mint_in_kind(10_000 * SHARE, deployer, [MAX_UINT] * n, sender=deployer)
    vault.deposit(10**18, holder, sender=holder)  # the holder's first deposit
    deposit = vault.deposit(10**18, holder, sender=holder)
    redeem = vault.redeem(vault.balanceOf(holder) // 2, holder, holder, sender=holder)
    mint_in_kind = vault.mint_in_kind(SHARE, holder, [MAX_UINT] * n, sender=holder)
    return [
        {"op": "erc4626_deposit", "n_assets": n, "gas": deposit.gas_used},
        {"op": "erc4626_redeem", "n_assets": n, "gas": redeem.gas_used},
        {"op": "total_value", "n_assets": n, "gas": vault.total_value.estimate_gas_cost()},
        {"op": "mint_in_kind_with_oracle_vault", "n_assets": n, "gas": mint_in_kind.gas_used},
    ]


@click.command(cls=ConnectedProviderCommand)
@click.option("--sizes", default="2,5,10,20,50", show_default=True, help="Basket sizes of the in-kind flows.")
@click.option("--nav-sizes", default="10,50", show_default=True, help="Basket sizes of the NAV-priced flows.")
def cli(sizes, nav_sizes):
    """Measure the vault's gas at each basket size; write bench/results/."""
    if not is_local():
        raise click.UsageError("the benchmark deploys test tokens: run it on a local chain")
    logger.set_level("WARNING")
    deployer, holder = accounts.test_accounts[0], accounts.test_accounts[1]
    rows: list[dict] = []
    for n in (int(s) for s in sizes.split(",") if s):
        click.echo(f"in kind, N = {n} ...")
        rows.extend(_measure(n, deployer, holder))
    for n in (int(s) for s in nav_sizes.split(",") if s):
        click.echo(f"NAV path on a local market, N = {n} ...")
        rows.extend(_measure_nav(n, deployer, holder))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gas.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        [
            r["op"],
            str(r["n_assets"]),
            f"{r['gas']:,}",
            f"{r['floor_gas']:,}" if "floor_gas" in r else "",
            f"{r['gas'] / r['floor_gas']:.3f}" if "floor_gas" in r else "",
        ]
        for r in rows
    ]
    text = table(["op", "N", "gas", "floor gas", "gas / floor"], lines, right={1, 2, 3, 4})
    (RESULTS / "gas.md").write_text(
        "Gas on anvil 1.7.1, steady state (not first mints); floor = one tx moving the same N tokens by "
        "transferFrom. NAV-priced rows (ERC-4626, total_value) run on a local market with the real oracle.\n\n```\n"
        + text
        + "\n```\n"
    )
    click.echo(text)
