"""Trade routes for the Rebalancer's DEX adapters, as the bytes each adapter takes.

- Uniswap V2 (`UniswapV2Adapter`): empty for the direct pair, else the ABI encoding of the whole path
  (`address[]`, from the token sold to the token bought, at most four tokens).
- Uniswap V3 (`UniswapV3Adapter`): the packed path the SwapRouter takes, token (20 bytes), fee (3 bytes),
  token, ..., one or more hops.
- Both at once (`SplitAdapter`): the V2 part's amount (16 bytes, big-endian), then the V3 packed path; the V2
  part takes the same tokens, so at most three hops.
"""

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import to_bytes, to_checksum_address

MAX_ROUTE = 256  # bytes: the Rebalancer's and the adapters' bound
MAX_V2_PATH = 4
SPLIT_AMOUNT_BYTES = 16


class RouteError(ValueError):
    """A route an adapter would refuse."""


def v2_route(path: Sequence[str]) -> bytes:
    """The V2 adapter's route for `path` (token sold first, token bought last); empty for a direct pair."""
    if len(path) < 2 or len(path) > MAX_V2_PATH:
        raise RouteError(f"a V2 path has 2 to {MAX_V2_PATH} tokens, not {len(path)}")
    if len(path) == 2:
        return b""
    return encode(["address[]"], [[to_checksum_address(a) for a in path]])


def v3_route(tokens: Sequence[str], fees: Sequence[int]) -> bytes:
    """The V3 adapter's packed path: tokens[0], fees[0], tokens[1], ..., tokens[-1]."""
    if len(tokens) < 2 or len(fees) != len(tokens) - 1:
        raise RouteError(f"a V3 path needs one fee per hop: {len(tokens)} tokens, {len(fees)} fees")
    packed = to_bytes(hexstr=tokens[0])
    for fee, token in zip(fees, tokens[1:], strict=True):
        if not 0 < fee < 2**24:
            raise RouteError(f"fee {fee} does not fit in 3 bytes")
        packed += fee.to_bytes(3, "big") + to_bytes(hexstr=token)
    if len(packed) > MAX_ROUTE:
        raise RouteError(f"the route is {len(packed)} bytes, more than {MAX_ROUTE}")
    return packed


def split_route(v2_amount: int, tokens: Sequence[str], fees: Sequence[int]) -> bytes:
    """The split adapter's route: `v2_amount` of the input through the V2 pairs of `tokens`, the rest through the
    V3 pools of `tokens` and `fees`."""
    if not 0 <= v2_amount < 2 ** (8 * SPLIT_AMOUNT_BYTES):
        raise RouteError(f"the V2 part {v2_amount} does not fit in {SPLIT_AMOUNT_BYTES} bytes")
    if len(tokens) > MAX_V2_PATH:
        raise RouteError(f"a split's path has 2 to {MAX_V2_PATH} tokens, not {len(tokens)}")
    route = v2_amount.to_bytes(SPLIT_AMOUNT_BYTES, "big") + v3_route(tokens, fees)
    if len(route) > MAX_ROUTE:
        raise RouteError(f"the route is {len(route)} bytes, more than {MAX_ROUTE}")
    return route
