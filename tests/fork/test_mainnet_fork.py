"""The fork tests of `test_fork.py` over mainnet's WETH, WBTC, LINK and USDC, feeds and pools (`mainnet.json`).

Skipped unless ETH_RPC_URL is set; run with `ape test tests/fork/test_mainnet_fork.py --network
ethereum:mainnet-fork:foundry` and the mainnet node provider pointed at it (see README.md). Tokens other than
WETH are bought with WETH through Uniswap V3's SwapRouter, as mainnet has no open mint.
"""

import os

import pytest

from tests.fork.conftest import ForkMarket
from tests.fork.test_fork import (  # the same fixtures and tests, collected again in this module
    deployed,
    deployer,
    funded_user,
    lens,
    router,
    test_address_book__fork_of_the_chain__tokens_feeds_and_pools_are_live_and_fund_a_user,
    test_deposit__usdc_at_nav__mints_the_shares_the_deposit_is_worth,
    test_fork__vault_and_balances_written__are_absent_from_the_upstream,
    test_keeper_trade__link_to_weth_through_uniswap_v3_then_v2__bounded_by_the_oracle,
    test_mint_in_kind__100_shares__pulls_the_units_and_total_value_matches_the_days_prices,
    test_redeem_in_kind__all_user_shares__pays_back_the_basket_pro_rata,
    user,
    vault,
)

pytestmark = [
    pytest.mark.fork,
    pytest.mark.skipif(not os.environ.get("ETH_RPC_URL"), reason="ETH_RPC_URL is not set: no mainnet fork"),
]

__all__ = [
    "deployed",
    "deployer",
    "funded_user",
    "lens",
    "router",
    "test_address_book__fork_of_the_chain__tokens_feeds_and_pools_are_live_and_fund_a_user",
    "test_deposit__usdc_at_nav__mints_the_shares_the_deposit_is_worth",
    "test_fork__vault_and_balances_written__are_absent_from_the_upstream",
    "test_keeper_trade__link_to_weth_through_uniswap_v3_then_v2__bounded_by_the_oracle",
    "test_mint_in_kind__100_shares__pulls_the_units_and_total_value_matches_the_days_prices",
    "test_redeem_in_kind__all_user_shares__pays_back_the_basket_pro_rata",
    "user",
    "vault",
]


@pytest.fixture(scope="module")
def fork_market(mainnet_chain: ForkMarket) -> ForkMarket:
    """The chain under the fork: mainnet."""
    return mainnet_chain
