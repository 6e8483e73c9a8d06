"""ERC-4626 properties of the vault's NAV path, in the spirit of a16z's erc4626-tests:
round trips never profit, previews equal execution, max* are honoured, conversions are monotonic."""

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.baskets import MAX_UINT
from tests.conftest import fuzz_examples

SETTINGS = settings(
    max_examples=fuzz_examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SHARE = 10**18
ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6)]

band_st = st.integers(min_value=0, max_value=300)
fee_st = st.integers(min_value=0, max_value=500)
prices_st = st.tuples(
    st.integers(min_value=100, max_value=10_000), st.integers(min_value=1_000, max_value=100_000), st.just(1)
)
amount_st = st.integers(min_value=1, max_value=10**20)


@pytest.fixture
def setup(make_vault, mock_oracle_deployer, fund, alice, bob):
    """One vault per test (alice minted 10,000 shares in kind); each example only re-prices it.

    titanoboa's plugin rolls the chain back after every hypothesis example.
    """
    vault, tokens = make_vault(ASSETS)
    oracle = mock_oracle_deployer.at(vault.oracle())
    fund(vault, tokens, alice, 10**40)
    fund(vault, tokens, bob, 10**40)
    vault.set_flow_cap(10_000, 86400)
    with boa.env.prank(alice):
        vault.mint_in_kind(10_000 * SHARE, alice, [MAX_UINT] * 3)

    def configure(prices, band_bps, entry_fee, exit_fee):
        for token, price in zip(tokens, prices, strict=True):
            mid = price * 10**18
            low, high = mid * (10_000 - band_bps) // 10_000, -(-mid * (10_000 + band_bps) // 10_000)
            oracle.set_price(token.address, mid, low, high, token.decimals())
        vault.set_fees(0, 0, 0, entry_fee, exit_fee)
        return vault, tokens

    return configure


@SETTINGS
@given(prices=prices_st, band=band_st, fin=fee_st, fout=fee_st, assets=amount_st)
def test_deposit_then_redeem__any_state__returns_no_more_than_deposited(setup, bob, prices, band, fin, fout, assets):
    vault, _ = setup(prices, band, fin, fout)
    if vault.previewDeposit(assets) == 0:
        return
    with boa.env.prank(bob):
        shares = vault.deposit(assets, bob)
        back = vault.redeem(shares, bob, bob) if vault.previewRedeem(shares) else 0

    assert back <= assets


@SETTINGS
@given(prices=prices_st, band=band_st, fin=fee_st, fout=fee_st, shares=amount_st)
def test_mint_then_withdraw__any_state__burns_at_least_minted(setup, bob, prices, band, fin, fout, shares):
    vault, _ = setup(prices, band, fin, fout)
    with boa.env.prank(bob):
        assets = vault.mint(shares, bob)
        # withdrawing everything paid needs at least the shares minted; more than bob holds reverts
        needed = vault.previewWithdraw(assets)

    assert needed >= shares


@SETTINGS
@given(prices=prices_st, band=band_st, fin=fee_st, fout=fee_st, amount=amount_st, data=st.data())
def test_previews__any_state__equal_execution(setup, alice, bob, prices, band, fin, fout, amount, data):
    vault, _ = setup(prices, band, fin, fout)
    fn = data.draw(st.sampled_from(["deposit", "mint", "withdraw", "redeem"]))
    if fn == "withdraw":
        amount = min(amount, vault.maxWithdraw(alice))
    if fn == "redeem":
        amount = min(amount, vault.maxRedeem(alice))
    preview = getattr(vault, "preview" + fn.capitalize())(amount)
    if preview == 0:
        return

    with boa.env.prank(alice):
        result = (
            getattr(vault, fn)(amount, alice) if fn in ("deposit", "mint") else getattr(vault, fn)(amount, bob, alice)
        )

    assert result == preview


@SETTINGS
@given(prices=prices_st, band=band_st, fin=fee_st, fout=fee_st, cap=st.integers(min_value=1, max_value=10_000))
def test_max_functions__any_state__are_honoured(setup, alice, bob, prices, band, fin, fout, cap):
    vault, _ = setup(prices, band, fin, fout)
    vault.set_flow_cap(cap, 86400)

    for fn, limit, who in (
        ("deposit", vault.maxDeposit(bob), bob),
        ("mint", vault.maxMint(bob), bob),
        ("withdraw", vault.maxWithdraw(alice), alice),
        ("redeem", vault.maxRedeem(alice), alice),
    ):
        preview = getattr(vault, "preview" + fn.capitalize())(limit) if limit else 0
        if preview == 0:
            continue
        with boa.env.anchor(), boa.env.prank(who):  # each max is honoured on its own
            if fn in ("deposit", "mint"):
                getattr(vault, fn)(limit, who)
            else:
                getattr(vault, fn)(limit, who, who)


@SETTINGS
@given(prices=prices_st, band=band_st, a=amount_st, b=amount_st)
def test_conversions__any_amounts__monotonic_and_consistent(setup, prices, band, a, b):
    vault, _ = setup(prices, band, 0, 0)
    lo, hi = sorted((a, b))

    assert vault.convertToShares(lo) <= vault.convertToShares(hi)
    assert vault.convertToAssets(lo) <= vault.convertToAssets(hi)
    assert vault.convertToAssets(vault.convertToShares(hi)) <= hi
    assert vault.previewDeposit(hi) <= vault.convertToShares(hi)  # the band and fee only ever cost the user
    assert vault.previewRedeem(hi) <= vault.convertToAssets(hi)
