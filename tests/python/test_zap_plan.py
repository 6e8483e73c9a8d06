"""Planning a zap: the legs of a mint and the least a redemption accepts, against hand-computed values."""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index_vault.keeper.routes import v3_route
from index_vault.vault.zap import (
    plan_mint,
    plan_redeem_min_out,
    quoted_cost,
    quoted_mint,
    sell_min_out,
    zap_legs,
    zap_trade,
)

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


def test_quoted_mint__quotes_plus_slippage_rounded_up__the_token_paid_directly():
    need = (10**17, 0, 30 * 10**6)  # no WBTC needed

    plan = quoted_mint(need, (201_000_001, 999, 0), token=2, slippage_bps=50)

    assert plan.amounts_in == (math.ceil(Fraction(201_000_001 * 10_050, 10_000)), 0, 0)
    assert plan.max_in == plan.amounts_in[0] + 30 * 10**6


def test_quoted_cost__the_quotes_of_the_needs_and_the_token_itself():
    assert quoted_cost((10**17, 0, 30 * 10**6), (201 * 10**6, 999, 7), token=2) == 231 * 10**6
    assert quoted_cost((1, 2), (5, 6), token=None) == 11


def test_zap_legs__buy_paths_from_the_token__sale_paths_to_it__none_for_the_token():
    weth, usdc = "0x" + "11" * 20, "0x" + "22" * 20
    buy = zap_legs("0xAD", [weth, usdc], usdc, 3000, [7, 0])
    sale = zap_legs("0xAD", [weth, usdc], usdc, 3000)
    assert buy == [("0xAD", 7, v3_route([usdc, weth], [3000])), ("0xAD", 0, b"")]
    assert sale == [("0xAD", 0, v3_route([weth, usdc], [3000])), ("0xAD", 0, b"")]


def test_sell_min_out__fee_tier_in_ppm__as_the_bps_plan():
    amounts = (10**17, 500_000, 30 * 10**6)
    assert sell_min_out(amounts, DECIMALS, PRICES, 2, 6, WAD, 3000, 50) == plan_redeem_min_out(
        amounts, DECIMALS, PRICES, 2, 6, WAD, fee_bps=30, slippage_bps=50
    )


def test_zap_trade__cost_against_nav__signed():
    trade = zap_trade(101 * 10**6, 2 * WAD, 50 * WAD, WAD, 6)  # 101 USDC for two shares at $50
    assert trade.nav_value == 100 * WAD and trade.token_value == 101 * WAD
    assert trade.premium == pytest.approx(0.01)
