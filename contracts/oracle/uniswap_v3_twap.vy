# pragma version ~=0.4.3
"""
@title Uniswap V3 Time-Weighted Average Price
@custom:contract-name uniswap_v3_twap
@license GNU Affero General Public License v3.0 only
@notice Stateless helpers that read a time-weighted average price from a
        Uniswap V3 pool's oracle and turn a tick into an amount of the
        other pool token. They reproduce the arithmetic of Uniswap V3's
        `TickMath.getSqrtRatioAtTick` and `OracleLibrary.getQuoteAtTick`
        and `OracleLibrary.consult`, re-derived here from the definitions:
        a tick `t` stands for the price `1.0001**t` of token0 in token1,
        and the pool stores its square root as a Q64.96 fixed-point number.
        The module has no storage and no external functions: import it
        with `from . import uniswap_v3_twap` and call its internal
        functions. The arithmetic mean tick of a short window can be moved
        by whoever controls the pool's price over that window; the caller
        chooses a window long enough (and a pool deep enough) for the value
        it protects.
"""


from snekmate.utils import math

from ..interfaces import IUniswapV3Pool


# @dev The lowest tick whose price the pool can represent:
# `1.0001**MIN_TICK >= 2**-128`.
MIN_TICK: constant(int24) = -887272


# @dev The highest tick whose price the pool can represent:
# `1.0001**MAX_TICK <= 2**128`.
MAX_TICK: constant(int24) = 887272


# @dev `_sqrt_ratio_at_tick(MIN_TICK)`.
MIN_SQRT_RATIO: constant(uint256) = 4295128739


# @dev `_sqrt_ratio_at_tick(MAX_TICK)`.
MAX_SQRT_RATIO: constant(uint256) = 1461446703485210103287273052203988822378723970342


# @dev The factors of the binary expansion of `sqrt(1.0001)**-|tick|`, as
# Q128.128 numbers: `_FACTOR_i = round(2**128 * 1.0001**-(2**i / 2))`, rounded
# to the nearest integer. Each was computed with 120 significant digits
# of decimal arithmetic; `tests/unit/test_uniswap_v3_twap.py` recomputes
# them and checks every one. All are below `2**128`.
_FACTOR_0: constant(uint256) = 340265354078544963557816517032075149313
_FACTOR_1: constant(uint256) = 340248342086729790484326174814286782778
_FACTOR_2: constant(uint256) = 340214320654664324051920982716015181260
_FACTOR_3: constant(uint256) = 340146287995602323631171512101879684304
_FACTOR_4: constant(uint256) = 340010263488231146823593991679159461444
_FACTOR_5: constant(uint256) = 339738377640345403697157401104375502016
_FACTOR_6: constant(uint256) = 339195258003219555707034227454543997025
_FACTOR_7: constant(uint256) = 338111622100601834656805679988414885971
_FACTOR_8: constant(uint256) = 335954724994790223023589805789778977700
_FACTOR_9: constant(uint256) = 331682121138379247127172139078559817300
_FACTOR_10: constant(uint256) = 323299236684853023288211250268160618739
_FACTOR_11: constant(uint256) = 307163716377032989948697243942600083929
_FACTOR_12: constant(uint256) = 277268403626896220162999269216087595045
_FACTOR_13: constant(uint256) = 225923453940442621947126027127485391333
_FACTOR_14: constant(uint256) = 149997214084966997727330242082538205943
_FACTOR_15: constant(uint256) = 66119101136024775622716233608466517926
_FACTOR_16: constant(uint256) = 12847376061809297530290974190478138313
_FACTOR_17: constant(uint256) = 485053260817066172746253684029974020
_FACTOR_18: constant(uint256) = 691415978906521570653435304214168
_FACTOR_19: constant(uint256) = 1404880482679654955896180642


# @dev `2**32`: the scale between Q128.128 and Q64.96.
_Q32: constant(uint256) = 1 << 32


# @dev `2**64`: the scale between a squared Q64.96 number and Q128.128.
_Q64: constant(uint256) = 1 << 64


# @dev `2**128`: one, in Q128.128.
_Q128: constant(uint256) = 1 << 128


# @dev `2**192`: one, as a squared Q64.96 number.
_Q192: constant(uint256) = 1 << 192


# @dev The largest `uint160`, as a `uint256`.
_MAX_UINT160: constant(uint256) = (1 << 160) - 1


# @dev The largest `uint128`, as a `uint256`.
_MAX_UINT128: constant(uint256) = (1 << 128) - 1


# @dev The smallest `int56`, as an `int256`.
_MIN_INT56: constant(int256) = -(1 << 55)


# @dev The largest `int56`, as an `int256`.
_MAX_INT56: constant(int256) = (1 << 55) - 1


# @dev `observe(uint32[])`'s selector, and the head of its one argument
# (the array's offset and its length) for two times.
_OBSERVE: constant(bytes4) = method_id("observe(uint32[])", output_type=bytes4)
_OBSERVE_ARRAY_OFFSET: constant(uint256) = 32
_OBSERVE_LENGTH: constant(uint256) = 2


# @dev The size of the canonical ABI encoding of `observe`'s answer for
# two times: two offsets, then each array's length and two words.
_OBSERVE_RESPONSE_SIZE: constant(uint256) = 256


@internal
@pure
def _sqrt_ratio_at_tick(tick: int24) -> uint256:
    """
    @dev Returns `sqrt(1.0001**tick)` as a Q64.96 number, bit for bit
         equal to Uniswap V3's `TickMath.getSqrtRatioAtTick`.
    @notice The Q128.128 number `sqrt(1.0001)**-|tick|` is the product of
            the `_FACTOR_i` of the bits set in `|tick|`, each product
            truncated to 128 fractional bits. A positive tick takes the
            reciprocal, as `max_value(uint256) // ratio`. The result is
            rounded up from Q128.128 to Q64.96. Checked over every tick
            against 120-digit arithmetic, it is within `1 + 2**-64 * exact`
            of the exact value, and at most one unit away from
            `floor(exact)` for `|tick| < 132822`.
    @param tick The tick, in `[MIN_TICK, MAX_TICK]`.
    @return uint256 The square root of the token1 per token0 price, as a
            Q64.96 number in `[MIN_SQRT_RATIO, MAX_SQRT_RATIO]`.
    """
    assert tick >= MIN_TICK and tick <= MAX_TICK, "twap: tick out of range"
    return self._sqrt_ratio_at_valid_tick(convert(tick, int256))


@internal
@pure
def _sqrt_ratio_at_valid_tick(tick: int256) -> uint256:
    """
    @dev `_sqrt_ratio_at_tick` of a tick the caller has checked, such as a
         mean tick `_try_observe` returns.
    @param tick The tick, in `[MIN_TICK, MAX_TICK]` (not checked here).
    @return uint256 The square root of the token1 per token0 price, as a
            Q64.96 number in `[MIN_SQRT_RATIO, MAX_SQRT_RATIO]`.
    """
    # `|tick| <= MAX_TICK`: the negation cannot overflow, and the result is
    # not negative (reinterpreted as unsigned bits, unchecked)
    abs_tick: uint256 = convert(convert(tick, bytes32), uint256)
    if tick < 0:
        abs_tick = convert(convert(unsafe_sub(0, tick), bytes32), uint256)

    # `ratio` starts at or below `2**128` and every factor is below `2**128`,
    # so each product is below `2**256` and, shifted right by 128 bits,
    # leaves `ratio` below `2**128` again: the products cannot overflow and
    # are left unchecked (`unsafe_mul`). The result is checked against a
    # bit-exact reference for each bit of the tick, for the extreme ticks and
    # for random ticks (tests/unit/test_uniswap_v3_twap.py).
    ratio: uint256 = _Q128
    if abs_tick & 1 != 0:
        ratio = _FACTOR_0
    if abs_tick & 2 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_1) >> 128
    if abs_tick & 4 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_2) >> 128
    if abs_tick & 8 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_3) >> 128
    if abs_tick & 16 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_4) >> 128
    if abs_tick & 32 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_5) >> 128
    if abs_tick & 64 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_6) >> 128
    if abs_tick & 128 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_7) >> 128
    if abs_tick & 256 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_8) >> 128
    if abs_tick & 512 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_9) >> 128
    if abs_tick & 1024 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_10) >> 128
    if abs_tick & 2048 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_11) >> 128
    if abs_tick & 4096 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_12) >> 128
    if abs_tick & 8192 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_13) >> 128
    if abs_tick & 16384 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_14) >> 128
    if abs_tick & 32768 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_15) >> 128
    if abs_tick & 65536 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_16) >> 128
    if abs_tick & 131072 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_17) >> 128
    if abs_tick & 262144 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_18) >> 128
    if abs_tick & 524288 != 0:
        ratio = unsafe_mul(ratio, _FACTOR_19) >> 128

    # At `|tick| = MAX_TICK` the ratio is still about `2**64`, never zero;
    # rounded up, `ratio >> 32` (below `2**224`) cannot overflow.
    if tick > 0:
        ratio = unsafe_div(max_value(uint256), ratio)

    sqrt_ratio: uint256 = ratio >> 32
    if ratio & (_Q32 - 1) != 0:
        sqrt_ratio = unsafe_add(sqrt_ratio, 1)
    return sqrt_ratio


@internal
@pure
def _quote_at_tick(tick: int24, base_amount: uint256, base_is_token0: bool) -> uint256:
    """
    @dev Returns the amount of the other pool token that `base_amount` of
         the base token is worth at `tick`, rounded down, with the same
         arithmetic as Uniswap V3's `OracleLibrary.getQuoteAtTick`.
    @notice The price is `1.0001**tick` token1 per token0, taken from
            `_sqrt_ratio_at_tick`. While that square root fits in 128 bits,
            its exact square (a Q128.192 number) is used; above, the square
            is first rounded down to a Q128.128 number, so that it fits in
            256 bits. The products are 512-bit wide (`math._mul_div`).
            Every `base_amount` up to `2**128` is valid across the whole
            tick range; a larger one is quoted as well if the result fits
            in 256 bits, and reverts with "math: mul_div overflow" if not.
    @param tick The tick, in `[MIN_TICK, MAX_TICK]`.
    @param base_amount The amount of the base token, in its own units.
    @param base_is_token0 Whether the base token is the pool's token0
           (then the quote is in token1), or its token1 (then the quote
           is in token0).
    @return uint256 The amount of the quote token, rounded down.
    """
    return self._quote_at_sqrt_ratio(self._sqrt_ratio_at_tick(tick), base_amount, base_is_token0)


@internal
@pure
def _quote_at_sqrt_ratio(sqrt_ratio: uint256, base_amount: uint256, base_is_token0: bool) -> uint256:
    """
    @dev `_quote_at_tick` from the tick's square root ratio, for a caller
         that has it already (one `_sqrt_ratio_at_tick` instead of two).
    @notice The products are those of `math._mul_div`, cheaper where the
            divisor is a power of two (`_mul_shift`) or the dividend fits
            in 256 bits (a plain division), with the same results and the
            same revert on overflow.
    @param sqrt_ratio `_sqrt_ratio_at_tick(tick)`, in
           `[MIN_SQRT_RATIO, MAX_SQRT_RATIO]`.
    @param base_amount The amount of the base token, in its own units.
    @param base_is_token0 Whether the base token is the pool's token0.
    @return uint256 The amount of the quote token, rounded down.
    """
    if sqrt_ratio <= _MAX_UINT128:
        # Below `2**128`, the square fits in 256 bits (unchecked), and it is
        # at least `MIN_SQRT_RATIO**2`, not zero.
        ratio_x192: uint256 = unsafe_mul(sqrt_ratio, sqrt_ratio)
        if base_is_token0:
            return self._mul_shift(ratio_x192, base_amount, 192)
        if base_amount < _Q64:
            # `base_amount * 2**192` fits in 256 bits: an exact division
            return unsafe_div(base_amount << 192, ratio_x192)
        return math._mul_div(_Q192, base_amount, ratio_x192, False)

    # `sqrt_ratio < 2**160`, so `ratio_x128 < 2**256`, and `ratio_x128 > 2**192`.
    ratio_x128: uint256 = self._mul_shift(sqrt_ratio, sqrt_ratio, 64)
    if base_is_token0:
        return self._mul_shift(ratio_x128, base_amount, 128)
    if base_amount <= _MAX_UINT128:
        # `base_amount * 2**128` fits in 256 bits: an exact division
        return unsafe_div(base_amount << 128, ratio_x128)
    return math._mul_div(_Q128, base_amount, ratio_x128, False)


@internal
@pure
def _mul_shift(x: uint256, y: uint256, bits: uint256) -> uint256:
    """
    @dev `math._mul_div(x, y, 2**bits, False)`: `x * y // 2**bits` in
         512-bit precision, reverting with the same reason when the result
         does not fit in 256 bits.
    @notice The 512-bit product is `high * 2**256 + low`, `low` the wrapped
            product and `high` its carry, recovered from the product modulo
            `2**256 - 1` as in `math._mul_div`. The quotient
            `high * 2**(256 - bits) + low // 2**bits` fits exactly when
            `high < 2**bits`, so the shifts then lose no bit.
    @param x The multiplicand.
    @param y The multiplier.
    @param bits The power of two of the divisor, in `[1, 255]`.
    @return uint256 The quotient, rounded down.
    """
    mm: uint256 = uint256_mulmod(x, y, max_value(uint256))
    low: uint256 = unsafe_mul(x, y)
    high: uint256 = unsafe_sub(mm, low)
    if mm < low:
        high = unsafe_sub(high, 1)
    assert high >> bits == 0, "math: mul_div overflow"
    return (high << (256 - bits)) | (low >> bits)


@internal
@view
def _consult(pool: address, window: uint32) -> (int24, uint128):
    """
    @dev Returns the arithmetic mean tick and the harmonic mean liquidity
         of `pool` over the last `window` seconds, with the same
         arithmetic as Uniswap V3's `OracleLibrary.consult`.
    @notice The mean tick is the tick cumulative delta divided by `window`,
            rounded toward negative infinity (`_mean_tick`). The harmonic
            mean liquidity comes from the seconds per liquidity cumulative
            delta (`_harmonic_mean_liquidity`). Where Uniswap's library
            would silently truncate a mean tick to 24 bits or a liquidity
            to 128 bits (impossible for a genuine pool), or divide by zero,
            this function reverts with a reason. The pool's own revert
            ("OLD" when its observations do not reach `window` seconds
            back) propagates. A genuine pool's mean tick may be
            `MIN_TICK - 1`, one below what `_sqrt_ratio_at_tick` accepts.
    @param pool The Uniswap V3 pool.
    @param window The length of the window, in seconds, ending now.
    @return int24 The arithmetic mean tick over the window.
    @return uint128 The harmonic mean liquidity over the window.
    """
    assert window != 0, "twap: zero window"

    tick_cumulatives: DynArray[int56, 2] = []
    seconds_per_liquidity_x128s: DynArray[uint160, 2] = []
    tick_cumulatives, seconds_per_liquidity_x128s = staticcall IUniswapV3Pool(pool).observe([window, 0])
    assert len(tick_cumulatives) == 2 and len(seconds_per_liquidity_x128s) == 2, "twap: bad observation"

    # Two `int56` differ by less than `2**56`: no overflow in `int256`.
    mean_tick: int256 = self._mean_tick(
        convert(tick_cumulatives[1], int256) - convert(tick_cumulatives[0], int256), window
    )
    assert (
        mean_tick >= convert(min_value(int24), int256) and mean_tick <= convert(max_value(int24), int256)
    ), "twap: mean tick overflow"

    liquidity_delta: uint256 = self._seconds_per_liquidity_delta(
        convert(seconds_per_liquidity_x128s[0], uint256), convert(seconds_per_liquidity_x128s[1], uint256)
    )
    assert liquidity_delta != 0, "twap: zero seconds per liquidity"
    liquidity: uint256 = self._harmonic_mean_liquidity(liquidity_delta, window)
    assert liquidity <= _MAX_UINT128, "twap: liquidity overflow"

    return convert(mean_tick, int24), convert(liquidity, uint128)


@internal
@view
def _try_consult(pool: address, window: uint32) -> (bool, int24, uint128):
    """
    @dev `_try_observe`, its values in the types of `_consult`'s.
    @param pool The Uniswap V3 pool.
    @param window The length of the window, in seconds, ending now.
    @return bool Whether the values are usable.
    @return int24 The arithmetic mean tick over the window, or zero.
    @return uint128 The harmonic mean liquidity over the window, or zero.
    """
    ok: bool = False
    mean_tick: int256 = 0
    liquidity: uint256 = 0
    ok, mean_tick, liquidity = self._try_observe(pool, window)
    return ok, convert(mean_tick, int24), convert(liquidity, uint128)


@internal
@view
def _try_observe(pool: address, window: uint32) -> (bool, int256, uint256):
    """
    @dev As `_consult`, but returns `False` (and zeros) instead of
         reverting, and only returns `True` with a mean tick that
         `_sqrt_ratio_at_tick` and `_quote_at_tick` accept.
    @notice `False` when: `window` is zero; the call to `observe` reverts
            (e.g. "OLD") or `pool` has no code; the pool's answer is not
            the canonical ABI encoding of two `int56` and two `uint160`
            (two offsets, two lengths of 2, in-range words); the mean tick
            is outside `[MIN_TICK, MAX_TICK]` (a pool resting at
            `MIN_TICK - 1`); the seconds per liquidity did not move; or
            the liquidity exceeds 128 bits. Otherwise the values equal
            those of `_consult`. The call forwards all but 1/64 of the gas
            to `pool`, so a hostile pool can still make the caller run out
            of gas: only list pools whose code is known.
    @param pool The Uniswap V3 pool.
    @param window The length of the window, in seconds, ending now.
    @return bool Whether the values are usable.
    @return int256 The arithmetic mean tick over the window, or zero.
    @return uint256 The harmonic mean liquidity over the window (below
            `2**128`), or zero.
    """
    if window == 0:
        return False, 0, 0

    success: bool = False
    response: Bytes[_OBSERVE_RESPONSE_SIZE] = b""
    success, response = raw_call(
        pool,
        # observe([window, 0]): the array's offset, its length, its two words
        abi_encode(_OBSERVE_ARRAY_OFFSET, _OBSERVE_LENGTH, convert(window, uint256), empty(uint256), method_id=_OBSERVE),
        max_outsize=_OBSERVE_RESPONSE_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(response) != _OBSERVE_RESPONSE_SIZE:
        return False, 0, 0

    # Layout: [offset 64, offset 160, 2, tick0, tick1, 2, spl0, spl1], read
    # as eight plain words (no word can make this decoding revert), then
    # checked here: the canonical offsets and lengths, the ticks within
    # `int56` and the seconds per liquidity within `uint160`.
    words: uint256[8] = abi_decode(response, uint256[8])
    if words[0] != 64 or words[1] != 160 or words[2] != 2 or words[5] != 2:
        return False, 0, 0
    tick_cumulative_0: int256 = convert(convert(words[3], bytes32), int256)
    tick_cumulative_1: int256 = convert(convert(words[4], bytes32), int256)
    seconds_per_liquidity_0: uint256 = words[6]
    seconds_per_liquidity_1: uint256 = words[7]
    if (
        tick_cumulative_0 < _MIN_INT56
        or tick_cumulative_0 > _MAX_INT56
        or tick_cumulative_1 < _MIN_INT56
        or tick_cumulative_1 > _MAX_INT56
        or seconds_per_liquidity_0 > _MAX_UINT160
        or seconds_per_liquidity_1 > _MAX_UINT160
    ):
        return False, 0, 0

    # `_mean_tick`, `_seconds_per_liquidity_delta` and
    # `_harmonic_mean_liquidity` inlined, unchecked where the bounds just
    # checked make them exact (tests/fuzz/test_oracle_unchecked_math.py
    # compares them with the checked helpers and with Python's integers):
    # - both cumulatives are `int56`, so their difference is below `2**56`
    #   in magnitude (`unsafe_sub` is exact); `window` is not zero and below
    #   `2**32`, so `SDIV` (truncating toward zero, as Vyper's `//` does)
    #   cannot overflow, and the quotient is inexact exactly when it times
    #   `window` (below `2**88` in magnitude) differs from the delta;
    tick_delta: int256 = unsafe_sub(tick_cumulative_1, tick_cumulative_0)
    seconds: int256 = convert(window, int256)
    mean_tick: int256 = unsafe_div(tick_delta, seconds)
    if tick_delta < 0 and unsafe_mul(mean_tick, seconds) != tick_delta:
        mean_tick = unsafe_sub(mean_tick, 1)
    if mean_tick < convert(MIN_TICK, int256) or mean_tick > convert(MAX_TICK, int256):
        return False, 0, 0

    # - both seconds per liquidity are below `2**160`, which divides
    #   `2**256`: their wrapping difference, masked to 160 bits, is the
    #   difference modulo `2**160`;
    liquidity_delta: uint256 = unsafe_sub(seconds_per_liquidity_1, seconds_per_liquidity_0) & _MAX_UINT160
    if liquidity_delta == 0:
        return False, 0, 0
    # - `window * (2**160 - 1) < 2**192`, and the divisor `delta << 32` is
    #   in `[2**32, 2**192)`: neither overflows nor is zero.
    liquidity: uint256 = unsafe_div(
        unsafe_mul(convert(window, uint256), _MAX_UINT160), liquidity_delta << 32
    )
    if liquidity > _MAX_UINT128:
        return False, 0, 0

    return True, mean_tick, liquidity


@internal
@pure
def _mean_tick(tick_delta: int256, window: uint32) -> int256:
    """
    @dev Returns `tick_delta / window`, rounded toward negative infinity.
    @notice Vyper's signed `//` and `%` truncate toward zero, as the EVM's
            `SDIV` and `SMOD` do: a negative inexact quotient is stepped
            down once, as `OracleLibrary.consult` does.
    @param tick_delta The tick cumulative delta over the window.
    @param window The length of the window, in seconds; not zero.
    @return int256 The arithmetic mean tick.
    """
    seconds: int256 = convert(window, int256)
    mean_tick: int256 = tick_delta // seconds
    if tick_delta < 0 and tick_delta % seconds != 0:
        mean_tick -= 1
    return mean_tick


@internal
@pure
def _seconds_per_liquidity_delta(start: uint256, end: uint256) -> uint256:
    """
    @dev Returns `end - start` modulo `2**160`: the pool's seconds per
         liquidity cumulative is a `uint160` that wraps around.
    @param start The cumulative at the start of the window, below `2**160`.
    @param end The cumulative at the end of the window, below `2**160`.
    @return uint256 The delta, below `2**160`.
    """
    return (end + (1 << 160) - start) % (1 << 160)


@internal
@pure
def _harmonic_mean_liquidity(seconds_per_liquidity_delta: uint256, window: uint32) -> uint256:
    """
    @dev Returns `window * (2**160 - 1) // (delta << 32)`: the harmonic mean
         liquidity over the window, as `OracleLibrary.consult` computes it,
         before its cast to `uint128`.
    @param seconds_per_liquidity_delta The seconds per liquidity cumulative
           delta (Q128) over the window, in `[1, 2**160)`.
    @param window The length of the window, in seconds.
    @return uint256 The harmonic mean liquidity; above `2**128 - 1` only for
            a delta no genuine pool produces.
    """
    # `window * (2**160 - 1) < 2**192` and `delta << 32 < 2**192`.
    return convert(window, uint256) * _MAX_UINT160 // (seconds_per_liquidity_delta << 32)
