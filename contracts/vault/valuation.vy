# pragma version ~=0.4.3
"""
@title Valuation
@custom:contract-name valuation
@license GNU Affero General Public License v3.0 only
@notice The vault's value from its oracle router: one call prices every
        holding (or, before the first mint, the starting units) and returns
        the base asset's price data from the same pass. The NAV views live
        here; the ERC-4626 face (`erc4626`) prices its flows from the same
        call.
"""


from snekmate.utils import math

from ethereum.ercs import IERC20

from ..interfaces import IOracleRouter
from ..lib import code_store
from ..lib import constants
from . import basket
from . import fees

uses: basket
uses: fees


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The size of the head of `nav_quote`'s arguments (two offsets and an
# address): where the first tail starts.
_HEAD_SIZE: constant(uint256) = 96


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The price source of every constituent.
oracle: public(address)

# @dev The ERC-4626 asset, one of the constituents.
base_asset: address

# @dev 10 ** decimals of the base asset.
base_unit: uint256


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event OracleChanged:
    oracle: indexed(address)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(oracle_: address, base_asset_: address, base_decimals: uint8):
    """
    @dev Sets the oracle and the base asset.
    @param oracle_ The OracleRouter.
    @param base_asset_ The ERC-4626 asset, a constituent.
    @param base_decimals Its decimals.
    """
    self._set_oracle(oracle_)
    self.base_asset = base_asset_
    self.base_unit = 10 ** convert(base_decimals, uint256)


# ---------------------------------------------------------------------------
#                                  NAV VIEWS
# ---------------------------------------------------------------------------


@external
@view
@nonreentrant
def total_value() -> uint256:
    """
    @dev The vault's holdings at the feeds' prices (USD, 18 decimals);
         reverts with the oracle's reason while a price is unusable.
    @return uint256 NAV.
    """
    return self._valuation().mid


@external
@view
@nonreentrant
def value_per_share() -> uint256:
    """
    @dev NAV per 10**18 shares (USD, 18 decimals); before the first mint, the
         value of the starting units.
    @return uint256 Value of one share.
    """
    supply: uint256 = 0
    nav: uint256 = 0
    base_price: uint256 = 0
    supply, nav, base_price = self._supply_mid_and_base()
    return math._mul_div(nav, constants.WAD, supply, False)


@external
@view
@nonreentrant
def oldest_price_update() -> uint256:
    """
    @dev The oldest feed round behind the NAV (for the NAV feed's
         `updatedAt`); reverts while a price is unusable.
    @return uint256 A timestamp.
    """
    return self._valuation().oldest_update


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _set_oracle(oracle_: address):
    """
    @dev Points the vault at an OracleRouter (the caller checks the role).
    @param oracle_ The router, a contract.
    """
    assert oracle_.is_contract, "vault: oracle is not a contract"
    self.oracle = oracle_
    log OracleChanged(oracle=oracle_)


@internal
@view
def _call_quote(
    amounts_at_start: bool, strict: bool
) -> (bool, IOracleRouter.Valuation, IOracleRouter.PriceData):
    """
    @dev The one call to the oracle: the holdings (or, with
         `amounts_at_start`, the starting units) valued, and the base asset's
         price data.
    @param amounts_at_start Value the starting units instead of the holdings.
    @param strict Revert with the oracle's reason when a price is unusable;
           otherwise return False.
    @return bool Whether the oracle answered.
    @return Valuation Mid, low, high and oldest round.
    @return PriceData The base asset's price, with its band.
    """
    # The call data is assembled, not encoded: the stored list is the ABI
    # encoding of the constituents without its head word (see
    # `basket._store_assets`), which is their tail in the call data as it
    # is; the amounts are written as theirs (their count, then each). The
    # list is decoded as plain words, each converted to an address (a
    # conversion that checks it, as decoding addresses does), and neither
    # array is encoded again (a loop of copies per element).
    listed: Bytes[code_store.MAX_SIZE] = code_store._read(basket.assets_pointer)
    amounts: uint256[constants.MAX_ASSETS + 1] = empty(uint256[constants.MAX_ASSETS + 1])
    count: uint256 = 0
    if amounts_at_start:
        # the starting units are read only when they are valued: N + 1 cold
        # storage reads a valuation of the holdings would throw away
        for unit: uint256 in basket.initial_units:
            count += 1
            amounts[count] = unit
    else:
        words: DynArray[uint256, constants.MAX_ASSETS] = abi_decode(
            concat(basket.LIST_HEAD, listed), DynArray[uint256, constants.MAX_ASSETS]
        )
        for word: uint256 in words:
            count += 1
            amounts[count] = staticcall IERC20(convert(word, address)).balanceOf(self)
    amounts[0] = count
    # a raw call, so that a non-strict caller can tell a refusal from a
    # revert and a strict one re-raises the oracle's own reason; the head
    # holds the offsets of both tails and the base asset
    success: bool = False
    response: Bytes[320] = b""
    success, response = raw_call(
        self.oracle,
        concat(
            method_id("nav_quote(address[],uint256[],address)"),
            abi_encode(_HEAD_SIZE, _HEAD_SIZE + len(listed), self.base_asset),
            listed,
            slice(abi_encode(amounts), 0, 32 + 32 * count),
        ),
        max_outsize=320,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success:
        if strict:
            raw_revert(response)
        return False, empty(IOracleRouter.Valuation), empty(IOracleRouter.PriceData)
    value: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    value, base = abi_decode(response, (IOracleRouter.Valuation, IOracleRouter.PriceData))
    return True, value, base


@internal
@view
def _valuation() -> IOracleRouter.Valuation:
    """
    @dev The holdings valued by the oracle; reverts with its reason.
    @return Valuation Mid, low, high and oldest round.
    """
    ok: bool = False
    value: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    ok, value, base = self._call_quote(False, True)
    return value


@internal
@view
def _supply_mid_and_base() -> (uint256, uint256, uint256):
    """
    @dev Supply, mid NAV and the base asset's feed price; before the first
         mint, one share at the value of the starting units, so that
         conversions stay defined.
    @return uint256 Supply (or 10**18 before the first mint).
    @return uint256 NAV (or the starting units' value).
    @return uint256 The base asset's price.
    """
    supply: uint256 = fees._supply_after_accrual()
    ok: bool = False
    value: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    ok, value, base = self._call_quote(supply == 0, True)
    if supply == 0:
        supply = constants.WAD
    return supply, value.mid, base.price
