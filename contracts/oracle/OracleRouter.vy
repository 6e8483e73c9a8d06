# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Oracle Router
@custom:contract-name OracleRouter
@license GNU Affero General Public License v3.0 only
@notice USD prices (18 decimals) for an index vault's constituents, from a
        Chainlink feed cross-checked against a Uniswap V3 TWAP. A price is
        used only while it can be trusted; otherwise `price` reverts and
        `price_status` says why:

        - the feed's answer is zero or negative, its round is incomplete,
          older than the heartbeat plus a grace period, at the aggregator's
          min/max circuit-breaker clamp, or outside the configured sanity
          bounds; a feed priced through another asset (asset/ETH times
          ETH/USD) fails when either leg fails;
        - the pool's TWAP (at least 30 minutes) cannot be read, rests on too
          little liquidity, or disagrees with the feed beyond the asset's
          deviation bound.

        `price_bounds` gives the band a conservative valuation must use: the
        lower and the higher of the two sources, widened by the asset's
        error margin (the feed's own deviation threshold). The vault values
        what it receives at the low end and what it gives at the high end,
        so a price known to be about to move, or a pool pushed within the
        deviation bound, cannot be turned into a profit.

        Configuration belongs to `DEFAULT_ADMIN_ROLE` (a timelock, once
        governance is set up). Every bound has a hard floor or cap here, so
        no configuration can make a short or thin TWAP acceptable.
"""


from snekmate.auth import access_control
from snekmate.utils import math

from ..interfaces import IOracleRouter
from ..interfaces import IUniswapV3Pool
from ..lib import code_store
from ..lib import constants
from . import uniswap_v3_twap

implements: IOracleRouter

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


interface IAggregatorProxy:
    def aggregator() -> address: view


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev Price statuses; `price` reverts with `status_reason(status)`.
OK: public(constant(uint8)) = 0
NOT_CONFIGURED: public(constant(uint8)) = 1
NO_ANSWER: public(constant(uint8)) = 2
NON_POSITIVE: public(constant(uint8)) = 3
INCOMPLETE: public(constant(uint8)) = 4
STALE: public(constant(uint8)) = 5
CLAMPED: public(constant(uint8)) = 6
OUT_OF_BOUNDS: public(constant(uint8)) = 7
QUOTE_UNUSABLE: public(constant(uint8)) = 8
TWAP_UNAVAILABLE: public(constant(uint8)) = 9
TWAP_THIN: public(constant(uint8)) = 10
DISPUTED: public(constant(uint8)) = 11


# @dev The shortest TWAP window any asset may use (Inverse Finance lost
# $15.6M to a TWAP an attacker could move within a few blocks).
MIN_TWAP_WINDOW: public(constant(uint32)) = 1800


# @dev The longest TWAP window: older averages lag too much to check against.
MAX_TWAP_WINDOW: public(constant(uint32)) = 86400


# @dev The least virtual depth (USD, 18 decimals) the pool must have had on
# the quote side over the window, as a harmonic mean.
MIN_DEPTH_FLOOR: public(constant(uint256)) = 25_000 * 10**18


# @dev Bounds of the feed-versus-TWAP deviation an asset may tolerate.
MIN_DEVIATION_BPS: public(constant(uint256)) = 10
MAX_DEVIATION_BPS: public(constant(uint256)) = 1500


# @dev The widest error margin of a conservative valuation.
MAX_ERROR_BPS: public(constant(uint256)) = 1000


# @dev The longest heartbeat and grace period a feed may be given.
MAX_HEARTBEAT: public(constant(uint32)) = 172800
MAX_GRACE: public(constant(uint32)) = 86400


_Q96: constant(uint256) = 2**96


# @dev Distinct quote assets remembered within one call (most baskets quote
# every pool in one stablecoin or WETH).
_QUOTE_CACHE: constant(uint256) = 4


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


struct FeedParams:
    feed: address  # Chainlink AggregatorV3 proxy of the asset
    heartbeat: uint32  # seconds between the feed's guaranteed updates
    grace: uint32  # extra seconds tolerated before the answer is stale
    quote: address  # empty: the feed is in USD; else it is in units of `quote`'s USD price
    min_price: uint256  # sanity floor of the USD price (18 decimals)
    max_price: uint256  # sanity ceiling of the USD price (18 decimals)
    pool: address  # Uniswap V3 pool of the asset against another configured asset
    twap_window: uint32  # seconds averaged, at least MIN_TWAP_WINDOW
    min_depth: uint256  # least harmonic-mean quote-side depth (USD, 18 decimals)
    max_deviation_bps: uint256  # feed versus TWAP, beyond which the price is disputed
    error_bps: uint256  # margin added to both ends of the conservative band


struct FeedConfig:
    params: FeedParams
    feed_decimals: uint8  # read from the feed
    token_decimals: uint8  # read from the asset
    clamp_min: int256  # the aggregator's minAnswer, 0 when it has none
    clamp_max: int256  # the aggregator's maxAnswer, 0 when it has none
    pool_quote: address  # the pool's other token
    asset_is_token0: bool  # the asset's side of the pool


struct QuoteLeg:
    asset: address  # an asset whose feed prices others (a routed feed's quote, a pool's other token)
    status: uint8  # its feed's status, without its own TWAP check
    price: uint256  # its feed's USD price (18 decimals), 0 unless OK
    updated_at: uint256  # its feed's round
    unit: uint256  # 10 ** its decimals
    routed: bool  # whether its own feed is routed (then it cannot quote a TWAP)


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev Per asset, the data contract holding its `FeedConfig` (see `code_store`):
# a valuation reads a whole configuration for one cold call.
config_pointer: public(HashMap[address, address])


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event FeedConfigured:
    asset: indexed(address)
    feed: indexed(address)
    pool: indexed(address)
    config: FeedConfig


event FeedRemoved:
    asset: indexed(address)


event ClampsRefreshed:
    asset: indexed(address)
    clamp_min: int256
    clamp_max: int256


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(admin: address):
    """
    @dev Grants `DEFAULT_ADMIN_ROLE` to `admin` (and not to the deployer,
         unless they are the same).
    @param admin The account that configures feeds.
    """
    assert admin != empty(address), "oracle: zero admin"
    access_control.__init__()
    if admin != msg.sender:
        access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, admin)
        access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)


# ---------------------------------------------------------------------------
#                                CONFIGURATION
# ---------------------------------------------------------------------------


@external
def set_feed(asset: address, params: FeedParams):
    """
    @dev Configures (or replaces) the price sources of `asset`.
    @param asset The ERC-20 priced.
    @param params Its feed, TWAP pool and bounds; every bound is checked
           against the hard floors and caps of this contract.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert asset.is_contract, "oracle: asset is not a contract"
    assert params.feed.is_contract, "oracle: feed is not a contract"
    assert params.heartbeat != 0 and params.heartbeat <= MAX_HEARTBEAT, "oracle: heartbeat out of range"
    assert params.grace <= MAX_GRACE, "oracle: grace too long"
    assert params.quote != asset, "oracle: asset quoted in itself"
    if params.quote != empty(address):
        quote_pointer: address = self.config_pointer[params.quote]
        assert quote_pointer != empty(address), "oracle: quote not configured"
        assert self._load(quote_pointer).params.quote == empty(address), "oracle: quote is itself routed"
    assert params.min_price != 0 and params.min_price < params.max_price, "oracle: bad sanity bounds"
    assert params.twap_window >= MIN_TWAP_WINDOW, "oracle: twap window too short"
    assert params.twap_window <= MAX_TWAP_WINDOW, "oracle: twap window too long"
    assert params.min_depth >= MIN_DEPTH_FLOOR, "oracle: depth floor too low"
    assert params.max_deviation_bps >= MIN_DEVIATION_BPS, "oracle: deviation bound too tight"
    assert params.max_deviation_bps <= MAX_DEVIATION_BPS, "oracle: deviation bound too loose"
    assert params.error_bps <= MAX_ERROR_BPS, "oracle: error margin too wide"

    assert params.pool.is_contract, "oracle: pool is not a contract"
    token0: address = staticcall IUniswapV3Pool(params.pool).token0()
    token1: address = staticcall IUniswapV3Pool(params.pool).token1()
    assert asset == token0 or asset == token1, "oracle: pool does not trade the asset"
    pool_quote: address = token1 if asset == token0 else token0

    clamp_min: int256 = 0
    clamp_max: int256 = 0
    clamp_min, clamp_max = self._read_clamps(params.feed)
    config: FeedConfig = FeedConfig(
        params=params,
        feed_decimals=self._decimals(params.feed, "oracle: feed decimals unreadable"),
        token_decimals=self._decimals(asset, "oracle: token decimals unreadable"),
        clamp_min=clamp_min,
        clamp_max=clamp_max,
        pool_quote=pool_quote,
        asset_is_token0=asset == token0,
    )
    self.config_pointer[asset] = code_store._write(abi_encode(config))
    log FeedConfigured(asset=asset, feed=params.feed, pool=params.pool, config=config)


@external
def remove_feed(asset: address):
    """
    @dev Forgets the price sources of `asset`; its price becomes unusable.
    @param asset The ERC-20.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert self.config_pointer[asset] != empty(address), "oracle: not configured"
    self.config_pointer[asset] = empty(address)
    log FeedRemoved(asset=asset)


@external
def refresh_clamps(asset: address):
    """
    @dev Re-reads the circuit-breaker bounds of the aggregator currently
         behind the asset's feed proxy. Anyone may call it: it only copies
         what the feed itself publishes.
    @param asset A configured asset.
    """
    pointer: address = self.config_pointer[asset]
    assert pointer != empty(address), "oracle: not configured"
    config: FeedConfig = self._load(pointer)
    config.clamp_min, config.clamp_max = self._read_clamps(config.params.feed)
    self.config_pointer[asset] = code_store._write(abi_encode(config))
    log ClampsRefreshed(asset=asset, clamp_min=config.clamp_min, clamp_max=config.clamp_max)


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def price(asset: address) -> uint256:
    """
    @dev The feed's USD price of one whole `asset` (18 decimals), after
         every check; reverts with the reason when it is unusable.
    @param asset A configured asset.
    @return uint256 The price.
    """
    data: IOracleRouter.PriceData = self._evaluate(asset)
    self._require_ok(data.status)
    return data.price


@external
@view
def price_status(asset: address) -> uint8:
    """
    @dev Why the price of `asset` is unusable (`OK` when it is usable).
    @param asset Any address.
    @return uint8 One of the status constants.
    """
    return self._evaluate(asset).status


@external
@view
def price_bounds(asset: address) -> (uint256, uint256):
    """
    @dev The conservative band of the USD price of one whole `asset`:
         receive at the low end, give at the high end. Reverts when unusable.
    @param asset A configured asset.
    @return uint256 The low end.
    @return uint256 The high end.
    """
    data: IOracleRouter.PriceData = self._evaluate(asset)
    self._require_ok(data.status)
    return data.low, data.high


@external
@view
def price_data(asset: address) -> IOracleRouter.PriceData:
    """
    @dev Everything known about the price of `asset`, without reverting:
         for status pages and keepers.
    @param asset Any address.
    @return IOracleRouter.PriceData Status, both sources, band and age.
    """
    return self._evaluate(asset)


@external
@view
def checked_prices(
    assets: DynArray[address, constants.MAX_ASSETS]
) -> (DynArray[uint256, constants.MAX_ASSETS], DynArray[uint8, constants.MAX_ASSETS]):
    """
    @dev The USD price of one whole unit of each asset (18 decimals) after
         every check, and the asset's decimals, in one pass sharing its quote
         legs; reverts with the reason of the first unusable price. For a
         rebalancer snapshotting a basket.
    @param assets The tokens.
    @return DynArray The prices, in the order of `assets`.
    @return DynArray The tokens' decimals, as configured.
    """
    prices: DynArray[uint256, constants.MAX_ASSETS] = []
    decimals: DynArray[uint8, constants.MAX_ASSETS] = []
    cache: DynArray[QuoteLeg, _QUOTE_CACHE] = []
    for asset: address in assets:
        pointer: address = self.config_pointer[asset]
        assert pointer != empty(address), "oracle: not configured"
        config: FeedConfig = self._load(pointer)
        data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
        data, cache = self._price_from(config, cache)
        self._require_ok(data.status)
        prices.append(data.price)
        decimals.append(config.token_decimals)
    return prices, decimals


@external
@view
def valuation(assets: DynArray[address, constants.MAX_ASSETS], amounts: DynArray[uint256, constants.MAX_ASSETS]) -> IOracleRouter.Valuation:
    """
    @dev The USD value (18 decimals) of `amounts` of `assets` at the feeds'
         prices and at both ends of their bands; reverts with the reason of
         the first unusable price.
    @param assets The tokens.
    @param amounts Their amounts in each token's base units.
    @return IOracleRouter.Valuation Mid, low and high values and the oldest round used.
    """
    result: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base_data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    result, base_data = self._valuation(assets, amounts, empty(address))
    return result


@external
@view
def nav_quote(
    assets: DynArray[address, constants.MAX_ASSETS], amounts: DynArray[uint256, constants.MAX_ASSETS], base: address
) -> (IOracleRouter.Valuation, IOracleRouter.PriceData):
    """
    @dev `valuation`, and the price data of `base` (one of `assets`) from the
         same pass, for a vault pricing a NAV-priced flow in one call.
    @param assets The tokens.
    @param amounts Their amounts in each token's base units.
    @param base The asset whose price data is returned.
    @return IOracleRouter.Valuation Mid, low and high values and the oldest round used.
    @return IOracleRouter.PriceData The price data of `base`.
    """
    result: IOracleRouter.Valuation = empty(IOracleRouter.Valuation)
    base_data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    result, base_data = self._valuation(assets, amounts, base)
    assert base_data.status == OK and base_data.price != 0, "oracle: base not among the assets"
    return result, base_data


@external
@view
def feed_config(asset: address) -> FeedConfig:
    """
    @dev The configuration of `asset`; reverts if there is none.
    @param asset A configured asset.
    @return FeedConfig Its configuration.
    """
    pointer: address = self.config_pointer[asset]
    assert pointer != empty(address), "oracle: not configured"
    return self._load(pointer)


@external
@pure
def status_reason(status: uint8) -> String[40]:
    """
    @dev The revert reason of a status.
    @param status One of the status constants.
    @return String The reason, as `price` reverts with it.
    """
    return self._reason(status)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
@view
def _valuation(
    assets: DynArray[address, constants.MAX_ASSETS], amounts: DynArray[uint256, constants.MAX_ASSETS], base: address
) -> (IOracleRouter.Valuation, IOracleRouter.PriceData):
    """
    @dev Values `amounts` of `assets`, reverting on the first unusable price,
         with one cache of quote legs for the whole pass.
    @return IOracleRouter.Valuation The sums.
    @return IOracleRouter.PriceData The price data of `base` (empty if it is not listed).
    """
    assert len(assets) == len(amounts), "oracle: wrong array length"
    result: IOracleRouter.Valuation = IOracleRouter.Valuation(mid=0, low=0, high=0, oldest_update=max_value(uint256))
    base_data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    cache: DynArray[QuoteLeg, _QUOTE_CACHE] = []
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        pointer: address = self.config_pointer[assets[i]]
        assert pointer != empty(address), "oracle: not configured"
        config: FeedConfig = self._load(pointer)
        data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
        data, cache = self._price_from(config, cache)
        self._require_ok(data.status)
        unit: uint256 = 10 ** convert(config.token_decimals, uint256)
        # checked products: they cannot overflow for amounts and prices
        # below 2**128 (and revert rather than mislead past that)
        result.mid += amounts[i] * data.price // unit
        result.low += amounts[i] * data.low // unit
        result.high += (amounts[i] * data.high + unit - 1) // unit
        result.oldest_update = min(result.oldest_update, data.updated_at)
        if assets[i] == base:
            base_data = data
    return result, base_data


@internal
@view
def _quote_leg(asset: address, cache: DynArray[QuoteLeg, _QUOTE_CACHE]) -> (QuoteLeg, DynArray[QuoteLeg, _QUOTE_CACHE]):
    """
    @dev The feed price of a quote asset, from `cache` when this call has
         read it before.
    @param asset The quote asset.
    @param cache The legs read so far in this call.
    @return QuoteLeg The leg.
    @return DynArray The cache, with the leg added when there was room.
    """
    for leg: QuoteLeg in cache:
        if leg.asset == asset:
            return leg, cache
    leg: QuoteLeg = QuoteLeg(asset=asset, status=NOT_CONFIGURED, price=0, updated_at=0, unit=0, routed=False)
    pointer: address = self.config_pointer[asset]
    if pointer != empty(address):
        config: FeedConfig = self._load(pointer)
        leg.status, leg.price, leg.updated_at = self._chainlink(config)
        leg.unit = 10 ** convert(config.token_decimals, uint256)
        leg.routed = config.params.quote != empty(address)
    if len(cache) < _QUOTE_CACHE:
        cache.append(leg)
    return leg, cache


@internal
@view
def _load(pointer: address) -> FeedConfig:
    """
    @dev Reads a configuration from its data contract.
    @param pointer The data contract.
    @return FeedConfig The configuration.
    """
    return abi_decode(code_store._read(pointer), FeedConfig)


@internal
@view
def _evaluate(asset: address) -> IOracleRouter.PriceData:
    """
    @dev Prices `asset` from both sources and checks everything; never
         reverts on a bad source, it reports it in `status`.
    @param asset Any address.
    @return IOracleRouter.PriceData The result.
    """
    pointer: address = self.config_pointer[asset]
    if pointer == empty(address):
        return IOracleRouter.PriceData(status=NOT_CONFIGURED, price=0, twap_price=0, low=0, high=0, updated_at=0)
    data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    cache: DynArray[QuoteLeg, _QUOTE_CACHE] = []
    data, cache = self._price_from(self._load(pointer), cache)
    return data


@internal
@view
def _price_from(
    config: FeedConfig, cache: DynArray[QuoteLeg, _QUOTE_CACHE]
) -> (IOracleRouter.PriceData, DynArray[QuoteLeg, _QUOTE_CACHE]):
    """
    @dev The checks of `_evaluate` on a loaded configuration.
    @param config The asset's configuration.
    @param cache Quote legs already read in this call.
    @return IOracleRouter.PriceData The result.
    @return DynArray The cache, updated.
    """
    data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    legs: DynArray[QuoteLeg, _QUOTE_CACHE] = cache

    # The feed, through its quote asset where it is routed.
    status: uint8 = OK
    answer: uint256 = 0
    updated_at: uint256 = 0
    status, answer, updated_at = self._chainlink(config)
    if status != OK:
        data.status = status
        return data, legs
    price: uint256 = answer
    if config.params.quote != empty(address):
        leg: QuoteLeg = empty(QuoteLeg)
        leg, legs = self._quote_leg(config.params.quote, legs)
        if leg.status != OK:
            data.status = QUOTE_UNUSABLE
            return data, legs
        price = math._mul_div(answer, leg.price, constants.WAD, False)
        updated_at = min(updated_at, leg.updated_at)
    data.updated_at = updated_at
    if price < config.params.min_price or price > config.params.max_price:
        data.status = OUT_OF_BOUNDS
        return data, legs
    data.price = price

    # The pool, converted to USD through the quote token's feed.
    twap_status: uint8 = OK
    twap: uint256 = 0
    twap_status, twap, legs = self._twap(config, legs)
    if twap_status != OK:
        data.status = twap_status
        return data, legs
    data.twap_price = twap
    # checked products of a price (within its sanity bounds) with basis points
    if max(price, twap) - min(price, twap) > price * config.params.max_deviation_bps // constants.BPS:
        data.status = DISPUTED
        return data, legs

    data.low = min(price, twap) * (constants.BPS - config.params.error_bps) // constants.BPS
    data.high = (max(price, twap) * (constants.BPS + config.params.error_bps) + constants.BPS - 1) // constants.BPS
    return data, legs


@internal
@view
def _chainlink(config: FeedConfig) -> (uint8, uint256, uint256):
    """
    @dev Reads and checks one feed's latest round, without its quote leg.
    @param config The feed's configuration.
    @return uint8 The status.
    @return uint256 The answer scaled to 18 decimals, 0 unless OK.
    @return uint256 The round's `updatedAt`.
    """
    success: bool = False
    response: Bytes[160] = b""
    success, response = raw_call(
        config.params.feed,
        method_id("latestRoundData()"),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != 160:
        return NO_ANSWER, 0, 0
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in_round: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in_round = abi_decode(
        response, (uint80, int256, uint256, uint256, uint80)
    )
    if answer <= 0:
        return NON_POSITIVE, 0, updated_at
    if updated_at == 0 or answered_in_round < round_id or updated_at > block.timestamp:
        return INCOMPLETE, 0, updated_at
    if block.timestamp - updated_at > convert(config.params.heartbeat, uint256) + convert(config.params.grace, uint256):
        return STALE, 0, updated_at
    if config.clamp_max > config.clamp_min and (answer <= config.clamp_min or answer >= config.clamp_max):
        return CLAMPED, 0, updated_at
    scaled: uint256 = math._mul_div(convert(answer, uint256), constants.WAD, 10 ** convert(config.feed_decimals, uint256), False)
    return OK, scaled, updated_at


@internal
@view
def _twap(
    config: FeedConfig, cache: DynArray[QuoteLeg, _QUOTE_CACHE]
) -> (uint8, uint256, DynArray[QuoteLeg, _QUOTE_CACHE]):
    """
    @dev The pool's time-weighted USD price of one whole asset, and whether
         the pool was deep enough over the window to trust it. The pool's
         other token must have a USD feed of its own (not a routed one).
    @param config The asset's configuration.
    @param cache Quote legs already read in this call.
    @return uint8 The status.
    @return uint256 The USD price (18 decimals), 0 unless OK.
    @return DynArray The cache, updated.
    """
    ok: bool = False
    mean_tick: int24 = 0
    liquidity: uint128 = 0
    ok, mean_tick, liquidity = uniswap_v3_twap._try_consult(config.params.pool, config.params.twap_window)
    if not ok:
        return TWAP_UNAVAILABLE, 0, cache
    leg: QuoteLeg = empty(QuoteLeg)
    legs: DynArray[QuoteLeg, _QUOTE_CACHE] = cache
    leg, legs = self._quote_leg(config.pool_quote, legs)
    if leg.status == NOT_CONFIGURED:
        return TWAP_UNAVAILABLE, 0, legs
    if leg.status != OK or leg.routed:
        return QUOTE_UNUSABLE, 0, legs
    quote_price: uint256 = leg.price
    quote_unit: uint256 = leg.unit

    # Virtual depth of the quote side at the mean price: L * sqrtP on token1,
    # L / sqrtP on token0 (raw units), twice that for both sides, in USD.
    sqrt_ratio: uint256 = uniswap_v3_twap._sqrt_ratio_at_tick(mean_tick)
    quote_depth: uint256 = 0
    if config.asset_is_token0:
        quote_depth = math._mul_div(convert(liquidity, uint256), sqrt_ratio, _Q96, False)
    else:
        # below 2**224: a liquidity (128 bits) times 2**96
        quote_depth = convert(liquidity, uint256) * _Q96 // sqrt_ratio
    if math._mul_div(2 * quote_depth, quote_price, quote_unit, False) < config.params.min_depth:
        return TWAP_THIN, 0, legs

    one_token: uint256 = 10 ** convert(config.token_decimals, uint256)
    quote_amount: uint256 = uniswap_v3_twap._quote_at_sqrt_ratio(sqrt_ratio, one_token, config.asset_is_token0)
    return OK, math._mul_div(quote_amount, quote_price, quote_unit, False), legs


@internal
@view
def _read_clamps(feed: address) -> (int256, int256):
    """
    @dev The minAnswer/maxAnswer of the aggregator behind a proxy, or (0, 0)
         when the feed publishes none (mock aggregators, some L2 feeds).
    @param feed The feed proxy.
    @return int256 The lower clamp.
    @return int256 The upper clamp.
    """
    aggregator: address = feed
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        feed, method_id("aggregator()"), max_outsize=32, is_static_call=True, revert_on_failure=False
    )
    if success and len(response) == 32:
        aggregator = abi_decode(response, address)
    lower: int256 = 0
    upper: int256 = 0
    success, response = raw_call(
        aggregator, method_id("minAnswer()"), max_outsize=32, is_static_call=True, revert_on_failure=False
    )
    if not success or len(response) != 32:
        return 0, 0
    lower = abi_decode(response, int256)
    success, response = raw_call(
        aggregator, method_id("maxAnswer()"), max_outsize=32, is_static_call=True, revert_on_failure=False
    )
    if not success or len(response) != 32:
        return 0, 0
    upper = abi_decode(response, int256)
    return lower, upper


@internal
@view
def _decimals(token: address, reason: String[40]) -> uint8:
    """
    @dev `decimals()` of a token or feed, at most 36.
    @param token The contract.
    @param reason The revert reason when it cannot be read.
    @return uint8 Its decimals.
    """
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        token, method_id("decimals()"), max_outsize=32, is_static_call=True, revert_on_failure=False
    )
    assert success and len(response) == 32, reason
    value: uint256 = abi_decode(response, uint256)
    assert value <= 36, "oracle: too many decimals"
    return convert(value, uint8)


@internal
@pure
def _require_ok(status: uint8):
    """
    @dev Reverts with the reason of `status` unless it is `OK`.
    @param status A status.
    """
    if status != OK:
        raise self._reason(status)


@internal
@pure
def _reason(status: uint8) -> String[40]:
    """
    @dev The human reason of a status.
    @param status A status.
    @return String The reason.
    """
    if status == OK:
        return "oracle: ok"
    if status == NOT_CONFIGURED:
        return "oracle: not configured"
    if status == NO_ANSWER:
        return "oracle: feed gives no answer"
    if status == NON_POSITIVE:
        return "oracle: non-positive answer"
    if status == INCOMPLETE:
        return "oracle: incomplete round"
    if status == STALE:
        return "oracle: stale price"
    if status == CLAMPED:
        return "oracle: answer at circuit-breaker clamp"
    if status == OUT_OF_BOUNDS:
        return "oracle: price outside sanity bounds"
    if status == QUOTE_UNUSABLE:
        return "oracle: quote price unusable"
    if status == TWAP_UNAVAILABLE:
        return "oracle: twap unavailable"
    if status == TWAP_THIN:
        return "oracle: twap liquidity too thin"
    if status == DISPUTED:
        return "oracle: feed and twap disagree"
    return "oracle: unknown status"
