# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Rebalancer
@custom:contract-name Rebalancer
@license GNU Affero General Public License v3.0 only
@notice Keeps one index vault's target weights, changes its composition,
        and brings it back to its targets in two ways: bounded keeper trades
        through allowlisted DEX adapters, and Dutch auctions anyone can fill.
        The vault names it (`IndexVault.set_rebalancer`) and trusts it only
        as far as the vault's own checks go (`set_assets_pointer` keeps the
        base asset, refuses duplicates and lets a constituent leave only as
        dust; `rebalance_swap` pays out only the amount sold, holds the
        vault's lock and makes every trade return its minimum).

        Every trade, whoever asks for it and whatever it names, is bounded
        here by the oracle and the targets:
        - its minimum out is at least the oracle value of what is sold less
          `max_slippage_bps` (both prices must be usable: any stale,
          clamped or disputed price halts trading);
        - the constituent sold must be above its target by more than
          `weight_tolerance` and the one bought below its target, and after
          the trade the one sold must be no lower than its target and the one
          bought no higher, within `weight_tolerance`: a trade can only
          reduce drift, and an overshoot inside the tolerance can never be
          traded back (no churn);
        - it is at most `max_trade_bps` of NAV, and all trades of a period
          at most `period_cap_bps` of NAV;
        - a pair trades at most once per `cooldown`;
        - the adapter gets an exact approval, reset to zero after the swap.

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


from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import access_control
from snekmate.utils import math

from ..interfaces import IDexAdapter
from ..interfaces import IIndexVault
from ..interfaces import IOracleRouter
from ..interfaces import IRebalancer
from ..lib import code_store
from ..lib import constants
from ..lib import safe_erc20

implements: IRebalancer

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
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The most constituents a basket may hold.
MAX_ASSETS: public(constant(uint256)) = constants.MAX_ASSETS


# @dev The vault's keeper role: who may trade and open auctions at once.
KEEPER_ROLE: public(constant(bytes32)) = constants.KEEPER_ROLE


# @dev The longest route an adapter takes (a V3 path of four hops).
MAX_ROUTE: public(constant(uint256)) = constants.MAX_ROUTE


# @dev Hard bounds no configuration can pass.
MAX_SLIPPAGE_BPS: public(constant(uint256)) = 500
MAX_WEIGHT_TOLERANCE: public(constant(uint256)) = 5 * 10**16
MIN_PERIOD: public(constant(uint256)) = 3600
MAX_PERIOD: public(constant(uint256)) = 7 * 86400
MAX_COOLDOWN: public(constant(uint256)) = 86400
MIN_AUCTION_DURATION: public(constant(uint256)) = 900
MAX_AUCTION_DURATION: public(constant(uint256)) = 7 * 86400
MAX_AUCTION_PREMIUM_BPS: public(constant(uint256)) = 2_000
MIN_OPEN_DELAY: public(constant(uint256)) = 3600


# @dev Callback modes of `on_rebalance_swap`.
_MODE_TRADE: constant(uint8) = 1
_MODE_FILL: constant(uint8) = 2


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


# @dev Every bound on trades and auctions, set at once by the admin.
struct Limits:
    max_slippage_bps: uint256  # least out: oracle value less this (<= 5%)
    weight_tolerance: uint256  # how far past its target a trade may take a weight (1e18 = 100%, <= 5%)
    max_trade_bps: uint256  # largest trade, in bps of NAV
    period_cap_bps: uint256  # all trades of a period, in bps of NAV
    period: uint256  # seconds (1 hour to 1 week)
    cooldown: uint256  # seconds between two trades of a pair (<= 1 day)
    auction_duration: uint256  # seconds from the start price to the end price (15 min to 1 week)
    auction_premium_bps: uint256  # start price above the oracle's (<= 20%)
    auction_discount_bps: uint256  # end price below the oracle's (<= max_slippage_bps)
    open_delay: uint256  # seconds without keeper action after which anyone may open an auction (>= 1 hour)


# @dev A Dutch auction of `sell` for `buy`: its price (units of `buy` per
# 10**18 units of `sell`) falls linearly from `start_rate` to `end_rate`.
struct Auction:
    sell: address
    buy: address
    remaining: uint256  # units of `sell` still for sale
    start_rate: uint256
    end_rate: uint256
    start: uint256
    duration: uint256  # seconds of price decay
    end: uint256  # the auction is live until then (a close moves it forward)


# @dev What a trade is judged by: both prices and decimals, NAV and holdings.
struct Quote:
    sell_price: uint256  # USD per whole `sell`, 18 decimals
    buy_price: uint256
    sell_unit: uint256  # 10 ** decimals
    buy_unit: uint256
    nav: uint256  # USD, 18 decimals
    sell_held: uint256
    buy_held: uint256


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

# @dev The bounds of trades and auctions.
limits: public(Limits)

# @dev DEX adapters keepers may route through.
adapter_allowed: public(HashMap[address, bool])

# @dev When the pair (sell, buy) last traded.
last_trade: public(HashMap[address, HashMap[address, uint256]])

# @dev When the current trading period started and the USD value traded in it.
period_start: public(uint256)
period_used: public(uint256)

# @dev When a keeper last traded or opened an auction, or this contract was
# created (for `open_delay`).
last_keeper_action: public(uint256)

# @dev Auctions by id, and how many were opened.
auctions: public(HashMap[uint256, Auction])
auction_count: public(uint256)

# @dev The latest auction of each pair (sell, buy).
live_auction: public(HashMap[address, HashMap[address, uint256]])

# @dev The swap under way, for `on_rebalance_swap` (cleared after it).
_mode: transient(uint8)
_sell: transient(address)
_buy: transient(address)
_amount: transient(uint256)
_min_out: transient(uint256)
_adapter: transient(address)
_route: transient(Bytes[MAX_ROUTE])
_held_before: transient(uint256)
_counterparty: transient(address)


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event TargetWeightsChanged:
    weights: DynArray[uint256, MAX_ASSETS]


event ConstituentAdded:
    asset: indexed(address)


event ConstituentRemoved:
    asset: indexed(address)


event LimitsChanged:
    limits: Limits


event AdapterChanged:
    adapter: indexed(address)
    allowed: bool


event TradeExecuted:
    keeper: indexed(address)
    sell: indexed(address)
    buy: indexed(address)
    amount_in: uint256
    amount_out: uint256
    oracle_out: uint256  # what the oracle says `amount_in` is worth in `buy`
    shortfall: uint256  # oracle_out - amount_out when positive: the trade's cost
    adapter: address


event AuctionOpened:
    id: indexed(uint256)
    opener: indexed(address)
    sell: address
    buy: address
    amount: uint256
    start_rate: uint256
    end_rate: uint256
    end: uint256


event AuctionFilled:
    id: indexed(uint256)
    filler: indexed(address)
    sold: uint256
    bought: uint256
    rate: uint256
    oracle_rate: uint256


event AuctionClosed:
    id: indexed(uint256)


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
    self.last_keeper_action = block.timestamp
    access_control.__init__()
    self._set_limits(
        Limits(
            max_slippage_bps=100,
            weight_tolerance=5 * 10**15,
            max_trade_bps=500,
            period_cap_bps=2_000,
            period=86400,
            cooldown=300,
            auction_duration=3600,
            auction_premium_bps=200,
            auction_discount_bps=100,
            open_delay=86400,
        )
    )
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
    assert total == constants.WAD, "rebalancer: weights must sum to 10**18"
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
    price: uint256 = staticcall IOracleRouter(staticcall IIndexVault(vault).oracle()).price(asset)
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


@external
def set_limits(limits_: Limits):
    """
    @dev Sets every bound of trades and auctions, within the hard bounds.
         The admin's.
    @param limits_ The new bounds.
    """
    self._check_admin()
    self._set_limits(limits_)


@external
def set_adapter(adapter: address, allowed: bool):
    """
    @dev Allows or forbids a DEX adapter. The admin's.
    @param adapter The adapter contract.
    @param allowed Whether keepers may route through it.
    """
    self._check_admin()
    assert adapter.is_contract, "rebalancer: adapter is not a contract"
    self.adapter_allowed[adapter] = allowed
    log AdapterChanged(adapter=adapter, allowed=allowed)


@external
@nonreentrant
def trade(
    sell: address, buy: address, amount_in: uint256, min_out: uint256, adapter: address, route: Bytes[MAX_ROUTE]
) -> uint256:
    """
    @dev Sells `amount_in` of `sell` for at least `min_out` of `buy` through
         `adapter` along `route`, within every bound of the contract's
         notice. A keeper's (the vault's `KEEPER_ROLE`).
    @param sell The overweight constituent sold.
    @param buy The underweight constituent bought.
    @param amount_in The amount of `sell`.
    @param min_out The least amount of `buy` accepted; at least the oracle
           value less the maximum slippage.
    @param adapter An allowlisted DEX adapter.
    @param route The adapter's route (see the adapter).
    @return uint256 The amount of `buy` received.
    """
    assert staticcall IIndexVault(vault).hasRole(KEEPER_ROLE, msg.sender), "rebalancer: caller is not a keeper"
    assert self.adapter_allowed[adapter], "rebalancer: adapter not allowed"
    assert amount_in != 0, "rebalancer: zero amount"
    limits_: Limits = self.limits
    last: uint256 = self.last_trade[sell][buy]
    assert last == 0 or block.timestamp >= last + limits_.cooldown, "rebalancer: pair cooling down"
    q: Quote = self._quote(sell, buy)
    oracle_out: uint256 = self._oracle_out(amount_in, q)
    floor_out: uint256 = math._mul_div(oracle_out, constants.BPS - limits_.max_slippage_bps, constants.BPS, True)
    assert min_out >= floor_out, "rebalancer: minimum out below oracle bound"
    value_in: uint256 = math._mul_div(amount_in, q.sell_price, q.sell_unit, False)
    self._use_size(value_in, q.nav, limits_)

    self._mode = _MODE_TRADE
    self._sell = sell
    self._buy = buy
    self._amount = amount_in
    self._min_out = min_out
    self._adapter = adapter
    self._route = route
    self._held_before = staticcall IERC20(sell).balanceOf(self)
    received: uint256 = extcall IIndexVault(vault).rebalance_swap(sell, buy, amount_in, min_out)
    self._mode = 0

    self._check_weights(sell, buy, amount_in, received, q, limits_)
    self.last_trade[sell][buy] = block.timestamp
    self.last_keeper_action = block.timestamp
    log TradeExecuted(
        keeper=msg.sender,
        sell=sell,
        buy=buy,
        amount_in=amount_in,
        amount_out=received,
        oracle_out=oracle_out,
        shortfall=oracle_out - min(oracle_out, received),
        adapter=adapter,
    )
    return received


@external
@nonreentrant
def open_auction(sell: address, buy: address, amount: uint256) -> uint256:
    """
    @dev Opens a Dutch auction of `amount` of `sell` for `buy`, priced from
         `auction_premium_bps` above the oracle down to
         `auction_discount_bps` below it over `auction_duration`. Sized so
         that a whole fill at the oracle price reduces drift only and stays
         within the trade-size bound. A keeper's at any time; anyone's once
         no keeper has acted for `open_delay`. One live auction per pair.
    @param sell The overweight constituent sold.
    @param buy The underweight constituent bought.
    @param amount The amount of `sell` for sale.
    @return uint256 The auction's id.
    """
    limits_: Limits = self.limits
    if staticcall IIndexVault(vault).hasRole(KEEPER_ROLE, msg.sender):
        self.last_keeper_action = block.timestamp
    else:
        assert block.timestamp >= self.last_keeper_action + limits_.open_delay, "rebalancer: keepers still acting"
    assert not staticcall IIndexVault(vault).paused(), "rebalancer: vault paused"
    assert amount != 0, "rebalancer: zero amount"
    live: uint256 = self._live_auction(sell, buy)
    assert live == 0, "rebalancer: pair already in auction"
    q: Quote = self._quote(sell, buy)
    oracle_out: uint256 = self._oracle_out(amount, q)
    # a whole fill at the oracle price must bring both weights closer to
    # their targets, and be no larger than one trade may be
    self._check_weights(sell, buy, amount, oracle_out, q, limits_)
    assert math._mul_div(amount, q.sell_price, q.sell_unit, False) * constants.BPS <= q.nav * limits_.max_trade_bps, "rebalancer: trade above size cap"

    rate: uint256 = self._oracle_rate(q)
    id: uint256 = self.auction_count + 1
    self.auction_count = id
    self.auctions[id] = Auction(
        sell=sell,
        buy=buy,
        remaining=amount,
        start_rate=math._mul_div(rate, constants.BPS + limits_.auction_premium_bps, constants.BPS, True),
        end_rate=math._mul_div(rate, constants.BPS - limits_.auction_discount_bps, constants.BPS, True),
        start=block.timestamp,
        duration=limits_.auction_duration,
        end=block.timestamp + limits_.auction_duration,
    )
    self.live_auction[sell][buy] = id
    log AuctionOpened(
        id=id,
        opener=msg.sender,
        sell=sell,
        buy=buy,
        amount=amount,
        start_rate=self.auctions[id].start_rate,
        end_rate=self.auctions[id].end_rate,
        end=block.timestamp + limits_.auction_duration,
    )
    return id


@external
@nonreentrant
def fill(id: uint256, amount: uint256, max_buy_in: uint256) -> uint256:
    """
    @dev Buys `amount` of the auction's `sell` at the current price, paying
         its `buy` (the caller must have approved this contract). The price
         must still be no lower than the oracle's less
         `auction_discount_bps` (an auction whose prices moved away halts),
         and the fill must still reduce drift as a keeper trade must (the
         basket may have moved since the opening). Anyone's. Stopped by a
         pause.
    @param id The auction.
    @param amount Units of `sell` bought, at most what remains.
    @param max_buy_in The most the filler pays of `buy`.
    @return uint256 The amount of `buy` paid.
    """
    auction: Auction = self.auctions[id]
    assert block.timestamp < auction.end, "rebalancer: auction not live"
    assert amount != 0 and amount <= auction.remaining, "rebalancer: amount not for sale"
    rate: uint256 = self._rate_at(auction, block.timestamp)
    buy_in: uint256 = math._mul_div(amount, rate, constants.WAD, True)
    assert buy_in <= max_buy_in, "rebalancer: price above maximum"
    limits_: Limits = self.limits
    q: Quote = self._quote(auction.sell, auction.buy)
    oracle_rate: uint256 = self._oracle_rate(q)
    assert rate * constants.BPS >= oracle_rate * (constants.BPS - limits_.auction_discount_bps), "rebalancer: auction price below oracle bound"
    # prices and other trades may have moved the basket since the opening
    self._check_weights(auction.sell, auction.buy, amount, buy_in, q, limits_)
    self._use_size(math._mul_div(amount, q.sell_price, q.sell_unit, False), q.nav, limits_)

    self.auctions[id].remaining = auction.remaining - amount
    self._mode = _MODE_FILL
    self._sell = auction.sell
    self._buy = auction.buy
    self._amount = amount
    self._min_out = buy_in
    self._counterparty = msg.sender
    extcall IIndexVault(vault).rebalance_swap(auction.sell, auction.buy, amount, buy_in)
    self._mode = 0
    log AuctionFilled(id=id, filler=msg.sender, sold=amount, bought=buy_in, rate=rate, oracle_rate=oracle_rate)
    return buy_in


@external
def close_auction(id: uint256):
    """
    @dev Ends a live auction early. A keeper's or the admin's.
    @param id The auction.
    """
    if not staticcall IIndexVault(vault).hasRole(KEEPER_ROLE, msg.sender):
        self._check_admin()
    assert block.timestamp < self.auctions[id].end, "rebalancer: auction not live"
    self.auctions[id].end = block.timestamp
    log AuctionClosed(id=id)


@external
def on_rebalance_swap():
    """
    @dev The vault's callback inside `rebalance_swap`: it has sent this
         contract the `sell` amount. A trade approves the adapter exactly
         that amount, swaps to the vault and resets the approval; a fill
         pays the filler and takes the `buy` amount from it to the vault.
    """
    assert msg.sender == vault, "rebalancer: caller is not the vault"
    mode: uint8 = self._mode
    assert mode != 0, "rebalancer: no swap under way"
    sell: address = self._sell
    amount: uint256 = self._amount
    if mode == _MODE_TRADE:
        adapter: address = self._adapter
        assert extcall IERC20(sell).approve(adapter, amount, default_return_value=True), "rebalancer: approve failed"
        extcall IDexAdapter(adapter).swap(sell, self._buy, amount, self._min_out, self._route, vault)
        assert extcall IERC20(sell).approve(adapter, 0, default_return_value=True), "rebalancer: approve failed"
        # the adapter took exactly the amount sold: nothing stays here
        assert staticcall IERC20(sell).balanceOf(self) == self._held_before, "rebalancer: adapter left tokens"
    else:
        safe_erc20._transfer(sell, self._counterparty, amount)
        safe_erc20._transfer_from(self._buy, self._counterparty, vault, self._min_out)



# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def auction_rate(id: uint256) -> uint256:
    """
    @dev The auction's current price: units of `buy` per 10**18 units of
         `sell` (0 once it is over).
    @param id The auction.
    @return uint256 The rate.
    """
    auction: Auction = self.auctions[id]
    if block.timestamp >= auction.end or auction.remaining == 0:
        return 0
    return self._rate_at(auction, block.timestamp)


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


# ---------------------------------------------------------------------------
#                             TRADING INTERNALS
# ---------------------------------------------------------------------------


@internal
def _set_limits(limits_: Limits):
    """
    @dev Checks the bounds against the hard bounds and stores them.
    """
    assert (
        limits_.max_slippage_bps <= MAX_SLIPPAGE_BPS
        and limits_.weight_tolerance <= MAX_WEIGHT_TOLERANCE
        and limits_.max_trade_bps <= constants.BPS
        and limits_.period_cap_bps <= constants.BPS
        and limits_.period >= MIN_PERIOD
        and limits_.period <= MAX_PERIOD
        and limits_.cooldown <= MAX_COOLDOWN
        and limits_.auction_duration >= MIN_AUCTION_DURATION
        and limits_.auction_duration <= MAX_AUCTION_DURATION
        and limits_.auction_premium_bps <= MAX_AUCTION_PREMIUM_BPS
        and limits_.auction_discount_bps <= limits_.max_slippage_bps
        and limits_.open_delay >= MIN_OPEN_DELAY
    ), "rebalancer: limits out of bounds"
    self.limits = limits_
    log LimitsChanged(limits=limits_)


@internal
@view
def _quote(sell: address, buy: address) -> Quote:
    """
    @dev Reads what a trade of `sell` for `buy` is judged by; reverts with
         the oracle's reason while any price is unusable (the NAV needs them
         all).
    """
    assert self.targets_set, "rebalancer: no target weights"
    oracle: address = staticcall IIndexVault(vault).oracle()
    return Quote(
        sell_price=staticcall IOracleRouter(oracle).price(sell),
        buy_price=staticcall IOracleRouter(oracle).price(buy),
        sell_unit=10 ** convert(staticcall IERC20Detailed(sell).decimals(), uint256),
        buy_unit=10 ** convert(staticcall IERC20Detailed(buy).decimals(), uint256),
        nav=staticcall IIndexVault(vault).total_value(),
        sell_held=staticcall IERC20(sell).balanceOf(vault),
        buy_held=staticcall IERC20(buy).balanceOf(vault),
    )


@internal
@pure
def _oracle_out(amount_in: uint256, q: Quote) -> uint256:
    """
    @dev The oracle value of `amount_in` of `sell`, in units of `buy`,
         rounded down.
    """
    return math._mul_div(math._mul_div(amount_in, q.sell_price, q.sell_unit, False), q.buy_unit, q.buy_price, False)


@internal
@pure
def _oracle_rate(q: Quote) -> uint256:
    """
    @dev Units of `buy` the oracle gives for 10**18 units of `sell`.
    """
    return math._mul_div(math._mul_div(constants.WAD, q.sell_price, q.sell_unit, False), q.buy_unit, q.buy_price, False)


@internal
@pure
def _rate_at(auction: Auction, t: uint256) -> uint256:
    """
    @dev The auction's price at `t`: linear from the start rate to the end
         rate over its duration, then flat; rounded up (for the vault).
    """
    elapsed: uint256 = min(t - auction.start, auction.duration)
    return auction.start_rate - (auction.start_rate - auction.end_rate) * elapsed // auction.duration


@internal
@view
def _live_auction(sell: address, buy: address) -> uint256:
    """
    @dev The pair's live auction, or 0.
    """
    id: uint256 = self.live_auction[sell][buy]
    if id == 0 or block.timestamp >= self.auctions[id].end or self.auctions[id].remaining == 0:
        return 0
    return id


@internal
def _use_size(value_usd: uint256, nav: uint256, limits_: Limits):
    """
    @dev Books a trade of `value_usd` against the per-trade and per-period
         size caps (shares of `nav`).
    """
    assert value_usd * constants.BPS <= nav * limits_.max_trade_bps, "rebalancer: trade above size cap"
    if block.timestamp >= self.period_start + limits_.period:
        self.period_start = block.timestamp
        self.period_used = 0
    used: uint256 = self.period_used + value_usd
    assert used * constants.BPS <= nav * limits_.period_cap_bps, "rebalancer: period cap reached"
    self.period_used = used


@internal
@view
def _check_weights(sell: address, buy: address, amount_in: uint256, amount_out: uint256, q: Quote, limits_: Limits):
    """
    @dev Reverts unless the trade reduces drift: before it, `sell` is above
         its target by more than the tolerance and `buy` below its target;
         after selling `amount_in` of `sell` for `amount_out` of `buy`,
         `sell` is no lower than its target and `buy` no higher than its
         target, within the tolerance (1e18 fixed point). Requiring the seller
         to be beyond the tolerance means a trade that overshot (within the
         tolerance) can never be traded back: no churn inside the band.
    """
    t_sell: uint256 = self.target_weight[sell]
    t_buy: uint256 = self.target_weight[buy]
    sell_before: uint256 = math._mul_div(q.sell_held, q.sell_price, q.sell_unit, False)
    buy_before: uint256 = math._mul_div(q.buy_held, q.buy_price, q.buy_unit, False)
    assert sell_before * constants.WAD > (t_sell + limits_.weight_tolerance) * q.nav, "rebalancer: sell is not overweight"
    assert buy_before * constants.WAD < t_buy * q.nav, "rebalancer: buy is not underweight"
    value_in: uint256 = math._mul_div(amount_in, q.sell_price, q.sell_unit, False)
    value_out: uint256 = math._mul_div(amount_out, q.buy_price, q.buy_unit, False)
    nav_after: uint256 = q.nav + value_out - min(q.nav + value_out, value_in)
    sell_after: uint256 = math._mul_div(q.sell_held - min(q.sell_held, amount_in), q.sell_price, q.sell_unit, False)
    buy_after: uint256 = math._mul_div(q.buy_held + amount_out, q.buy_price, q.buy_unit, False)
    sell_floor: uint256 = t_sell - min(t_sell, limits_.weight_tolerance)
    assert sell_after * constants.WAD >= sell_floor * nav_after, "rebalancer: sell would undershoot its target"
    assert buy_after * constants.WAD <= (t_buy + limits_.weight_tolerance) * nav_after, "rebalancer: buy would overshoot its target"
