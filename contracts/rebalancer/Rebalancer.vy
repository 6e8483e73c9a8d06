# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Rebalancer
@custom:contract-name Rebalancer
@license GNU Affero General Public License v3.0 only
@notice Keeps one index vault's target weights and changes its composition.
        The vault names it (`IndexVault.set_rebalancer`) and trusts it only
        as far as the vault's own checks go (`set_assets_pointer` keeps the
        base asset, refuses duplicates and lets a constituent leave only as
        dust; `rebalance_swap` makes every trade return its minimum).

        - Target weights: one per constituent, in basket order, summing to
          exactly 10**18; kept by address, so a composition change cannot
          shift a weight onto another constituent.
        - A constituent is added with target weight 0 (the oracle must
          already price it); new target weights then ramp it in through
          rebalancing. One is removed only once its target weight is 0 and
          its balance has been sold down to dust.

        Every change is the admin's: a Governor, so it waits the timelock's
        delay, shows in its `pending()` list and can be cancelled by a
        guardian.
"""


from snekmate.auth import access_control

from ..lib import code_store

initializes: access_control

exports: (
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.supportsInterface,
)


# ---------------------------------------------------------------------------
#                                  INTERFACES
# ---------------------------------------------------------------------------


interface IIndexVault:
    def assets() -> DynArray[address, MAX_ASSETS]: view
    def oracle() -> address: view
    def set_assets_pointer(pointer: address): nonpayable


interface IPriceSource:
    def price(asset: address) -> uint256: view


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The most constituents a basket may hold (as the vault).
MAX_ASSETS: public(constant(uint256)) = 50


# @dev Fixed-point one: weights sum to exactly this.
WAD: constant(uint256) = 10**18


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The vault this rebalancer serves; fixed for its life.
vault: public(immutable(address))

# @dev The target weight of each constituent (1e18 fixed point); 0 for any
# address not listed.
target_weight: public(HashMap[address, uint256])

# @dev Whether target weights have been set.
targets_set: public(bool)


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event TargetWeightsChanged:
    weights: DynArray[uint256, MAX_ASSETS]


event ConstituentAdded:
    asset: indexed(address)


event ConstituentRemoved:
    asset: indexed(address)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(vault_: address, admin: address):
    """
    @dev Binds the rebalancer to `vault_`; `admin` holds
         `DEFAULT_ADMIN_ROLE` (the deployer keeps none unless it is `admin`).
    @param vault_ The index vault.
    @param admin The administrator, meant to be a Governor.
    """
    assert vault_.is_contract, "rebalancer: vault is not a contract"
    assert admin != empty(address), "rebalancer: zero admin"
    vault = vault_
    access_control.__init__()
    if admin != msg.sender:
        access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, admin)
        access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)


# ---------------------------------------------------------------------------
#                              EXTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@external
def set_target_weights(weights: DynArray[uint256, MAX_ASSETS]):
    """
    @dev Sets the weights rebalancing steers to: one per constituent, in
         basket order, summing to exactly 10**18. The admin's.
    @param weights The target weights (1e18 fixed point).
    """
    self._check_admin()
    assets_: DynArray[address, MAX_ASSETS] = staticcall IIndexVault(vault).assets()
    assert len(weights) == len(assets_), "rebalancer: one weight per constituent"
    total: uint256 = 0
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        total += weights[i]
        self.target_weight[assets_[i]] = weights[i]
    assert total == WAD, "rebalancer: weights must sum to 10**18"
    self.targets_set = True
    log TargetWeightsChanged(weights=weights)


@external
def add_constituent(asset: address):
    """
    @dev Appends `asset` to the vault's basket with target weight 0; new
         target weights then ramp it in. The oracle must already price it
         (this reverts with the oracle's reason otherwise), and the vault
         must have shares. The admin's.
    @param asset The token: a contract, not yet listed.
    """
    self._check_admin()
    assets_: DynArray[address, MAX_ASSETS] = staticcall IIndexVault(vault).assets()
    assert len(assets_) < MAX_ASSETS, "rebalancer: too many constituents"
    assert asset not in assets_, "rebalancer: already a constituent"
    price: uint256 = staticcall IPriceSource(staticcall IIndexVault(vault).oracle()).price(asset)
    # a removed constituent left with weight 0, so an unlisted one has none
    assets_.append(asset)
    self._store(assets_)
    log ConstituentAdded(asset=asset)


@external
def remove_constituent(asset: address):
    """
    @dev Removes `asset` from the vault's basket once its target weight is 0;
         the vault refuses unless its balance is dust (at most one base unit
         per whole share). The admin's.
    @param asset A constituent.
    """
    self._check_admin()
    assert self.target_weight[asset] == 0, "rebalancer: target weight is not 0"
    assets_: DynArray[address, MAX_ASSETS] = staticcall IIndexVault(vault).assets()
    assert asset in assets_, "rebalancer: not a constituent"
    kept: DynArray[address, MAX_ASSETS] = []
    for listed: address in assets_:
        if listed != asset:
            kept.append(listed)
    self._store(kept)
    log ConstituentRemoved(asset=asset)


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def target_weights() -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev The target weights in the vault's basket order; empty until first
         set. They sum to exactly 10**18 (a constituent added since holds 0).
    @return DynArray The weights (1e18 fixed point).
    """
    weights: DynArray[uint256, MAX_ASSETS] = []
    if self.targets_set:
        assets_: DynArray[address, MAX_ASSETS] = staticcall IIndexVault(vault).assets()
        for asset: address in assets_:
            weights.append(self.target_weight[asset])
    return weights


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
@view
def _check_admin():
    """
    @dev Every privileged function's role check.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)


@internal
def _store(assets_: DynArray[address, MAX_ASSETS]):
    """
    @dev Writes a constituent list in the vault's layout (see
         `basket._store_assets`) and hands it to the vault, which checks it.
    @param assets_ The new constituents, in basket order.
    """
    encoded: Bytes[32 * (MAX_ASSETS + 2)] = abi_encode(assets_)
    extcall IIndexVault(vault).set_assets_pointer(code_store._write(slice(encoded, 32, len(encoded) - 32)))
