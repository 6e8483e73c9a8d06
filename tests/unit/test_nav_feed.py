"""NavFeed: the vault's value per share as a Chainlink AggregatorV3Interface."""

import boa
import pytest

from tests.baskets import CONTRACTS, MAX_UINT

SHARE = 10**18
ASSETS = [("WETH", 18, 10**16), ("WBTC", 8, 50_000), ("USDC", 6, 30 * 10**6)]
PRICES = [2_000, 30_000, 1]  # $65 per share


@pytest.fixture
def feed(make_vault, mock_oracle_deployer, fund, alice):
    vault, tokens = make_vault(ASSETS, name="NAV Index", symbol="NAV", prices=PRICES)
    fund(vault, tokens, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(10 * SHARE, alice, [MAX_UINT] * 3)
    nav_feed = boa.load(str(CONTRACTS / "feed" / "NavFeed.vy"), vault.address)
    return nav_feed, vault, tokens, mock_oracle_deployer.at(vault.oracle())


def test_latest_round_data__healthy_nav__reports_value_per_share_in_8_decimals(feed):
    nav_feed, vault, _, _ = feed

    round_id, answer, started_at, updated_at, answered_in_round = nav_feed.latestRoundData()

    assert answer == 65 * 10**8 == nav_feed.latestAnswer()
    assert updated_at == started_at == vault.oldest_price_update()
    assert round_id == answered_in_round == updated_at
    assert (nav_feed.decimals(), nav_feed.description(), nav_feed.version()) == (8, "NAV / USD", 1)


def test_latest_round_data__one_feed_older__reports_the_oldest_update(feed):
    nav_feed, _, tokens, oracle = feed
    boa.env.time_travel(seconds=500)
    for t, p in zip(tokens[:2], PRICES[:2], strict=True):  # two feeds update, USDC's does not
        oracle.set_price(t.address, p * 10**18, p * 10**18, p * 10**18, t.decimals())

    _, _, _, updated_at, _ = nav_feed.latestRoundData()

    assert updated_at == boa.env.evm.patch.timestamp - 500


def test_latest_round_data__price_unusable__reverts_with_oracle_reason(feed):
    nav_feed, _, tokens, oracle = feed
    oracle.set_status(tokens[1].address, 5)

    with boa.reverts("oracle: stale price"):
        nav_feed.latestRoundData()


def test_get_round_data__other_round__reverts(feed):
    nav_feed, _, _, _ = feed
    round_id = nav_feed.latestRoundData()[0]

    assert nav_feed.getRoundData(round_id)[1] == 65 * 10**8
    with boa.reverts("navfeed: no history for that round"):
        nav_feed.getRoundData(round_id - 1)
