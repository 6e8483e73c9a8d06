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

        Each asset's configuration is packed into eight words in a data
        contract of its own. A basket priced together (a vault's
        constituents, in the vault's order) can also be *bundled*: anyone
        may copy the configurations of a list of assets into one data
        contract (`bundle`), which pricing that list then reads eight
        configurations at a time (one copy of its code each) instead of one
        storage read and one copy per asset. A bundle is
        used only while no configuration has changed since it was made
        (`config_version`); otherwise pricing reads each asset's own
        configuration, with the same result.
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


# @dev Quote-leg slots of one pricing pass: the cache and two spares (an
# asset's pool leg and its routed quote leg when the cache is full); a
# bundle assigns up to all of them to distinct quote assets.
_LEG_SLOTS: constant(uint256) = _QUOTE_CACHE + 2
_CACHED_SLOTS: constant(uint256) = 2**_QUOTE_CACHE - 1


# @dev Words of a packed configuration (see `_pack`), and its bytes.
_CONFIG_WORDS: constant(uint256) = 8
_CONFIG_BYTES: constant(uint256) = _CONFIG_WORDS * 32


# @dev A bundle's configurations are read `_CHUNK` at a time: its words are
# a run of chunks, each the ABI encoding of a dynamic array of at most
# `_CHUNK` configurations (its offset and its length, then the
# configurations), the last one padded with zero words to the same size.
# One copy of a fixed size from the bundle's code and one decode (a length
# check and a single memory copy, where eight-word decodes copy word by
# word) read a chunk.
_CHUNK: constant(uint256) = 8
_CHUNK_WORDS: constant(uint256) = 2 + _CHUNK * _CONFIG_WORDS
_CHUNK_BYTES: constant(uint256) = _CHUNK_WORDS * 32
_BUNDLE_WORDS: constant(uint256) = (constants.MAX_ASSETS + _CHUNK - 1) // _CHUNK * _CHUNK_WORDS


# @dev Where a bundle's first chunk starts in its blob: after the offset and
# the length of the blob's ABI encoding as a dynamic array of words.
_BUNDLE_HEAD: constant(uint256) = 64


# @dev Masks of the packed fields.
_MASK_8: constant(uint256) = 2**8 - 1
_MASK_16: constant(uint256) = 2**16 - 1
_MASK_32: constant(uint256) = 2**32 - 1
_MASK_128: constant(uint256) = 2**128 - 1
_MASK_160: constant(uint256) = 2**160 - 1


# @dev Where each field sits in its packed word (see `_pack`): word 0 holds
# the feed and these three, word 1 the pool and the next five, word 2 the
# quote and the depth floor, word 3 the pool's other token and the
# staleness limit (and a bundle's two leg slots), word 4 the two sanity
# bounds, word 7 the token's and the feed's units.
_HEARTBEAT_SHIFT: constant(uint256) = 160
_GRACE_SHIFT: constant(uint256) = 192
_WINDOW_SHIFT: constant(uint256) = 224
_FEED_DECIMALS_SHIFT: constant(uint256) = 160
_TOKEN_DECIMALS_SHIFT: constant(uint256) = 168
_DEVIATION_SHIFT: constant(uint256) = 176
_ERROR_SHIFT: constant(uint256) = 192
_SIDE_SHIFT: constant(uint256) = 208
_DEPTH_SHIFT: constant(uint256) = 160
_MAX_PRICE_SHIFT: constant(uint256) = 128
_POOL_SLOT_SHIFT: constant(uint256) = 160
_QUOTE_SLOT_SHIFT: constant(uint256) = 168
_STALENESS_SHIFT: constant(uint256) = 176
_FEED_UNIT_SHIFT: constant(uint256) = 128


# @dev The largest amount valued with unchecked products (see `_price_all`).
_MAX_UNCHECKED_AMOUNT: constant(uint256) = 2**126 - 1


# @dev The largest price bound and depth floor a packed configuration holds.
_MAX_PACKED_PRICE: constant(uint256) = 2**128 - 1
_MAX_PACKED_DEPTH: constant(uint256) = 2**96 - 1


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


# The feed of an asset that prices others (a routed feed's quote, a pool's
# other token), read once a call.
struct QuoteLeg:
    status: uint8  # its feed's status, without its own TWAP check
    price: uint256  # its feed's USD price (18 decimals), 0 unless OK
    updated_at: uint256  # its feed's round
    unit: uint256  # 10 ** its decimals
    routed: bool  # whether its own feed is routed (then it cannot quote a TWAP)


struct Priced:
    prices: DynArray[uint256, constants.MAX_ASSETS]  # each asset's feed price, when asked for
    decimals: DynArray[uint8, constants.MAX_ASSETS]  # each asset's decimals, with its price
    value: IOracleRouter.Valuation  # the amounts' sums, when amounts are given
    base: IOracleRouter.PriceData  # the price data of the base asset (or of the first unusable price)


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev Per asset, the data contract holding its packed `FeedConfig` (see
# `code_store` and `_pack`).
config_pointer: public(HashMap[address, address])


# @dev Counts configuration changes; a bundle is used only at the version it
# was made at.
config_version: public(uint256)


# @dev keccak256(abi_encode(assets)) => the bundle's data contract (low 160
# bits) and the `config_version` it was made at (above).
_bundles: HashMap[bytes32, uint256]


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


event ConfigsBundled:
    key: indexed(bytes32)
    pointer: address
    version: uint256
    assets: DynArray[address, constants.MAX_ASSETS]


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
    assert params.max_price <= _MAX_PACKED_PRICE, "oracle: sanity bound too high"
    assert params.twap_window >= MIN_TWAP_WINDOW, "oracle: twap window too short"
    assert params.twap_window <= MAX_TWAP_WINDOW, "oracle: twap window too long"
    assert params.min_depth >= MIN_DEPTH_FLOOR, "oracle: depth floor too low"
    assert params.min_depth <= _MAX_PACKED_DEPTH, "oracle: depth floor too high"
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
    self._store(asset, config)
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
    self.config_version += 1
    log FeedRemoved(asset=asset)


@external
def refresh_clamps(asset: address):
    """
    @dev Re-reads the circuit-breaker bounds of the aggregator currently
         behind the asset's feed proxy. Anyone may call it: it only copies
         what the feed itself publishes. Unchanged bounds change nothing
         (so that no one can invalidate the bundles for free).
    @param asset A configured asset.
    """
    pointer: address = self.config_pointer[asset]
    assert pointer != empty(address), "oracle: not configured"
    config: FeedConfig = self._load(pointer)
    clamp_min: int256 = 0
    clamp_max: int256 = 0
    clamp_min, clamp_max = self._read_clamps(config.params.feed)
    if clamp_min == config.clamp_min and clamp_max == config.clamp_max:
        return
    config.clamp_min = clamp_min
    config.clamp_max = clamp_max
    self._store(asset, config)
    log ClampsRefreshed(asset=asset, clamp_min=clamp_min, clamp_max=clamp_max)


@external
def bundle(assets: DynArray[address, constants.MAX_ASSETS]) -> address:
    """
    @dev Copies the configurations of `assets`, in this order, into one data
         contract, which pricing exactly this list then reads instead of
         each asset's own (a storage read and a call per asset saved), until
         the next configuration change. Anyone may call it: it copies what
         is configured. Each distinct quote asset of the list (a pool's
         other token, a routed feed's quote) gets a leg slot, noted in the
         spare bits of the copied fourth word; a list with more than
         `_LEG_SLOTS` of them is refused (and priced unbundled). The
         configurations are laid out in chunks of `_CHUNK`, each read with
         one copy and one decode.
    @param assets At least two configured assets (a vault's constituents,
           in the vault's order).
    @return address The bundle's data contract.
    """
    assert len(assets) > 1, "oracle: bundle of fewer than two"
    words: DynArray[uint256, _BUNDLE_WORDS] = []
    # each distinct quote asset gets a slot, which pricing then reads its
    # leg into once (see `_price_all`)
    leg_assets: address[_LEG_SLOTS] = empty(address[_LEG_SLOTS])
    leg_count: uint256 = 0
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        if i % _CHUNK == 0:
            # a chunk's head: the offset and the length of its ABI encoding
            # (the configurations left, at most `_CHUNK`)
            words.append(32)
            words.append(min(_CHUNK, len(assets) - i))
        pointer: address = self.config_pointer[assets[i]]
        assert pointer != empty(address), "oracle: not configured"
        w: uint256[_CONFIG_WORDS] = self._words(pointer, 0)
        pool_slot: uint256 = 0
        quote_slot: uint256 = 0
        pool_slot, leg_count = self._bundle_slot(leg_assets, leg_count, convert(w[3] & _MASK_160, address))
        leg_assets[pool_slot] = convert(w[3] & _MASK_160, address)
        if w[2] & _MASK_160 != 0:
            quote_slot, leg_count = self._bundle_slot(leg_assets, leg_count, convert(w[2] & _MASK_160, address))
            leg_assets[quote_slot] = convert(w[2] & _MASK_160, address)
        w[3] |= (pool_slot << _POOL_SLOT_SHIFT) | (quote_slot << _QUOTE_SLOT_SHIFT)
        for word: uint256 in w:
            words.append(word)
    # the last chunk padded to the size of a chunk (at most seven zero
    # configurations), so that every chunk is read with one fixed size
    for k: uint256 in range(_CHUNK_WORDS):
        if len(words) % _CHUNK_WORDS == 0:
            break
        words.append(0)
    pointer: address = code_store._write_large(abi_encode(words))
    key: bytes32 = keccak256(abi_encode(assets))
    version: uint256 = self.config_version
    self._bundles[key] = convert(pointer, uint256) | (version << 160)
    log ConfigsBundled(key=key, pointer=pointer, version=version, assets=assets)
    return pointer


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
    return self._price_all([asset], [], asset, True).base.price


@external
@view
def price_status(asset: address) -> uint8:
    """
    @dev Why the price of `asset` is unusable (`OK` when it is usable).
    @param asset Any address.
    @return uint8 One of the status constants.
    """
    return self._price_all([asset], [], asset, False).base.status


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
    data: IOracleRouter.PriceData = self._price_all([asset], [], asset, True).base
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
    return self._price_all([asset], [], asset, False).base


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
    priced: Priced = self._price_all(assets, [], empty(address), True)
    return priced.prices, priced.decimals


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
    assert len(assets) == len(amounts), "oracle: wrong array length"
    return self._price_all(assets, amounts, empty(address), True).value


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
    assert len(assets) == len(amounts), "oracle: wrong array length"
    priced: Priced = self._price_all(assets, amounts, base, True)
    assert priced.base.status == OK and priced.base.price != 0, "oracle: base not among the assets"
    return priced.value, priced.base


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
@view
def bundle_current(assets: DynArray[address, constants.MAX_ASSETS]) -> bool:
    """
    @dev Whether pricing exactly `assets` (in this order) reads a bundle:
         one was made for this list and no configuration changed since.
    @param assets The tokens.
    @return bool Whether the bundle is current.
    """
    return self._bundle_of(assets) != empty(address)


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
def _price_all(
    assets: DynArray[address, constants.MAX_ASSETS], amounts: DynArray[uint256, constants.MAX_ASSETS], base: address, strict: bool
) -> Priced:
    """
    @dev Prices `assets` in one pass, sharing the quote legs (each quote
         asset's feed is read once). With `amounts` (as many), sums their
         values; without, lists each price and decimals. Reads the list's
         bundle when it is current, else each asset's configuration.
    @param assets The tokens.
    @param amounts Their amounts, or none.
    @param base The asset whose price data is returned (empty: none).
    @param strict Revert with the reason of the first unusable price;
           otherwise stop there and return its data as the base's (for a
           caller asking about one asset).
    @return Priced The prices or sums, and the base's price data.
    """
    valued: bool = len(amounts) != 0
    out: Priced = empty(Priced)
    mid: uint256 = 0
    low: uint256 = 0
    high: uint256 = 0
    oldest: uint256 = max_value(uint256)
    bundle: address = self._bundle_of(assets)
    # the quote legs read so far: in a bundle, at the slots it assigned
    # (`bundle`); otherwise found by their assets, kept apart for a cheap
    # search, with one more slot than the cache for a leg that did not fit
    legs: QuoteLeg[_LEG_SLOTS] = empty(QuoteLeg[_LEG_SLOTS])
    leg_assets: address[_LEG_SLOTS] = empty(address[_LEG_SLOTS])
    leg_count: uint256 = 0
    read: uint256 = 0
    # the price data of the asset in hand; a bad source stops the pass with
    # its status, as far as `data` got
    data: IOracleRouter.PriceData = empty(IOracleRouter.PriceData)
    # the asset's packed configuration (`_pack`), read anew for each asset
    w: uint256[_CONFIG_WORDS] = empty(uint256[_CONFIG_WORDS])
    # a bundle's configurations of the assets in hand, `_CHUNK` at a time
    chunk: DynArray[uint256[_CONFIG_WORDS], _CHUNK] = []
    for i: uint256 in range(len(assets), bound=constants.MAX_ASSETS):
        data = empty(IOracleRouter.PriceData)
        # the slots of its pool's leg and of its routed feed's quote leg
        pool_slot: uint256 = 0
        quote_slot: uint256 = 0
        if bundle != empty(address):
            # the asset's configuration in its chunk (see `bundle`), each
            # chunk read when its first asset comes
            j: uint256 = i % _CHUNK
            if j == 0:
                chunk = abi_decode(
                    slice(bundle.code, code_store.DATA_OFFSET + _BUNDLE_HEAD + i // _CHUNK * _CHUNK_BYTES, _CHUNK_BYTES),
                    DynArray[uint256[_CONFIG_WORDS], _CHUNK],
                )
            w = chunk[j]
            pool_slot = (w[3] >> _POOL_SLOT_SHIFT) & _MASK_8
            quote_slot = (w[3] >> _QUOTE_SLOT_SHIFT) & _MASK_8
        else:
            pointer: address = self.config_pointer[assets[i]]
            if pointer == empty(address):
                data.status = NOT_CONFIGURED
                break
            w = self._words(pointer, 0)
            pool_slot, leg_count = self._leg_slot(leg_assets, leg_count, convert(w[3] & _MASK_160, address), _QUOTE_CACHE)
            leg_assets[pool_slot] = convert(w[3] & _MASK_160, address)
            if w[2] & _MASK_160 != 0:
                quote_slot, leg_count = self._leg_slot(leg_assets, leg_count, convert(w[2] & _MASK_160, address), _QUOTE_CACHE + 1)
                leg_assets[quote_slot] = convert(w[2] & _MASK_160, address)
            # a leg that did not fit the cache is read again each time
            read &= _CACHED_SLOTS
        if read & (1 << pool_slot) == 0:
            legs[pool_slot] = self._quote_leg(convert(w[3] & _MASK_160, address))
            read |= 1 << pool_slot
        if w[2] & _MASK_160 != 0 and read & (1 << quote_slot) == 0:
            legs[quote_slot] = self._quote_leg(convert(w[2] & _MASK_160, address))
            read |= 1 << quote_slot

        # The asset priced from both sources, every check in turn (inlined:
        # no call and no copy per asset).
        pool_leg: QuoteLeg = legs[pool_slot]
        # The feed: `_chainlink`, inlined (the same checks in the same
        # order, the same statuses), then its quote asset where it is routed.
        success: bool = False
        response: Bytes[160] = b""
        success, response = raw_call(
            convert(w[0] & _MASK_160, address),
            method_id("latestRoundData()"),
            max_outsize=160,
            is_static_call=True,
            revert_on_failure=False,
        )
        if not success or len(response) != 160:
            data.status = NO_ANSWER
            break
        # roundId, answer, startedAt, updatedAt, answeredInRound
        r: uint256[5] = abi_decode(response, uint256[5])
        answer: int256 = convert(convert(r[1], bytes32), int256)
        updated_at: uint256 = r[3]
        if answer <= 0:
            data.status = NON_POSITIVE
            break
        if updated_at == 0 or r[4] < r[0] or updated_at > block.timestamp:
            data.status = INCOMPLETE
            break
        if unsafe_sub(block.timestamp, updated_at) > w[3] >> _STALENESS_SHIFT:
            data.status = STALE
            break
        if convert(convert(w[6], bytes32), int256) > convert(convert(w[5], bytes32), int256) and (
            answer <= convert(convert(w[5], bytes32), int256) or answer >= convert(convert(w[6], bytes32), int256)
        ):
            data.status = CLAMPED
            break
        price: uint256 = 0
        if r[1] <= _MASK_128:
            price = unsafe_div(unsafe_mul(r[1], constants.WAD), w[7] >> _FEED_UNIT_SHIFT)
        else:
            price = math._mul_div(r[1], constants.WAD, w[7] >> _FEED_UNIT_SHIFT, False)
        if w[2] & _MASK_160 != 0:
            if legs[quote_slot].status != OK:
                data.status = QUOTE_UNUSABLE
                break
            # both factors are within their sanity bounds (below 2**128)
            price = price * legs[quote_slot].price // constants.WAD
            updated_at = min(updated_at, legs[quote_slot].updated_at)
        data.updated_at = updated_at
        # the sanity bounds: the low and the high 128 bits of the fifth word
        if price < w[4] & _MASK_128 or price > w[4] >> _MAX_PRICE_SHIFT:
            data.status = OUT_OF_BOUNDS
            break
        data.price = price

        # The pool's time-weighted price, converted to USD through its other
        # token's feed (which must be a USD feed of its own).
        ok: bool = False
        mean_tick: int256 = 0
        liquidity: uint256 = 0
        ok, mean_tick, liquidity = uniswap_v3_twap._try_observe(convert(w[1] & _MASK_160, address), convert(w[0] >> _WINDOW_SHIFT, uint32))
        if not ok:
            data.status = TWAP_UNAVAILABLE
            break
        if pool_leg.status == NOT_CONFIGURED:
            data.status = TWAP_UNAVAILABLE
            break
        if pool_leg.status != OK or pool_leg.routed:
            data.status = QUOTE_UNUSABLE
            break

        # Virtual depth of the quote side at the mean price: L * sqrtP on token1,
        # L / sqrtP on token0 (raw units), twice that for both sides, in USD.
        sqrt_ratio: uint256 = uniswap_v3_twap._sqrt_ratio_at_valid_tick(mean_tick)
        asset_is_token0: bool = (w[1] >> _SIDE_SHIFT) & _MASK_8 != 0
        quote_depth: uint256 = 0
        # Unchecked where exact (tests/fuzz/test_oracle_unchecked_math.py): the
        # liquidity is below 2**128 and the square root ratio in
        # [MIN_SQRT_RATIO, MAX_SQRT_RATIO], not zero and below 2**160, so a
        # product of both is below 2**256 while the ratio is below 2**128, a
        # liquidity times 2**96 is below 2**224, and either depth is below 2**193
        # (and its double below 2**194); a unit (`10 ** decimals`) is at least
        # one, and a product of two factors below 2**128 is below 2**256.
        if not asset_is_token0:
            quote_depth = unsafe_div(liquidity << 96, sqrt_ratio)
        elif sqrt_ratio <= _MASK_128:
            quote_depth = unsafe_mul(liquidity, sqrt_ratio) >> 96
        else:
            quote_depth = math._mul_div(liquidity, sqrt_ratio, _Q96, False)
        quote_depth = unsafe_add(quote_depth, quote_depth)
        if quote_depth <= _MASK_128 and pool_leg.price <= _MASK_128:
            quote_depth = unsafe_div(unsafe_mul(quote_depth, pool_leg.price), pool_leg.unit)
        else:
            quote_depth = math._mul_div(quote_depth, pool_leg.price, pool_leg.unit, False)
        if quote_depth < w[2] >> _DEPTH_SHIFT:
            data.status = TWAP_THIN
            break
        twap: uint256 = uniswap_v3_twap._quote_at_sqrt_ratio(sqrt_ratio, w[7] & _MASK_128, asset_is_token0)
        if twap <= _MASK_128 and pool_leg.price <= _MASK_128:
            twap = unsafe_div(unsafe_mul(twap, pool_leg.price), pool_leg.unit)
        else:
            twap = math._mul_div(twap, pool_leg.price, pool_leg.unit, False)
        data.twap_price = twap

        lower: uint256 = min(price, twap)
        upper: uint256 = max(price, twap)
        # Unchecked, exact (tests/fuzz/test_oracle_unchecked_math.py): `price`
        # passed its sanity bounds, so it is below 2**128, and `lower <= price`;
        # the deviation and error fields are 16 bits wide, and `set_feed` keeps
        # them at most `MAX_DEVIATION_BPS` and `MAX_ERROR_BPS` (below `BPS`).
        # Past the deviation check, `upper <= price + price * 15%` is below
        # 2**129; every product below is then below 2**146, and `BPS` divides.
        if unsafe_sub(upper, lower) > unsafe_div(unsafe_mul(price, (w[1] >> _DEVIATION_SHIFT) & _MASK_16), constants.BPS):
            data.status = DISPUTED
            break

        error_bps: uint256 = (w[1] >> _ERROR_SHIFT) & _MASK_16
        data.low = unsafe_div(unsafe_mul(lower, unsafe_sub(constants.BPS, error_bps)), constants.BPS)
        data.high = unsafe_div(unsafe_add(unsafe_mul(upper, unsafe_add(constants.BPS, error_bps)), constants.BPS - 1), constants.BPS)

        if valued:
            unit: uint256 = w[7] & _MASK_128
            amount: uint256 = amounts[i]
            if amount <= _MAX_UNCHECKED_AMOUNT:
                # unchecked products (tests/fuzz/test_oracle_unchecked_math.py):
                # an OK price is below 2**128 (its sanity bounds), its low
                # end below it and its high end below 2**129 (see
                # `_price_from`), so each product with an amount below
                # 2**126 is below 2**255, and so is it plus a unit less one
                # (below 2**120; a unit is at least one); the sums stay checked
                mid += unsafe_div(unsafe_mul(amount, data.price), unit)
                low += unsafe_div(unsafe_mul(amount, data.low), unit)
                high += unsafe_div(unsafe_add(unsafe_mul(amount, data.high), unsafe_sub(unit, 1)), unit)
            else:
                # checked products: they revert rather than mislead
                mid += amount * data.price // unit
                low += amount * data.low // unit
                high += (amount * data.high + unit - 1) // unit
            oldest = min(oldest, data.updated_at)
        else:
            out.prices.append(data.price)
            out.decimals.append(convert((w[1] >> _TOKEN_DECIMALS_SHIFT) & _MASK_8, uint8))
        if assets[i] == base:
            out.base = data
    if data.status != OK:
        # the pass stopped at the first unusable price
        if strict:
            raise self._reason(data.status)
        out.base = data
        return out
    out.value = IOracleRouter.Valuation(mid=mid, low=low, high=high, oldest_update=oldest)
    return out


@internal
@view
def _bundle_of(assets: DynArray[address, constants.MAX_ASSETS]) -> address:
    """
    @dev The data contract of the current bundle of exactly `assets`, or
         empty (no bundle, an outdated one, or fewer than two assets).
    @param assets The tokens.
    @return address The bundle's data contract, or empty.
    """
    if len(assets) < 2:
        return empty(address)
    record: uint256 = self._bundles[keccak256(abi_encode(assets))]
    if record == 0 or record >> 160 != self.config_version:
        return empty(address)
    return convert(record & _MASK_160, address)


@internal
@pure
def _leg_slot(leg_assets: address[_LEG_SLOTS], count: uint256, asset: address, spare: uint256) -> (uint256, uint256):
    """
    @dev The slot of `asset`'s quote leg among the first `count` assigned,
         assigning the next one when it has none; once all `_QUOTE_CACHE`
         are taken, the `spare` slot (read again each time).
    @param leg_assets The assets of the slots assigned.
    @param count How many are assigned.
    @param asset The quote asset.
    @param spare The slot to use when the cache is full.
    @return uint256 Its slot.
    @return uint256 How many are assigned now.
    """
    for m: uint256 in range(_QUOTE_CACHE):
        if m == count:
            break
        if leg_assets[m] == asset:
            return m, count
    if count == _QUOTE_CACHE:
        return spare, count
    return count, count + 1


@internal
@pure
def _bundle_slot(leg_assets: address[_LEG_SLOTS], count: uint256, asset: address) -> (uint256, uint256):
    """
    @dev The slot a bundle gives `asset`'s quote leg: the one it has among
         the first `count`, or the next.
    @param leg_assets The assets of the slots assigned.
    @param count How many are assigned.
    @param asset The quote asset.
    @return uint256 Its slot.
    @return uint256 How many are assigned now.
    """
    for m: uint256 in range(_LEG_SLOTS):
        if m == count:
            break
        if leg_assets[m] == asset:
            return m, count
    assert count < _LEG_SLOTS, "oracle: too many quote assets to bundle"
    return count, count + 1


@internal
@view
def _words(pointer: address, start: uint256) -> uint256[_CONFIG_WORDS]:
    """
    @dev One packed configuration copied from a data contract's code (one
         EXTCODECOPY of its eight words, not the whole blob).
    @param pointer The data contract.
    @param start Where the configuration starts in its blob.
    @return uint256[8] The packed configuration.
    """
    return abi_decode(slice(pointer.code, code_store.DATA_OFFSET + start, _CONFIG_BYTES), uint256[_CONFIG_WORDS])


@internal
@view
def _quote_leg(asset: address) -> QuoteLeg:
    """
    @dev The feed price of a quote asset, read from its own configuration.
    @param asset The quote asset.
    @return QuoteLeg The leg (`NOT_CONFIGURED` when it has no configuration).
    """
    leg: QuoteLeg = QuoteLeg(status=NOT_CONFIGURED, price=0, updated_at=0, unit=0, routed=False)
    pointer: address = self.config_pointer[asset]
    if pointer != empty(address):
        w: uint256[_CONFIG_WORDS] = self._words(pointer, 0)
        leg.status, leg.price, leg.updated_at = self._chainlink(w)
        leg.unit = w[7] & _MASK_128
        leg.routed = w[2] & _MASK_160 != 0
    return leg


@internal
def _store(asset: address, config: FeedConfig):
    """
    @dev Writes `config` (packed) to a new data contract for `asset`, and
         retires every bundle.
    @param asset The asset.
    @param config Its configuration.
    """
    self.config_pointer[asset] = code_store._write(abi_encode(self._pack(config)))
    self.config_version += 1


@internal
@view
def _load(pointer: address) -> FeedConfig:
    """
    @dev Reads a configuration from its data contract.
    @param pointer The data contract.
    @return FeedConfig The configuration.
    """
    return self._unpack(self._words(pointer, 0))


@internal
@pure
def _pack(c: FeedConfig) -> uint256[_CONFIG_WORDS]:
    """
    @dev Packs a configuration into eight words. Every field fits its bits:
         the integer widths, basis points below 2**16 and the price bounds
         and depth floor below `_MAX_PACKED_PRICE` and `_MAX_PACKED_DEPTH`
         (checked by `set_feed`). The clamps keep all 256 bits. What pricing
         would otherwise compute each time is stored as well: the staleness
         limit (heartbeat plus grace, below 2**19) and the units
         (`10 ** decimals`, at most 10**36, below 2**120).
    @param c The configuration.
    @return uint256[8] [feed | heartbeat | grace | window, pool | decimals |
            deviation | error | side, quote | depth, pool quote | staleness
            limit, bounds, clamp min, clamp max, token unit | feed unit].
    """
    return [
        convert(c.params.feed, uint256)
        | (convert(c.params.heartbeat, uint256) << _HEARTBEAT_SHIFT)
        | (convert(c.params.grace, uint256) << _GRACE_SHIFT)
        | (convert(c.params.twap_window, uint256) << _WINDOW_SHIFT),
        convert(c.params.pool, uint256)
        | (convert(c.feed_decimals, uint256) << _FEED_DECIMALS_SHIFT)
        | (convert(c.token_decimals, uint256) << _TOKEN_DECIMALS_SHIFT)
        | (c.params.max_deviation_bps << _DEVIATION_SHIFT)
        | (c.params.error_bps << _ERROR_SHIFT)
        | (convert(c.asset_is_token0, uint256) << _SIDE_SHIFT),
        convert(c.params.quote, uint256) | (c.params.min_depth << _DEPTH_SHIFT),
        convert(c.pool_quote, uint256)
        | ((convert(c.params.heartbeat, uint256) + convert(c.params.grace, uint256)) << _STALENESS_SHIFT),
        c.params.min_price | (c.params.max_price << _MAX_PRICE_SHIFT),
        convert(convert(c.clamp_min, bytes32), uint256),
        convert(convert(c.clamp_max, bytes32), uint256),
        10 ** convert(c.token_decimals, uint256) | (10 ** convert(c.feed_decimals, uint256) << _FEED_UNIT_SHIFT),
    ]


@internal
@pure
def _unpack(w: uint256[_CONFIG_WORDS]) -> FeedConfig:
    """
    @dev The configuration `_pack` packed.
    @param w The eight words.
    @return FeedConfig The configuration.
    """
    return FeedConfig(
        params=FeedParams(
            feed=convert(w[0] & _MASK_160, address),
            heartbeat=convert((w[0] >> _HEARTBEAT_SHIFT) & _MASK_32, uint32),
            grace=convert((w[0] >> _GRACE_SHIFT) & _MASK_32, uint32),
            quote=convert(w[2] & _MASK_160, address),
            min_price=w[4] & _MASK_128,
            max_price=w[4] >> _MAX_PRICE_SHIFT,
            pool=convert(w[1] & _MASK_160, address),
            twap_window=convert(w[0] >> _WINDOW_SHIFT, uint32),
            min_depth=w[2] >> _DEPTH_SHIFT,
            max_deviation_bps=(w[1] >> _DEVIATION_SHIFT) & _MASK_16,
            error_bps=(w[1] >> _ERROR_SHIFT) & _MASK_16,
        ),
        feed_decimals=convert((w[1] >> _FEED_DECIMALS_SHIFT) & _MASK_8, uint8),
        token_decimals=convert((w[1] >> _TOKEN_DECIMALS_SHIFT) & _MASK_8, uint8),
        clamp_min=convert(convert(w[5], bytes32), int256),
        clamp_max=convert(convert(w[6], bytes32), int256),
        pool_quote=convert(w[3] & _MASK_160, address),
        asset_is_token0=(w[1] >> _SIDE_SHIFT) & _MASK_8 != 0,
    )


@internal
@view
def _chainlink(w: uint256[_CONFIG_WORDS]) -> (uint8, uint256, uint256):
    """
    @dev Reads and checks one feed's latest round, without its quote leg
         (for a quote leg; `_price_all` inlines the same checks, in the
         same order, for each asset it prices: a change here belongs there
         too).
    @param w The asset's packed configuration (`_pack`).
    @return uint8 The status.
    @return uint256 The answer scaled to 18 decimals, 0 unless OK.
    @return uint256 The round's `updatedAt`.
    """
    success: bool = False
    response: Bytes[160] = b""
    success, response = raw_call(
        convert(w[0] & _MASK_160, address),
        method_id("latestRoundData()"),
        max_outsize=160,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != 160:
        return NO_ANSWER, 0, 0
    # roundId, answer, startedAt, updatedAt, answeredInRound
    r: uint256[5] = abi_decode(response, uint256[5])
    answer: int256 = convert(convert(r[1], bytes32), int256)
    updated_at: uint256 = r[3]
    if answer <= 0:
        return NON_POSITIVE, 0, updated_at
    if updated_at == 0 or r[4] < r[0] or updated_at > block.timestamp:
        return INCOMPLETE, 0, updated_at
    # heartbeat plus grace (summed by `_pack`); the round is not in the
    # future, so the age cannot underflow (unchecked)
    if unsafe_sub(block.timestamp, updated_at) > w[3] >> _STALENESS_SHIFT:
        return STALE, 0, updated_at
    clamp_min: int256 = convert(convert(w[5], bytes32), int256)
    clamp_max: int256 = convert(convert(w[6], bytes32), int256)
    if clamp_max > clamp_min and (answer <= clamp_min or answer >= clamp_max):
        return CLAMPED, 0, updated_at
    # the answer is positive: its word is its unsigned value
    raw: uint256 = r[1]
    unit: uint256 = w[7] >> _FEED_UNIT_SHIFT
    if raw <= _MASK_128:
        # unchecked (tests/fuzz/test_oracle_unchecked_math.py): below 2**128
        # times 10**18 is below 2**188, and a unit is at least one
        return OK, unsafe_div(unsafe_mul(raw, constants.WAD), unit), updated_at
    return OK, math._mul_div(raw, constants.WAD, unit, False), updated_at


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
