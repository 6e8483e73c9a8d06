# pragma version ~=0.4.3
"""
@title ERC-4626 over the Base Asset
@custom:contract-name erc4626
@license GNU Affero General Public License v3.0 only
@notice The vault's ERC-4626 face over one constituent, the base asset (e.g.
        WETH or USDC), priced from the oracle through `valuation`.

        NAV-priced flows value conservatively from both ends of each price's
        band (see `OracleRouter.price_bounds`): what the vault receives is
        valued at the low end, what it gives at the high end, and the NAV a
        share is bought at is the high one, the NAV it is sold at the low one.
        On top, an entry or exit fee in basis points (see `fees`)
        stays in the vault for the holders. Hence an attacker who knows the
        next oracle update (within the band), or moves a pool within the
        deviation bound, cannot profit by entering at NAV and leaving in kind
        or the reverse.

        The NAV path needs shares to exist (the first mint is in kind), is
        capped per period at a share of NAV for entries and for exits, stops
        while the vault is paused, and halts (max* return 0, the rest revert
        with the oracle's reason) while any price is unusable. In-kind
        redemption does not depend on any of this.

        The locked shares of the first mint (0.01 share at a dead address)
        play the part of ERC-4626 virtual shares: inflating the share price
        by a donation costs the attacker 10**16 times the gain per wei of
        share, so a depositor's rounding loss stays below one wei of share.
"""


from ethereum.ercs import IERC20
from ethereum.ercs import IERC4626
from snekmate.tokens import erc20
from snekmate.utils import math
from snekmate.utils import pausable

from ..interfaces import IOracleRouter
from ..lib import constants
from ..lib import safe_erc20
from . import basket
from . import fees
from . import valuation

uses: erc20
uses: fees
uses: pausable
uses: valuation


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


# @dev Everything a NAV-priced flow is priced from, read once per call.
struct Quote:
    supply: uint256  # shares in existence
    nav_mid: uint256  # NAV at the feeds' prices
    nav_low: uint256  # NAV at the low ends
    nav_high: uint256  # NAV at the high ends
    base_low: uint256  # the base asset's low-end price
    base_high: uint256  # the base asset's high-end price


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The largest share of NAV that may enter, or leave, per period.
MAX_FLOW_CAP_BPS: constant(uint256) = 10_000


# @dev Flow-cap periods allowed: an hour to a week.
MIN_FLOW_PERIOD: constant(uint256) = 3600
MAX_FLOW_PERIOD: constant(uint256) = 7 * 86400


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev Share of NAV that may enter, and separately leave, per period.
flow_cap_bps: public(uint256)

# @dev Length of a flow-cap period, in seconds.
flow_period: public(uint256)

# @dev Start of the current entry period and USD value entered in it.
entry_period_start: public(uint256)
entry_used: public(uint256)

# @dev Start of the current exit period and USD value paid out in it.
exit_period_start: public(uint256)
exit_used: public(uint256)


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event FlowCapChanged:
    flow_cap_bps: uint256
    flow_period: uint256


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__():
    """
    @dev Opens the NAV path at 10% of NAV per day each way.
    """
    self._set_flow_cap(1_000, 86400)


# ---------------------------------------------------------------------------
#                                   ERC-4626
# ---------------------------------------------------------------------------


@external
@view
def asset() -> address:
    """
    @dev The base asset the ERC-4626 functions take and pay.
    @return address The base asset.
    """
    return valuation.base_asset


@external
@view
@nonreentrant
def totalAssets() -> uint256:
    """
    @dev The vault's NAV in base-asset units, at the feeds' prices; reverts
         with the oracle's reason while a price is unusable.
    @return uint256 NAV over the base asset's price.
    """
    ok: bool = False
    value: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    ok, value, base = valuation._call_quote(False, True)
    return math._mul_div(value.mid, valuation.base_unit, base.price, False)


@external
@view
@nonreentrant
def convertToShares(assets: uint256) -> uint256:
    """
    @dev Shares worth `assets` of the base asset at the feeds' prices, with
         no fee and no band; rounded down.
    @param assets An amount of the base asset.
    @return uint256 The shares.
    """
    supply: uint256 = 0
    nav: uint256 = 0
    base_price: uint256 = 0
    supply, nav, base_price = valuation._supply_mid_and_base()
    return math._mul_div(math._mul_div(assets, base_price, valuation.base_unit, False), supply, nav, False)


@external
@view
@nonreentrant
def convertToAssets(shares: uint256) -> uint256:
    """
    @dev Base asset worth `shares` at the feeds' prices, with no fee and no
         band; rounded down.
    @param shares An amount of shares.
    @return uint256 The base asset.
    """
    supply: uint256 = 0
    nav: uint256 = 0
    base_price: uint256 = 0
    supply, nav, base_price = valuation._supply_mid_and_base()
    return math._mul_div(math._mul_div(shares, nav, supply, False), valuation.base_unit, base_price, False)


@external
@view
@nonreentrant
def maxDeposit(receiver: address) -> uint256:
    """
    @dev The most a deposit may take now: the rest of this period's entry cap;
         0 while paused, halted or before the first in-kind mint.
    @param receiver Unused: limits are the same for everyone.
    @return uint256 Base asset.
    """
    q: Quote = self._open_quote()
    if q.supply == 0:
        return 0
    return math._mul_div(self._remaining(True, q.nav_mid), valuation.base_unit, q.base_low, False)


@external
@view
@nonreentrant
def maxMint(receiver: address) -> uint256:
    """
    @dev The most shares a mint may create now (see `maxDeposit`).
    @param receiver Unused: limits are the same for everyone.
    @return uint256 Shares.
    """
    q: Quote = self._open_quote()
    if q.supply == 0:
        return 0
    assets: uint256 = math._mul_div(self._remaining(True, q.nav_mid), valuation.base_unit, q.base_low, False)
    return self._deposit_shares(assets, q)


@external
@view
@nonreentrant
def maxWithdraw(owner: address) -> uint256:
    """
    @dev The most base asset `owner` may withdraw now: their shares' worth,
         the base asset the vault holds, the rest of this period's exit cap;
         0 while paused or halted.
    @param owner The share holder.
    @return uint256 Base asset.
    """
    q: Quote = self._open_quote()
    if q.supply == 0:
        return 0
    return min(self._redeem_assets(erc20.balanceOf[owner], q), self._exit_limit(q))


@external
@view
@nonreentrant
def maxRedeem(owner: address) -> uint256:
    """
    @dev The most shares `owner` may redeem for the base asset now (see
         `maxWithdraw`).
    @param owner The share holder.
    @return uint256 Shares.
    """
    q: Quote = self._open_quote()
    if q.supply == 0:
        return 0
    # the largest share amount whose redemption pays at most the limit:
    # every step of `_redeem_assets` rounds down, so this inverse, rounded
    # down at every step, never overshoots
    limit: uint256 = self._exit_limit(q)
    value: uint256 = math._mul_div(limit, q.base_high, valuation.base_unit, False)
    gross: uint256 = math._mul_div(value, constants.BPS, constants.BPS - fees.exit_fee_bps, False)
    return min(erc20.balanceOf[owner], math._mul_div(gross, q.supply, q.nav_low, False))


@external
@view
@nonreentrant
def previewDeposit(assets: uint256) -> uint256:
    """
    @dev The exact shares `deposit(assets, ...)` would mint now.
    @param assets Base asset in.
    @return uint256 Shares out, rounded down.
    """
    return self._deposit_shares(assets, self._quote())


@external
@view
@nonreentrant
def previewMint(shares: uint256) -> uint256:
    """
    @dev The exact base asset `mint(shares, ...)` would take now.
    @param shares Shares out.
    @return uint256 Base asset in, rounded up.
    """
    return self._mint_assets(shares, self._quote())


@external
@view
@nonreentrant
def previewWithdraw(assets: uint256) -> uint256:
    """
    @dev The exact shares `withdraw(assets, ...)` would burn now.
    @param assets Base asset out.
    @return uint256 Shares in, rounded up.
    """
    return self._withdraw_shares(assets, self._quote())


@external
@view
@nonreentrant
def previewRedeem(shares: uint256) -> uint256:
    """
    @dev The exact base asset `redeem(shares, ...)` would pay now.
    @param shares Shares in.
    @return uint256 Base asset out, rounded down.
    """
    return self._redeem_assets(shares, self._quote())


@external
@nonreentrant
def deposit(assets: uint256, receiver: address) -> uint256:
    """
    @dev Takes `assets` of the base asset from the caller and mints shares
         to `receiver` at the conservative NAV, less the entry fee.
    @param assets Base asset in.
    @param receiver The account credited.
    @return uint256 Shares minted.
    """
    fees._accrue()
    q: Quote = self._quote()
    shares: uint256 = self._deposit_shares(assets, q)
    self._enter(assets, shares, receiver, q)
    return shares


@external
@nonreentrant
def mint(shares: uint256, receiver: address) -> uint256:
    """
    @dev Mints exactly `shares` to `receiver` for the base asset taken from
         the caller at the conservative NAV, plus the entry fee.
    @param shares Shares out.
    @param receiver The account credited.
    @return uint256 Base asset taken.
    """
    fees._accrue()
    q: Quote = self._quote()
    assets: uint256 = self._mint_assets(shares, q)
    self._enter(assets, shares, receiver, q)
    return assets


@external
@nonreentrant
def withdraw(assets: uint256, receiver: address, owner: address) -> uint256:
    """
    @dev Pays exactly `assets` of the base asset to `receiver`, burning
         `owner`'s shares at the conservative NAV plus the exit fee.
    @param assets Base asset out.
    @param receiver The account paid.
    @param owner The share holder (the caller, or one who approved it).
    @return uint256 Shares burnt.
    """
    fees._accrue()
    q: Quote = self._quote()
    shares: uint256 = self._withdraw_shares(assets, q)
    self._exit(assets, shares, receiver, owner, q)
    return shares


@external
@nonreentrant
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    """
    @dev Burns `shares` of `owner` and pays `receiver` the base asset at the
         conservative NAV, less the exit fee.
    @param shares Shares in.
    @param receiver The account paid.
    @param owner The share holder (the caller, or one who approved it).
    @return uint256 Base asset paid.
    """
    fees._accrue()
    q: Quote = self._quote()
    assets: uint256 = self._redeem_assets(shares, q)
    self._exit(assets, shares, receiver, owner, q)
    return assets


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _set_flow_cap(flow_cap_bps_: uint256, flow_period_: uint256):
    """
    @dev Sets the share of NAV that may enter, and leave, per period (the
         caller checks the role).
    @param flow_cap_bps_ Basis points of NAV, at most 10,000 (0 closes the
           NAV path).
    @param flow_period_ Seconds, an hour to a week.
    """
    assert (
        flow_cap_bps_ <= MAX_FLOW_CAP_BPS and flow_period_ >= MIN_FLOW_PERIOD and flow_period_ <= MAX_FLOW_PERIOD
    ), "vault: flow cap out of range"
    self.flow_cap_bps = flow_cap_bps_
    self.flow_period = flow_period_
    log FlowCapChanged(flow_cap_bps=flow_cap_bps_, flow_period=flow_period_)


@internal
@view
def _open_quote() -> Quote:
    """
    @dev The quote the `max*` limits are priced from: empty (zero supply)
         while the NAV path is halted (no shares yet, or a price unusable)
         or paused, when every limit is 0.
    @return Quote The quote, or an empty one.
    """
    if pausable.paused:
        return empty(Quote)
    return self._try_quote(False)


@internal
@view
def _quote() -> Quote:
    """
    @dev Everything a NAV-priced flow is priced from; reverts when the NAV
         path is closed (no shares yet) or a price is unusable.
    @return Quote Supply, NAV band and base-asset band.
    """
    assert erc20.totalSupply != 0, "vault: no shares yet, mint in kind first"
    return self._try_quote(True)


@internal
@view
def _try_quote(strict: bool) -> Quote:
    """
    @dev `_quote` without reverting unless `strict`: an empty quote (zero
         supply) while the NAV path is halted (no shares yet, or a price
         unusable).
    @param strict Revert with the oracle's reason when a price is unusable.
    @return Quote The quote, or an empty one.
    """
    supply: uint256 = fees._supply_after_accrual()
    if supply == 0:
        return empty(Quote)
    ok: bool = False
    value: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    ok, value, base = valuation._call_quote(False, strict)
    if not ok:
        return empty(Quote)
    return Quote(
        supply=supply,
        nav_mid=value.mid,
        nav_low=value.low,
        nav_high=value.high,
        base_low=base.low,
        base_high=base.high,
    )


@internal
@view
def _deposit_shares(assets: uint256, q: Quote) -> uint256:
    """
    @dev Shares for `assets` in: base at its low price, less the fee, bought
         at the high NAV; every step rounded down.
    """
    value: uint256 = math._mul_div(assets, q.base_low, valuation.base_unit, False)
    net: uint256 = math._mul_div(value, constants.BPS - fees.entry_fee_bps, constants.BPS, False)
    return math._mul_div(net, q.supply, q.nav_high, False)


@internal
@view
def _mint_assets(shares: uint256, q: Quote) -> uint256:
    """
    @dev Base asset for `shares` out: the inverse of `_deposit_shares`, every
         step rounded up.
    """
    net: uint256 = math._mul_div(shares, q.nav_high, q.supply, True)
    value: uint256 = math._mul_div(net, constants.BPS, constants.BPS - fees.entry_fee_bps, True)
    return math._mul_div(value, valuation.base_unit, q.base_low, True)


@internal
@view
def _withdraw_shares(assets: uint256, q: Quote) -> uint256:
    """
    @dev Shares for `assets` out: base at its high price, plus the fee, sold
         at the low NAV; every step rounded up.
    """
    value: uint256 = math._mul_div(assets, q.base_high, valuation.base_unit, True)
    gross: uint256 = math._mul_div(value, constants.BPS, constants.BPS - fees.exit_fee_bps, True)
    return math._mul_div(gross, q.supply, q.nav_low, True)


@internal
@view
def _redeem_assets(shares: uint256, q: Quote) -> uint256:
    """
    @dev Base asset for `shares` in: the inverse of `_withdraw_shares`, every
         step rounded down.
    """
    gross: uint256 = math._mul_div(shares, q.nav_low, q.supply, False)
    value: uint256 = math._mul_div(gross, constants.BPS - fees.exit_fee_bps, constants.BPS, False)
    return math._mul_div(value, valuation.base_unit, q.base_high, False)


@internal
@view
def _remaining(entry: bool, nav: uint256) -> uint256:
    """
    @dev USD value that may still enter (or leave) in the current period.
    @param entry Entries (True) or exits (False).
    @param nav The NAV the cap is a share of.
    @return uint256 USD, 18 decimals.
    """
    start: uint256 = self.entry_period_start if entry else self.exit_period_start
    used: uint256 = self.entry_used if entry else self.exit_used
    if block.timestamp >= start + self.flow_period:
        used = 0
    cap: uint256 = math._mul_div(nav, self.flow_cap_bps, constants.BPS, False)
    return cap - min(cap, used)


@internal
@view
def _exit_limit(q: Quote) -> uint256:
    """
    @dev The base asset an exit may pay now: what the vault holds, and the
         rest of the period's exit cap.
    """
    held: uint256 = staticcall IERC20(valuation.base_asset).balanceOf(self)
    capped: uint256 = math._mul_div(self._remaining(False, q.nav_mid), valuation.base_unit, q.base_high, False)
    return min(held, capped)


@internal
def _use_flow(entry: bool, amount_usd: uint256, nav: uint256):
    """
    @dev Books `amount_usd` against the period's cap, starting a new period when
         the last one is over.
    """
    assert amount_usd <= self._remaining(entry, nav), "vault: flow cap reached"
    if entry:
        if block.timestamp >= self.entry_period_start + self.flow_period:
            self.entry_period_start = block.timestamp
            self.entry_used = 0
        self.entry_used += amount_usd
    else:
        if block.timestamp >= self.exit_period_start + self.flow_period:
            self.exit_period_start = block.timestamp
            self.exit_used = 0
        self.exit_used += amount_usd


@internal
@pure
def _check_flow(assets: uint256, shares: uint256, receiver: address):
    """
    @dev Reverts on a NAV-priced flow that would move nothing on one side
         (dust) or pay the zero address.
    """
    assert assets != 0 and shares != 0 and receiver != empty(address), "vault: zero amount or receiver"


@internal
def _enter(assets: uint256, shares: uint256, receiver: address, q: Quote):
    """
    @dev Pulls `assets` of the base asset (checking the balance delta) and
         mints `shares`.
    """
    pausable._require_not_paused()
    self._check_flow(assets, shares, receiver)
    self._use_flow(True, math._mul_div(assets, q.base_low, valuation.base_unit, False), q.nav_mid)
    before: uint256 = staticcall IERC20(valuation.base_asset).balanceOf(self)
    safe_erc20._transfer_from(valuation.base_asset, msg.sender, self, assets)
    basket._check_received(valuation.base_asset, before, assets)
    erc20._mint(receiver, shares)
    log IERC4626.Deposit(sender=msg.sender, owner=receiver, assets=assets, shares=shares)


@internal
def _exit(assets: uint256, shares: uint256, receiver: address, owner: address, q: Quote):
    """
    @dev Burns `shares` of `owner` (spending the caller's allowance when it is
         not the owner) and pays `assets` of the base asset.
    """
    pausable._require_not_paused()
    self._check_flow(assets, shares, receiver)
    self._use_flow(False, math._mul_div(assets, q.base_high, valuation.base_unit, True), q.nav_mid)
    if msg.sender != owner:
        erc20._spend_allowance(owner, msg.sender, shares)
    erc20._burn(owner, shares)
    safe_erc20._transfer(valuation.base_asset, receiver, assets)
    log IERC4626.Withdraw(sender=msg.sender, receiver=receiver, owner=owner, assets=assets, shares=shares)
