# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Transfer Floor
@custom:contract-name TransferFloor
@license GNU Affero General Public License v3.0 only
@notice Benchmark only: the least any in-kind mint can cost, one transaction
        that pulls N tokens by `transferFrom` and does nothing else.
"""


from ethereum.ercs import IERC20


@external
def pull(tokens: DynArray[address, 50], amounts: DynArray[uint256, 50], receiver: address):
    """
    @dev Pulls `amounts[i]` of `tokens[i]` from the caller to `receiver`.
    @param tokens The tokens, each approved to this contract.
    @param amounts The amounts, one per token.
    @param receiver Where the tokens go.
    """
    for i: uint256 in range(len(tokens), bound=50):
        assert extcall IERC20(tokens[i]).transferFrom(msg.sender, receiver, amounts[i])
