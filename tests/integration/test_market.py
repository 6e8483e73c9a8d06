"""A market from real bytecode priced from the daily panel: build, advance, and a dumped state served again.

One market is built for the module (`book`); the tests run in file order: those reading the day's prices first,
then a swap, then the advances.
"""

import json
import subprocess
import tempfile
from fractions import Fraction
from itertools import pairwise
from math import isqrt
from pathlib import Path

import pytest

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.common.anvil import start_anvil, stop_anvil
from index_vault.market.chain.build import advance_market, build_market
from index_vault.market.chain.uniswap_v2 import (
    add_liquidity_v2,
    pair_at,
    quote_exact_input_v2,
    reserves,
    swap_exact_input_v2,
    uniswap_v2_from_book,
    v2_pair,
    v2_price,
)
from index_vault.market.chain.uniswap_v3 import pool_at, pool_price
from index_vault.market.model import AddressBook, MarketPlan, feed_price, load_panel, plan_market, read_address_book
from index_vault.market.uniswap_v2_math import get_amount_out
from index_vault.oracle.chain.feeds import price_to_answer

BUILD_DAY, NEXT_DAY = "2022-06-01", "2022-06-15"
ASSETS = ["ETH", "BTC", "LINK"]
BUILD_TOLERANCE = Fraction(1, 1000)  # slot0 within 0.1% of the day's price
ADVANCE_TOLERANCE = Fraction(5, 1000)  # within 0.5% after the arbitrage


@pytest.fixture(scope="module")
def panel():
    return load_panel()


@pytest.fixture(scope="module")
def plan(panel) -> MarketPlan:
    return plan_market(BUILD_DAY, ASSETS, panel)


@pytest.fixture(scope="module")
def book(plan, accounts, tmp_path_factory) -> AddressBook:
    built = build_market(plan, accounts[0])
    path = built.write_address_book(tmp_path_factory.mktemp("market") / "address_book.json")
    return read_address_book(path)


def feed_answer(book: AddressBook, asset: str) -> int:
    return npm_container("EACAggregatorProxy").at(book.feeds[asset]).latestRoundData().answer


def pool_prices(book: AddressBook) -> dict[str, Fraction]:
    return {
        key: pool_price(pool_at(address), *(book.tokens[s]["address"] for s in key.split("/")))
        for key, address in book.pools.items()
    }


def v2_prices(book: AddressBook) -> dict[str, Fraction]:
    return {key: v2_price(book, *key.split("/")) for key in book.v2_pairs}


def off_by(actual: Fraction, wanted) -> Fraction:
    wanted = Fraction(wanted)
    return abs(actual - wanted) / wanted


def test_build_market__three_assets__writes_every_token_feed_pool_and_whale(book, chain):
    assert (book.chain_id, book.date, book.assets) == (chain.chain_id, BUILD_DAY, ASSETS)
    assert sorted(book.pools) == ["BTC/ETH", "BTC/USDC", "ETH/USDC", "LINK/ETH", "LINK/USDC"]
    symbols = {asset: erc20_at(t["address"]).symbol() for asset, t in book.tokens.items()}
    assert symbols == {"ETH": "WETH", "BTC": "WBTC", "LINK": "LINK", "USDC": "USDC"}
    assert {asset: erc20_at(t["address"]).decimals() for asset, t in book.tokens.items()} == {
        "ETH": 18,
        "BTC": 8,
        "LINK": 18,
        "USDC": 6,
    }
    assert json.loads(book.to_json())["uniswap"]["weth"] == book.tokens["ETH"]["address"]


def test_build_market__feeds__answer_the_days_prices(book, plan):
    for asset, price in plan.prices.items():
        assert feed_answer(book, asset) == price_to_answer(feed_price(price), 8), asset


def test_build_market__pools__sit_at_the_days_price(book, plan):
    for key, price in pool_prices(book).items():
        assert off_by(price, plan.pool(key).price) < BUILD_TOLERANCE, key


def test_build_market__pools__hold_the_planned_depth(book, plan):
    usdc = erc20_at(book.tokens["USDC"]["address"])
    for key in ("BTC/USDC", "LINK/USDC", "ETH/USDC"):
        held = usdc.balanceOf(book.pools[key])
        # a position over [P/k, P*k] widened to the tick spacing takes one side whole and the other nearly so
        assert plan.pool(key).amount_quote * 99 // 100 <= held <= plan.pool(key).amount_quote, key


def test_build_market__v2__a_pair_beside_every_pool_recorded_in_the_book(book):
    v2 = uniswap_v2_from_book(book)
    assert sorted(book.v2_pairs) == sorted(book.pools)
    assert v2.factory.allPairsLength() == len(book.v2_pairs)
    assert v2.router.factory() == v2.factory.address
    assert v2.router.WETH() == book.tokens["ETH"]["address"]
    for key, address in book.v2_pairs.items():
        asset, quote = key.split("/")
        assert v2.factory.getPair(book.tokens[asset]["address"], book.tokens[quote]["address"]) == address, key


def test_build_market__v2_pairs__sit_at_the_days_price_with_the_pools_amounts(book, plan, accounts):
    router = book.uniswap_v2["router"]
    for key, price in v2_prices(book).items():
        assert off_by(price, plan.pool(key).price) < BUILD_TOLERANCE, key
        pool = plan.pool(key)
        pair = v2_pair(book, pool.asset, pool.quote)
        v2_asset, v2_quote = pool.v2_amounts  # the model's full-range depth
        assert reserves(pair, book.tokens[pool.asset]["address"]) == (v2_asset, v2_quote), key
        assert pair.balanceOf(accounts[0]) == isqrt(v2_asset * v2_quote) - 1000, key
    for asset, token in book.tokens.items():  # Router02 was approved for exactly what the pairs took
        assert erc20_at(token["address"]).allowance(accounts[0], router) == 0, asset


def test_build_market__router02__swaps_along_two_pairs_as_the_reserves_say(book, accounts):
    # Router02 finds each pair from its init code hash: a swap through two of them proves it matches v2-core's.
    v2, trader = uniswap_v2_from_book(book), accounts[2]
    path = [book.tokens[s]["address"] for s in ("LINK", "ETH", "USDC")]
    amount_in = 10 * 10**18
    npm_container("StandardTokenMock").at(path[0]).mint(trader.address, amount_in, sender=accounts[0])
    expected = amount_in
    for token_in, token_out in pairwise(path):
        reserve_in, reserve_out = reserves(pair_at(v2.factory.getPair(token_in, token_out)), token_in)
        expected = get_amount_out(expected, reserve_in, reserve_out)

    assert quote_exact_input_v2(v2, path, amount_in) == expected
    assert swap_exact_input_v2(v2, path, amount_in, trader, amount_out_min=expected) == expected
    assert erc20_at(path[0]).balanceOf(trader) == 0


def test_add_liquidity_v2__existing_pair__takes_its_ratio_and_leaves_no_allowance(book, accounts):
    v2, provider = uniswap_v2_from_book(book), accounts[3]
    link, usdc = (book.tokens[s]["address"] for s in ("LINK", "USDC"))
    for token, amount in ((link, 200 * 10**18), (usdc, 1_000 * 10**6)):  # about $1,500 and $1,000
        npm_container("StandardTokenMock").at(token).mint(provider.address, amount, sender=accounts[0])
    pair = v2_pair(book, "LINK", "USDC")
    reserve_link, reserve_usdc = reserves(pair, link)

    added = add_liquidity_v2(v2, link, usdc, 200 * 10**18, 1_000 * 10**6, provider)

    assert (added.pair.address, added.amount_b) == (pair.address, 1_000 * 10**6)
    assert added.amount_a == 1_000 * 10**6 * reserve_link // reserve_usdc  # Router02's quote: USDC binds
    assert added.liquidity == pair.balanceOf(provider) > 0
    assert erc20_at(link).allowance(provider, v2.router.address) == erc20_at(usdc).allowance(provider, v2.router) == 0


def test_build_market__whales__hold_their_balances(book, plan):
    assert len(set(book.whales.values())) == len(plan.tokens)
    for asset, whale in book.whales.items():
        assert erc20_at(book.tokens[asset]["address"]).balanceOf(whale) == plan.whale_balances[asset], asset


def test_advance_market__two_weeks__moves_feeds_and_pools_to_the_new_day(book, panel, accounts, chain):
    head = chain.blocks.head.number
    moved = advance_market(book, NEXT_DAY, accounts[0], panel)
    target = plan_market(NEXT_DAY, ASSETS, panel)
    assert moved.date == NEXT_DAY
    assert chain.blocks.head.number > head
    for asset, price in target.prices.items():
        assert feed_answer(book, asset) == price_to_answer(feed_price(price), 8), asset
    for key, price in pool_prices(book).items():
        assert off_by(price, target.pool(key).price) < ADVANCE_TOLERANCE, key
    for key, price in v2_prices(book).items():
        assert off_by(price, target.pool(key).price) < ADVANCE_TOLERANCE, key
    assert off_by(v2_prices(book)["ETH/USDC"], plan_market(BUILD_DAY, ASSETS, panel).prices["ETH"]) > 0.3
    # The move was real: ETH fell from $1,944 to $1,215 over these two weeks.
    assert off_by(pool_prices(book)["ETH/USDC"], plan_market(BUILD_DAY, ASSETS, panel).prices["ETH"]) > 0.3


def test_market_script__build_with_dump__state_serves_again_with_load_state(run_script):
    with tempfile.TemporaryDirectory() as tmp:
        out, state = Path(tmp) / "market", Path(tmp) / "market" / "state.json"
        result = run_script(
            "market",
            "build",
            "--date",
            BUILD_DAY,
            "--assets",
            ",".join(ASSETS),
            "--out",
            str(out),
            "--dump",
            str(state),
        )
        assert "build took" in result.stdout
        assert state.stat().st_size > 0
        book = read_address_book(out / "address_book.json")

        proc, port = start_anvil(["--load-state", str(state)], Path(tmp) / "anvil.log")
        try:
            symbol = subprocess.run(
                [
                    "cast",
                    "call",
                    "--rpc-url",
                    f"http://127.0.0.1:{port}",
                    book.tokens["BTC"]["address"],
                    "symbol()(string)",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        finally:
            stop_anvil(proc)
        assert symbol == '"WBTC"'


def test_market_script__advance__moves_the_session_market_and_rewrites_the_book(book, panel, run_script, tmp_path):
    path = book.write_address_book(tmp_path / "address_book.json")
    result = run_script("market", "advance", "--to", "2022-06-20", "--book", str(path))
    assert "market at 2022-06-20" in result.stdout
    assert read_address_book(path).date == "2022-06-20"
    target = plan_market("2022-06-20", ASSETS, panel)
    for key, price in [*pool_prices(book).items(), *v2_prices(book).items()]:
        assert off_by(price, target.pool(key).price) < ADVANCE_TOLERANCE, key


def test_market_script__advance_on_another_chain__fails_clearly(book, run_script, tmp_path):
    stray = AddressBook(**{**json.loads(book.to_json()), "uniswap": {**book.uniswap, "weth": "0x" + "ab" * 20}})
    path = stray.write_address_book(tmp_path / "address_book.json")
    result = run_script("market", "advance", "--to", "2022-06-20", "--book", str(path), check=False)
    assert result.returncode != 0
    assert "is this the chain the book was built on?" in result.stderr + result.stdout
