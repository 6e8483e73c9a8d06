# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Vault Lens
@custom:contract-name VaultLens
@license GNU Affero General Public License v3.0 only
@notice The index vault's derived views, kept out of the vault so that its
        code stays well under EIP-170's limit: the exact in-kind previews,
        the units a share holds, and the target weights. One stateless lens
        serves every vault; each view takes the vault's address.

        Each answer is computed from the vault's own guarded views
        (`holdings`, `pending_management_fee`), by the same code the vault's
        flows run (`in_kind_math`), so a preview equals what the flow then
        moves in the same block, and the previews and units per share revert
        while the vault is mid-operation (its reentrancy lock held), as the
        vault's own views do. The lens holds nothing and has no state.
"""


from ..interfaces import IIndexVault
from ..interfaces import IRebalancer
from ..lib import constants
from ..vault import in_kind_math


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def preview_mint_in_kind(vault: IIndexVault, shares: uint256) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev The exact amounts `vault.mint_in_kind(shares, ...)` would pull now,
         the mint fee and the management fee due included.
    @param vault The index vault.
    @param shares The shares to mint.
    @return DynArray The amounts, in basket order.
    """
    holdings: DynArray[uint256, constants.MAX_ASSETS] = staticcall vault.holdings()
    supply: uint256 = self._supply_after_fee(vault)
    gross: uint256 = shares + in_kind_math._fee_on_top(shares, staticcall vault.mint_fee_bps())
    if supply == 0:
        return in_kind_math._pro_rata(gross, self._initial_units(vault, len(holdings)), constants.WAD, True)
    return in_kind_math._pro_rata(gross, holdings, supply, True)


@external
@view
def preview_redeem_in_kind(vault: IIndexVault, shares: uint256) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev The exact amounts `vault.redeem_in_kind(shares, ...)` would pay now,
         the redeem fee and the management fee due included.
    @param vault The index vault.
    @param shares The shares to redeem, at most the supply.
    @return DynArray The amounts, in basket order.
    """
    holdings: DynArray[uint256, constants.MAX_ASSETS] = staticcall vault.holdings()
    supply: uint256 = self._supply_after_fee(vault)
    assert shares <= supply, "lens: shares exceed supply"
    net: uint256 = shares - in_kind_math._fee_within(shares, staticcall vault.redeem_fee_bps())
    return in_kind_math._pro_rata(net, holdings, supply, False)


@external
@view
def units_per_share(vault: IIndexVault) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev What one share (10**18) of `vault` holds of each constituent once
         the management fee due is settled, rounded down; the starting
         units while no share exists.
    @param vault The index vault.
    @return DynArray Amounts per 10**18 shares, in basket order.
    """
    holdings: DynArray[uint256, constants.MAX_ASSETS] = staticcall vault.holdings()
    supply: uint256 = self._supply_after_fee(vault)
    if supply == 0:
        return self._initial_units(vault, len(holdings))
    return in_kind_math._pro_rata(constants.WAD, holdings, supply, False)


@external
@view
def target_weights(vault: IIndexVault) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev The target weights `vault`'s rebalancer keeps (1e18 fixed point, in
         basket order, summing to 10**18); empty until they are first set or
         while the vault names no rebalancer.
    @param vault The index vault.
    @return DynArray The weights.
    """
    rebalancer: address = staticcall vault.rebalancer()
    if rebalancer == empty(address):
        return []
    return staticcall IRebalancer(rebalancer).target_weights()


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
@view
def _supply_after_fee(vault: IIndexVault) -> uint256:
    """
    @dev The vault's share supply once the management fee due is settled;
         reverts while the vault is mid-operation.
    @param vault The index vault.
    @return uint256 Shares.
    """
    return staticcall vault.totalSupply() + staticcall vault.pending_management_fee()


@internal
@view
def _initial_units(vault: IIndexVault, count: uint256) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev The starting units of the vault's first basket.
    @param vault The index vault.
    @param count The number of constituents.
    @return DynArray Amounts per 10**18 shares, in basket order.
    """
    units: DynArray[uint256, constants.MAX_ASSETS] = []
    for i: uint256 in range(count, bound=constants.MAX_ASSETS):
        units.append(staticcall vault.initial_units(i))
    return units
