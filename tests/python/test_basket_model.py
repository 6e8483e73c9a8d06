"""The Python model of the vault maths, which the stateful test runs beside the contract."""

import pytest

from index_vault.vault.basket import LOCKED_SHARES, BasketModel, mint_amounts, redeem_amounts, with_slippage


def test_mint_amounts__no_supply__uses_units_rounded_up():
    assert mint_amounts(10**18 // 3, 0, [], [10**18, 7]) == [333333333333333333, 3]


def test_redeem_amounts__more_than_supply__raises():
    with pytest.raises(ValueError, match="exceed supply"):
        redeem_amounts(2, 1, [5])


def test_with_slippage__bounds__round_away_from_the_user():
    assert with_slippage([10_001], 50, up=True) == [10_052]
    assert with_slippage([10_001], 50, up=False) == [9_950]


def test_basket_model__first_mint__locks_shares():
    model = BasketModel(initial_units=[100, 200])

    model.mint(10**18, "a")

    assert model.balances == {"dead": LOCKED_SHARES, "a": 10**18 - LOCKED_SHARES}
    assert model.holdings == [100, 200]
