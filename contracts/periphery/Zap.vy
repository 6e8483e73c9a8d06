# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Index Zap
@custom:contract-name Zap
@license GNU Affero General Public License v3.0 only
@notice One transaction between one token and an index vault's shares, for
        any holder: `mint` buys each constituent with `token_in` through the
        DEX adapters the vault's rebalancer allows and mints an exact number
        of shares in kind; `redeem` redeems shares in kind and sells each
        constituent for `token_out`. A constituent that is the token itself
        is not swapped.

        Bounds, both the caller's and the oracle's, so that a sandwich or a
        bad route cannot take more than they allow:
        - a mint spends at most `max_in`; a redemption pays at least
          `min_out`;
        - a mint's cost, valued at the oracle, is at most the value of what
          it minted with times (1 + `max_premium_bps`); a redemption pays at
          least the value of what the vault paid out times
          (1 - `max_discount_bps`). Values are the prices of the current
          rebalance's snapshot (`Rebalancer.snapshot`, checked with every
          oracle check when taken) while younger than `max_price_age`;
          otherwise, and for a token that is not a constituent, the vault's
          oracle router prices it now, with every check (and the zap reverts
          with the router's reason while a price is unusable).

        Each swap goes through its adapter's `swap_with_callback`: the input
        stays here until the pool is owed it, and the adapter asks this zap
        to pay the pool (`pay_for_swap`), which it does only for the adapter
        it is swapping through, in the token being sold and up to that leg's
        amount. The input is pulled whole and measured, so a token that
        charges a fee on transfer is refused. Approvals to the vault are exact and
        reset to zero within the call. Whatever the swaps and the mint leave
        (unspent input, a constituent bought beyond what the mint took) goes
        back to the caller: the zap holds nothing between calls, has no
        owner and no state but its bounds.
"""


from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

from ..interfaces import IDexAdapter
from ..interfaces import IDexPayer
from ..interfaces import IIndexVault
from ..interfaces import IOracleRouter
from ..interfaces import IRebalancer
from ..interfaces import IZap
from ..lib import constants
from ..lib import safe_erc20


implements: IDexPayer
implements: IZap


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The most constituents a vault holds (as the vault's bound).
MAX_ASSETS: public(constant(uint256)) = constants.MAX_ASSETS

# @dev The widest premium or discount the zap may be deployed with (5%).
MAX_BOUND_BPS: public(constant(uint256)) = 500

# @dev The longest a snapshot price may be used (one day).
MAX_PRICE_AGE: public(constant(uint256)) = 86400


# ---------------------------------------------------------------------------
#                                   EVENTS
# ---------------------------------------------------------------------------


event ZapMinted:
    caller: indexed(address)
    receiver: indexed(address)
    vault: indexed(address)
    token_in: address
    shares: uint256
    spent: uint256  # of `token_in`, after the refund
    value: uint256  # USD (18 decimals) of what the shares were minted with, at the snapshot prices


event ZapRedeemed:
    caller: indexed(address)
    receiver: indexed(address)
    vault: indexed(address)
    token_out: address
    shares: uint256
    received: uint256  # of `token_out`
    value: uint256  # USD (18 decimals) of what the vault paid out, at the snapshot prices


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev How far above the oracle value of a mint its cost may be (bps).
max_premium_bps: public(immutable(uint256))

# @dev How far below the oracle value of a redemption its proceeds may be
# (bps).
max_discount_bps: public(immutable(uint256))

# @dev The oldest a snapshot price may be (seconds).
max_price_age: public(immutable(uint256))

# @dev The adapter of the swap under way, the token it sells and how much of
# it the adapter may still ask for (`pay_for_swap`); set around each swap
# only.
_swap_adapter: transient(address)
_swap_token: transient(address)
_swap_left: transient(uint256)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(max_premium_bps_: uint256, max_discount_bps_: uint256, max_price_age_: uint256):
    """
    @dev Fixes the zap's oracle bounds for its life.
    @param max_premium_bps_ A mint's cost above its oracle value, at most
           `MAX_BOUND_BPS`.
    @param max_discount_bps_ A redemption's proceeds below its oracle value,
           at most `MAX_BOUND_BPS`.
    @param max_price_age_ The oldest snapshot price used, 1 to
           `MAX_PRICE_AGE` seconds.
    """
    assert max_premium_bps_ <= MAX_BOUND_BPS and max_discount_bps_ <= MAX_BOUND_BPS, "zap: bound out of range"
    assert max_price_age_ != 0 and max_price_age_ <= MAX_PRICE_AGE, "zap: price age out of range"
    max_premium_bps = max_premium_bps_
    max_discount_bps = max_discount_bps_
    max_price_age = max_price_age_


# ---------------------------------------------------------------------------
#                                   ZAPPING
# ---------------------------------------------------------------------------


@external
@nonreentrant
def mint(
    vault: IIndexVault,
    shares: uint256,
    token_in: address,
    max_in: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    receiver: address,
) -> uint256:
    """
    @dev Mints exactly `shares` of `vault` to `receiver`, paying at most
         `max_in` of `token_in`: sells `legs[i].amount` of it for
         constituent i through `legs[i].adapter`, mints in kind, and gives
         the caller back what is left (module doc).
    @param vault The index vault.
    @param shares The shares to mint.
    @param token_in The token paid.
    @param max_in The most of `token_in` spent (all of it is pulled first).
    @param legs One per constituent, in basket order.
    @param receiver Who receives the shares.
    @return uint256 The amount of `token_in` spent.
    """
    assets: DynArray[address, constants.MAX_ASSETS] = staticcall vault.assets()
    assert len(legs) == len(assets), "zap: one leg per constituent"
    rebalancer: IRebalancer = IRebalancer(staticcall vault.rebalancer())
    before: uint256 = self._pull(token_in, msg.sender, max_in)
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        if assets[i] != token_in and legs[i].amount != 0:
            self._swap(rebalancer, legs[i], token_in, assets[i], legs[i].amount)
    limits: DynArray[uint256, constants.MAX_ASSETS] = []
    for asset: address in assets:
        held: uint256 = staticcall IERC20(asset).balanceOf(self)
        limits.append(held)
        if held != 0:
            self._approve(asset, vault.address, held)
    paid: DynArray[uint256, constants.MAX_ASSETS] = extcall vault.mint_in_kind(shares, receiver, limits)
    value: uint256 = 0
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        value += self._value(vault, rebalancer, assets[i], paid[i])
        if paid[i] != limits[i]:
            self._approve(assets[i], vault.address, 0)
            if assets[i] != token_in:
                safe_erc20._transfer(assets[i], msg.sender, limits[i] - paid[i])
    left: uint256 = staticcall IERC20(token_in).balanceOf(self)
    spent: uint256 = before + max_in - left  # what the zap held before (a donation) goes back too
    if left != 0:
        safe_erc20._transfer(token_in, msg.sender, left)
    cost: uint256 = self._token_value(vault, rebalancer, assets, token_in, spent)
    assert cost * constants.BPS <= value * (constants.BPS + max_premium_bps), "zap: above the oracle bound"
    log ZapMinted(
        caller=msg.sender,
        receiver=receiver,
        vault=vault.address,
        token_in=token_in,
        shares=shares,
        spent=spent,
        value=value,
    )
    return spent


@external
@nonreentrant
def redeem(
    vault: IIndexVault,
    shares: uint256,
    token_out: address,
    min_out: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    receiver: address,
) -> uint256:
    """
    @dev Redeems `shares` of `vault` (pulled from the caller) in kind, sells
         each constituent but `token_out` through `legs[i].adapter`, and
         pays `receiver` at least `min_out` of `token_out` (module doc).
    @param vault The index vault.
    @param shares The shares redeemed.
    @param token_out The token received.
    @param min_out The least amount of `token_out` received.
    @param legs One per constituent, in basket order (amounts unused).
    @param receiver Who receives `token_out`.
    @return uint256 The amount of `token_out` paid.
    """
    assets: DynArray[address, constants.MAX_ASSETS] = staticcall vault.assets()
    assert len(legs) == len(assets), "zap: one leg per constituent"
    rebalancer: IRebalancer = IRebalancer(staticcall vault.rebalancer())
    self._pull(vault.address, msg.sender, shares)  # the vault's own shares: no fee
    floors: DynArray[uint256, constants.MAX_ASSETS] = []
    for asset: address in assets:
        floors.append(0)
    amounts: DynArray[uint256, constants.MAX_ASSETS] = extcall vault.redeem_in_kind(shares, self, floors)
    value: uint256 = 0
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        value += self._value(vault, rebalancer, assets[i], amounts[i])
        if assets[i] != token_out and amounts[i] != 0:
            self._swap(rebalancer, legs[i], assets[i], token_out, amounts[i])
            left: uint256 = staticcall IERC20(assets[i]).balanceOf(self)
            if left != 0:
                safe_erc20._transfer(assets[i], receiver, left)
    received: uint256 = staticcall IERC20(token_out).balanceOf(self)
    assert received >= min_out, "zap: too little out"
    worth: uint256 = self._token_value(vault, rebalancer, assets, token_out, received)
    assert worth * constants.BPS >= value * (constants.BPS - max_discount_bps), "zap: below the oracle bound"
    safe_erc20._transfer(token_out, receiver, received)
    log ZapRedeemed(
        caller=msg.sender,
        receiver=receiver,
        vault=vault.address,
        token_out=token_out,
        shares=shares,
        received=received,
        value=value,
    )
    return received


@external
def pay_for_swap(token: address, to: address, amount: uint256):
    """
    @dev Pays `amount` of `token` to `to` (the pool or pair being swapped)
         for the adapter this zap is swapping through, up to what that swap
         sells (module doc).
    @param token The token sold.
    @param to Who the adapter's pool is paid at.
    @param amount The amount owed.
    """
    assert msg.sender == self._swap_adapter and msg.sender != empty(address), "zap: caller is not the swapping adapter"
    assert token == self._swap_token, "zap: not the token sold"
    left: uint256 = self._swap_left
    assert amount <= left, "zap: more than the swap sells"
    self._swap_left = left - amount
    safe_erc20._transfer(token, to, amount)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _pull(token: address, owner: address, amount: uint256) -> uint256:
    """
    @dev Takes `amount` of `token` from `owner` and checks that all of it
         arrived (a fee-on-transfer token does not).
    @return uint256 What this contract held of `token` before.
    """
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    safe_erc20._transfer_from(token, owner, self, amount)
    assert staticcall IERC20(token).balanceOf(self) == before + amount, "zap: the token charges a transfer fee"
    return before


@internal
def _swap(rebalancer: IRebalancer, leg: IZap.Leg, sell: address, buy: address, amount: uint256):
    """
    @dev Sells up to `amount` of `sell` for `buy` through `leg`'s adapter,
         which pays this contract; the adapter's pool is paid from here when
         it is owed (`pay_for_swap`), and what it did not take stays here.
    """
    assert staticcall rebalancer.adapter_allowed(leg.adapter), "zap: adapter not allowed"
    self._swap_adapter = leg.adapter
    self._swap_token = sell
    self._swap_left = amount
    extcall IDexAdapter(leg.adapter).swap_with_callback(sell, buy, amount, 1, leg.route, self)
    self._swap_adapter = empty(address)


@internal
def _approve(token: address, spender: address, amount: uint256):
    """
    @dev Sets this contract's allowance of `token` for `spender` to
         `amount` (tokens returning nothing are accepted, as in
         `safe_erc20`).
    """
    response: Bytes[32] = raw_call(
        token,
        abi_encode(spender, amount, method_id=method_id("approve(address,uint256)")),
        max_outsize=32,
    )
    if len(response) != 0:
        assert abi_decode(response, bool), "zap: approve returned false"


@internal
@view
def _value(vault: IIndexVault, rebalancer: IRebalancer, asset: address, amount: uint256) -> uint256:
    """
    @dev The USD value (18 decimals) of `amount` of the constituent `asset`:
         at its snapshot price while younger than `max_price_age`, else at
         the oracle router's price now (module doc).
    """
    snap: IRebalancer.Snapshot = staticcall rebalancer.snapshot(asset)
    if snap.price != 0 and snap.updated_at + max_price_age >= block.timestamp:
        return amount * snap.price // 10**snap.decimals
    return self._router_value(vault, asset, amount)


@internal
@view
def _router_value(vault: IIndexVault, token: address, amount: uint256) -> uint256:
    """
    @dev The USD value (18 decimals) of `amount` of `token` at the vault's
         oracle router's price, which reverts with its reason while unusable.
    """
    price: uint256 = staticcall IOracleRouter(staticcall vault.oracle()).price(token)
    return amount * price // 10 ** convert(staticcall IERC20Detailed(token).decimals(), uint256)


@internal
@view
def _token_value(
    vault: IIndexVault,
    rebalancer: IRebalancer,
    assets: DynArray[address, constants.MAX_ASSETS],
    token: address,
    amount: uint256,
) -> uint256:
    """
    @dev The USD value of `amount` of `token`: at its snapshot price when it
         is a constituent, else at the vault's oracle router's price.
    """
    if token in assets:
        return self._value(vault, rebalancer, token, amount)
    return self._router_value(vault, token, amount)
