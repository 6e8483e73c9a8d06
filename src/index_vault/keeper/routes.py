"""Trade routes for the Rebalancer's DEX adapters, as the bytes each adapter takes.

- Uniswap V2 (`UniswapV2Adapter`): empty for the direct pair, else the ABI encoding of the whole path
  (`address[]`, from the token sold to the token bought, at most four tokens).
- Uniswap V3 (`UniswapV3Adapter`): the packed path the SwapRouter takes, token (20 bytes), fee (3 bytes),
  token, ..., one or more hops.
"""

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import to_bytes, to_checksum_address

MAX_ROUTE = 256  # bytes: the Rebalancer's and the adapters' bound
MAX_V2_PATH = 4


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
