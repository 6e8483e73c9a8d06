# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Rebalancer
@custom:contract-name Rebalancer
@license GNU Affero General Public License v3.0 only
@notice Keeps one index vault's target weights, changes its composition,
        and brings it back to its targets in two steps:

        1. `start_rebalance` values the whole basket once, with every oracle
           check (staleness, clamp, TWAP cross-check, depth), and turns the
           target weights into target units per undiluted share (see the
           vault's `undiluted_supply`, which the management fee does not
           move), snapshotting each price with its time. `refresh(asset)`
           re-prices one asset with every check; anyone may call it.
        2. Keeper trades through allowlisted DEX adapters and Dutch auctions
           anyone can fill then read only the two assets traded: their
           units, their snapshots (no older than `max_age`), the packed
           limits, the period book, the pair's cool-down (either way) and
           the vault's undiluted supply.

        Every trade, whoever asks for it and whatever it names, is bounded
        by the snapshot and the unit targets:
        - its minimum out is at least the snapshot value of what is sold
          less `max_slippage_bps`, both prices no older than `max_age`;
        - the asset sold must hold more than its target units plus the
          tolerance band (`weight_tolerance` of the NAV, in its units) and
          the one bought fewer than its target units; after the trade the
          one sold holds no fewer than its target less the band and the one
          bought no more than its target plus the band: a trade only reduces
          drift, and an overshoot inside the band can never be traded back
          (no churn);
        - it is at most `max_trade_bps` of the NAV, and all trades of a
          period at most `period_cap_bps` of it (the snapshot's NAV per
          share times the undiluted supply now);
        - a pair trades at most once per `cooldown`, in either direction;
        - the vault pays the adapter directly and checks what came back.
        What a snapshot's age can cost is bounded by the price move within
        `max_age` times the trade caps (docs/DESIGN.md).

        - Target weights: one per constituent, in basket order, summing to
          exactly 10**18; kept packed in basket order with the constituent
          list they were set for, carried along by this rebalancer's
          composition changes, so a weight cannot shift onto another
          constituent (a list changed otherwise stops starts until the
          weights are set again). They reach trading at the next start.
        - A constituent is added with target weight 0 (the oracle must
          already price it); new target weights then ramp it in through
          rebalancing. One is removed only once its target weight is 0 and
          its balance has been sold down to dust.

        Every change is the admin's: a Governor, so it waits the timelock's
        delay, shows in its `pending()` list and can be cancelled by a
        guardian.
"""


from ethereum.ercs import IERC20
from snekmate.auth import access_control
from snekmate.utils import math

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


# @dev The vault's keeper role: who may trade, start rebalances and open
# auctions at any time.
KEEPER_ROLE: public(constant(bytes32)) = constants.KEEPER_ROLE


# @dev The longest route an adapter takes (a V3 path of up to ten hops; the
# V2 adapter takes at most three).
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
MAX_OPEN_DELAY: public(constant(uint256)) = 365 * 86400
MIN_MAX_AGE: public(constant(uint256)) = 60
MAX_MAX_AGE: public(constant(uint256)) = 86400


# @dev Field widths of the packed words (`_limits`, `_book`, `_rebalance`,
# `_snapshots`, `_auctions`): every value stored is checked to fit first.
_MASK_6: constant(uint256) = 2**6 - 1
_MASK_16: constant(uint256) = 2**16 - 1
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_40: constant(uint256) = 2**40 - 1
_MASK_64: constant(uint256) = 2**64 - 1
_MASK_96: constant(uint256) = 2**96 - 1
_MASK_120: constant(uint256) = 2**120 - 1
_MASK_128: constant(uint256) = 2**128 - 1
_MASK_160: constant(uint256) = 2**160 - 1
_TARGETS_PENDING: constant(uint256) = 1 << 208
# @dev Where `_rebalance` keeps when a keeper last started a rebalance.
_KEEPER_START_SHIFT: constant(uint256) = 209


# @dev The bounds a new rebalancer starts with, packed as `_set_limits` packs
# them (within the hard bounds: the tests pass them back to `set_limits`):
# 1% slippage, a 0.5% tolerance band, 5% of NAV a trade and 20% a one-day
# period, a five-minute cool-down, a 1% auction discount, a one-hour
# maximum snapshot age; one-hour auctions starting 2% above the snapshot,
# and a one-day open delay.
_DEFAULT_HOT_LIMITS: constant(uint256) = (
    100 | (5 * 10**15) << 16 | 500 << 80 | 2_000 << 96 | 86400 << 112 | 300 << 144 | 100 << 176 | 3600 << 192
)
_DEFAULT_COLD_LIMITS: constant(uint256) = 3600 | 200 << 32 | 86400 << 48


# @dev The words of `_weights`: four fields of 64 bits each, the list's
# pointer in the first three, then the weights.
_WEIGHT_WORDS: constant(uint256) = (MAX_ASSETS + 6) // 4


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


# @dev Every bound on trades and auctions, set at once by the admin (stored
# packed in `_limits`).
struct Limits:
    max_slippage_bps: uint256  # least out: snapshot value less this (<= 5%)
    weight_tolerance: uint256  # the band around a target, as a share of NAV (1e18 = 100%, <= 5%)
    max_trade_bps: uint256  # largest trade, in bps of NAV
    period_cap_bps: uint256  # all trades of a period, in bps of NAV
    period: uint256  # seconds (1 hour to 1 week)
    cooldown: uint256  # seconds between two trades of a pair (<= 1 day)
    auction_duration: uint256  # seconds from the start price to the end price (15 min to 1 week)
    auction_premium_bps: uint256  # start price above the snapshot's (<= 20%)
    auction_discount_bps: uint256  # end price below the snapshot's (<= max_slippage_bps)
    open_delay: uint256  # seconds without keeper action after which anyone may open, or start once targets changed (1 hour to 1 year)
    max_age: uint256  # seconds a snapshot price may be traded on (1 minute to 1 day)


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
    end: uint256  # the auction is live until then (a close brings it forward to now)


# @dev An auction as stored: four words instead of eight.
struct PackedAuction:
    sell_start_duration: uint256  # sell (bits 0-159), start (160-199), duration (200-239)
    buy_end: uint256  # buy (0-159), end (160-199)
    remaining: uint256
    rates: uint256  # start_rate (0-127), end_rate (128-255)


# @dev The current rebalance (stored packed in `_rebalance`).
struct Rebalance:
    started_at: uint256  # 0 before the first start
    nav_per_share: uint256  # NAV per 10**18 undiluted shares at the start (USD, 18 decimals)
    targets_changed_at: uint256  # when the target weights last changed


# @dev One side of a trade, as the snapshot and the vault have it, for the
# whole vault now.
struct Leg:
    target: uint256  # target units
    band: uint256  # tolerance band in units
    price: uint256  # snapshot price
    unit: uint256  # 10 ** decimals
    held: uint256  # the vault's balance


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The vault this rebalancer serves; fixed for its life.
vault: public(immutable(address))

# @dev The target weights (1e18 fixed point) in the vault's basket order,
# packed, with the constituent list they were set for: 64-bit fields, four
# a word, the first three holding that list's data contract (the vault's
# `assets_pointer`, bits 0-159 of word 0), weight i in field i + 3 (word
# (i + 3) // 4, bit 64 * ((i + 3) % 4)); no weight is above 10**18 < 2**60.
# A start reads ceil((N + 3) / 4) words where one slot per constituent
# would cost N cold reads. A composition change by this rebalancer carries
# them to the new list; a list that changed otherwise (by a rebalancer that
# stood in for this one) leaves them for another basket, and a start
# refuses until they are set again: a weight never shifts onto another
# constituent.
_weights: uint256[_WEIGHT_WORDS]

# @dev The bounds of trades and auctions, packed in two words: what a trade
# or a fill reads (slippage 0-15, tolerance 16-79, trade cap 80-95, period
# cap 96-111, period 112-143, cool-down 144-175, auction discount 176-191,
# max age 192-223), then the rest (auction duration 0-31, premium 32-47,
# open delay 48-87).
_limits: uint256[2]

# @dev DEX adapters keepers may route through.
adapter_allowed: public(HashMap[address, bool])

# @dev When the pair last traded, either way: keyed by its lower address,
# then its higher one (the other order reads 0).
last_trade: public(HashMap[address, HashMap[address, uint256]])

# @dev The period book in one word: when the current trading period started
# (bits 0-39), the USD value traded in it (40-167), and when a keeper last
# traded or opened an auction, or this contract was created (168-207, for
# `open_delay`, with the keeper start in `_rebalance`).
_book: uint256

# @dev The current rebalance in one word: when it started (0-39), the NAV
# per undiluted share then (40-167), when the target weights last changed
# (168-207), whether they changed since the last start (bit 208: a time
# comparison could not tell a change within the start's second), and when a
# keeper last started one (209-248: the word a start writes anyway, where
# `_book` would cost a start one more slot).
_rebalance: uint256

# @dev Per asset, its snapshot in one word: target units per 10**18
# undiluted shares (0-119), price (120-215), decimals (216-221), time
# (222-255). Current only when no older than the rebalance's start.
_snapshots: HashMap[address, uint256]

# @dev Auctions by id, packed, and how many were opened.
_auctions: HashMap[uint256, PackedAuction]
auction_count: public(uint256)

# @dev The latest auction of each pair (sell, buy).
live_auction: public(HashMap[address, HashMap[address, uint256]])


# @dev The fill in flight (`fill` sets it, the vault's `pay_fill` callback
# spends it once): who pays, in which token, how much.
_fill_payer: transient(address)
_fill_token: transient(address)
_fill_amount: transient(uint256)


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


# @dev Each constituent's target units are `snapshot(asset)`'s, and follow
# from what is logged: weight (the last `TargetWeightsChanged`) times
# `nav_per_share` over 10**18, times 10**decimals over its price, each step
# rounded down; a start does not pay to log them twice.
event RebalanceStarted:
    caller: indexed(address)
    nav: uint256  # USD, 18 decimals
    nav_per_share: uint256  # per 10**18 undiluted shares
    prices: DynArray[uint256, MAX_ASSETS]  # USD per whole token, 18 decimals, in basket order


event PriceRefreshed:
    caller: indexed(address)
    asset: indexed(address)
    price: uint256


event TradeExecuted:
    keeper: indexed(address)
    sell: indexed(address)
    buy: indexed(address)
    amount_in: uint256
    amount_out: uint256
    oracle_out: uint256  # what the snapshot says `amount_in` is worth in `buy`
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
    self._book = block.timestamp << 168
    access_control.__init__()
    # the defaults, packed: `_set_limits`'s checks would double in the
    # creation code, which the factory keeps as a blueprint within EIP-170
    self._limits[0] = _DEFAULT_HOT_LIMITS
    self._limits[1] = _DEFAULT_COLD_LIMITS
    log LimitsChanged(limits=self._limits_of())
    if admin != msg.sender:
        access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, admin)
        access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)


# ---------------------------------------------------------------------------
#                                CONFIGURATION
# ---------------------------------------------------------------------------


@external
def set_target_weights(weights: DynArray[uint256, MAX_ASSETS]):
    """
    @dev Sets the weights rebalancing steers to: one per constituent, in
         basket order, summing to exactly 10**18. Trades follow them from
         the next `start_rebalance`. The admin's.
    @param weights The target weights (1e18 fixed point).
    """
    self._check_admin()
    assets_: DynArray[address, MAX_ASSETS] = []
    pointer: address = empty(address)
    assets_, pointer = self._basket()
    assert len(weights) == len(assets_), "rebalancer: one weight per constituent"
    total: uint256 = 0
    for weight: uint256 in weights:
        total += weight
    assert total == constants.WAD, "rebalancer: weights must sum to 10**18"
    self._save_weights(weights, pointer)
    packed: uint256 = self._rebalance
    self._rebalance = (
        (packed & (2**168 - 1)) | block.timestamp << 168 | _TARGETS_PENDING | (packed & (_MASK_40 << _KEEPER_START_SHIFT))
    )
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
    assets_: DynArray[address, MAX_ASSETS] = []
    pointer: address = empty(address)
    assets_, pointer = self._basket()
    assert len(assets_) < MAX_ASSETS, "rebalancer: too many constituents"
    assert asset not in assets_, "rebalancer: already a constituent"
    price: uint256 = staticcall IOracleRouter(staticcall IIndexVault(vault).oracle()).price(asset)
    weights: DynArray[uint256, MAX_ASSETS] = self._weights_for(pointer, len(assets_))
    assets_.append(asset)
    stored: address = self._store(assets_)
    if len(weights) != 0:
        # the weights follow the list, the new constituent's (the last) at 0
        weights.append(0)
        self._save_weights(weights, stored)
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
    assets_: DynArray[address, MAX_ASSETS] = []
    pointer: address = empty(address)
    assets_, pointer = self._basket()
    assert asset in assets_, "rebalancer: not a constituent"
    # weights never set, or set for another basket, are not this basket's:
    # none to check or carry (a start refuses them)
    weights: DynArray[uint256, MAX_ASSETS] = self._weights_for(pointer, len(assets_))
    current: bool = len(weights) != 0
    kept: DynArray[address, MAX_ASSETS] = []
    kept_weights: DynArray[uint256, MAX_ASSETS] = []
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        if assets_[i] == asset:
            assert not current or weights[i] == 0, "rebalancer: target weight is not 0"
        else:
            kept.append(assets_[i])
            if current:
                kept_weights.append(weights[i])
    stored: address = self._store(kept)
    if current:
        self._save_weights(kept_weights, stored)
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


# ---------------------------------------------------------------------------
#                                 REBALANCING
# ---------------------------------------------------------------------------


@external
@nonreentrant
def start_rebalance():
    """
    @dev Values the basket with every oracle check and sets, for each
         constituent, its target units per 10**18 undiluted shares
         (target weight times NAV per share over its price) and its price
         snapshot. A keeper's at any time; anyone's once the target weights
         changed since the last start and no keeper has acted for
         `open_delay`. Stopped by a pause, and refused while the target
         weights were set for another basket (see `_weights`).
    """
    packed: uint256 = self._rebalance
    assert (packed >> 168) & _MASK_40 != 0, "rebalancer: no target weights"
    keeper_start: uint256 = (packed >> _KEEPER_START_SHIFT) & _MASK_40
    if self._is_keeper(msg.sender):
        keeper_start = block.timestamp
    else:
        assert packed & _TARGETS_PENDING != 0, "rebalancer: targets unchanged"
        assert block.timestamp >= self._last_keeper_action() + self._limits_of().open_delay, "rebalancer: keepers still acting"
    assert not staticcall IIndexVault(vault).paused(), "rebalancer: vault paused"
    pointer: address = staticcall IIndexVault(vault).assets_pointer()
    # the list as the vault reads it (`basket._assets`), from its data contract
    data: Bytes[code_store.MAX_SIZE] = code_store._read(pointer)
    assets_: DynArray[address, MAX_ASSETS] = []
    for i: uint256 in range(extract32(data, 0, output_type=uint256), bound=MAX_ASSETS):
        assets_.append(extract32(data, 32 * (i + 1), output_type=address))
    # the weights, read field by field below (see `_weights`)
    word: uint256 = self._weights[0]
    assert word & _MASK_160 == convert(pointer, uint256), "rebalancer: weights for another basket"
    prices: DynArray[uint256, MAX_ASSETS] = []
    decimals: DynArray[uint8, MAX_ASSETS] = []
    prices, decimals = staticcall IOracleRouter(staticcall IIndexVault(vault).oracle()).checked_prices(assets_)
    supply: uint256 = staticcall IIndexVault(vault).undiluted_supply()
    assert supply != 0, "rebalancer: no shares yet"
    nav: uint256 = 0
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        held: uint256 = staticcall IERC20(assets_[i]).balanceOf(vault)
        nav += math._mul_div(held, prices[i], 10 ** convert(decimals[i], uint256), False)
    nav_per_share: uint256 = math._mul_div(nav, constants.WAD, supply, False)
    assert nav_per_share <= _MASK_128, "rebalancer: value out of range"
    for i: uint256 in range(len(assets_), bound=MAX_ASSETS):
        field: uint256 = (i + 3) % 4
        if field == 0:
            word = self._weights[(i + 3) // 4]
        unit: uint256 = 10 ** convert(decimals[i], uint256)
        target: uint256 = math._mul_div(
            math._mul_div((word >> (64 * field)) & _MASK_64, nav_per_share, constants.WAD, False), unit, prices[i], False
        )
        self._snapshots[assets_[i]] = self._pack_snapshot(target, prices[i], decimals[i])
    # the targets are taken: the pending flag clears
    self._rebalance = (
        block.timestamp | nav_per_share << 40 | ((packed >> 168) & _MASK_40) << 168 | keeper_start << _KEEPER_START_SHIFT
    )
    log RebalanceStarted(caller=msg.sender, nav=nav, nav_per_share=nav_per_share, prices=prices)


@external
@nonreentrant
def refresh(asset: address):
    """
    @dev Re-prices `asset` with every oracle check, keeping its target
         units; an asset without a snapshot in the current rebalance (added
         since, or held untracked) gets target units 0. Anyone's: it only
         copies what the oracle says.
    @param asset A token the oracle prices.
    """
    started_at: uint256 = self._started_at()
    assert started_at != 0, "rebalancer: no rebalance started"
    prices: DynArray[uint256, MAX_ASSETS] = []
    decimals: DynArray[uint8, MAX_ASSETS] = []
    prices, decimals = staticcall IOracleRouter(staticcall IIndexVault(vault).oracle()).checked_prices([asset])
    snap: IRebalancer.Snapshot = self._snapshot(asset, started_at)
    self._snapshots[asset] = self._pack_snapshot(snap.target_units, prices[0], decimals[0])
    log PriceRefreshed(caller=msg.sender, asset=asset, price=prices[0])


@external
@nonreentrant
def trade(
    sell: address, buy: address, amount_in: uint256, min_out: uint256, adapter: address, route: Bytes[MAX_ROUTE]
) -> uint256:
    """
    @dev Sells `amount_in` of `sell` for at least `min_out` of `buy` through
         `adapter` along `route`, within every bound of the contract's
         notice. A keeper's (the vault's `KEEPER_ROLE`).
    @param sell The overweight token sold.
    @param buy The underweight constituent bought.
    @param amount_in The amount of `sell`.
    @param min_out The least amount of `buy` accepted; at least the
           snapshot value less the maximum slippage.
    @param adapter An allowlisted DEX adapter.
    @param route The adapter's route (see the adapter).
    @return uint256 The amount of `buy` received.
    """
    assert self._is_keeper(msg.sender), "rebalancer: caller is not a keeper"
    assert self.adapter_allowed[adapter], "rebalancer: adapter not allowed"
    assert amount_in != 0, "rebalancer: zero amount"
    limits_: Limits = self._hot_limits()
    self._cool_down(sell, buy, limits_.cooldown)
    s: Leg = empty(Leg)
    b: Leg = empty(Leg)
    nav: uint256 = 0
    s, b, nav = self._legs(sell, buy, limits_)
    oracle_out: uint256 = self._oracle_out(amount_in, s, b)
    floor_out: uint256 = math._mul_div(oracle_out, constants.BPS - limits_.max_slippage_bps, constants.BPS, True)
    assert min_out >= floor_out, "rebalancer: minimum out below oracle bound"
    self._check_sale(s, b, amount_in)
    self._book_trade(math._mul_div(amount_in, s.price, s.unit, False), nav, limits_, True)

    received: uint256 = extcall IIndexVault(vault).rebalance_swap(sell, buy, amount_in, min_out, adapter, route, False)
    assert b.held + received <= b.target + b.band, "rebalancer: buy would overshoot its target"
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
         `auction_premium_bps` above the snapshot rate down to
         `auction_discount_bps` below it over `auction_duration`. Sized so
         that a whole fill at the snapshot rate reduces drift only and stays
         within the trade-size bound. A keeper's at any time; anyone's once
         no keeper has acted for `open_delay`. One live auction per pair:
         an auction of at least twice what the live one has left replaces
         it (which closes), so a tiny auction cannot hold a pair, and a
         pair can be re-opened at most log2(size cap / first amount) times.
    @param sell The overweight token sold.
    @param buy The underweight constituent bought.
    @param amount The amount of `sell` for sale.
    @return uint256 The auction's id.
    """
    limits_: Limits = self._limits_of()
    if self._is_keeper(msg.sender):
        self._touch_keeper()
    else:
        assert block.timestamp >= self._last_keeper_action() + limits_.open_delay, "rebalancer: keepers still acting"
    assert not staticcall IIndexVault(vault).paused(), "rebalancer: vault paused"
    assert amount != 0, "rebalancer: zero amount"
    live: uint256 = self._live_auction(sell, buy)
    if live != 0:
        assert amount >= 2 * self._auctions[live].remaining, "rebalancer: pair already in auction"
        self._auctions[live].buy_end = (self._auctions[live].buy_end & _MASK_160) | block.timestamp << 160
        log AuctionClosed(id=live)
    s: Leg = empty(Leg)
    b: Leg = empty(Leg)
    nav: uint256 = 0
    s, b, nav = self._legs(sell, buy, limits_)
    # a whole fill at the snapshot rate must bring both holdings closer to
    # their targets, and be no larger than one trade may be
    self._check_sale(s, b, amount)
    assert b.held + self._oracle_out(amount, s, b) <= b.target + b.band, "rebalancer: buy would overshoot its target"
    assert math._mul_div(amount, s.price, s.unit, False) * constants.BPS <= nav * limits_.max_trade_bps, "rebalancer: trade above size cap"

    rate: uint256 = self._oracle_out(constants.WAD, s, b)
    start_rate: uint256 = math._mul_div(rate, constants.BPS + limits_.auction_premium_bps, constants.BPS, True)
    end_rate: uint256 = math._mul_div(rate, constants.BPS - limits_.auction_discount_bps, constants.BPS, True)
    assert start_rate <= _MASK_128, "rebalancer: rate out of range"
    end: uint256 = block.timestamp + limits_.auction_duration
    id: uint256 = self.auction_count + 1
    self.auction_count = id
    self._auctions[id] = PackedAuction(
        sell_start_duration=convert(sell, uint256) | block.timestamp << 160 | limits_.auction_duration << 200,
        buy_end=convert(buy, uint256) | end << 160,
        remaining=amount,
        rates=start_rate | end_rate << 128,
    )
    self.live_auction[sell][buy] = id
    log AuctionOpened(
        id=id, opener=msg.sender, sell=sell, buy=buy, amount=amount, start_rate=start_rate, end_rate=end_rate, end=end
    )
    return id


@external
@nonreentrant
def fill(id: uint256, amount: uint256, max_buy_in: uint256) -> uint256:
    """
    @dev Buys `amount` of the auction's `sell` at the current price, paying
         its `buy` (the caller must have approved this rebalancer, which
         moves the payment to the vault when the vault calls `pay_fill`
         back). The price must
         still be no lower than the snapshot rate less
         `auction_discount_bps` (an auction whose prices moved away halts;
         a stale snapshot can be refreshed by anyone), and the fill must
         still reduce drift as a keeper trade must. Anyone's. Stopped by a
         pause.
    @param id The auction.
    @param amount Units of `sell` bought, at most what remains.
    @param max_buy_in The most the filler pays of `buy`.
    @return uint256 The amount of `buy` paid.
    """
    auction: Auction = self._auction(id)
    assert block.timestamp < auction.end, "rebalancer: auction not live"
    assert amount != 0 and amount <= auction.remaining, "rebalancer: amount not for sale"
    rate: uint256 = self._rate_at(auction, block.timestamp)
    buy_in: uint256 = math._mul_div(amount, rate, constants.WAD, True)
    assert buy_in <= max_buy_in, "rebalancer: price above maximum"
    limits_: Limits = self._hot_limits()
    s: Leg = empty(Leg)
    b: Leg = empty(Leg)
    nav: uint256 = 0
    s, b, nav = self._legs(auction.sell, auction.buy, limits_)
    oracle_rate: uint256 = self._oracle_out(constants.WAD, s, b)
    assert rate * constants.BPS >= oracle_rate * (constants.BPS - limits_.auction_discount_bps), "rebalancer: auction price below oracle bound"
    # prices and other trades may have moved the basket since the opening
    self._check_sale(s, b, amount)
    assert b.held + buy_in <= b.target + b.band, "rebalancer: buy would overshoot its target"
    self._book_trade(math._mul_div(amount, s.price, s.unit, False), nav, limits_, False)

    self._auctions[id].remaining = auction.remaining - amount
    # The vault, under its lock, calls `pay_fill` back to take the payment
    # (through the filler's approval to this rebalancer, never to the vault),
    # checks it came in, and pays `amount` of `sell` to the filler.
    self._fill_payer = msg.sender
    self._fill_token = auction.buy
    self._fill_amount = buy_in
    extcall IIndexVault(vault).rebalance_swap(auction.sell, auction.buy, amount, buy_in, msg.sender, b"", True)
    assert self._fill_amount == 0, "rebalancer: fill not paid"
    log AuctionFilled(id=id, filler=msg.sender, sold=amount, bought=buy_in, rate=rate, oracle_rate=oracle_rate)
    return buy_in


@external
def pay_fill(token: address, payer: address, amount: uint256):
    """
    @dev The vault's callback during `fill`, under the vault's lock: moves
         the filler's payment from the filler to the vault, through the
         filler's approval to this rebalancer. Only the vault, and only for
         the fill in flight, once; so no approval given to the vault, and no
         other approval given to this rebalancer, can be spent by a fill.
    @param token The auction's `buy`.
    @param payer The filler.
    @param amount The price of the fill.
    """
    assert msg.sender == vault, "rebalancer: not the vault"
    assert (
        amount != 0 and amount == self._fill_amount and token == self._fill_token and payer == self._fill_payer
    ), "rebalancer: no such fill"
    self._fill_amount = 0
    safe_erc20._transfer_from(token, payer, vault, amount)


@external
def close_auction(id: uint256):
    """
    @dev Ends a live auction early. A keeper's or the admin's.
    @param id The auction.
    """
    if not self._is_keeper(msg.sender):
        self._check_admin()
    packed: uint256 = self._auctions[id].buy_end
    assert block.timestamp < packed >> 160, "rebalancer: auction not live"
    self._auctions[id].buy_end = (packed & _MASK_160) | block.timestamp << 160
    log AuctionClosed(id=id)


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def limits() -> Limits:
    """
    @dev Every bound of trades and auctions.
    @return Limits The bounds.
    """
    return self._limits_of()


@external
@view
def period_start() -> uint256:
    """
    @dev When the current trading period started.
    @return uint256 A timestamp.
    """
    return self._book & _MASK_40


@external
@view
def period_used() -> uint256:
    """
    @dev The USD value (18 decimals) traded in the current period.
    @return uint256 USD.
    """
    return (self._book >> 40) & _MASK_128


@external
@view
def last_keeper_action() -> uint256:
    """
    @dev When a keeper last traded, started a rebalance or opened an auction
         (or this contract was created).
    @return uint256 A timestamp.
    """
    return self._last_keeper_action()


@external
@view
def rebalance() -> Rebalance:
    """
    @dev The current rebalance: when it started (0 before the first), the
         NAV per undiluted share then, and when the target weights last
         changed.
    @return Rebalance The state.
    """
    packed: uint256 = self._rebalance
    return Rebalance(
        started_at=packed & _MASK_40,
        nav_per_share=(packed >> 40) & _MASK_128,
        targets_changed_at=(packed >> 168) & _MASK_40,
    )


@external
@view
def snapshot(asset: address) -> IRebalancer.Snapshot:
    """
    @dev The snapshot of `asset` in the current rebalance; empty when it has
         none (never snapshotted, or only in an earlier rebalance).
    @param asset Any address.
    @return Snapshot Its target units, price, price time and decimals.
    """
    return self._snapshot(asset, self._started_at())


@external
@view
def auctions(id: uint256) -> Auction:
    """
    @dev An auction by id (empty when there is none).
    @param id The auction.
    @return Auction The auction.
    """
    return self._auction(id)


@external
@view
def auction_rate(id: uint256) -> uint256:
    """
    @dev The auction's current price: units of `buy` per 10**18 units of
         `sell` (0 once it is over).
    @param id The auction.
    @return uint256 The rate.
    """
    auction: Auction = self._auction(id)
    if block.timestamp >= auction.end or auction.remaining == 0:
        return 0
    return self._rate_at(auction, block.timestamp)


@external
@view
def targets_set() -> bool:
    """
    @dev Whether target weights have been set (derived from when they last
         changed), for this basket or, after a composition change by
         another rebalancer, for an earlier one (`target_weights` is then
         empty: see `_weights`).
    @return bool Whether they have.
    """
    return (self._rebalance >> 168) & _MASK_40 != 0


@external
@view
def target_weights() -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev The target weights in the vault's basket order; empty until first
         set, or when they were set for another basket (see `_weights`).
         They sum to exactly 10**18 (a constituent added since holds 0).
    @return DynArray The weights (1e18 fixed point).
    """
    assets_: DynArray[address, MAX_ASSETS] = []
    pointer: address = empty(address)
    assets_, pointer = self._basket()
    return self._weights_for(pointer, len(assets_))


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
@view
def _check_admin():
    """
    @dev Every privileged function's admin check.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)


@internal
@view
def _is_keeper(account: address) -> bool:
    """
    @dev Every keeper check: the vault's `KEEPER_ROLE`.
    @param account The caller.
    @return bool Whether it holds the role.
    """
    return staticcall IIndexVault(vault).hasRole(KEEPER_ROLE, account)


@internal
def _store(assets_: DynArray[address, MAX_ASSETS]) -> address:
    """
    @dev Writes a constituent list in the vault's layout (see
         `basket._store_assets`) and hands it to the vault, which checks it.
    @param assets_ The new constituents, in basket order.
    @return address The data contract holding the list.
    """
    encoded: Bytes[32 * (MAX_ASSETS + 2)] = abi_encode(assets_)
    pointer: address = code_store._write(slice(encoded, 32, len(encoded) - 32))
    extcall IIndexVault(vault).set_assets_pointer(pointer)
    return pointer


@internal
@view
def _basket() -> (DynArray[address, MAX_ASSETS], address):
    """
    @dev The vault's constituent list and the data contract holding it.
    @return DynArray The constituents, in basket order.
    @return address The vault's `assets_pointer`.
    """
    return staticcall IIndexVault(vault).assets(), staticcall IIndexVault(vault).assets_pointer()


# ---------------------------------------------------------------------------
#                              PACKED STORAGE
# ---------------------------------------------------------------------------


@internal
def _set_limits(limits_: Limits):
    """
    @dev Checks the bounds against the hard bounds and stores them packed.
    @param limits_ The bounds.
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
        and limits_.open_delay <= MAX_OPEN_DELAY
        and limits_.max_age >= MIN_MAX_AGE
        and limits_.max_age <= MAX_MAX_AGE
    ), "rebalancer: limits out of bounds"
    # every field is within its width: the hard bounds above are far below
    self._limits[0] = (
        limits_.max_slippage_bps
        | limits_.weight_tolerance << 16
        | limits_.max_trade_bps << 80
        | limits_.period_cap_bps << 96
        | limits_.period << 112
        | limits_.cooldown << 144
        | limits_.auction_discount_bps << 176
        | limits_.max_age << 192
    )
    self._limits[1] = limits_.auction_duration | limits_.auction_premium_bps << 32 | limits_.open_delay << 48
    log LimitsChanged(limits=limits_)


@internal
@view
def _hot_limits() -> Limits:
    """
    @dev The bounds a trade or a fill reads, from one word (the auction
         duration, premium and open delay are left 0).
    @return Limits The bounds.
    """
    hot: uint256 = self._limits[0]
    return Limits(
        max_slippage_bps=hot & _MASK_16,
        weight_tolerance=(hot >> 16) & _MASK_64,
        max_trade_bps=(hot >> 80) & _MASK_16,
        period_cap_bps=(hot >> 96) & _MASK_16,
        period=(hot >> 112) & _MASK_32,
        cooldown=(hot >> 144) & _MASK_32,
        auction_duration=0,
        auction_premium_bps=0,
        auction_discount_bps=(hot >> 176) & _MASK_16,
        open_delay=0,
        max_age=(hot >> 192) & _MASK_32,
    )


@internal
@view
def _limits_of() -> Limits:
    """
    @dev Every bound, from both words.
    @return Limits The bounds.
    """
    limits_: Limits = self._hot_limits()
    cold: uint256 = self._limits[1]
    limits_.auction_duration = cold & _MASK_32
    limits_.auction_premium_bps = (cold >> 32) & _MASK_16
    limits_.open_delay = (cold >> 48) & _MASK_40
    return limits_


@internal
def _save_weights(weights: DynArray[uint256, MAX_ASSETS], pointer: address):
    """
    @dev Stores `weights` packed (see `_weights`) for the list at `pointer`.
         Fields past the list are left as they are: nothing reads them.
    @param weights The weights in basket order, each at most 10**18 (their
           sum is checked first, or they were read back from `_weights`):
           each fits its field.
    @param pointer The data contract of the list they belong to.
    """
    word: uint256 = convert(pointer, uint256)
    for i: uint256 in range(len(weights), bound=MAX_ASSETS):
        field: uint256 = (i + 3) % 4
        if field == 0:
            self._weights[(i + 3) // 4 - 1] = word
            word = 0
        word |= weights[i] << (64 * field)
    self._weights[(len(weights) + 2) // 4] = word


@internal
@view
def _weights_for(pointer: address, count: uint256) -> DynArray[uint256, MAX_ASSETS]:
    """
    @dev The `count` stored weights in basket order when they were set for
         the list at `pointer` (the vault's), else none: never set (word 0
         holds no pointer) or set for another basket.
    @param pointer The vault's `assets_pointer`.
    @param count The number of constituents.
    @return DynArray The weights (1e18 fixed point), or empty.
    """
    word: uint256 = self._weights[0]
    weights: DynArray[uint256, MAX_ASSETS] = []
    if word & _MASK_160 != convert(pointer, uint256):
        return weights
    for i: uint256 in range(count, bound=MAX_ASSETS):
        field: uint256 = (i + 3) % 4
        if field == 0:
            word = self._weights[(i + 3) // 4]
        weights.append((word >> (64 * field)) & _MASK_64)
    return weights


@internal
@view
def _last_keeper_action() -> uint256:
    """
    @dev When a keeper last acted: the later of the book's time (trades,
         auctions, creation) and the last keeper start's.
    @return uint256 A timestamp.
    """
    return max(self._book >> 168, (self._rebalance >> _KEEPER_START_SHIFT) & _MASK_40)


@internal
def _touch_keeper():
    """
    @dev Records in the book that a keeper acted now (a start records it
         in `_rebalance`, which it writes anyway).
    """
    self._book = (self._book & (2**168 - 1)) | block.timestamp << 168


@internal
@view
def _started_at() -> uint256:
    """
    @dev When the current rebalance started (0 before the first).
    @return uint256 A timestamp.
    """
    return self._rebalance & _MASK_40


@internal
@view
def _pack_snapshot(target: uint256, price: uint256, decimals: uint8) -> uint256:
    """
    @dev One snapshot word, checking that each field fits.
    @param target Target units per 10**18 undiluted shares.
    @param price USD per whole token (18 decimals).
    @param decimals The token's decimals.
    @return uint256 The word.
    """
    assert target <= _MASK_120, "rebalancer: target out of range"
    assert price <= _MASK_96, "rebalancer: price out of range"
    assert decimals <= 36, "rebalancer: decimals out of range"  # six bits
    return target | price << 120 | convert(decimals, uint256) << 216 | block.timestamp << 222


@internal
@view
def _snapshot(asset: address, started_at: uint256) -> IRebalancer.Snapshot:
    """
    @dev The snapshot of `asset` in the current rebalance, or an empty one.
    @param asset Any address.
    @param started_at When the current rebalance started (`_started_at`,
           which a caller holding the rebalance word passes on).
    @return Snapshot Its fields.
    """
    packed: uint256 = self._snapshots[asset]
    updated_at: uint256 = packed >> 222
    if packed == 0 or started_at == 0 or updated_at < started_at:
        return empty(IRebalancer.Snapshot)
    return IRebalancer.Snapshot(
        target_units=packed & _MASK_120,
        price=(packed >> 120) & _MASK_96,
        updated_at=updated_at,
        decimals=(packed >> 216) & _MASK_6,
    )


@internal
@view
def _auction(id: uint256) -> Auction:
    """
    @dev An auction, unpacked.
    @param id The auction.
    @return Auction Its fields.
    """
    packed: PackedAuction = self._auctions[id]
    return Auction(
        sell=convert(packed.sell_start_duration & _MASK_160, address),
        buy=convert(packed.buy_end & _MASK_160, address),
        remaining=packed.remaining,
        start_rate=packed.rates & _MASK_128,
        end_rate=packed.rates >> 128,
        start=(packed.sell_start_duration >> 160) & _MASK_40,
        duration=packed.sell_start_duration >> 200,
        end=packed.buy_end >> 160,
    )


# ---------------------------------------------------------------------------
#                             TRADING INTERNALS
# ---------------------------------------------------------------------------


@internal
def _cool_down(sell: address, buy: address, cooldown: uint256):
    """
    @dev Refuses a pair that traded within `cooldown`, and records that it
         trades now.
    """
    # the pair's key: its lower address, then its higher one
    low: address = sell
    high: address = buy
    if convert(buy, uint256) < convert(sell, uint256):
        low = buy
        high = sell
    last: uint256 = self.last_trade[low][high]
    assert last == 0 or block.timestamp >= last + cooldown, "rebalancer: pair cooling down"
    self.last_trade[low][high] = block.timestamp


@internal
@view
def _legs(sell: address, buy: address, limits_: Limits) -> (Leg, Leg, uint256):
    """
    @dev Both sides of a trade from their snapshots (each current and no
         older than `max_age`) and the vault's balances, scaled to the
         undiluted supply now; and the NAV the size caps apply to (the
         snapshot's NAV per share times that supply).
    @return Leg The side sold.
    @return Leg The side bought.
    @return uint256 The NAV (USD, 18 decimals).
    """
    packed: uint256 = self._rebalance
    assert packed & _MASK_40 != 0, "rebalancer: no rebalance started"
    supply: uint256 = staticcall IIndexVault(vault).undiluted_supply()
    nav: uint256 = math._mul_div((packed >> 40) & _MASK_128, supply, constants.WAD, False)
    started_at: uint256 = packed & _MASK_40
    return self._leg(sell, started_at, supply, nav, limits_), self._leg(buy, started_at, supply, nav, limits_), nav


@internal
@view
def _leg(asset: address, started_at: uint256, supply: uint256, nav: uint256, limits_: Limits) -> Leg:
    """
    @dev One side of a trade (see `_legs`).
    """
    snap: IRebalancer.Snapshot = self._snapshot(asset, started_at)
    assert snap.price != 0, "rebalancer: no snapshot"
    assert block.timestamp <= snap.updated_at + limits_.max_age, "rebalancer: stale snapshot"
    unit: uint256 = 10**snap.decimals
    return Leg(
        target=math._mul_div(snap.target_units, supply, constants.WAD, False),
        band=math._mul_div(math._mul_div(limits_.weight_tolerance, nav, constants.WAD, False), unit, snap.price, False),
        price=snap.price,
        unit=unit,
        held=staticcall IERC20(asset).balanceOf(vault),
    )


@internal
@pure
def _oracle_out(amount_in: uint256, s: Leg, b: Leg) -> uint256:
    """
    @dev The snapshot value of `amount_in` of the asset sold, in units of
         the one bought, rounded down.
    """
    return math._mul_div(math._mul_div(amount_in, s.price, s.unit, False), b.unit, b.price, False)


@internal
@pure
def _check_sale(s: Leg, b: Leg, amount_in: uint256):
    """
    @dev Reverts unless the sale reduces drift on the side the amount sold
         decides: before it, the asset sold holds more than its target plus
         the band and the one bought less than its target; after it, the
         asset sold holds no less than its target less the band. (That the
         one bought ends no higher than its target plus the band is checked
         on what actually came in.) Requiring the seller to be beyond the
         band means a trade that overshot within it can never be traded
         back: no churn inside the band.
    """
    assert s.held > s.target + s.band, "rebalancer: sell is not overweight"
    assert b.held < b.target, "rebalancer: buy is not underweight"
    assert s.held - min(s.held, amount_in) >= s.target - min(s.target, s.band), "rebalancer: sell would undershoot its target"


@internal
def _book_trade(value_usd: uint256, nav: uint256, limits_: Limits, keeper: bool):
    """
    @dev Books a trade of `value_usd` against the per-trade and per-period
         size caps (shares of `nav`), and a keeper's action.
    """
    assert value_usd * constants.BPS <= nav * limits_.max_trade_bps, "rebalancer: trade above size cap"
    book: uint256 = self._book
    start: uint256 = book & _MASK_40
    used: uint256 = (book >> 40) & _MASK_128
    if block.timestamp >= start + limits_.period:
        start = block.timestamp
        used = 0
    used += value_usd
    assert used * constants.BPS <= nav * limits_.period_cap_bps, "rebalancer: period cap reached"
    assert used <= _MASK_128, "rebalancer: value out of range"
    last: uint256 = book >> 168
    if keeper:
        last = block.timestamp
    self._book = start | used << 40 | last << 168


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
    if id == 0:
        return 0
    auction: Auction = self._auction(id)
    if block.timestamp >= auction.end or auction.remaining == 0:
        return 0
    return id
