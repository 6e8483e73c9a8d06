# pragma version ~=0.4.3
"""
@title Safe ERC-20 Transfers
@custom:contract-name safe_erc20
@license GNU Affero General Public License v3.0 only
@notice Stateless helpers that move ERC-20 tokens and accept the three
        behaviours found on mainnet: return `True`, return nothing (USDT,
        BNB), or revert. A token that returns `False` or garbage is treated
        as a failed transfer. The token's own revert reason is bubbled up.
        Callers must make sure that `token` has code: a call to an address
        without code succeeds and returns nothing. The vault checks this
        once, when a constituent is listed.
"""


@internal
def _transfer(token: address, to: address, amount: uint256):
    """
    @dev Sends `amount` of `token` from this contract to `to`.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount in the token's own units.
    """
    response: Bytes[32] = raw_call(
        token,
        abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32,
    )
    if len(response) != 0:
        assert abi_decode(response, bool), "safe_erc20: transfer returned false"


@internal
def _transfer_from(token: address, owner: address, to: address, amount: uint256):
    """
    @dev Pulls `amount` of `token` from `owner` to `to` under the allowance
         that `owner` gave this contract.
    @param token The ERC-20 token.
    @param owner The account the tokens come from.
    @param to The receiver.
    @param amount The amount in the token's own units.
    """
    response: Bytes[32] = raw_call(
        token,
        abi_encode(owner, to, amount, method_id=method_id("transferFrom(address,address,uint256)")),
        max_outsize=32,
    )
    if len(response) != 0:
        assert abi_decode(response, bool), "safe_erc20: transferFrom returned false"
