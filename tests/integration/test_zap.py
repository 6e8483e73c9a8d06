"""The zap on real Uniswap V3 pools (the local market of `ape run deploy`) through the V3 adapter: a holder of USDC
mints the demo basket's shares and redeems them to USDC in one transaction each, within the oracle bound."""

import re
from dataclasses import dataclass
from decimal import Decimal

import ape
import pytest
from ape import accounts, chain

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.common.units import parse_units
from index_vault.keeper.routes import v3_route
from index_vault.market.chain.build import arbitrage_pool
from index_vault.oracle.chain.local import POOL_FEE
from index_vault.vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.vault.spec import load_spec
from index_vault.vault.zap import plan_mint
from tests.integration.conftest import DEMO_SPEC

SHARE = 10**18


@dataclass
class ZapSetup:
    deployed: object  # Deployed: the demo basket on the local market
    zap: object
    usdc: object
    holder: object

    def legs(self, shares: int, margin_bps: int = 70) -> tuple[list[tuple], int]:
        """USDC sold for each constituent of `shares` at the spec's prices plus `margin_bps` (the wallet's plan), and
        the plan's most USDC in."""
        d, usdc = self.deployed, self.usdc
        spec = load_spec(DEMO_SPEC)
        symbols = [c.symbol for c in spec.constituents]
        supply = d.vault.totalSupply()
        need = [held * shares // supply + 1 for held in d.vault.holdings()]  # the lens's preview: the mint rounds up
        decimals = [c.decimals for c in spec.constituents]
        prices = [parse_units(c.price_usd, 18) for c in spec.constituents]
        plan = plan_mint(need, decimals, prices, symbols.index("USDC"), 6, 10**18, fee_bps=30, margin_bps=margin_bps)
        adapter = d.adapters["uniswap-v3"]
        legs = [
            (adapter.address, amount, b"" if token == usdc else v3_route([usdc.address, token.address], [POOL_FEE]))
            for token, amount in zip(d.tokens, plan.amounts_in, strict=True)
        ]
        return legs, plan.max_in


@pytest.fixture(scope="module")
def zapping(project) -> ZapSetup:
    """The demo basket on its own local market (100 shares minted in kind, a rebalance's snapshot taken), a zap at
    1% bounds and a holder of $10,000 of USDC who approved it."""
    deployer, keeper, holder = accounts.test_accounts[0], accounts.test_accounts[2], accounts.test_accounts[4]
    spec = load_spec(DEMO_SPEC)
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault, rebalancer = deployed.vault, deployed.rebalancer
    fund_test_accounts(spec, deployed.tokens, [deployer], 100 * SHARE, sender=deployer)
    for token in deployed.tokens:
        token.approve(vault, 2**256 - 1, sender=deployer)
    vault.mint_in_kind(100 * SHARE, deployer, [2**256 - 1] * len(deployed.tokens), sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    rebalancer.start_rebalance(sender=keeper)  # the snapshot prices the zap's bound reads
    zap = project.Zap.deploy(100, 100, 3600, sender=deployer)
    usdc = deployed.tokens[[c.symbol for c in spec.constituents].index("USDC")]
    usdc.mint(holder, 10_000 * 10**6, sender=deployer)
    usdc.approve(zap, 2**256 - 1, sender=holder)
    return ZapSetup(deployed, zap, usdc, holder)


def test_zap__demo_basket_on_v3_pools__usdc_in_shares_out_and_back_within_the_oracle_bound(zapping):
    deployed, zap, usdc, holder = zapping.deployed, zapping.zap, zapping.usdc, zapping.holder
    vault, adapter = deployed.vault, deployed.adapters["uniswap-v3"]
    shares = 10 * SHARE
    legs, max_in = zapping.legs(shares)
    before = usdc.balanceOf(holder)

    receipt = zap.mint(vault, shares, usdc, max_in, legs, holder, sender=holder)

    (event,) = zap.ZapMinted.from_receipt(receipt)
    spent = before - usdc.balanceOf(holder)
    assert vault.balanceOf(holder) == shares and event.spent == spent < max_in
    assert spent * 10**12 * 10_000 <= event.value * 10_100  # within the 1% premium of the oracle's value
    for token in (*deployed.tokens, vault):
        assert token.balanceOf(zap) == 0
    swaps = len(legs) - 1
    print(f"\nzap mint of 10 shares ({swaps} swaps on V3 pools): {receipt.gas_used:,} gas, {spent / 1e6:,.2f} USDC")

    sell = [(adapter.address, 0, b"" if t == usdc else v3_route([t.address, usdc.address], [POOL_FEE]))
            for t in deployed.tokens]  # fmt: skip
    vault.approve(zap, shares, sender=holder)
    receipt = zap.redeem(vault, shares, usdc, 0, sell, holder, sender=holder)

    (event,) = zap.ZapRedeemed.from_receipt(receipt)
    assert vault.balanceOf(holder) == 0 and event.received * 10**12 * 10_000 >= event.value * 9_900
    assert usdc.balanceOf(holder) == before - spent + event.received
    assert all(erc20_at(t.address).balanceOf(zap) == 0 for t in deployed.tokens)
    print(f"zap redeem of 10 shares: {receipt.gas_used:,} gas, {event.received / 1e6:,.2f} USDC back")


def sandwich_weth(zapping: ZapSetup, up: str) -> None:
    """The front-run: WETH's pool pushed `up` (a fraction) above the spec's price by another account."""
    d = zapping.deployed
    weth, price = d.tokens[0], Decimal(load_spec(DEMO_SPEC).constituents[0].price_usd)
    attacker = accounts.test_accounts[8]
    arbitrage_pool(d.market.uniswap, d.market.pools["WETH"], weth, zapping.usdc, price * (1 + Decimal(up)), attacker,
                   weth.address)  # fmt: skip


@pytest.mark.parametrize(
    ("margin_bps", "reason"),
    [
        (70, "vault: amount in exceeds maximum"),  # the wallet's plan, 0.7% room a leg: WETH's buys 4% too little
        (500, "zap: above the oracle bound"),  # a loose plan, 5% room a leg, all of it a sandwich's: the bound holds
    ],
)
def test_zap_mint__constituent_pool_sandwiched_4_percent__reverts_and_nothing_moves(zapping, margin_bps, reason):
    deployed, zap, usdc, holder = zapping.deployed, zapping.zap, zapping.usdc, zapping.holder
    legs, max_in = zapping.legs(10 * SHARE, margin_bps=margin_bps)
    sandwich_weth(zapping, "0.04")
    before = usdc.balanceOf(holder)

    with ape.reverts(reason):
        zap.mint(deployed.vault, 10 * SHARE, usdc, max_in, legs, holder, sender=holder)

    assert usdc.balanceOf(holder) == before and deployed.vault.balanceOf(holder) == 0


def test_zap_mint__snapshot_old_and_feeds_stale__reverts_with_the_oracles_reason(zapping):
    deployed, zap, usdc, holder = zapping.deployed, zapping.zap, zapping.usdc, zapping.holder
    legs, max_in = zapping.legs(SHARE)
    chain.mine(timestamp=chain.blocks.head.timestamp + 3 * 86_400)  # past the zap's price age and every heartbeat

    with ape.reverts(re.compile("^oracle: ")):
        zap.mint(deployed.vault, SHARE, usdc, max_in, legs, holder, sender=holder)


def test_vault_buy_and_sell__ten_thousand_dollars_through_the_zap__cheaper_over_nav_than_the_erc4626_deposit(
    run_script, deployed
):
    holder = accounts.test_accounts[6]
    usdc = npm_container("StandardTokenMock").at(deployed["tokens"]["USDC"])
    usdc.mint(holder, 20_000 * 10**6, sender=holder)

    out = run_script("vault", "buy", "100", "--account", "TEST::6", "--yes").stdout  # about $10,000

    bought = re.search(r"bought 100 \S+ for (\d+) base units of USDC .*: ([+-][\d.]+)% against NAV", out)
    deposit = re.search(r"the ERC-4626 deposit of the same value in WETH buys [\d.]+: ([+-][\d.]+)% against NAV", out)
    assert bought and deposit, out
    zap_premium, deposit_premium = float(bought.group(2)), float(deposit.group(1))
    assert 0 < zap_premium < deposit_premium, out  # the zap pays the pools' fees; the deposit both price bands
    print(f"\n$10,000 buy: zap {zap_premium:+.3f}% over NAV, ERC-4626 deposit {deposit_premium:+.3f}%")

    sold = run_script("vault", "sell", "50", "--account", "TEST::6", "--yes").stdout  # of the 100 less the mint fee

    assert re.search(r"sold 50 \S+ for \d+ base units of USDC: -[\d.]+% against NAV", sold), sold


def test_zap_mint__a_leg_routed_to_a_token_outside_the_basket__reverts_and_nothing_moves(project, deployed):
    holder = accounts.test_accounts[7]
    vault = project.IndexVault.at(next(iter(deployed["vaults"].values())))
    usdc = npm_container("StandardTokenMock").at(deployed["tokens"]["USDC"])
    usdc.mint(holder, 1_000 * 10**6, sender=holder)
    stray = npm_container("StandardTokenMock").deploy(holder, 0, "Stray", "STRAY", 18, sender=holder)
    zap = project.Zap.deploy(100, 100, 3600, sender=holder)
    usdc.approve(zap, 2**256 - 1, sender=holder)
    adapter = deployed["adapters"]["uniswap-v3"]
    legs = [
        (adapter, 0, b"") if a == usdc.address else (adapter, 10 * 10**6, v3_route([usdc.address, a], [POOL_FEE]))
        for a in vault.assets()
    ]
    legs[0] = (adapter, 10 * 10**6, v3_route([usdc.address, stray.address], [POOL_FEE]))  # not the constituent
    before = usdc.balanceOf(holder)

    with ape.reverts("adapter: route does not match"):
        zap.mint(vault, 10**17, usdc, 100 * 10**6, legs, holder, sender=holder)

    assert usdc.balanceOf(holder) == before and vault.balanceOf(holder) == 0
