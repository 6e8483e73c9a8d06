"""Planning a zap: the legs of a mint and the least a redemption accepts, against hand-computed values."""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.vault.zap import plan_mint, plan_redeem_min_out

WAD = 10**18
DECIMALS = (18, 8, 6)  # WETH, WBTC, USDC
PRICES = (2_000 * WAD, 40_000 * WAD, WAD)


def test_plan_mint__usdc_in__each_leg_the_value_grossed_up_by_fee_and_margin():
    need = (10**17, 500_000, 30 * 10**6)  # $200 of WETH, $200 of WBTC, 30 USDC

    plan = plan_mint(need, DECIMALS, PRICES, token=2, token_decimals=6, token_price=WAD, fee_bps=30, margin_bps=100)

    leg = math.ceil(Fraction(200) * Fraction(10_100, 10_000) / Fraction(9_970, 10_000) * 10**6)
    assert plan.amounts_in == (leg, leg, 0)  # USDC itself is not swapped
    assert plan.max_in == 2 * leg + 30 * 10**6


def test_plan_mint__token_outside_the_basket__every_constituent_bought():
    plan = plan_mint(
        (10**18,), (18,), (3 * WAD,), token=None, token_decimals=18, token_price=WAD, fee_bps=0, margin_bps=0
    )

    assert plan.amounts_in == (3 * 10**18,) and plan.max_in == 3 * 10**18


def test_plan_redeem_min_out__usdc_out__value_less_fee_and_slippage():
    amounts = (10**17, 500_000, 30 * 10**6)

    min_out = plan_redeem_min_out(amounts, DECIMALS, PRICES, 2, 6, WAD, fee_bps=30, slippage_bps=50)

    expected = (Fraction(400) * Fraction(9_970, 10_000) + 30) * Fraction(9_950, 10_000) * 10**6
    assert min_out == math.floor(expected)


def test_plan_mint__bad_inputs__raise():
    with pytest.raises(ValueError, match="one need"):
        plan_mint((1, 2), (18,), (WAD,), None, 18, WAD, 30, 100)
    with pytest.raises(ValueError, match="prices must be positive"):
        plan_mint((1,), (18,), (0,), None, 18, WAD, 30, 100)


@given(
    st.lists(st.tuples(st.integers(0, 10**24), st.sampled_from([6, 8, 18]), st.integers(10**15, 10**23)), min_size=1,
             max_size=50),
    st.integers(0, 100),
    st.integers(0, 300),
)  # fmt: skip
def test_plan_mint__any_basket__each_leg_buys_at_least_the_need_at_the_oracle_less_the_fee(parts, fee, margin):
    need, decimals, prices = zip(*parts, strict=True)

    plan = plan_mint(need, decimals, prices, None, 6, WAD, fee, margin)

    for amount_in, n, dec, price in zip(plan.amounts_in, need, decimals, prices, strict=True):
        bought = Fraction(amount_in, 10**6) * (10_000 - fee) / 10_000 / (Fraction(price, WAD))  # whole tokens
        assert bought * 10**dec >= n  # a pool at the oracle price, after its fee, pays at least the need
    assert plan.max_in == sum(plan.amounts_in)
