# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Uniswap V3 Adapter
@custom:contract-name UniswapV3Adapter
@license GNU Affero General Public License v3.0 only
@notice Sells an exact amount through a Uniswap V3 SwapRouter for a
        rebalancer: pulls `amount_in` from the caller, approves the router
        for exactly that, swaps along a packed V3 path (token, fee, token,
        ... : one or more hops, e.g. through WETH or USDC) to `recipient`,
        and resets the approval to zero. Holds nothing between calls and has
        no owner; the rebalancer and the vault check the outcome.
"""


from ethereum.ercs import IERC20

from ..interfaces import IDexAdapter
from ..lib import constants
from ..lib import safe_erc20

implements: IDexAdapter


struct ExactInputParams:
    path: Bytes[MAX_ROUTE]
    recipient: address
    deadline: uint256
    amountIn: uint256
    amountOutMinimum: uint256


interface ISwapRouter:
    def exactInput(params: ExactInputParams) -> uint256: payable


# @dev The longest route a rebalancer passes (as the rebalancer's bound).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE


# @dev One hop of a packed path: a token (20 bytes) and a fee (3 bytes).
_HOP: constant(uint256) = 23


# @dev The SwapRouter this adapter swaps through.
router: public(immutable(address))


@deploy
def __init__(router_: address):
    """
    @dev Binds the adapter to one router.
    @param router_ A Uniswap V3 SwapRouter.
    """
    assert router_.is_contract, "adapter: router is not a contract"
    router = router_


@external
def swap(
    token_in: address,
    token_out: address,
    amount_in: uint256,
    min_out: uint256,
    route: Bytes[MAX_ROUTE],
    recipient: address,
) -> uint256:
    """
    @dev Swaps exactly `amount_in` of `token_in` (pulled from the caller) for
         at least `min_out` of `token_out`, paid to `recipient`.
    @param token_in The token sold.
    @param token_out The token bought.
    @param amount_in The amount sold.
    @param min_out The least amount bought.
    @param route The packed V3 path from `token_in` to `token_out`.
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    n: uint256 = len(route)
    assert n >= 20 + _HOP and (n - 20) % _HOP == 0, "adapter: route does not match"
    first: address = convert(convert(slice(route, 0, 20), bytes20), address)
    last: address = convert(convert(slice(route, n - 20, 20), bytes20), address)
    assert first == token_in and last == token_out, "adapter: route does not match"
    safe_erc20._transfer_from(token_in, msg.sender, self, amount_in)
    assert extcall IERC20(token_in).approve(router, amount_in, default_return_value=True), "adapter: approve failed"
    out: uint256 = extcall ISwapRouter(router).exactInput(
        ExactInputParams(path=route, recipient=recipient, deadline=block.timestamp, amountIn=amount_in, amountOutMinimum=min_out)
    )
    assert extcall IERC20(token_in).approve(router, 0, default_return_value=True), "adapter: approve failed"
    return out
