"""Route encodings for the DEX adapters."""

import pytest
from eth_abi import decode

from index_vault.keeper.routes import RouteError, split_route, v2_route, v3_route

A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20


def test_v2_route__direct_pair__empty():
    assert v2_route([A, B]) == b""


def test_v2_route__two_hops__abi_encoded_path():
    (path,) = decode(["address[]"], v2_route([A, C, B]))
    assert [p.lower() for p in path] == [A, C, B]


def test_v3_route__two_hops__packed_tokens_and_fees():
    route = v3_route([A, C, B], [3000, 500])
    assert len(route) == 20 + 23 + 23
    assert route[:20] == bytes.fromhex("aa" * 20)
    assert int.from_bytes(route[20:23], "big") == 3000
    assert route[-20:] == bytes.fromhex("bb" * 20)


def test_split_route__v2_part_then_the_v3_path():
    route = split_route(123, [A, C, B], [3000, 500])
    assert int.from_bytes(route[:16], "big") == 123
    assert route[16:] == v3_route([A, C, B], [3000, 500])


@pytest.mark.parametrize(
    "call",
    [
        lambda: v2_route([A]),
        lambda: v2_route([A, B, C, A, B]),
        lambda: v3_route([A, B], []),
        lambda: v3_route([A, B], [2**24]),
        lambda: split_route(2**128, [A, B], [3000]),
        lambda: split_route(-1, [A, B], [3000]),
        lambda: split_route(1, [A, C, B, C, A], [3000] * 4),
    ],
)
def test_routes__bad_input__raise_route_error(call):
    with pytest.raises(RouteError):
        call()
