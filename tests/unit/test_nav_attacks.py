"""Attacks on the NAV path, tried with numbers: oracle front-running and first-depositor donation.

The basket holds WETH ($2,000), WBTC ($30,000) and USDC ($1): $20 + $15 + $30 = $65 per share.
The attacker knows that WBTC's next feed update moves it by 1% (inside a Chainlink deviation
threshold, so the feed has not updated yet). A vault that prices the NAV path at the feeds' mid
prices pays the attacker; this vault prices it from the band (`error_bps` = the feed's deviation
threshold) and pays nothing.
"""

import boa
import pytest

from tests.baskets import MAX_UINT

SHARE = 10**18
ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6)]
ORACLE_PRICES = [2_000, 30_000, 1]


def _value(amounts, prices, tokens) -> float:
    """USD value of amounts at prices (floats: analytics only)."""
    return sum(a * p / 10 ** t.decimals() for a, p, t in zip(amounts, prices, tokens, strict=True))


@pytest.fixture
def market(make_vault, mock_oracle_deployer, fund, alice):
    def make(band_bps: int):
        vault, tokens = make_vault(ASSETS, prices=ORACLE_PRICES, band_bps=band_bps)
        fund(vault, tokens, alice)
        with boa.env.prank(alice):
            vault.mint_in_kind(1_000 * SHARE, alice, [MAX_UINT] * 3)
        return vault, tokens

    return make


@pytest.mark.parametrize(("band_bps", "profitable"), [(0, True), (100, False)], ids=["mid-priced", "band-priced"])
def test_deposit_then_redeem_in_kind__wbtc_about_to_rise_1pct__profits_only_without_band(
    market, fund, bob, band_bps, profitable
):
    vault, tokens = market(band_bps)
    fund(vault, tokens, bob)
    true_prices = [2_000, 30_300, 1]
    deposit = 3 * 10**18  # 3 WETH, $6,000

    with boa.env.prank(bob):
        shares = vault.deposit(deposit, bob)
        out = vault.redeem_in_kind(shares, bob, [0, 0, 0])

    profit = _value(out, true_prices, tokens) - _value([deposit, 0, 0], true_prices, tokens)
    print(f"band {band_bps} bps: deposit $6,000.00, in kind out ${profit + 6000:,.2f}, profit ${profit:,.2f}")
    assert (profit > 0) is profitable
    if profitable:
        assert profit > 10  # about 15/65 of 1% of $6,000 = $13.85, less rounding


@pytest.mark.parametrize(("band_bps", "profitable"), [(0, True), (100, False)], ids=["mid-priced", "band-priced"])
def test_mint_in_kind_then_redeem_at_nav__wbtc_about_to_fall_1pct__profits_only_without_band(
    market, fund, bob, band_bps, profitable
):
    vault, tokens = market(band_bps)
    fund(vault, tokens, bob)
    true_prices = [2_000, 29_700, 1]
    shares = 50 * SHARE  # $3,250 of basket, within the exit cap

    with boa.env.prank(bob):
        paid = vault.mint_in_kind(shares, bob, [MAX_UINT] * 3)
        got = vault.redeem(shares, bob, bob)

    profit = _value([got, 0, 0], true_prices, tokens) - _value(paid, true_prices, tokens)
    print(f"band {band_bps} bps: basket in ${_value(paid, true_prices, tokens):,.2f}, WETH out, profit ${profit:,.2f}")
    assert (profit > 0) is profitable


def test_first_depositor_donation__nav_path__victim_loses_less_than_a_cent(make_vault, fund, alice, bob):
    """ERC-4626 inflation: the attacker mints the least possible shares, donates, waits for a deposit."""
    vault, tokens = make_vault(ASSETS, prices=ORACLE_PRICES)
    fund(vault, tokens, alice)
    fund(vault, tokens, bob)
    vault.set_flow_cap(10_000, 86400)
    with boa.env.prank(alice):
        vault.mint_in_kind(vault.LOCKED_SHARES() + 1, alice, [MAX_UINT] * 3)  # $0.65 of basket, 1 wei of shares
    donation = 500 * 10**18  # $1,000,000 of WETH sent to the vault
    tokens[0].mint(vault.address, donation)

    deposit = 10**18  # the victim deposits 1 WETH ($2,000); the cap is 100% of a $1M NAV
    with boa.env.prank(bob):
        shares = vault.deposit(deposit, bob)
    victim_claim = vault.previewRedeem(shares)
    attacker_claim = vault.previewRedeem(vault.balanceOf(alice))

    loss_usd = (deposit - victim_claim) * 2_000 / 10**18
    print(
        f"victim shares {shares}, claim {victim_claim} wei WETH, loss ${loss_usd:.6f}; attacker claim {attacker_claim}"
    )
    assert shares > 0
    assert loss_usd < 0.01
    # the donation went almost entirely to the locked shares: the attacker owns 1 wei of 10**16 + 1
    assert attacker_claim * 2_000 / 10**18 < 1
