# pragma version ~=0.4.3
"""
@title In-Kind Maths
@custom:contract-name in_kind_math
@license GNU Affero General Public License v3.0 only
@notice The pure arithmetic of the in-kind flows, shared by the vault (which
        moves the tokens) and `VaultLens` (which previews them), so a preview
        is the same computation as the flow it previews. Stateless.
"""


from snekmate.utils import math

from ..lib import constants


@internal
@pure
def _fee_on_top(shares: uint256, fee_bps: uint256) -> uint256:
    """
    @dev Fee shares paid on top of `shares`, so that the fee is `fee_bps` of
         all shares created (the mint fee); rounded up.
    @param shares The shares the receiver gets.
    @param fee_bps The fee, in basis points (below 10,000).
    @return uint256 Fee shares.
    """
    if fee_bps == 0:
        return 0
    return math._mul_div(shares, fee_bps, constants.BPS - fee_bps, True)


@internal
@pure
def _fee_within(shares: uint256, fee_bps: uint256) -> uint256:
    """
    @dev Fee shares kept back out of `shares` (the redeem fee); rounded up.
    @param shares The shares redeemed.
    @param fee_bps The fee, in basis points.
    @return uint256 Fee shares.
    """
    if fee_bps == 0:
        return 0
    return math._mul_div(shares, fee_bps, constants.BPS, True)


@internal
@pure
def _pro_rata(
    shares: uint256, amounts: DynArray[uint256, constants.MAX_ASSETS], supply: uint256, round_up: bool
) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev `shares / supply` of each amount: what a mint pays (rounded up) or a
         redemption receives (rounded down) of each holding, or, with a
         supply of `WAD`, what `shares` hold at given units per share.
    @param shares The shares minted or redeemed.
    @param amounts The holdings (or units per `WAD` shares), in basket order.
    @param supply The share supply they belong to, not zero.
    @param round_up Round each amount up (mints) or down (redemptions).
    @return DynArray The amounts, in basket order.
    """
    result: DynArray[uint256, constants.MAX_ASSETS] = []
    for amount: uint256 in amounts:
        result.append(math._mul_div(shares, amount, supply, round_up))
    return result
