# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Uniswap V3 Adapter
@custom:contract-name UniswapV3Adapter
@license GNU Affero General Public License v3.0 only
@notice Sells an exact amount on Uniswap V3 pools for an index vault, with
        no router and no approval: the vault pays this adapter the amount
        first, the adapter swaps on each pool of a packed V3 path (token,
        fee, token, ... : one or more hops, e.g. through WETH or USDC) and
        pays the pool in its swap callback. Each pool's address is derived
        by CREATE2 from the factory and the pool init code hash, so only a
        genuine pool is ever called, and a callback is honoured only from
        the pool being swapped (held in transient storage for the call).
        The last hop pays `recipient`; input the first pool did not take
        goes back to the caller, and a later pool must take all it is
        offered. `swap_with_callback` is the same swap for a caller that
        keeps its input until the first pool is owed it: that pool's
        callback asks the caller to pay it (`IDexPayer.pay_for_swap`), and
        input the pool did not take never left the caller. Holds nothing
        between calls and has no owner; the rebalancer and the vault check
        the outcome.
"""


from ..interfaces import IDexAdapter
from ..interfaces import IDexPayer
from ..interfaces import IUniswapV3Pool
from ..lib import constants
from ..lib import safe_erc20

implements: IDexAdapter


# @dev The longest route a rebalancer passes (as the rebalancer's bound).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE


# @dev One hop of a packed path: a token (20 bytes) and a fee (3 bytes).
_HOP: constant(uint256) = 23


# @dev The most hops a route of `MAX_ROUTE` bytes holds.
_MAX_HOPS: constant(uint256) = (constants.MAX_ROUTE - 20) // _HOP


# @dev TickMath's bounds plus and minus one: a swap limited only by its amount.
_MIN_SQRT_RATIO_PLUS_ONE: constant(uint160) = 4295128740
_MAX_SQRT_RATIO_MINUS_ONE: constant(uint160) = 1461446703485210103287273052203988822378723970341


# @dev The Uniswap V3 factory whose pools this adapter trades on.
factory: public(immutable(address))

# @dev keccak256 of the pool creation code the factory deploys (CREATE2).
pool_init_code_hash: public(immutable(bytes32))

# @dev The pool being swapped and the token it must be paid in, for the
# callback; set around each pool call only.
_pool: transient(address)
_pay_token: transient(address)

# @dev Who pays the first pool of a `swap_with_callback` (its caller); empty
# while this adapter pays from its own balance.
_payer: transient(address)


@deploy
def __init__(factory_: address, pool_init_code_hash_: bytes32):
    """
    @dev Binds the adapter to one factory's pools.
    @param factory_ A Uniswap V3 factory.
    @param pool_init_code_hash_ The hash of its pools' creation code.
    """
    assert factory_.is_contract, "adapter: factory is not a contract"
    factory = factory_
    pool_init_code_hash = pool_init_code_hash_


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
         to `recipient`; input the first pool does not take goes back to the
         caller, and a later pool must take all it is offered (nothing stays
         here).
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The amount sold.
    @param min_out The least amount bought.
    @param route The packed V3 path from `token_in` to `token_out`.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    return self._swap_route(token_in, token_out, amount_in, min_out, route, recipient, empty(address))


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
    @dev As `swap`, but `amount_in` stays with the caller: the first pool's
         callback asks the caller (an `IDexPayer`) to pay it what it is
         owed, at most `amount_in`.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The most of `token_in` sold.
    @param min_out The least amount bought.
    @param route The packed V3 path from `token_in` to `token_out`.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    return self._swap_route(token_in, token_out, amount_in, min_out, route, recipient, msg.sender)


@external
def uniswapV3SwapCallback(amount0_delta: int256, amount1_delta: int256, data: Bytes[32]):
    """
    @dev Pays the pool being swapped what it is owed. Only that pool may
         call, and only while this adapter is swapping on it.
    @param amount0_delta What the pool is owed in token0 (when positive).
    @param amount1_delta What the pool is owed in token1 (when positive).
    @param data Unused.
    """
    pool: address = self._pool
    assert pool != empty(address) and msg.sender == pool, "adapter: caller is not the pool"
    owed: int256 = max(amount0_delta, amount1_delta)
    assert owed > 0, "adapter: nothing owed"
    payer: address = self._payer
    if payer == empty(address):
        safe_erc20._transfer(self._pay_token, pool, convert(owed, uint256))
    else:
        extcall IDexPayer(payer).pay_for_swap(self._pay_token, pool, convert(owed, uint256))


@internal
def _swap_route(
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    route: Bytes[MAX_ROUTE],
    recipient: address,
    payer: address,
) -> uint256:
    """
    @dev Swaps `amount_in` along `route` (`swap`); the first pool is paid
         by `payer` when it is set, else from this adapter's balance.
    @return uint256 The amount bought.
    """
    n: uint256 = len(route)
    assert n >= 20 + _HOP and (n - 20) % _HOP == 0, "adapter: route does not match"
    assert self._token_at(route, 0) == token_in and self._token_at(route, n - 20) == token_out, "adapter: route does not match"
    hops: uint256 = (n - 20) // _HOP
    amount: uint256 = amount_in
    if payer != empty(address):
        self._payer = payer
    for i: uint256 in range(hops, bound=_MAX_HOPS):
        offset: uint256 = i * _HOP
        a: address = self._token_at(route, offset)
        fee: uint24 = convert(convert(slice(route, offset + 20, 3), bytes3), uint24)
        b: address = self._token_at(route, offset + _HOP)
        to: address = recipient if i + 1 == hops else self
        offered: uint256 = amount
        spent: uint256 = 0
        spent, amount = self._swap_pool(a, b, fee, offered, to)
        if i == 0:
            if payer != empty(address):
                self._payer = empty(address)  # later pools are paid from here
            elif spent < amount_in:
                safe_erc20._transfer(token_in, msg.sender, amount_in - spent)
        else:
            # an intermediate token the next pool left would stay here
            assert spent == offered, "adapter: a later hop left input"
    assert amount >= min_out, "adapter: too little out"
    return amount


@internal
def _swap_pool(a: address, b: address, fee: uint24, amount: uint256, to: address) -> (uint256, uint256):
    """
    @dev Sells `amount` of `a` for `b` on their pool of `fee`, paying `to`.
    @return uint256 The amount of `a` the pool took.
    @return uint256 The amount of `b` paid out.
    """
    zero_for_one: bool = convert(a, uint256) < convert(b, uint256)
    token0: address = a if zero_for_one else b
    token1: address = b if zero_for_one else a
    pool: address = self._pool_address(token0, token1, fee)
    self._pool = pool
    self._pay_token = a
    limit: uint160 = _MIN_SQRT_RATIO_PLUS_ONE if zero_for_one else _MAX_SQRT_RATIO_MINUS_ONE
    delta0: int256 = 0
    delta1: int256 = 0
    delta0, delta1 = extcall IUniswapV3Pool(pool).swap(to, zero_for_one, convert(amount, int256), limit, b"")
    self._pool = empty(address)
    if zero_for_one:
        return convert(delta0, uint256), convert(-delta1, uint256)
    return convert(delta1, uint256), convert(-delta0, uint256)


@internal
@view
def _pool_address(token0: address, token1: address, fee: uint24) -> address:
    """
    @dev The factory's pool of `token0` < `token1` at `fee`, by CREATE2.
    """
    salt: bytes32 = keccak256(abi_encode(token0, token1, fee))
    digest: bytes32 = keccak256(concat(b"\xff", convert(factory, bytes20), salt, pool_init_code_hash))
    return convert(convert(slice(digest, 12, 20), bytes20), address)


@internal
@pure
def _token_at(route: Bytes[MAX_ROUTE], offset: uint256) -> address:
    """
    @dev The token at `offset` of a packed path.
    """
    return convert(convert(slice(route, offset, 20), bytes20), address)
