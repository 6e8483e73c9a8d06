"""Fees: the streaming management fee and the in-kind mint and redeem fees, against the Python model."""

import boa
import pytest

from index_vault.vault.basket import WAD, mint_amounts
from index_vault.vault.fees import (
    MAX_ACCRUAL_PERIOD,
    YEAR,
    mint_fee_shares,
    pending_fee_shares,
    rate_from_annual_bps,
    redeem_fee_shares,
)
from tests.baskets import MAX_UINT, THREE_ASSETS
from tests.lens import lens

SHARE = 10**18
DAY = 86400
CAP_RATE = rate_from_annual_bps(1_000)
# WETH $2,000, WBTC $30,000, USDC $1: the NAV path's prices for the ERC-4626 previews
PRICES = [2_000, 30_000, 1]


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def _now() -> int:
    return boa.env.evm.patch.timestamp


def _mint(vault, who, shares, receiver=None):
    with boa.env.prank(who):
        return vault.mint_in_kind(shares, receiver or who, [MAX_UINT] * 3)


def _redeem(vault, who, shares, receiver=None):
    with boa.env.prank(who):
        return vault.redeem_in_kind(shares, receiver or who, [0] * 3)


def _settle(vault, who):
    with boa.env.prank(who):  # anyone
        vault.settle_management_fee()


def _claim(vault, owner):
    return lens().preview_redeem_in_kind(vault, vault.balanceOf(owner))


@pytest.fixture
def treasury():
    return boa.env.generate_address("treasury")


@pytest.fixture
def fee_vault(minted, fund, bob, deployer):
    """alice holds 10 shares, bob is funded, the deployer may change the recipient."""

    def make(rate=0, mint_bps=0, redeem_bps=0, entry_bps=0, exit_bps=0):
        vault, tokens = minted(10 * SHARE)
        fund(vault, tokens, bob)
        vault.grantRole(vault.FEE_MANAGER_ROLE(), deployer)
        vault.set_fees(rate, mint_bps, redeem_bps, entry_bps, exit_bps)
        return vault, tokens

    return make


# --- schedule and caps ------------------------------------------------------------------------


def test_constructor__new_vault__admin_is_recipient_and_every_fee_zero(make_vault, deployer):
    vault, _ = make_vault()

    assert vault.fee_recipient() == deployer
    assert [vault.management_fee_rate(), vault.mint_fee_bps(), vault.redeem_fee_bps()] == [0, 0, 0]
    assert [vault.entry_fee_bps(), vault.exit_fee_bps(), vault.pending_management_fee()] == [0, 0, 0]


def test_set_fees__every_fee_at_its_cap__set_and_logged(minted):
    vault, _ = minted()

    vault.set_fees(CAP_RATE, 100, 100, 500, 500)
    (event,) = _events(vault, "FeesChanged")

    assert [vault.management_fee_rate(), vault.mint_fee_bps(), vault.redeem_fee_bps()] == [CAP_RATE, 100, 100]
    assert [vault.entry_fee_bps(), vault.exit_fee_bps(), vault.last_fee_accrual()] == [500, 500, _now()]
    assert (event.management_fee_rate, event.mint_fee_bps, event.redeem_fee_bps) == (CAP_RATE, 100, 100)
    assert (event.entry_fee_bps, event.exit_fee_bps) == (500, 500)


@pytest.mark.parametrize(
    "fees",
    [
        (CAP_RATE + 1, 0, 0, 0, 0),
        (0, 101, 0, 0, 0),
        (0, 0, 101, 0, 0),
        (0, 0, 0, 501, 0),
        (0, 0, 0, 0, 501),
        (2**256 - 1, 0, 0, 0, 0),
    ],
    ids=["management", "mint", "redeem", "entry", "exit", "max-uint-rate"],
)
def test_set_fees__one_over_its_cap__reverts(minted, fees):
    vault, _ = minted()

    with boa.reverts("fees: fee above cap"):
        vault.set_fees(*fees)


def test_set_fees__not_admin__reverts(minted, alice):
    vault, _ = minted()

    with boa.env.prank(alice), boa.reverts("access_control: account is missing role"):
        vault.set_fees(0, 1, 1, 0, 0)


def test_set_fees__rate_pending__settles_at_the_old_rate_first(fee_vault, deployer):
    vault, _ = fee_vault(rate=rate_from_annual_bps(200))
    boa.env.time_travel(seconds=90 * DAY)
    due = pending_fee_shares(vault.totalSupply(), rate_from_annual_bps(200), 90 * DAY)

    vault.set_fees(CAP_RATE, 0, 0, 0, 0)
    (event,) = _events(vault, "ManagementFeeAccrued")

    assert vault.balanceOf(deployer) == due
    assert (event.recipient, event.shares, event.elapsed) == (deployer, due, 90 * DAY)
    assert vault.pending_management_fee() == 0
    boa.env.time_travel(seconds=DAY)
    assert vault.pending_management_fee() == pending_fee_shares(vault.totalSupply(), CAP_RATE, DAY)


def test_set_fees__from_zero_rate__charges_nothing_for_the_time_before(fee_vault, deployer):
    vault, _ = fee_vault()
    boa.env.time_travel(seconds=YEAR)

    vault.set_fees(CAP_RATE, 0, 0, 0, 0)

    assert vault.balanceOf(deployer) == 0
    assert vault.pending_management_fee() == 0


# --- management fee -----------------------------------------------------------------------------


def test_pending_management_fee__time_passed__equals_the_next_settlement(fee_vault, alice, deployer):
    vault, _ = fee_vault(rate=CAP_RATE)
    supply = vault.totalSupply()
    boa.env.time_travel(seconds=123 * DAY + 7)
    pending = vault.pending_management_fee()

    _settle(vault, alice)  # settles, burns nothing
    (event,) = _events(vault, "ManagementFeeAccrued")

    assert pending == pending_fee_shares(supply, CAP_RATE, 123 * DAY + 7) > 0
    assert vault.balanceOf(deployer) == pending
    assert vault.totalSupply() == supply + pending
    assert vault.last_fee_accrual() == _now()
    assert (event.shares, event.elapsed) == (pending, 123 * DAY + 7)


def test_management_fee__a_year_at_the_cap__holders_keep_90_percent(fee_vault, alice, deployer):
    vault, _ = fee_vault(rate=CAP_RATE)
    supply = vault.totalSupply()
    boa.env.time_travel(seconds=YEAR)

    _settle(vault, alice)

    kept = supply / vault.totalSupply()
    assert kept == pytest.approx(0.9, abs=1e-12)
    assert supply * 10_000 >= vault.totalSupply() * 9_000


def test_management_fee__zero_rate__nothing_accrues(fee_vault, alice, deployer):
    vault, _ = fee_vault()
    supply, last = vault.totalSupply(), vault.last_fee_accrual()
    boa.env.time_travel(seconds=YEAR)

    assert vault.pending_management_fee() == 0
    _settle(vault, alice)
    assert (vault.totalSupply(), vault.balanceOf(deployer), vault.last_fee_accrual()) == (supply, 0, last)


def test_management_fee__untouched_beyond_max_period__capped_and_settles(fee_vault, alice, deployer):
    vault, _ = fee_vault(rate=CAP_RATE)
    supply = vault.totalSupply()
    boa.env.time_travel(seconds=MAX_ACCRUAL_PERIOD + 50 * YEAR)
    due = pending_fee_shares(supply, CAP_RATE, MAX_ACCRUAL_PERIOD)

    assert vault.pending_management_fee() == due
    _settle(vault, alice)
    (event,) = _events(vault, "ManagementFeeAccrued")

    assert vault.balanceOf(deployer) == due
    assert vault.totalSupply() == supply + due
    assert event.elapsed == MAX_ACCRUAL_PERIOD  # the time charged, not the 150 years that passed


def test_set_fee_recipient__fee_pending__settles_to_the_old_recipient_first(fee_vault, alice, deployer, treasury):
    vault, _ = fee_vault(rate=CAP_RATE)
    boa.env.time_travel(seconds=30 * DAY)
    due = vault.pending_management_fee()

    vault.set_fee_recipient(treasury)
    (accrued,) = _events(vault, "ManagementFeeAccrued")
    (event,) = _events(vault, "FeeRecipientChanged")

    assert (accrued.recipient, accrued.shares) == (deployer, due)
    assert vault.balanceOf(deployer) == due > 0
    assert vault.balanceOf(treasury) == 0
    assert vault.fee_recipient() == treasury
    assert event.recipient == treasury

    supply = vault.totalSupply()
    boa.env.time_travel(seconds=DAY)
    _settle(vault, alice)
    assert vault.balanceOf(treasury) == pending_fee_shares(supply, CAP_RATE, DAY)
    assert vault.balanceOf(deployer) == due


def test_set_fee_recipient__zero_address__reverts(fee_vault):
    vault, _ = fee_vault()

    with boa.reverts("fees: zero recipient"):
        vault.set_fee_recipient("0x" + "00" * 20)


def test_set_fee_recipient__the_vault_itself__reverts(fee_vault):
    vault, _ = fee_vault()

    with boa.reverts("fees: the vault as recipient"):
        vault.set_fee_recipient(vault.address)


def test_mint_in_kind__after_a_long_time__new_holder_pays_nothing_for_the_past(fee_vault, bob):
    vault, _ = fee_vault(rate=CAP_RATE)
    boa.env.time_travel(seconds=5 * YEAR)
    shares = 7 * SHARE + 3

    paid = _mint(vault, bob, shares)

    # bob's claim right after minting is what he paid, to the rounding of each amount
    claim = _claim(vault, bob)
    assert all(p - 2 <= c <= p for c, p in zip(claim, paid, strict=True))
    assert vault.pending_management_fee() == 0
    # and a year later the fee has taken 10% of it, not more
    boa.env.time_travel(seconds=YEAR)
    later = _claim(vault, bob)
    assert all(9 * p - 20 <= 10 * c < 10 * p for c, p in zip(later, paid, strict=True))


# --- in-kind fees -------------------------------------------------------------------------------------


def test_mint_in_kind__mint_fee__receiver_gets_shares_recipient_the_fee(fee_vault, alice, bob, deployer):
    vault, _ = fee_vault(mint_bps=30)
    supply, holdings = vault.totalSupply(), vault.holdings()
    shares = SHARE // 3
    fee = mint_fee_shares(shares, 30)

    paid = _mint(vault, bob, shares, alice)
    (event,) = _events(vault, "MintedInKind")

    assert fee > 0
    assert paid == mint_amounts(shares + fee, supply, holdings, [])
    assert vault.balanceOf(alice) == 10 * SHARE - 10**16 + shares
    assert vault.balanceOf(deployer) == fee
    assert vault.totalSupply() == supply + shares + fee
    assert (event.sender, event.receiver, event.shares, event.fee_shares) == (bob, alice, shares, fee)
    assert list(event.amounts) == paid


def test_mint_in_kind__first_mint_with_fee__pays_units_for_fee_shares_too(make_vault, fund, alice, deployer):
    vault, tokens = make_vault()
    vault.set_fees(CAP_RATE, 100, 0, 0, 0)
    fund(vault, tokens, alice)
    boa.env.time_travel(seconds=YEAR)  # no shares yet: nothing to accrue
    shares = 9_900 * SHARE

    paid = _mint(vault, alice, shares)
    (event,) = _events(vault, "MintedInKind")

    fee = mint_fee_shares(shares, 100)
    assert fee == 100 * SHARE
    assert paid == [10_000 * u for _, _, u in THREE_ASSETS]
    assert vault.balanceOf(alice) == shares - vault.LOCKED_SHARES()
    assert vault.balanceOf(deployer) == fee
    assert (event.shares, event.fee_shares) == (shares - vault.LOCKED_SHARES(), fee)


def test_redeem_in_kind__redeem_fee__recipient_keeps_fee_rest_burnt_and_paid(fee_vault, alice, treasury, deployer):
    vault, tokens = fee_vault(redeem_bps=70)
    supply, holdings = vault.totalSupply(), vault.holdings()
    shares = SHARE + 1
    fee = redeem_fee_shares(shares, 70)
    net = shares - fee

    paid = _redeem(vault, alice, shares, treasury)
    (event,) = _events(vault, "RedeemedInKind")

    assert paid == [net * h // supply for h in holdings]
    assert [t.balanceOf(treasury) for t in tokens] == paid
    assert vault.balanceOf(alice) == 10 * SHARE - 10**16 - shares
    assert vault.balanceOf(deployer) == fee
    assert vault.totalSupply() == supply - net
    assert (event.owner, event.receiver, event.shares, event.fee_shares) == (alice, treasury, net, fee)
    assert list(event.amounts) == paid


def test_redeem_in_kind__more_than_held_with_fee__reverts(fee_vault, bob):
    vault, _ = fee_vault(redeem_bps=100)
    _mint(vault, bob, SHARE)

    # the fee (1% rounded up) moves first, then the rest cannot be burnt
    with boa.env.prank(bob), boa.reverts("erc20: burn amount exceeds balance"):
        vault.redeem_in_kind(SHARE + 1, bob, [0] * 3)


def test_redeem_in_kind__paused_with_fees__still_pays_and_charges(fee_vault, alice, deployer, treasury):
    vault, tokens = fee_vault(rate=CAP_RATE, mint_bps=100, redeem_bps=100)
    vault.pause()
    boa.env.time_travel(seconds=40 * DAY)
    due = vault.pending_management_fee()
    preview = lens().preview_redeem_in_kind(vault, 3 * SHARE)

    paid = _redeem(vault, alice, 3 * SHARE, treasury)

    assert vault.paused()
    assert paid == preview
    assert all(p > 0 for p in paid)
    assert [t.balanceOf(treasury) for t in tokens] == paid
    assert vault.balanceOf(deployer) == due + redeem_fee_shares(3 * SHARE, 100)


def test_mint_in_kind__paused__reverts_before_charging(fee_vault, bob, deployer):
    vault, _ = fee_vault(rate=CAP_RATE, mint_bps=100)
    vault.pause()
    boa.env.time_travel(seconds=DAY)

    with boa.env.prank(bob), boa.reverts("pausable: contract is paused"):
        vault.mint_in_kind(SHARE, bob, [MAX_UINT] * 3)
    assert vault.balanceOf(deployer) == 0


# --- previews against the supply after the pending fee ------------------------------------------------


def test_units_per_share__fee_pending__priced_after_the_fee(fee_vault):
    vault, _ = fee_vault(rate=CAP_RATE)
    boa.env.time_travel(seconds=2 * YEAR)
    supply = vault.totalSupply() + vault.pending_management_fee()

    assert lens().units_per_share(vault) == [h * WAD // supply for h in vault.holdings()]


def test_preview_mint_in_kind__fee_pending__equals_execution(fee_vault, bob):
    vault, _ = fee_vault(rate=CAP_RATE, mint_bps=45)
    boa.env.time_travel(seconds=200 * DAY + 11)
    shares = 3 * SHARE + 12_345
    preview = lens().preview_mint_in_kind(vault, shares)
    holdings = vault.holdings()
    supply = vault.totalSupply() + vault.pending_management_fee()

    paid = _mint(vault, bob, shares)

    assert paid == preview == mint_amounts(shares + mint_fee_shares(shares, 45), supply, holdings, [])
    with boa.env.prank(bob):  # the preview is exact: it also passes as the slippage bound
        boa.env.time_travel(seconds=DAY)
        exact = lens().preview_mint_in_kind(vault, shares)
        assert vault.mint_in_kind(shares, bob, exact) == exact


def test_preview_redeem_in_kind__fee_pending__equals_execution(fee_vault, alice):
    vault, _ = fee_vault(rate=CAP_RATE, redeem_bps=100)
    boa.env.time_travel(seconds=3 * YEAR + 5)
    shares = 2 * SHARE + 1
    preview = lens().preview_redeem_in_kind(vault, shares)
    supply, holdings = vault.totalSupply() + vault.pending_management_fee(), vault.holdings()

    with boa.env.prank(alice):
        paid = vault.redeem_in_kind(shares, alice, preview)

    net = shares - redeem_fee_shares(shares, 100)
    assert paid == preview == [net * h // supply for h in holdings]


def test_erc4626_previews__fee_pending__equal_execution(make_vault, fund, alice, bob):
    vault, tokens = make_vault(prices=PRICES)
    fund(vault, tokens, alice)
    fund(vault, tokens, bob)
    _mint(vault, alice, 1_000 * SHARE)
    vault.set_fees(CAP_RATE, 0, 0, 20, 40)
    boa.env.time_travel(seconds=YEAR)

    expected_shares = vault.previewDeposit(10**17)
    with boa.env.prank(bob):
        assert vault.deposit(10**17, bob) == expected_shares
    boa.env.time_travel(seconds=30 * DAY)
    expected_assets = vault.previewRedeem(expected_shares)
    with boa.env.prank(bob):
        assert vault.redeem(expected_shares, bob, bob) == expected_assets


# --- fee multiplier and undiluted supply -------------------------------------------------------------

RAY = 10**27


def test_fee_multiplier__new_vault__one_and_undiluted_supply_is_the_supply(fee_vault):
    vault, _ = fee_vault(rate=CAP_RATE)

    assert vault.fee_multiplier() == RAY
    assert vault.undiluted_supply() == vault.totalSupply()


def test_fee_multiplier__each_accrual__multiplied_by_supply_over_supply_plus_fee_shares(fee_vault, alice, deployer):
    vault, _ = fee_vault(rate=CAP_RATE)
    multiplier = RAY
    for seconds in (YEAR, 17 * DAY + 3, 1):
        supply = vault.totalSupply()
        boa.env.time_travel(seconds=seconds)
        _settle(vault, alice)  # settles only
        shares = vault.totalSupply() - supply
        assert shares == pending_fee_shares(supply, CAP_RATE, seconds) > 0
        multiplier = multiplier * supply // (supply + shares)
        assert vault.fee_multiplier() == multiplier
        assert vault.undiluted_supply() == vault.totalSupply() * multiplier // RAY
    assert multiplier < RAY * 9 // 10  # a year and more at the 10% cap


def test_undiluted_supply__a_year_of_fee__unchanged_by_the_accrual(fee_vault, alice):
    vault, _ = fee_vault(rate=CAP_RATE)
    undiluted = vault.undiluted_supply()
    boa.env.time_travel(seconds=YEAR)

    _settle(vault, alice)

    assert abs(vault.totalSupply() * 9 - undiluted * 10) <= 10**3  # the fee diluted shares by a ninth
    assert undiluted - 1 <= vault.undiluted_supply() <= undiluted


def test_undiluted_supply__mint_and_redeem_after_a_fee__move_it_pro_rata(fee_vault, alice, bob):
    vault, _ = fee_vault(rate=CAP_RATE)
    boa.env.time_travel(seconds=YEAR)
    _settle(vault, alice)
    multiplier = vault.fee_multiplier()
    for action in ("mint", "redeem"):
        supply, undiluted, holdings = vault.totalSupply(), vault.undiluted_supply(), vault.holdings()
        if action == "mint":
            _mint(vault, bob, 7 * SHARE)
        else:
            _redeem(vault, alice, vault.balanceOf(alice) // 3)
        # no time passed: no fee, the multiplier stays, the undiluted supply moves as the supply and the holdings
        assert vault.fee_multiplier() == multiplier
        assert vault.undiluted_supply() == vault.totalSupply() * multiplier // RAY
        after = vault.holdings()
        for held, now in zip(holdings, after, strict=True):
            ratio = vault.undiluted_supply() * held  # held per undiluted share: unchanged up to rounding
            assert abs(now * undiluted - ratio) <= undiluted + held, action
        assert (vault.totalSupply() > supply) == (action == "mint")


def test_fee_multiplier__zero_rate__stays_one(fee_vault, alice):
    vault, _ = fee_vault()
    boa.env.time_travel(seconds=YEAR)
    _redeem(vault, alice, SHARE)

    assert vault.fee_multiplier() == RAY
    assert vault.undiluted_supply() == vault.totalSupply()
