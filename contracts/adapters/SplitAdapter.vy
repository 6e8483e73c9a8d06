# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Split Adapter
@custom:contract-name SplitAdapter
@license GNU Affero General Public License v3.0 only
@notice Sells an exact amount across a Uniswap V2 path and a Uniswap V3
        path of the same tokens in one trade, so that a large order's two
        parts can end at equal marginal prices (the keeper sizes the parts
        off chain). The route is the V2 part's amount (16 bytes, big-endian)
        followed by the packed V3 path (token, fee, token, ...: up to three
        hops); the V2 part takes the same tokens. Each part goes through the
        adapter this contract is bound to (`v2_adapter`, `v3_adapter`) by
        its `swap_with_callback`, so each pool or pair is paid straight from
        here when it is owed (`pay_for_swap`, answered only for the adapter
        being called, in the token sold, up to that part's amount); what the
        V3 pools did not take goes back to the caller. `swap_with_callback`
        passes each payment request on to its own caller instead. Holds
        nothing between calls and has no owner; the rebalancer and the vault
        check the outcome.
"""


from ..interfaces import IDexAdapter
from ..interfaces import IDexPayer
from ..lib import constants
from ..lib import safe_erc20


implements: IDexAdapter
implements: IDexPayer


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The longest route a rebalancer passes (as the rebalancer's bound).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE

# @dev The bytes of the V2 part's amount at the head of a route.
_AMOUNT_BYTES: constant(uint256) = 16

# @dev One hop of a packed V3 path: a token (20 bytes) and a fee (3 bytes).
_HOP: constant(uint256) = 23

# @dev The most hops of a split: the V2 adapter's longest path.
_MAX_HOPS: constant(uint256) = 3


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The UniswapV2Adapter that swaps the V2 part.
v2_adapter: public(immutable(address))

# @dev The UniswapV3Adapter that swaps the V3 part.
v3_adapter: public(immutable(address))

# @dev The adapter of the part under way, the token it sells and how much of
# it the adapter may still ask for (`pay_for_swap`); set around each part.
_part_adapter: transient(address)
_part_token: transient(address)
_part_left: transient(uint256)

# @dev Who pays the pools: the caller of `swap_with_callback`; empty while
# this contract pays from what `swap`'s caller paid it.
_payer: transient(address)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(v2_adapter_: address, v3_adapter_: address):
    """
    @dev Binds the splitter to one adapter of each kind.
    @param v2_adapter_ A UniswapV2Adapter.
    @param v3_adapter_ A UniswapV3Adapter.
    """
    assert v2_adapter_.is_contract and v3_adapter_.is_contract, "split: adapter is not a contract"
    v2_adapter = v2_adapter_
    v3_adapter = v3_adapter_


# ---------------------------------------------------------------------------
#                                  SWAPPING
# ---------------------------------------------------------------------------


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
         contract by the caller): the route's V2 amount through the V2
         adapter, the rest through the V3 adapter, both paying `recipient`;
         input the V3 pools did not take goes back to the caller.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The amount sold.
    @param min_out The least amount bought, both parts together.
    @param route The V2 part's amount (16 bytes) and the packed V3 path.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    out: uint256 = 0
    left: uint256 = 0
    out, left = self._split(token_in, token_out, amount_in, route, recipient)
    if left != 0:
        safe_erc20._transfer(token_in, msg.sender, left)
    assert out >= min_out, "split: too little out"
    return out


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
    @dev As `swap`, but `amount_in` stays with the caller (an `IDexPayer`):
         each pool's payment is asked of it as the pool is owed.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The most of `token_in` sold.
    @param min_out The least amount bought, both parts together.
    @param route The V2 part's amount (16 bytes) and the packed V3 path.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    self._payer = msg.sender
    out: uint256 = 0
    left: uint256 = 0
    out, left = self._split(token_in, token_out, amount_in, route, recipient)
    self._payer = empty(address)
    assert out >= min_out, "split: too little out"
    return out


@external
def pay_for_swap(token: address, to: address, amount: uint256):
    """
    @dev Pays `amount` of `token` to `to` (the pool or pair being swapped)
         for the adapter of the part under way, up to what that part sells:
         from this contract's balance, or asked of the caller of
         `swap_with_callback`.
    @param token The token sold.
    @param to Who the adapter's pool is paid at.
    @param amount The amount owed.
    """
    assert msg.sender == self._part_adapter and msg.sender != empty(address), "split: caller is not the swapping adapter"
    assert token == self._part_token, "split: not the token sold"
    left: uint256 = self._part_left
    assert amount <= left, "split: more than the part sells"
    self._part_left = left - amount
    payer: address = self._payer
    if payer == empty(address):
        safe_erc20._transfer(token, to, amount)
    else:
        extcall IDexPayer(payer).pay_for_swap(token, to, amount)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _split(
    token_in: address, token_out: address, amount_in: uint256, route: Bytes[MAX_ROUTE], recipient: address
) -> (uint256, uint256):
    """
    @dev Swaps the two parts of `amount_in` along `route`.
    @return uint256 The amount bought.
    @return uint256 The input the pools did not take.
    """
    n: uint256 = len(route)
    assert n >= _AMOUNT_BYTES + 20 + _HOP and (n - _AMOUNT_BYTES - 20) % _HOP == 0, "split: route does not match"
    hops: uint256 = (n - _AMOUNT_BYTES - 20) // _HOP
    assert hops <= _MAX_HOPS, "split: route too long"
    v2_amount: uint256 = convert(convert(slice(route, 0, _AMOUNT_BYTES), bytes16), uint256)
    assert v2_amount <= amount_in, "split: V2 part above the amount"
    v3_path: Bytes[MAX_ROUTE] = slice(route, _AMOUNT_BYTES, n - _AMOUNT_BYTES)
    out: uint256 = 0
    left: uint256 = 0
    if v2_amount != 0:
        v2_route: Bytes[MAX_ROUTE] = b""
        if hops > 1:
            path: DynArray[address, _MAX_HOPS + 1] = []
            for i: uint256 in range(hops + 1, bound=_MAX_HOPS + 1):
                path.append(convert(convert(slice(v3_path, i * _HOP, 20), bytes20), address))
            v2_route = abi_encode(path)
        out, left = self._part(v2_adapter, token_in, token_out, v2_amount, v2_route, recipient)
    if v2_amount != amount_in:
        part_out: uint256 = 0
        part_left: uint256 = 0
        part_out, part_left = self._part(v3_adapter, token_in, token_out, amount_in - v2_amount, v3_path, recipient)
        out += part_out
        left += part_left
    return out, left


@internal
def _part(
    adapter: address, token_in: address, token_out: address, amount: uint256, route: Bytes[MAX_ROUTE], recipient: address
) -> (uint256, uint256):
    """
    @dev Swaps `amount` through `adapter`'s `swap_with_callback`, answering
         its payment requests up to `amount` (`pay_for_swap`).
    @return uint256 The amount bought.
    @return uint256 What the adapter's pools did not take of `amount`.
    """
    self._part_adapter = adapter
    self._part_token = token_in
    self._part_left = amount
    out: uint256 = extcall IDexAdapter(adapter).swap_with_callback(token_in, token_out, amount, 0, route, recipient)
    self._part_adapter = empty(address)
    return out, self._part_left
