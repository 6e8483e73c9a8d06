"""Uniswap V2 for the market, off chain: constant-product sizing, the builds' init code hash, old address books."""

import json
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from index_vault.common.artifacts import load_artifact
from index_vault.market.model import AddressBook, read_address_book
from index_vault.market.uniswap_v2_math import V2Swap, get_amount_out, pair_price, raw_price, swap_to_price_v2

ETHER = 10**18


def after(reserve_a: int, reserve_b: int, swap: V2Swap) -> tuple[int, int]:
    """The reserves once `swap` is made (the pair keeps the whole input)."""
    if swap.a_in:
        return reserve_a + swap.amount_in, reserve_b - swap.amount_out
    return reserve_a - swap.amount_out, reserve_b + swap.amount_in


def reaches(reserve_a: int, reserve_b: int, target: Fraction, swap: V2Swap, a_in: bool) -> bool:
    """Whether the swap leaves the pair's price (b per a, base units) at the target or past it."""
    a, b = after(reserve_a, reserve_b, swap)
    return Fraction(b, a) <= target if a_in else Fraction(b, a) >= target


def smaller(reserve_a: int, reserve_b: int, swap: V2Swap) -> V2Swap:
    """The same swap with one base unit less in."""
    r_in, r_out = (reserve_a, reserve_b) if swap.a_in else (reserve_b, reserve_a)
    amount_in = swap.amount_in - 1
    return V2Swap(swap.a_in, amount_in, get_amount_out(amount_in, r_in, r_out) if amount_in else 0)


def test_get_amount_out__uniswaps_own_cases__match():
    # v2-periphery's test/UniswapV2Router02.spec.ts: getAmountOut(2, 100, 100) == 1
    assert get_amount_out(2, 100, 100) == 1
    # 1 ETH into 10 ETH / 20,000 USDC: 997 * 20,000e6 * 1 / (10 * 1000 + 997) = 1,813.22... USDC, rounded down
    assert get_amount_out(ETHER, 10 * ETHER, 20_000 * 10**6) == 997 * 20_000 * 10**6 * ETHER // (10_997 * ETHER)


@pytest.mark.parametrize(("amount_in", "reserve_in", "reserve_out"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_get_amount_out__nothing_in_or_empty_pair__raises(amount_in, reserve_in, reserve_out):
    with pytest.raises(ValueError):
        get_amount_out(amount_in, reserve_in, reserve_out)


def test_raw_price_and_pair_price__wbtc_usdc__are_inverse():
    raw = raw_price(Decimal("31792.55"), 8, 6)
    assert raw == Fraction(317_9255, 100) / 100
    assert pair_price(10**8, int(raw * 10**8), 8, 6) == Decimal("31792.55")
    with pytest.raises(ValueError):
        raw_price(1.5, 18, 18)


@pytest.mark.parametrize(
    ("reserve_a", "reserve_b", "price_b_per_a", "decimals"),
    [
        # ETH/USDC from $1,944 to $1,215: sell ETH
        (12_860 * ETHER, 25_000_000 * 10**6, Decimal("1215.32"), (18, 6)),
        # ETH/USDC from $1,215 to $1,944: buy ETH with USDC
        (20_570 * ETHER, 25_000_000 * 10**6, Decimal("1944.21"), (18, 6)),
        # WBTC/WETH: 8 against 18 decimals, a 1% move
        (787 * 10**8, 12_860 * ETHER, Decimal("16.3"), (8, 18)),
        # LINK/USDC: a tiny move of 0.01%
        (35_000 * ETHER, 250_000 * 10**6, Decimal("7.1435"), (18, 6)),
    ],
)
def test_swap_to_price_v2__market_moves__smallest_input_reaching_the_target(
    reserve_a, reserve_b, price_b_per_a, decimals
):
    target = raw_price(price_b_per_a, *decimals)
    a_in = Fraction(reserve_b, reserve_a) > target

    swap = swap_to_price_v2(reserve_a, reserve_b, target)

    assert swap.a_in == a_in
    r_in, r_out = (reserve_a, reserve_b) if a_in else (reserve_b, reserve_a)
    assert swap.amount_out == get_amount_out(swap.amount_in, r_in, r_out)
    assert reaches(reserve_a, reserve_b, target, swap, a_in)
    assert not reaches(reserve_a, reserve_b, target, smaller(reserve_a, reserve_b, swap), a_in)
    landed = pair_price(*after(reserve_a, reserve_b, swap), *decimals)
    assert abs(landed - Fraction(price_b_per_a)) / Fraction(price_b_per_a) < Fraction(1, 10**9)


@given(
    reserve_a=st.integers(1_000, 10**30),
    reserve_b=st.integers(1_000, 10**30),
    move=st.fractions(Fraction(1, 10), Fraction(10)),
)
def test_swap_to_price_v2__any_pair_and_move__smallest_input_reaching_the_target(reserve_a, reserve_b, move):
    target = Fraction(reserve_b, reserve_a) * move
    a_in = move < 1

    swap = swap_to_price_v2(reserve_a, reserve_b, target)

    if move == 1:
        assert swap == V2Swap(True, 0, 0)
        return
    assert swap.a_in == a_in
    if swap.amount_in == 0:  # the output would round to nothing: the move is worth less than one unit of output
        r_out = reserve_b if a_in else reserve_a
        assert swap.amount_out == 0
        assert (1 / move if a_in else move) < 1 + Fraction(1000, 997 * (r_out - 1))
        return
    assert reaches(reserve_a, reserve_b, target, swap, a_in)
    assert not reaches(reserve_a, reserve_b, target, smaller(reserve_a, reserve_b, swap), a_in)


def test_swap_to_price_v2__small_pairs__same_input_as_a_linear_search():
    for reserve_a, reserve_b, target in [(1000, 4000, Fraction(2)), (5000, 700, Fraction(1, 2)), (999, 1001, 3)]:
        target = Fraction(target)
        a_in = Fraction(reserve_b, reserve_a) > target
        r_in, r_out = (reserve_a, reserve_b) if a_in else (reserve_b, reserve_a)
        wanted = target if a_in else 1 / target
        linear = next(
            x for x in range(1, 10**6) if Fraction(r_out - get_amount_out(x, r_in, r_out), r_in + x) <= wanted
        )

        assert swap_to_price_v2(reserve_a, reserve_b, target).amount_in == linear


def test_swap_to_price_v2__at_the_target__no_swap():
    assert swap_to_price_v2(10**18, 2 * 10**9, Fraction(2, 10**9)) == V2Swap(True, 0, 0)


def test_swap_to_price_v2__output_rounds_to_nothing__no_swap():
    # 1e18 units of a against 10 of b: moving the price by 1% would pay out less than one unit of b
    assert swap_to_price_v2(10**18, 10, Fraction(99, 10**19)).amount_in == 0


@pytest.mark.parametrize(("reserve_a", "reserve_b", "target"), [(0, 1, Fraction(1)), (1, 1, Fraction(0))])
def test_swap_to_price_v2__empty_pair_or_zero_target__raises(reserve_a, reserve_b, target):
    with pytest.raises(ValueError):
        swap_to_price_v2(reserve_a, reserve_b, target)


def test_v2_builds__router02s_pair_init_code_hash__is_the_hash_of_v2_cores_pair():
    pair_hash = keccak(hexstr=load_artifact("UniswapV2Pair").bytecode).hex()
    router = load_artifact("UniswapV2Router02").bytecode

    # UniswapV2Library.pairFor: keccak256(0xff ++ factory ++ salt ++ init code hash) -> `7f <hash>` in the code
    assert re.search(f"7f{pair_hash.removeprefix('0x')}", router)
    assert pair_hash.removeprefix("0x") == "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
    constructor = next(e for e in load_artifact("UniswapV2Router02").abi if e["type"] == "constructor")
    assert [i["name"] for i in constructor["inputs"]] == ["_factory", "_WETH"]


def test_address_book__written_before_v2__loads_without_pairs(tmp_path):
    old = {
        "chain_id": 31337,
        "date": "2022-06-01",
        "assets": ["BTC"],
        "tokens": {},
        "feeds": {},
        "pools": {"BTC/USDC": "0x" + "33" * 20},
        "uniswap": {"factory": "0x" + "44" * 20},
        "whales": {},
    }
    path = tmp_path / "address_book.json"
    path.write_text(json.dumps(old))

    book = read_address_book(path)

    assert (book.uniswap_v2, book.v2_pairs, book.pools) == ({}, {}, old["pools"])


def test_address_book__with_v2__round_trips(tmp_path):
    book = AddressBook(
        chain_id=31337,
        date="2022-06-01",
        assets=["BTC"],
        uniswap_v2={"factory": "0x" + "66" * 20, "router": "0x" + "77" * 20},
        v2_pairs={"BTC/USDC": "0x" + "88" * 20},
    )
    assert read_address_book(book.write_address_book(tmp_path / "address_book.json")) == book
