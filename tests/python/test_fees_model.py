"""The Python model of the vault's fees, which the unit, fuzz and stateful tests run beside the contract."""

from fractions import Fraction

import pytest

from index_vault.vault.fees import (
    MAX_ACCRUAL_PERIOD,
    RAY,
    YEAR,
    FeeModel,
    annual_bps_from_rate,
    check_fees,
    management_rate_within_cap,
    mint_fee_shares,
    pending_fee_shares,
    rate_from_annual_bps,
    redeem_fee_shares,
    rpow,
)

SUPPLY = 10**24


def _holders_keep(rate: int, seconds: int) -> Fraction:
    fee = pending_fee_shares(SUPPLY, rate, seconds)
    return Fraction(SUPPLY, SUPPLY + fee)


# --- rpow -------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [0, RAY, RAY + 1, 3 * RAY // 2, 7 * RAY])
def test_rpow__zero_and_one__identity(x):
    assert rpow(x, 0) == RAY
    assert rpow(x, 1) == x


def test_rpow__base_one__stays_one():
    assert rpow(RAY, 12_345_678) == RAY


def test_rpow__exact_powers__no_rounding():
    assert rpow(2 * RAY, 10) == 1024 * RAY
    assert rpow(RAY // 2, 3) == RAY // 8


@pytest.mark.parametrize("n", [2, 3, 7, 60])
def test_rpow__inexact__rounds_down_within_a_wei_per_product(n):
    x = RAY + 3_340_960_040_392_850_629  # about the 10% annual cap

    z = rpow(x, n)

    exact = Fraction(x, RAY) ** n * RAY
    assert z <= exact < z + n


@pytest.mark.parametrize("n", [1, 2, 3, 7, 86_400, YEAR, 100 * YEAR])
def test_rpow__any_exponent__squares_in_the_contract_order(n):
    x = RAY + 3_340_960_040_392_850_629

    assert rpow(x, n) == _rpow_reference(x, n)


def _rpow_reference(x: int, n: int) -> int:
    z, base = RAY, x
    while True:
        if n & 1:
            z = z * base // RAY
        n >>= 1
        if not n:
            return z
        base = base * base // RAY


def test_rpow__sum_of_exponents__product_of_powers_within_rounding():
    x = RAY + rate_from_annual_bps(500)
    a, b = 1_234_567, 7_654_321
    split = rpow(x, a) * rpow(x, b) // RAY
    assert abs(rpow(x, a + b) - split) <= 100  # about 1e-25 relative


def test_rpow__exponent_beyond_40_bits__ignored_like_the_contract():
    assert rpow(RAY + 1, 2**40) == RAY


def test_rpow__product_overflows_uint256__raises():
    with pytest.raises(OverflowError):
        rpow(10**60, 2)


# --- management fee rate ------------------------------------------------------------------------


def test_rate_from_annual_bps__cap__passes_the_contract_check_and_one_more_fails():
    rate = rate_from_annual_bps(1_000)

    assert management_rate_within_cap(rate)
    assert not management_rate_within_cap(rate + 1)


@pytest.mark.parametrize("bps", [1, 50, 200, 1_000, 2_500, 6_000, 9_999])
def test_rate_from_annual_bps__any_fee__is_the_largest_rate_keeping_the_holders_share(bps):
    rate = rate_from_annual_bps(bps)

    assert rpow(RAY + rate, YEAR) * (10_000 - bps) <= RAY * 10_000
    assert rpow(RAY + rate + 1, YEAR) * (10_000 - bps) > RAY * 10_000


def test_rate_from_annual_bps__zero__is_zero():
    assert rate_from_annual_bps(0) == 0


@pytest.mark.parametrize("bps", [-1, 10_000, 20_000])
def test_rate_from_annual_bps__out_of_range__raises(bps):
    with pytest.raises(ValueError, match="annual fee must be within"):
        rate_from_annual_bps(bps)


def test_rate_from_annual_bps__two_percent__holders_keep_98_percent_after_a_year():
    kept = _holders_keep(rate_from_annual_bps(200), YEAR)

    assert abs(kept - Fraction(98, 100)) < Fraction(1, 10**9)
    assert kept >= Fraction(98, 100)  # the rate rounds in the holders' favour


@pytest.mark.parametrize("bps", [0, 1, 200, 1_000])
def test_annual_bps_from_rate__round_trip__returns_the_annual_fee(bps):
    assert annual_bps_from_rate(rate_from_annual_bps(bps)) == pytest.approx(bps, abs=1e-6)


def test_management_rate_within_cap__huge_rate__refused_without_overflow():
    assert not management_rate_within_cap(2**256 - 1 - RAY)


# --- pending management fee -----------------------------------------------------------------------


def test_pending_fee_shares__zero_rate_or_time__nothing():
    assert pending_fee_shares(SUPPLY, 0, YEAR) == 0
    assert pending_fee_shares(SUPPLY, rate_from_annual_bps(1_000), 0) == 0


def test_pending_fee_shares__beyond_max_period__capped():
    rate = rate_from_annual_bps(1_000)

    capped = pending_fee_shares(SUPPLY, rate, MAX_ACCRUAL_PERIOD)

    assert pending_fee_shares(SUPPLY, rate, MAX_ACCRUAL_PERIOD + 10 * YEAR) == capped
    assert 37_000 * SUPPLY < capped < 38_000 * SUPPLY  # about 37,600-fold, as the contract says


def test_pending_fee_shares__inexact__rounds_down():
    rate = rate_from_annual_bps(1_000)
    growth = rpow(RAY + rate, 3_600)

    fee = pending_fee_shares(10**18 + 7, rate, 3_600)

    assert fee == (10**18 + 7) * (growth - RAY) // RAY
    assert fee * RAY < (10**18 + 7) * (growth - RAY)


def test_pending_fee_shares__settled_monthly__same_as_once_up_to_rounding():
    rate = rate_from_annual_bps(1_000)
    once = FeeModel("fees", supply=SUPPLY, rate=rate)
    monthly = FeeModel("fees", supply=SUPPLY, rate=rate)

    once.accrue(YEAR)
    for month in range(1, 13):
        monthly.accrue(YEAR * month // 12)

    assert abs(once.supply - monthly.supply) <= 12  # at most a wei per settlement


# --- in-kind fees ---------------------------------------------------------------------------------


def test_mint_fee_shares__inexact__rounds_up():
    assert mint_fee_shares(1, 1) == 1
    assert mint_fee_shares(9_900, 100) == 100  # exact: 1% of the 10,000 created
    assert mint_fee_shares(9_901, 100) == 101


def test_mint_fee_shares__any_amount__at_least_the_fee_share_of_all_created():
    for shares in (1, 999, 10**18 + 1, 123_456_789_123_456_789):
        fee = mint_fee_shares(shares, 37)
        assert fee * 10_000 >= (shares + fee) * 37
        assert (fee - 1) * 10_000 < (shares + fee - 1) * 37


def test_redeem_fee_shares__inexact__rounds_up():
    assert redeem_fee_shares(1, 1) == 1
    assert redeem_fee_shares(10_000, 100) == 100
    assert redeem_fee_shares(10_001, 100) == 101


def test_in_kind_fees__zero_bps__nothing():
    assert mint_fee_shares(10**18, 0) == redeem_fee_shares(10**18, 0) == 0


@pytest.mark.parametrize(
    "fees",
    [(0, 101, 0, 0, 0), (0, 0, 101, 0, 0), (0, 0, 0, 501, 0), (0, 0, 0, 0, 501)],
    ids=["mint", "redeem", "entry", "exit"],
)
def test_check_fees__one_over_a_cap__raises(fees):
    with pytest.raises(ValueError, match="fee above cap"):
        check_fees(*fees)


def test_check_fees__at_every_cap__passes():
    check_fees(rate_from_annual_bps(1_000), 100, 100, 500, 500)


# --- FeeModel -----------------------------------------------------------------------------------------


def test_fee_model__zero_rate__settlement_leaves_the_clock():
    model = FeeModel("fees", supply=SUPPLY, last_accrual=5)

    assert model.accrue(YEAR) == 0
    assert model.last_accrual == 5


def test_fee_model__accrue__mints_to_the_recipient():
    rate = rate_from_annual_bps(1_000)
    model = FeeModel("fees", supply=SUPPLY, rate=rate, balances={"alice": SUPPLY})

    shares = model.accrue(YEAR)

    assert shares == pending_fee_shares(SUPPLY, rate, YEAR)
    assert model.recipient_balance == shares
    assert model.supply == SUPPLY + shares
    assert model.last_accrual == YEAR
    assert model.accrue(YEAR) == 0


def test_fee_model__set_fees__settles_at_the_old_rate_then_restarts_the_clock():
    old, new = rate_from_annual_bps(100), rate_from_annual_bps(1_000)
    model = FeeModel("fees", supply=SUPPLY, rate=old)

    model.set_fees(YEAR, new, 10, 20)

    assert model.recipient_balance == pending_fee_shares(SUPPLY, old, YEAR)
    assert (model.rate, model.mint_fee_bps, model.redeem_fee_bps, model.last_accrual) == (new, 10, 20, YEAR)


def test_fee_model__set_fees_from_zero_rate__clock_starts_at_the_change():
    model = FeeModel("fees", supply=SUPPLY)

    model.set_fees(YEAR, rate_from_annual_bps(1_000))

    assert model.recipient_balance == 0
    assert model.pending(YEAR) == 0


def test_fee_model__set_fees_above_cap__unchanged():
    model = FeeModel("fees", supply=SUPPLY)

    with pytest.raises(ValueError, match="fee above cap"):
        model.set_fees(YEAR, rate_from_annual_bps(1_000) + 1)

    assert (model.rate, model.last_accrual) == (0, 0)


def test_fee_model__set_recipient__settles_to_the_old_one():
    rate = rate_from_annual_bps(1_000)
    model = FeeModel("old", supply=SUPPLY, rate=rate)

    model.set_recipient(YEAR, "new")

    assert model.balances["old"] == pending_fee_shares(SUPPLY, rate, YEAR)
    assert model.recipient_balance == 0


def test_fee_model__first_mint__locks_shares_and_charges_the_fee():
    model = FeeModel("fees", mint_fee_bps=100)

    paid_for, fee = model.mint(0, 9_900 * 10**18, "alice")

    assert fee == 100 * 10**18
    assert paid_for == 10_000 * 10**18
    assert model.balances == {"dead": 10**16, "alice": 9_900 * 10**18 - 10**16, "fees": fee}
    assert model.supply == 10_000 * 10**18


def test_fee_model__redeem__fee_to_the_recipient_rest_burnt():
    model = FeeModel("fees", redeem_fee_bps=100, supply=SUPPLY, balances={"alice": SUPPLY})

    net, fee, supply = model.redeem(0, 10**18 + 1, "alice")

    assert (net, fee, supply) == (10**18 + 1 - 10**16 - 1, 10**16 + 1, SUPPLY)
    assert model.supply == SUPPLY - net
    assert model.recipient_balance == fee


def test_fee_model__redeem_more_than_held__raises():
    model = FeeModel("fees", supply=SUPPLY, balances={"alice": 1})

    with pytest.raises(ValueError, match="exceeds balance"):
        model.redeem(0, 2, "alice")


def test_fee_model__time_backwards__raises():
    model = FeeModel("fees", supply=SUPPLY, rate=1, last_accrual=10)

    with pytest.raises(ValueError, match="backwards"):
        model.accrue(9)
