"""Matching a target-weight proposal to a vault's basket."""

import pytest

from index_vault.methodology.proposal import ProposalError, weights_for_basket


def test_weights_for_basket__market_symbols__ordered_by_basket_with_wrapped_tokens():
    weights = weights_for_basket(["ETH", "USDC", "BTC"], [5 * 10**17, 3 * 10**17, 2 * 10**17], ["WBTC", "WETH", "USDC"])

    assert weights == [2 * 10**17, 5 * 10**17, 3 * 10**17]


def test_weights_for_basket__basket_differs__names_what_is_missing_and_extra():
    with pytest.raises(ProposalError, match=r"missing USDC.*not constituents LINK"):
        weights_for_basket(["ETH", "LINK"], [5 * 10**17, 5 * 10**17], ["WETH", "USDC"])
