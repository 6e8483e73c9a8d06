# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Index Vault
@custom:contract-name IndexVault
@license GNU Affero General Public License v3.0 only
@notice An ERC-20 index token (18 decimals, EIP-2612 `permit`) minted and
        redeemed in kind against a basket of up to `MAX_ASSETS` ERC-20
        constituents.

        - The first mint pays the starting units fixed at creation; every
          later mint pays each constituent pro rata to the vault's holdings,
          rounded up, and every redemption receives pro rata, rounded down.
          Rounding therefore always favours the holders who stay.
        - The first mint locks `LOCKED_SHARES` at `DEAD_ADDRESS` (as Uniswap
          V2 locks its minimum liquidity). The supply never returns to zero,
          so nothing a last redeemer leaves behind (a skipped constituent, a
          later donation) can be taken unpriced by the next minter, and no
          constituent's holding can be rounded down to zero while shares
          exist: each unit must give the locked shares at least one wei.
        - In-kind redemption needs no oracle and nothing can block it. A
          constituent whose transfer fails (a paused or blocklisting token)
          can be skipped by name with `redeem_in_kind_skipping`; its share
          stays with the remaining holders.
        - Fee-on-transfer tokens are refused: every pulled amount is checked
          against the vault's balance delta. Tokens that return no bool and
          any decimals work. Rebasing tokens cannot be detected on chain and
          must not be listed.
        - Every state-changing entry point holds the reentrancy lock, and the
          vault's own views refuse to answer while it is held, so a token
          callback can neither move value nor read a half-updated state.
          The ERC-20 getters `totalSupply` and `balanceOf` are not guarded:
          integrators must price shares through the vault's value views or
          `VaultLens` (whose views read them), never from `totalSupply`
          mid-call.
"""


from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

from ..interfaces import IDexAdapter
from ..interfaces import IIndexVault
from ..interfaces import IRebalancer

implements: IERC20
implements: IERC20Detailed
implements: IERC4626
implements: IIndexVault


from snekmate.auth import access_control
from snekmate.auth import ownable
from snekmate.tokens import erc20
from snekmate.utils import math
from snekmate.utils import pausable

from ..lib import constants
from ..lib import safe_erc20
from . import basket
from . import erc4626
from . import fees
from . import in_kind_math
from . import valuation

initializes: ownable
initializes: erc20[ownable := ownable]
initializes: access_control
initializes: pausable
initializes: basket
initializes: fees[erc20 := erc20]
initializes: valuation[basket := basket, fees := fees]
initializes: erc4626[
    erc20 := erc20,
    fees := fees,
    pausable := pausable,
    valuation := valuation,
]


# @dev The ERC-20 surface of the index token, with EIP-2612 `permit`. The
# snekmate minter role and ownership are not exported: shares are created
# only by minting in kind.
exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    basket.initial_units,
    basket.assets_pointer,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.supportsInterface,
    pausable.paused,
    fees.fee_recipient,
    fees.management_fee_rate,
    fees.last_fee_accrual,
    fees.fee_multiplier,
    fees.mint_fee_bps,
    fees.redeem_fee_bps,
    fees.entry_fee_bps,
    fees.exit_fee_bps,
    valuation.oracle,
    valuation.total_value,
    valuation.value_per_share,
    valuation.oldest_price_update,
    erc4626.__interface__,
)


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The most constituents a basket may hold.
MAX_ASSETS: public(constant(uint256)) = constants.MAX_ASSETS


# @dev Shares minted to `DEAD_ADDRESS` by the first mint (0.01 share): the
# supply can never return to zero.
LOCKED_SHARES: public(constant(uint256)) = 10**16


# @dev Where the locked shares live; nobody holds its key.
DEAD_ADDRESS: public(constant(address)) = 0x000000000000000000000000000000000000dEaD


# @dev The smallest starting unit: the locked shares hold at least one wei of
# every constituent (`unit * LOCKED_SHARES / 10**18 >= 1`).
MIN_UNIT: public(constant(uint256)) = constants.WAD // LOCKED_SHARES


# @dev Roles (snekmate access_control; what each may do: `constants`). Every
# role check of the vault is in this file.
MANAGER_ROLE: public(constant(bytes32)) = constants.MANAGER_ROLE
KEEPER_ROLE: public(constant(bytes32)) = constants.KEEPER_ROLE
GUARDIAN_ROLE: public(constant(bytes32)) = constants.GUARDIAN_ROLE
FEE_MANAGER_ROLE: public(constant(bytes32)) = constants.FEE_MANAGER_ROLE


# @dev The EIP-712 domain version of `permit` signatures.
_EIP712_VERSION: constant(String[20]) = "1"


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event BasketCreated:
    assets: DynArray[address, MAX_ASSETS]
    units: DynArray[uint256, MAX_ASSETS]


event MintedInKind:
    sender: indexed(address)
    receiver: indexed(address)
    shares: uint256
    fee_shares: uint256
    amounts: DynArray[uint256, MAX_ASSETS]


event RedeemedInKind:
    owner: indexed(address)
    receiver: indexed(address)
    shares: uint256
    fee_shares: uint256
    amounts: DynArray[uint256, MAX_ASSETS]


event AssetsChanged:
    pointer: indexed(address)


event RebalancerChanged:
    rebalancer: indexed(address)


event ConstituentSkipped:
    owner: indexed(address)
    asset: indexed(address)
    shares: uint256


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The Rebalancer bound to this vault: keeps the target weights, changes
# the composition and trades, within the checks of `set_assets` and
# `rebalance_swap`. Zero until the admin names one.
rebalancer: public(address)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(
    name_: String[25],
    symbol_: String[5],
    assets_: DynArray[address, constants.MAX_INPUT],
    units_: DynArray[uint256, constants.MAX_INPUT],
    base_asset_: address,
    oracle_: address,
    admin: address,
):
    """
    @dev Creates the index token and its basket. No shares exist until the
         first `mint_in_kind`.
    @param name_ The token name, also the EIP-712 domain name.
    @param symbol_ The token symbol.
    @param assets_ The constituents, in basket order: distinct contracts,
           1 to `MAX_ASSETS` of them.
    @param units_ Amount of each constituent (in its own decimals) per 10**18
           shares for the first mint, each at least `MIN_UNIT`.
    @param base_asset_ The ERC-4626 asset, one of the constituents.
    @param oracle_ The OracleRouter pricing every constituent.
    @param admin The holder of `DEFAULT_ADMIN_ROLE` and `GUARDIAN_ROLE`, and
           the first fee recipient.
    """
    assert admin != empty(address), "vault: zero admin"
    ownable.__init__()
    erc20.__init__(name_, symbol_, 18, name_, _EIP712_VERSION)
    access_control.__init__()
    pausable.__init__()
    fees.__init__(admin)
    basket.__init__(assets_, units_, MIN_UNIT)
    listed: DynArray[address, MAX_ASSETS] = basket._assets()
    assert base_asset_ in listed, "vault: base asset not a constituent"
    valuation.__init__(oracle_, base_asset_, staticcall IERC20Detailed(base_asset_).decimals())
    erc4626.__init__()
    access_control._grant_role(GUARDIAN_ROLE, admin)
    if admin != msg.sender:
        access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, admin)
        access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    log BasketCreated(assets=listed, units=basket.initial_units)


# ---------------------------------------------------------------------------
#                              EXTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@external
@nonreentrant
def mint_in_kind(
    shares: uint256, receiver: address, max_amounts_in: DynArray[uint256, MAX_ASSETS]
) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev Mints `shares` to `receiver` against each constituent pulled from the
         caller (who must have approved the vault), pro rata to holdings and
         rounded up; the caller also pays for the mint fee's shares, minted
         to the fee recipient. The first mint pays the starting units and
         locks `LOCKED_SHARES` of its shares. Settles the management fee
         first.
    @param shares The shares to mint, more than `LOCKED_SHARES` for the first.
    @param receiver The account credited with the shares.
    @param max_amounts_in The most the caller pays of each constituent, in
           basket order.
    @return DynArray The amounts pulled, in basket order.
    """
    pausable._require_not_paused()
    # a zero receiver is refused by `erc20._mint`
    assert shares != 0, "vault: zero shares"
    assets_: DynArray[address, MAX_ASSETS] = basket._assets()
    self._check_length(len(max_amounts_in), len(assets_))
    fees._accrue()

    supply: uint256 = erc20.totalSupply
    fee_shares: uint256 = fees._mint_fee(shares)
    holdings: DynArray[uint256, MAX_ASSETS] = basket._holdings(assets_)
    amounts: DynArray[uint256, MAX_ASSETS] = self._mint_amounts(shares + fee_shares, supply, holdings)

    # All amounts are fixed before any token moves, so no transfer can change
    # the price of another constituent, and each balance delta is checked
    # against the balance read before the first transfer: a fee-on-transfer
    # token, or two constituents sharing one ledger, revert here.
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        amount: uint256 = amounts[i]
        assert amount <= max_amounts_in[i], "vault: amount in exceeds maximum"
        if amount != 0:
            safe_erc20._transfer_from(assets_[i], msg.sender, self, amount)
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        if amounts[i] != 0:
            basket._check_received(assets_[i], holdings[i], amounts[i])

    minted: uint256 = shares
    if supply == 0:
        assert shares > LOCKED_SHARES, "vault: first mint too small"
        erc20._mint(DEAD_ADDRESS, LOCKED_SHARES)
        minted = shares - LOCKED_SHARES
    erc20._mint(receiver, minted)
    if fee_shares != 0:
        erc20._mint(fees.fee_recipient, fee_shares)

    log MintedInKind(sender=msg.sender, receiver=receiver, shares=minted, fee_shares=fee_shares, amounts=amounts)
    return amounts


@external
@nonreentrant
def redeem_in_kind(
    shares: uint256, receiver: address, min_amounts_out: DynArray[uint256, MAX_ASSETS]
) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev Takes `shares` of the caller, hands the redeem fee's part to the fee
         recipient, burns the rest and pays `receiver` each constituent pro
         rata to holdings, rounded down. Settles the management fee first.
         Needs no oracle and no role; nothing can pause it.
    @param shares The shares to burn.
    @param receiver The account paid.
    @param min_amounts_out The least the caller accepts of each constituent,
           in basket order.
    @return DynArray The amounts paid, in basket order.
    """
    return self._redeem_in_kind(shares, receiver, min_amounts_out, [])


@external
@nonreentrant
def redeem_in_kind_skipping(
    shares: uint256,
    receiver: address,
    min_amounts_out: DynArray[uint256, MAX_ASSETS],
    skipped: DynArray[address, MAX_ASSETS],
) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev As `redeem_in_kind`, but pays nothing of the constituents named in
         `skipped` (and never calls them): the caller gives up their share of
         those, which stays with the remaining holders. For a constituent
         whose transfers fail (paused, blocklisting or broken token).
    @param shares The shares to burn.
    @param receiver The account paid.
    @param min_amounts_out The least the caller accepts of each constituent,
           in basket order (0 at skipped positions).
    @param skipped Constituents to leave behind, each named once.
    @return DynArray The amounts paid, in basket order, 0 where skipped.
    """
    return self._redeem_in_kind(shares, receiver, min_amounts_out, skipped)


@external
def set_rebalancer(rebalancer_: address):
    """
    @dev Names the contract that keeps the target weights and may change the
         composition and trade (see `set_assets`, `rebalance_swap`); the
         zero address stops both. The admin's (a Governor: the change waits
         its delay and can be cancelled).
    @param rebalancer_ The Rebalancer bound to this vault.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self.rebalancer = rebalancer_
    log RebalancerChanged(rebalancer=rebalancer_)


@external
@nonreentrant
def set_assets_pointer(pointer: address):
    """
    @dev Replaces the constituent list by the one in the data contract at
         `pointer` (see `code_store`; the rebalancer writes it). The
         rebalancer's, which adds a constituent with target weight 0 and
         removes one only once its weight is 0. Whatever it asks, the vault
         keeps its holders whole: shares must exist (the starting units
         describe the first basket only), the base asset stays, entries are
         distinct contracts, and a constituent leaves only as dust: at most
         one base unit per whole share (what is left stays in the vault,
         untracked).
    @param pointer The data contract holding the new list.
    """
    self._check_rebalancer()
    supply: uint256 = erc20.totalSupply
    assert supply != 0, "vault: no shares yet"
    current: DynArray[address, MAX_ASSETS] = basket._assets()
    basket.assets_pointer = pointer
    listed: DynArray[address, MAX_ASSETS] = basket._assets()
    assert valuation.base_asset in listed, "vault: base asset must stay"
    seen: DynArray[address, MAX_ASSETS] = []
    for asset: address in listed:
        assert asset.is_contract and asset not in seen, "vault: constituent is not a new contract"
        seen.append(asset)
    for asset: address in current:
        if asset not in listed:
            assert staticcall IERC20(asset).balanceOf(self) * constants.WAD <= supply, "vault: balance is not dust"
    basket._relist(current, listed)
    log AssetsChanged(pointer=pointer)


@external
@nonreentrant
def rebalance_swap(
    sell: address,
    buy: address,
    amount_in: uint256,
    min_out: uint256,
    counterparty: address,
    route: Bytes[constants.MAX_ROUTE],
    fill: bool,
) -> uint256:
    """
    @dev Trades `amount_in` of `sell` for at least `min_out` of `buy` (a
         constituent) with `counterparty`:
         - a keeper trade (`fill` false) pays `counterparty`, a DEX adapter
           the rebalancer allowlists, and calls its `swap` along `route`, paying the
           proceeds (and any unspent input) back to this vault: no hop
           through the rebalancer and no approval;
         - an auction fill (`fill` true) calls the rebalancer back
           (`pay_fill`), which moves `min_out` of `buy` from `counterparty`,
           the filler, to this vault through the filler's approval to the
           rebalancer, then pays the filler `amount_in` of `sell`. This vault
           never takes tokens from anyone but the caller of a mint, so no
           approval given to it for minting can be spent by a rebalancing.
         Either way at least `min_out` must come in.
         `sell` may also be a token the vault holds untracked (a removed
         constituent's dust, an airdrop): selling it into the basket only
         adds to it. The rebalancer's, which bounds the trade by the oracle
         and the unit targets; the vault holds its lock throughout, so
         nothing can mint, redeem or read a half-traded state in between.
         Stopped by a pause.
    @param sell The token sold.
    @param buy The constituent bought.
    @param amount_in The amount of `sell` paid out.
    @param min_out The least amount of `buy` that must come in.
    @param counterparty The DEX adapter, or the filler.
    @param route The adapter's route (ignored for a fill).
    @param fill Whether `counterparty` is a filler, paying through the
           rebalancer's `pay_fill`.
    @return uint256 The amount of `buy` received.
    """
    self._check_rebalancer()
    pausable._require_not_paused()
    assert sell != buy and basket._is_listed(buy), "vault: not a constituent pair"
    buy_before: uint256 = staticcall IERC20(buy).balanceOf(self)
    if fill:
        extcall IRebalancer(msg.sender).pay_fill(buy, counterparty, min_out)
        safe_erc20._transfer(sell, counterparty, amount_in)
    else:
        safe_erc20._transfer(sell, counterparty, amount_in)
        extcall IDexAdapter(counterparty).swap(sell, buy, amount_in, min_out, route, self)
    received: uint256 = staticcall IERC20(buy).balanceOf(self) - buy_before
    assert received >= min_out, "vault: swap short"
    return received


@external
def set_fees(
    management_fee_rate_: uint256,
    mint_fee_bps_: uint256,
    redeem_fee_bps_: uint256,
    entry_fee_bps_: uint256,
    exit_fee_bps_: uint256,
):
    """
    @dev Settles the management fee, then sets the whole fee schedule. The
         admin's (a Governor: the change waits its delay and can be
         cancelled).
    @param management_fee_rate_ Per-second supply growth paid as management
           fee (`RAY` = 10**27 fixed point; annual fee at most 10%).
    @param mint_fee_bps_ In-kind mint fee (at most 1%).
    @param redeem_fee_bps_ In-kind redeem fee (at most 1%).
    @param entry_fee_bps_ NAV-path entry fee (at most 5%), kept by the vault.
    @param exit_fee_bps_ NAV-path exit fee (at most 5%), kept by the vault.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    fees._set_fees(management_fee_rate_, mint_fee_bps_, redeem_fee_bps_, entry_fee_bps_, exit_fee_bps_)


@external
def set_fee_recipient(recipient: address):
    """
    @dev Settles what is due to the current recipient, then pays every
         later fee to `recipient`. The fee manager's.
    @param recipient The new recipient, neither the zero address nor this
           vault (whose own shares would be held by no one).
    """
    access_control._check_role(FEE_MANAGER_ROLE, msg.sender)
    fees._set_recipient(recipient)


@external
@nonreentrant
def settle_management_fee():
    """
    @dev Settles the management fee due now: mints its shares to the fee
         recipient, as every mint and redemption does first. Anyone's.
    """
    fees._accrue()


@external
def set_oracle(oracle_: address):
    """
    @dev Points the vault at another OracleRouter. The admin's.
    @param oracle_ The router, a contract.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    valuation._set_oracle(oracle_)


@external
def set_flow_cap(flow_cap_bps_: uint256, flow_period_: uint256):
    """
    @dev Sets the share of NAV that may enter, and leave, per period
         (0 closes the NAV path). The admin's.
    @param flow_cap_bps_ Basis points of NAV, at most 10,000.
    @param flow_period_ Seconds, an hour to a week.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    erc4626._set_flow_cap(flow_cap_bps_, flow_period_)


@external
def pause():
    """
    @dev Stops in-kind minting and the NAV-priced flows. In-kind redemption
         is never paused.
    """
    access_control._check_role(GUARDIAN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @dev Lifts a pause; the admin's alone.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    pausable._unpause()


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def assets() -> DynArray[address, MAX_ASSETS]:
    """
    @dev The constituents, in basket order.
    @return DynArray The constituent token addresses.
    """
    return basket._assets()


@external
@view
@nonreentrant
def pending_management_fee() -> uint256:
    """
    @dev The management fee shares the next settlement would mint now.
    @return uint256 Shares.
    """
    return fees._supply_after_accrual() - erc20.totalSupply


@external
@view
@nonreentrant
def undiluted_supply() -> uint256:
    """
    @dev The share supply scaled back by every management fee settled (see
         `fees`): mints and redemptions move it, the fee does not. The
         rebalancer's unit targets are per 10**18 undiluted shares.
    @return uint256 Undiluted shares.
    """
    return fees._undiluted_supply()


@external
@view
@nonreentrant
def holdings() -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev The vault's balance of each constituent, in basket order.
    @return DynArray The balances in each token's own units.
    """
    return basket._holdings(basket._assets())


@internal
@view
def _mint_amounts(
    shares: uint256, supply: uint256, holdings: DynArray[uint256, MAX_ASSETS]
) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev The amounts a mint of `shares` pays: the starting units while no
         share exists, pro rata to holdings afterwards; rounded up.
    @param shares The shares to mint.
    @param supply The share supply before the mint.
    @param holdings The vault's balances, in basket order.
    @return DynArray The amounts, in basket order.
    """
    if supply == 0:
        return in_kind_math._pro_rata(shares, basket.initial_units, constants.WAD, True)
    return in_kind_math._pro_rata(shares, holdings, supply, True)


@internal
def _redeem_in_kind(
    shares: uint256,
    receiver: address,
    min_amounts_out: DynArray[uint256, MAX_ASSETS],
    skipped: DynArray[address, MAX_ASSETS],
) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev Settles the management fee, takes the redeem fee, burns, then pays
         each constituent not skipped, reading each balance just before
         paying it out.
    @param shares The shares to burn.
    @param receiver The account paid.
    @param min_amounts_out The least accepted of each constituent.
    @param skipped Constituents to leave behind.
    @return DynArray The amounts paid, in basket order.
    """
    assert shares != 0, "vault: zero shares"
    assert receiver != empty(address), "vault: zero receiver"
    assets_: DynArray[address, MAX_ASSETS] = basket._assets()
    n: uint256 = len(assets_)
    self._check_length(len(min_amounts_out), n)

    skip: DynArray[bool, MAX_ASSETS] = []
    if len(skipped) != 0:
        for i: uint256 in range(n, bound=MAX_ASSETS):
            skip.append(False)
        for asset: address in skipped:
            i: uint256 = basket._index_of(assets_, asset)
            assert not skip[i], "vault: constituent skipped twice"
            skip[i] = True
            log ConstituentSkipped(owner=msg.sender, asset=asset, shares=shares)

    # The locked shares keep the supply above `shares`, so what a skipped
    # constituent leaves behind always has holders.
    fees._accrue()
    supply: uint256 = erc20.totalSupply
    fee_shares: uint256 = fees._redeem_fee(shares)
    if fee_shares != 0:
        erc20._transfer(msg.sender, fees.fee_recipient, fee_shares)
    net: uint256 = shares - fee_shares
    erc20._burn(msg.sender, net)

    amounts: DynArray[uint256, MAX_ASSETS] = []
    for i: uint256 in range(n, bound=MAX_ASSETS):
        amount: uint256 = 0
        if len(skip) == 0 or not skip[i]:
            holding: uint256 = staticcall IERC20(assets_[i]).balanceOf(self)
            amount = math._mul_div(net, holding, supply, False)
        assert amount >= min_amounts_out[i], "vault: amount out below minimum"
        if amount != 0:
            safe_erc20._transfer(assets_[i], receiver, amount)
        amounts.append(amount)

    log RedeemedInKind(owner=msg.sender, receiver=receiver, shares=net, fee_shares=fee_shares, amounts=amounts)
    return amounts


@internal
@pure
def _check_length(length: uint256, count: uint256):
    """
    @dev Reverts unless an array has one entry per constituent.
    @param length The array's length.
    @param count The number of constituents.
    """
    assert length == count, "vault: wrong array length"


@internal
@view
def _check_rebalancer():
    """
    @dev Reverts unless the caller is the named rebalancer.
    """
    assert msg.sender == self.rebalancer and msg.sender != empty(address), "vault: caller is not the rebalancer"
