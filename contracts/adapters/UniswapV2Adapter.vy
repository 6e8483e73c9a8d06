# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Uniswap V2 Adapter
@custom:contract-name UniswapV2Adapter
@license GNU Affero General Public License v3.0 only
@notice Sells an exact amount through a Uniswap V2 Router02 for a
        rebalancer: pulls `amount_in` from the caller, approves the router
        for exactly that, swaps along the path (direct, or through WETH or
        USDC, up to three hops) to `recipient`, and resets the approval to
        zero. Holds nothing between calls and has no owner; the rebalancer
        and the vault check the outcome.
"""


from ethereum.ercs import IERC20

from ..interfaces import IDexAdapter
from ..lib import constants
from ..lib import safe_erc20

implements: IDexAdapter


interface IUniswapV2Router02:
    def swapExactTokensForTokens(
        amountIn: uint256, amountOutMin: uint256, path: DynArray[address, MAX_PATH], to: address, deadline: uint256
    ) -> DynArray[uint256, MAX_PATH]: nonpayable


# @dev The longest path: three hops.
MAX_PATH: public(constant(uint256)) = 4


# @dev The longest route a rebalancer passes (as the rebalancer's bound).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE


# @dev The Router02 this adapter swaps through.
router: public(immutable(address))


@deploy
def __init__(router_: address):
    """
    @dev Binds the adapter to one router.
    @param router_ A Uniswap V2 Router02.
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
    @param route Empty for the direct pair, else the ABI encoding of the
           whole path (`address[]`, from `token_in` to `token_out`).
    @param recipient Who receives `token_out`.
    @return uint256 The amount bought.
    """
    path: DynArray[address, MAX_PATH] = [token_in, token_out]
    if len(route) != 0:
        path = abi_decode(route, DynArray[address, MAX_PATH])
    assert len(path) >= 2 and path[0] == token_in and path[len(path) - 1] == token_out, "adapter: route does not match"
    safe_erc20._transfer_from(token_in, msg.sender, self, amount_in)
    assert extcall IERC20(token_in).approve(router, amount_in, default_return_value=True), "adapter: approve failed"
    amounts: DynArray[uint256, MAX_PATH] = extcall IUniswapV2Router02(router).swapExactTokensForTokens(
        amount_in, min_out, path, recipient, block.timestamp
    )
    assert extcall IERC20(token_in).approve(router, 0, default_return_value=True), "adapter: approve failed"
    return amounts[len(amounts) - 1]
