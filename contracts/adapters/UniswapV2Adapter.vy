# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Uniswap V2 Adapter
@custom:contract-name UniswapV2Adapter
@license GNU Affero General Public License v3.0 only
@notice Sells an exact amount on Uniswap V2 pairs for an index vault, with
        no router and no approval: the vault pays this adapter the amount
        first, the adapter pays the first pair and calls `swap` on each pair
        of the path (direct, or through WETH or USDC, up to three hops),
        each paying the next and the last paying `recipient`. Each pair's
        address is derived by CREATE2 from the factory and the pair init
        code hash, so only a genuine pair is ever paid. The amounts out are
        the pairs' own constant-product formula with the 0.3% fee.
        `swap_with_callback` is the same swap for a caller that keeps its
        input: the adapter asks the caller to pay the first pair directly
        (`IDexPayer.pay_for_swap`). Holds nothing between calls and has no
        owner; the rebalancer and the vault check the outcome.
"""


from ..interfaces import IDexAdapter
from ..interfaces import IDexPayer
from ..interfaces import IUniswapV2Pair
from ..lib import constants
from ..lib import safe_erc20

implements: IDexAdapter


# @dev The longest path: three hops.
MAX_PATH: public(constant(uint256)) = 4


# @dev The longest route a rebalancer passes (as the rebalancer's bound).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE


# @dev The Uniswap V2 factory whose pairs this adapter trades on.
factory: public(immutable(address))

# @dev keccak256 of the pair creation code the factory deploys (CREATE2).
pair_init_code_hash: public(immutable(bytes32))


@deploy
def __init__(factory_: address, pair_init_code_hash_: bytes32):
    """
    @dev Binds the adapter to one factory's pairs.
    @param factory_ A Uniswap V2 factory.
    @param pair_init_code_hash_ The hash of its pairs' creation code.
    """
    assert factory_.is_contract, "adapter: factory is not a contract"
    factory = factory_
    pair_init_code_hash = pair_init_code_hash_


@external
@nonreentrant
def swap(
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    route: Bytes[MAX_ROUTE],
    recipient: address,
) -> uint256:
    """
    @dev Swaps exactly `amount_in` of `token_in` (already paid to this
         adapter by the caller) for at least `min_out` of `token_out`, paid
         to `recipient`. A pair takes the whole amount: nothing is left to
         give back.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The amount sold.
    @param min_out The least amount bought.
    @param route Empty for the direct pair, else the ABI encoding of the
           whole path (`address[]`, from `token_in` to `token_out`).
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    return self._swap_path(token_in, token_out, amount_in, min_out, route, recipient, empty(address))


@external
@nonreentrant
def swap_with_callback(
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    route: Bytes[MAX_ROUTE],
    recipient: address,
) -> uint256:
    """
    @dev As `swap`, but `amount_in` stays with the caller (an `IDexPayer`)
         until the adapter asks it to pay the first pair.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The amount sold.
    @param min_out The least amount bought.
    @param route As for `swap`.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    return self._swap_path(token_in, token_out, amount_in, min_out, route, recipient, msg.sender)


@internal
def _swap_path(
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    route: Bytes[MAX_ROUTE],
    recipient: address,
    payer: address,
) -> uint256:
    """
    @dev Swaps `amount_in` along the path (`swap`); the first pair is paid
         by `payer` when it is set, else from this adapter's balance.
    @return uint256 The amount bought.
    """
    path: DynArray[address, MAX_PATH] = [token_in, token_out]
    if len(route) != 0:
        path = abi_decode(route, DynArray[address, MAX_PATH])
    assert len(path) >= 2, "adapter: route does not match"
    hops: uint256 = len(path) - 1
    assert path[0] == token_in and path[hops] == token_out, "adapter: route does not match"
    pair: address = self._pair_for(path[0], path[1])
    if payer == empty(address):
        safe_erc20._transfer(token_in, pair, amount_in)
    else:
        extcall IDexPayer(payer).pay_for_swap(token_in, pair, amount_in)
    amount: uint256 = amount_in
    for i: uint256 in range(hops, bound=MAX_PATH - 1):
        to: address = recipient
        next_pair: address = empty(address)
        if i + 1 < hops:
            next_pair = self._pair_for(path[i + 1], path[i + 2])
            to = next_pair
        amount = self._swap_pair(pair, path[i], path[i + 1], amount, to)
        pair = next_pair
    assert amount >= min_out, "adapter: too little out"
    return amount


@internal
def _swap_pair(pair: address, a: address, b: address, amount_in: uint256, to: address) -> uint256:
    """
    @dev Takes from `pair` what `amount_in` of `a` (already paid to it) buys
         of `b` at its reserves, paid to `to`.
    @return uint256 The amount of `b` paid out.
    """
    reserve0: uint112 = 0
    reserve1: uint112 = 0
    stamp: uint32 = 0
    reserve0, reserve1, stamp = staticcall IUniswapV2Pair(pair).getReserves()
    a_is_0: bool = convert(a, uint256) < convert(b, uint256)
    reserve_in: uint256 = convert(reserve0 if a_is_0 else reserve1, uint256)
    reserve_out: uint256 = convert(reserve1 if a_is_0 else reserve0, uint256)
    with_fee: uint256 = amount_in * 997
    out: uint256 = with_fee * reserve_out // (reserve_in * 1000 + with_fee)
    if a_is_0:
        extcall IUniswapV2Pair(pair).swap(0, out, to, b"")
    else:
        extcall IUniswapV2Pair(pair).swap(out, 0, to, b"")
    return out


@internal
@view
def _pair_for(a: address, b: address) -> address:
    """
    @dev The factory's pair of `a` and `b`, by CREATE2.
    """
    token0: address = a
    token1: address = b
    if convert(b, uint256) < convert(a, uint256):
        token0 = b
        token1 = a
    salt: bytes32 = keccak256(concat(convert(token0, bytes20), convert(token1, bytes20)))
    digest: bytes32 = keccak256(concat(b"\xff", convert(factory, bytes20), salt, pair_init_code_hash))
    return convert(convert(slice(digest, 12, 20), bytes20), address)
