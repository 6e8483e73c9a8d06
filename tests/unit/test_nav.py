"""NAV from the oracle and the ERC-4626 face over the base asset (with a mock oracle router)."""

import boa
import pytest

from tests.baskets import MAX_UINT

SHARE = 10**18
WETH = 10**18
# WETH $2,000 (18 decimals), WBTC $30,000 (8), USDC $1 (6): $20 + $15 + $30 = $65 per share
ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6)]
PRICES = [2_000, 30_000, 1]
VALUE_PER_SHARE = 65 * 10**18
STALE = 5


@pytest.fixture
def nav_vault(make_vault, mock_oracle_deployer, fund, alice, bob):
    """1,000 shares ($65,000) minted in kind by alice; bob funded and approved. Returns (vault, tokens, oracle)."""

    def make(band_bps: int = 0, shares: int = 1_000 * SHARE):
        vault, tokens = make_vault(ASSETS, prices=PRICES, band_bps=band_bps)
        fund(vault, tokens, alice)
        fund(vault, tokens, bob)
        with boa.env.prank(alice):
            vault.mint_in_kind(shares, alice, [MAX_UINT] * 3)
        return vault, tokens, mock_oracle_deployer.at(vault.oracle())

    return make


def test_total_value__steady_state__sums_holdings_at_prices(nav_vault):
    vault, _, _ = nav_vault()

    assert vault.total_value() == 1_000 * VALUE_PER_SHARE
    assert vault.value_per_share() == VALUE_PER_SHARE
    assert vault.totalAssets() == 1_000 * VALUE_PER_SHARE * WETH // (2_000 * 10**18)


def test_value_per_share__before_first_mint__values_starting_units(make_vault):
    vault, _ = make_vault(ASSETS, prices=PRICES)

    assert vault.value_per_share() == VALUE_PER_SHARE


@pytest.mark.parametrize("view", ["total_value", "value_per_share", "totalAssets", "oldest_price_update"])
def test_nav_views__price_unusable__revert_with_oracle_reason(nav_vault, view):
    vault, tokens, oracle = nav_vault()
    oracle.set_status(tokens[1].address, STALE)

    with boa.reverts("oracle: stale price"):
        getattr(vault, view)()


def test_deposit__no_band_no_fee__mints_at_nav(nav_vault, bob):
    vault, tokens, _ = nav_vault()

    with boa.env.prank(bob):
        shares = vault.deposit(WETH, bob)  # $2,000 at $65 a share

    assert shares == 2_000 * 10**18 * (1_000 * SHARE) // (1_000 * VALUE_PER_SHARE)
    assert vault.balanceOf(bob) == shares
    assert tokens[0].balanceOf(vault.address) == 1_000 * 10**16 + WETH


def test_deposit__band_and_fee__value_in_at_low_nav_at_high(nav_vault, bob):
    vault, _, _ = nav_vault(band_bps=100)
    vault.set_fees(0, 0, 0, 30, 0)
    preview = vault.previewDeposit(WETH)

    with boa.env.prank(bob):
        shares = vault.deposit(WETH, bob)

    value_in = WETH * (2_000 * 10**18 * 99 // 100) // WETH
    net = value_in * (10_000 - 30) // 10_000
    nav_high = 1_000 * VALUE_PER_SHARE * 101 // 100
    assert shares == preview == net * 1_000 * SHARE // nav_high


@pytest.mark.parametrize("fn", ["deposit", "mint", "withdraw", "redeem"])
def test_erc4626_flows__preview__equals_execution(nav_vault, alice, bob, fn):
    vault, _, _ = nav_vault(band_bps=75)
    vault.set_fees(0, 0, 0, 20, 40)
    amount = 123_456_789_012_345_678 if fn in ("deposit", "withdraw") else 987_654_321_098_765_432
    preview = getattr(vault, "preview" + fn.capitalize())(amount)

    with boa.env.prank(alice):
        if fn in ("deposit", "mint"):
            result = getattr(vault, fn)(amount, alice)
        else:
            result = getattr(vault, fn)(amount, bob, alice)

    assert result == preview


def test_deposit__before_first_mint__reverts_and_max_is_zero(make_vault, fund, bob):
    vault, tokens = make_vault(ASSETS, prices=PRICES)
    fund(vault, tokens, bob)

    assert vault.maxDeposit(bob) == 0
    with boa.env.prank(bob), boa.reverts("vault: no shares yet, mint in kind first"):
        vault.deposit(WETH, bob)


def test_erc4626_max__price_unusable__all_zero_and_flows_revert(nav_vault, alice, bob):
    vault, tokens, oracle = nav_vault()
    oracle.set_status(tokens[2].address, STALE)

    assert [vault.maxDeposit(bob), vault.maxMint(bob), vault.maxWithdraw(alice), vault.maxRedeem(alice)] == [0] * 4
    with boa.env.prank(bob), boa.reverts("oracle: stale price"):
        vault.deposit(WETH, bob)
    with boa.env.prank(alice), boa.reverts("oracle: stale price"):
        vault.redeem(SHARE, alice, alice)


def test_redeem_in_kind__every_price_stale__still_pays(nav_vault, alice):
    vault, tokens, oracle = nav_vault()
    for t in tokens:
        oracle.set_status(t.address, STALE)

    with boa.env.prank(alice):
        got = vault.redeem_in_kind(SHARE, alice, [0] * 3)

    assert got == [10**16, 50_000, 30 * 10**6]


def test_erc4626_max__paused__all_zero_and_flows_revert(nav_vault, alice, bob):
    vault, _, _ = nav_vault()
    vault.pause()

    assert [vault.maxDeposit(bob), vault.maxMint(bob), vault.maxWithdraw(alice), vault.maxRedeem(alice)] == [0] * 4
    with boa.env.prank(bob), boa.reverts("pausable: contract is paused"):
        vault.deposit(WETH, bob)
    with boa.env.prank(bob), boa.reverts("pausable: contract is paused"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)
    with boa.env.prank(alice):
        vault.redeem_in_kind(SHARE, alice, [0] * 3)  # never paused


def test_max_withdraw__base_asset_scarce__capped_by_base_held(nav_vault, alice):
    vault, tokens, _ = nav_vault()
    vault.set_flow_cap(10_000, 86400)
    held = tokens[0].balanceOf(vault.address)

    assert vault.maxWithdraw(alice) == held  # alice's shares are worth far more than the WETH held
    assert vault.previewRedeem(vault.maxRedeem(alice)) <= held
    with boa.env.prank(alice):
        vault.redeem(vault.maxRedeem(alice), alice, alice)
    with boa.env.prank(alice), boa.reverts():
        vault.withdraw(held, alice, alice)


def test_deposit__over_flow_cap__reverts_until_next_period(nav_vault, bob):
    vault, _, _ = nav_vault()  # cap: 10% of $65,000 per day
    cap_assets = vault.maxDeposit(bob)
    assert cap_assets == 6_500 * WETH // 2_000

    with boa.env.prank(bob):
        vault.deposit(cap_assets, bob)
    # the NAV grew by the deposit, so 10% of the new NAV leaves 10% of the deposit's value
    assert vault.maxDeposit(bob) == cap_assets // 10
    with boa.env.prank(bob), boa.reverts("vault: flow cap reached"):
        vault.deposit(cap_assets // 10 + 1, bob)

    boa.env.time_travel(seconds=86400)
    with boa.env.prank(bob):
        vault.deposit(cap_assets, bob)


def test_withdraw__by_approved_spender__spends_allowance(nav_vault, alice, bob):
    vault, tokens, _ = nav_vault()
    with boa.env.prank(alice):
        vault.approve(bob, SHARE)

    with boa.env.prank(bob):
        shares = vault.withdraw(10**15, bob, alice)

    assert vault.allowance(alice, bob) == SHARE - shares
    assert tokens[0].balanceOf(bob) == 10**30 + 10**15


def test_withdraw__spender_without_allowance__reverts(nav_vault, bob, alice):
    vault, _, _ = nav_vault()

    with boa.env.prank(bob), boa.reverts("erc20: insufficient allowance"):
        vault.withdraw(10**15, bob, alice)


def test_entry_fee__deposit__stays_with_holders(nav_vault, alice, bob):
    vault, _, _ = nav_vault()
    vault.set_fees(0, 0, 0, 100, 0)
    before = vault.value_per_share()

    with boa.env.prank(bob):
        vault.deposit(WETH // 100, bob)

    assert vault.value_per_share() > before


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda v: v.set_fees(0, 0, 0, 501, 0), "fees: fee above cap"),
        (lambda v: v.set_flow_cap(10_001, 86400), "vault: flow cap out of range"),
        (lambda v: v.set_flow_cap(100, 60), "vault: flow cap out of range"),
        (lambda v: v.set_oracle("0x" + "ab" * 20), "vault: oracle is not a contract"),
    ],
)
def test_admin_setters__out_of_bounds__revert_with_reason(nav_vault, call, reason):
    vault, _, _ = nav_vault()

    with boa.reverts(reason):
        call(vault)


@pytest.mark.parametrize(
    "call",
    [
        lambda v: v.set_fees(0, 0, 0, 1, 1),
        lambda v: v.set_flow_cap(100, 86400),
        lambda v: v.set_oracle(v.address),
        lambda v: v.unpause(),
        lambda v: v.pause(),
    ],
    ids=["fees", "flow-cap", "oracle", "unpause", "pause"],
)
def test_privileged__outsider__reverts(nav_vault, bob, call):
    vault, _, _ = nav_vault()

    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        call(vault)
