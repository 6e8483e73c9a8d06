# pragma version ~=0.4.3
"""
@title Basket
@custom:contract-name basket
@license GNU Affero General Public License v3.0 only
@notice The constituents of an index vault: their list, their starting
        units, and how the vault reads its holdings. Holdings are the token
        balances the vault actually holds (`balanceOf(self)`), never a
        book-kept copy, so a donation raises every share's claim alike.
"""


from ethereum.ercs import IERC20

from ..lib import code_store
from ..lib import constants


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The head word of a dynamic array's ABI encoding: the offset of its
# tail, which the stored list leaves out (see `_store_assets`; `valuation`
# puts it back too).
LIST_HEAD: constant(bytes32) = 0x0000000000000000000000000000000000000000000000000000000000000020


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The data contract holding the constituent list (see `code_store`):
# one cold call reads all N addresses, where N storage slots would cost N
# cold reads (2,100 gas each).
assets_pointer: public(address)


# @dev Whether an address is in the constituent list: the O(1) membership
# check of a rebalancing swap (one slot where the list costs a cold call and
# a scan). Kept with the list by `_store_assets` and `_relist`.
_listed: HashMap[address, bool]


# @dev Amount of each constituent (in its own decimals) per 10**18 shares
# that the first mint takes; afterwards minting is pro rata to holdings and
# these describe the basket at creation only (composition changes need
# shares to exist, and the locked shares keep them existing).
initial_units: public(DynArray[uint256, constants.MAX_ASSETS])


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(assets_: DynArray[address, constants.MAX_INPUT], units_: DynArray[uint256, constants.MAX_INPUT], min_unit: uint256):
    """
    @dev Lists the constituents and their starting units.
    @param assets_ The constituents, in basket order: contracts, distinct,
           at least one.
    @param units_ Amount of each constituent per 10**18 shares, each at
           least `min_unit`.
    @param min_unit The smallest unit the vault accepts.
    """
    assert len(assets_) != 0, "basket: no constituents"
    assert len(assets_) <= constants.MAX_ASSETS, "basket: too many constituents"
    assert len(units_) == len(assets_), "basket: wrong array length"
    listed: DynArray[address, constants.MAX_ASSETS] = []
    for i: uint256 in range(len(assets_), bound=constants.MAX_ASSETS):
        asset: address = assets_[i]
        assert asset != empty(address), "basket: zero address constituent"
        assert asset.is_contract, "basket: constituent is not a contract"
        assert units_[i] >= min_unit, "basket: unit below minimum"
        assert asset not in listed, "basket: duplicate constituent"
        listed.append(asset)
        self.initial_units.append(units_[i])
    self._store_assets(listed)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _store_assets(assets_: DynArray[address, constants.MAX_ASSETS]):
    """
    @dev Writes the constituent list into a new data contract (see
         `code_store`): the ABI encoding of the list without its head word,
         that is the count and then each address as a 32-byte word.
    @param assets_ The constituents, in basket order.
    """
    encoded: Bytes[32 * (constants.MAX_ASSETS + 2)] = abi_encode(assets_)
    self.assets_pointer = code_store._write(slice(encoded, 32, len(encoded) - 32))
    for asset: address in assets_:
        self._listed[asset] = True


@internal
def _relist(before: DynArray[address, constants.MAX_ASSETS], after: DynArray[address, constants.MAX_ASSETS]):
    """
    @dev Brings the membership map from the list `before` to the list
         `after` (the pointer already holds `after`).
    @param before The constituents until now.
    @param after The constituents from now on.
    """
    for asset: address in before:
        if asset not in after:
            self._listed[asset] = False
    for asset: address in after:
        self._listed[asset] = True


@internal
@view
def _is_listed(asset: address) -> bool:
    """
    @dev Whether `asset` is a constituent.
    @param asset Any address.
    @return bool Whether it is listed.
    """
    return self._listed[asset]


@internal
@view
def _assets() -> DynArray[address, constants.MAX_ASSETS]:
    """
    @dev Reads the constituent list from its data contract.
    @return DynArray The constituents, in basket order.
    """
    # the blob is the list's ABI encoding without its head word: put back,
    # one decode (checked as any ABI input) reads the whole list
    return abi_decode(
        concat(LIST_HEAD, code_store._read(self.assets_pointer)), DynArray[address, constants.MAX_ASSETS]
    )


@internal
@view
def _holdings(assets_: DynArray[address, constants.MAX_ASSETS]) -> DynArray[uint256, constants.MAX_ASSETS]:
    """
    @dev Reads this contract's balance of each constituent.
    @param assets_ The constituents, as loaded from storage by the caller.
    @return DynArray The balances, in basket order.
    """
    balances: DynArray[uint256, constants.MAX_ASSETS] = []
    for asset: address in assets_:
        balances.append(staticcall IERC20(asset).balanceOf(self))
    return balances


@internal
@view
def _check_received(asset: address, before: uint256, amount: uint256):
    """
    @dev Reverts unless this contract's balance of `asset` rose by exactly
         `amount` from `before`: refuses fee-on-transfer tokens and two
         constituents sharing one ledger.
    @param asset The token pulled.
    @param before The balance read before the pull.
    @param amount The amount pulled.
    """
    assert staticcall IERC20(asset).balanceOf(self) - before == amount, "vault: fee-on-transfer token"


@internal
@view
def _index_of(assets_: DynArray[address, constants.MAX_ASSETS], asset: address) -> uint256:
    """
    @dev The position of `asset` in the basket; reverts if it is not listed.
    @param assets_ The constituents, as loaded from storage by the caller.
    @param asset The constituent to find.
    @return uint256 Its index in basket order.
    """
    for i: uint256 in range(len(assets_), bound=constants.MAX_ASSETS):
        if assets_[i] == asset:
            return i
    raise "basket: not a constituent"
