"""The Uniswap V3 TWAP module against exact Python references derived from the definitions.

Two references for `sqrt(1.0001**tick)` in Q64.96:

* the ideal value `sqrt(1.0001**tick) * 2**96`, computed with 120 significant decimal digits;
* the bit-exact algorithm: the product of the factors `round(2**128 * 1.0001**-(2**i / 2))` of the bits of `|tick|`,
  each product truncated to 128 fractional bits, the reciprocal `(2**256 - 1) // ratio` for a positive tick, and a
  rounding up from Q128.128 to Q64.96.

The module must equal the bit-exact algorithm everywhere. That algorithm's truncations make it drift from the ideal
value by up to `2**-63` relative, so it is one unit away from `floor(ideal)` only for `|tick| < 132822` (checked
exhaustively offline); beyond, the tests bound the relative error instead.
"""

import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

import boa
import eth_abi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.baskets import CONTRACTS

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

MODULE = CONTRACTS / "oracle" / "uniswap_v3_twap.vy"

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
MIN_INT24, MAX_INT24 = -(2**23), 2**23 - 1
MIN_INT56, MAX_INT56 = -(2**55), 2**55 - 1
MAX_UINT128 = 2**128 - 1
MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
PRECISION = 120  # significant decimal digits of the ideal references
NEAR_BAND = 100_000  # |tick| below which the bit-exact value is within one unit of floor(ideal)

ticks_st = st.integers(min_value=MIN_TICK, max_value=MAX_TICK)
near_ticks_st = st.integers(min_value=-NEAR_BAND, max_value=NEAR_BAND)
bad_ticks_st = st.one_of(
    st.integers(min_value=MIN_INT24, max_value=MIN_TICK - 1),
    st.integers(min_value=MAX_TICK + 1, max_value=MAX_INT24),
)
amounts_st = st.one_of(
    st.integers(min_value=0, max_value=2**128),
    st.sampled_from([0, 1, 10**6, 10**18, 2**128 - 1, 2**128]),
)
windows_st = st.integers(min_value=1, max_value=2**32 - 1)


# ---------------------------------------------------------------------------
#                           Python references
# ---------------------------------------------------------------------------


def _factors_exact() -> list[Decimal]:
    """`2**128 * 1.0001**-(2**i / 2)` for i in 0..19, to 120 significant digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        root = (Decimal(10001) / Decimal(10000)).sqrt()
        return [Decimal(2) ** 128 / root ** (2**i) for i in range(20)]


FACTORS_EXACT = _factors_exact()
FACTORS = [int(f.to_integral_value(ROUND_HALF_EVEN)) for f in FACTORS_EXACT]


def sqrt_ratio_bit_exact(tick: int) -> int:
    """The bit-exact algorithm, from the factors above."""
    abs_tick = abs(tick)
    ratio = FACTORS[0] if abs_tick & 1 else 1 << 128
    for i in range(1, 20):
        if abs_tick & (1 << i):
            ratio = (ratio * FACTORS[i]) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    return (ratio >> 32) + (1 if ratio % (1 << 32) else 0)


def sqrt_ratio_ideal(tick: int) -> Decimal:
    """`sqrt(1.0001**tick) * 2**96`, to 120 significant digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return ((Decimal(10001) / Decimal(10000)) ** tick).sqrt() * Decimal(2) ** 96


def floor_of(value: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return int(value.to_integral_value(ROUND_FLOOR))


def quote_rational(tick: int, base_amount: int, base_is_token0: bool) -> int:
    """The quote as specified: exact rational arithmetic on the bit-exact square root, rounded down."""
    sqrt_ratio = sqrt_ratio_bit_exact(tick)
    if sqrt_ratio <= MAX_UINT128:
        ratio, one = sqrt_ratio**2, 1 << 192
    else:
        ratio, one = sqrt_ratio**2 // (1 << 64), 1 << 128
    return base_amount * ratio // one if base_is_token0 else base_amount * one // ratio


def quote_ideal(tick: int, base_amount: int, base_is_token0: bool) -> Decimal:
    """`base_amount * 1.0001**±tick`, to 120 significant digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return Decimal(base_amount) * (Decimal(10001) / Decimal(10000)) ** (tick if base_is_token0 else -tick)


def harmonic_liquidity(window: int, spl_0: int, spl_1: int) -> int:
    """`window * (2**160 - 1) // (delta << 32)`, with the wrapping uint160 delta."""
    return window * MAX_UINT160 // (((spl_1 - spl_0) % 2**160) << 32)


def expected_try(mean_tick: int, liquidity: int) -> tuple[bool, int, int]:
    """What `_try_consult` returns where `_consult` would return (mean_tick, liquidity) or revert on liquidity."""
    if MIN_TICK <= mean_tick <= MAX_TICK and liquidity <= MAX_UINT128:
        return True, mean_tick, liquidity
    return False, 0, 0


def observe_response(tick_cumulatives: list[int], seconds_per_liquidity: list[int]) -> bytes:
    """The ABI encoding of `observe`'s answer, as a Solidity pool returns it."""
    return eth_abi.encode(["int56[]", "uint160[]"], [tick_cumulatives, seconds_per_liquidity])


def raw_pool(response: bytes) -> str:
    """An account whose code answers every call with `response`: CODECOPY the tail of the code, RETURN it."""
    size = len(response).to_bytes(2, "big")
    # PUSH2 size, PUSH1 14 (the prefix length), PUSH1 0, CODECOPY, PUSH2 size, PUSH1 0, RETURN
    code = b"\x61" + size + b"\x60\x0e\x60\x00\x39\x61" + size + b"\x60\x00\xf3" + response
    address = boa.env.generate_address("raw_pool")
    boa.env.set_code(address, code)
    return address


# ---------------------------------------------------------------------------
#                                 Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harness_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "TwapHarness.vy"))


@pytest.fixture
def twap(harness_deployer):
    return harness_deployer.deploy()


@pytest.fixture
def tokens() -> tuple[str, str]:
    return boa.env.generate_address("token0"), boa.env.generate_address("token1")


@pytest.fixture
def pool(pool_deployer, tokens):
    return pool_deployer.deploy(*tokens)


# ---------------------------------------------------------------------------
#                        The references themselves
# ---------------------------------------------------------------------------


def test_factors__recomputed_from_definition__match_module_constants_and_round_unambiguously():
    source = MODULE.read_text()
    constants = {int(i): int(v) for i, v in re.findall(r"^_FACTOR_(\d+): constant\(uint256\) = (\d+)$", source, re.M)}

    assert constants == dict(enumerate(FACTORS))
    for exact, rounded in zip(FACTORS_EXACT, FACTORS, strict=True):
        assert rounded < 2**128
        # Far from a tie (the closest, factor 5, is 0.0076 away), so 120 digits settle the rounding.
        assert abs(abs(exact - rounded) - Decimal("0.5")) > Decimal("1e-30")


def test_sqrt_ratio_bit_exact__reference__gives_known_bounds_and_one_at_zero():
    assert sqrt_ratio_bit_exact(MIN_TICK) == MIN_SQRT_RATIO
    assert sqrt_ratio_bit_exact(MAX_TICK) == MAX_SQRT_RATIO
    assert sqrt_ratio_bit_exact(0) == 2**96


# ---------------------------------------------------------------------------
#                            _sqrt_ratio_at_tick
# ---------------------------------------------------------------------------


def test_sqrt_ratio_at_tick__min_and_max_ticks__give_known_bounds(twap):
    assert twap.sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO == 4295128739
    assert twap.sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO == 1461446703485210103287273052203988822378723970342


def test_sqrt_ratio_at_tick__tick_zero__is_one_in_q96(twap):
    assert twap.sqrt_ratio_at_tick(0) == 2**96


@pytest.mark.parametrize("bit", range(20))
def test_sqrt_ratio_at_tick__each_bit_of_the_tick__matches_bit_exact_reference(twap, bit):
    ticks = [(1 << bit), (1 << bit) - 1, (1 << (bit + 1)) - 1]
    for tick in {t for t in ticks if 0 <= t <= MAX_TICK}:
        assert twap.sqrt_ratio_at_tick(tick) == sqrt_ratio_bit_exact(tick)
        assert twap.sqrt_ratio_at_tick(-tick) == sqrt_ratio_bit_exact(-tick)


@SETTINGS
@given(tick=ticks_st)
def test_sqrt_ratio_at_tick__any_tick__matches_bit_exact_reference_and_ideal_value(twap, tick):
    got = twap.sqrt_ratio_at_tick(tick)
    ideal = sqrt_ratio_ideal(tick)

    assert got == sqrt_ratio_bit_exact(tick)
    # Rounding up to Q64.96 costs one unit; the truncated Q128.128 products cost at most 2**-63 relative.
    assert abs(Decimal(got) - ideal) <= 1 + ideal * Decimal(2) ** -63
    if abs(tick) < NEAR_BAND:
        assert abs(got - floor_of(ideal)) <= 1


@SETTINGS
@given(tick=near_ticks_st)
def test_sqrt_ratio_at_tick__near_tick__within_one_unit_of_floor_of_ideal(twap, tick):
    got = twap.sqrt_ratio_at_tick(tick)

    assert got == sqrt_ratio_bit_exact(tick)
    assert abs(got - floor_of(sqrt_ratio_ideal(tick))) <= 1


@SETTINGS
@given(tick=st.integers(min_value=MIN_TICK, max_value=MAX_TICK - 1))
def test_sqrt_ratio_at_tick__consecutive_ticks__strictly_increase(twap, tick):
    lower = twap.sqrt_ratio_at_tick(tick)
    upper = twap.sqrt_ratio_at_tick(tick + 1)

    assert MIN_SQRT_RATIO <= lower < upper <= MAX_SQRT_RATIO


@SETTINGS
@given(tick=bad_ticks_st)
def test_sqrt_ratio_at_tick__tick_out_of_range__reverts(twap, tick):
    with boa.reverts("twap: tick out of range"):
        twap.sqrt_ratio_at_tick(tick)


@pytest.mark.parametrize("tick", [MIN_TICK - 1, MAX_TICK + 1, MIN_INT24, MAX_INT24])
def test_sqrt_ratio_at_tick__just_outside_or_int24_extremes__reverts(twap, tick):
    with boa.reverts("twap: tick out of range"):
        twap.sqrt_ratio_at_tick(tick)


# ---------------------------------------------------------------------------
#                              _quote_at_tick
# ---------------------------------------------------------------------------


@SETTINGS
@given(tick=ticks_st, base_amount=amounts_st, base_is_token0=st.booleans())
def test_quote_at_tick__any_tick_and_amount__matches_exact_rational_reference(twap, tick, base_amount, base_is_token0):
    got = twap.quote_at_tick(tick, base_amount, base_is_token0)

    assert got == quote_rational(tick, base_amount, base_is_token0)
    # Against the true price: one unit for the final floor, plus twice (and a bit) the square root's relative error.
    ideal = quote_ideal(tick, base_amount, base_is_token0)
    sqrt_error = 1 / sqrt_ratio_ideal(tick) + Decimal(2) ** -63
    assert abs(Decimal(got) - ideal) <= 1 + ideal * 3 * sqrt_error


def _branch_boundary_tick() -> int:
    """The highest tick whose square root still fits in 128 bits."""
    low, high = 0, MAX_TICK
    while low < high:
        mid = (low + high + 1) // 2
        if sqrt_ratio_bit_exact(mid) <= MAX_UINT128:
            low = mid
        else:
            high = mid - 1
    return low


BOUNDARY_TICK = _branch_boundary_tick()


@pytest.mark.parametrize("tick", [MIN_TICK, MAX_TICK, BOUNDARY_TICK, BOUNDARY_TICK + 1, -1, 0, 1])
@pytest.mark.parametrize("base_is_token0", [True, False])
@pytest.mark.parametrize("base_amount", [1, 10**18, 2**128 - 1, 2**128])
def test_quote_at_tick__extreme_and_branch_boundary_ticks__match_reference_without_overflow(
    twap, tick, base_amount, base_is_token0
):
    assert twap.quote_at_tick(tick, base_amount, base_is_token0) == quote_rational(tick, base_amount, base_is_token0)


def test_quote_at_tick__branch_boundary__lies_where_the_square_root_leaves_128_bits():
    assert sqrt_ratio_bit_exact(BOUNDARY_TICK) <= MAX_UINT128 < sqrt_ratio_bit_exact(BOUNDARY_TICK + 1)


@SETTINGS
@given(base_amount=amounts_st, base_is_token0=st.booleans())
def test_quote_at_tick__tick_zero__returns_base_amount(twap, base_amount, base_is_token0):
    assert twap.quote_at_tick(0, base_amount, base_is_token0) == base_amount


@SETTINGS
@given(tick=ticks_st, base_amount=amounts_st)
def test_quote_at_tick__round_trip__never_exceeds_base_amount(twap, tick, base_amount):
    quote = twap.quote_at_tick(tick, base_amount, True)
    if quote <= 2**128:
        assert twap.quote_at_tick(tick, quote, False) <= base_amount


def test_quote_at_tick__result_beyond_256_bits__reverts(twap):
    with boa.reverts("math: mul_div overflow"):
        twap.quote_at_tick(MAX_TICK, 2**200, True)


@pytest.mark.parametrize("tick", [MIN_TICK - 1, MAX_TICK + 1])
def test_quote_at_tick__tick_out_of_range__reverts(twap, tick):
    with boa.reverts("twap: tick out of range"):
        twap.quote_at_tick(tick, 10**18, True)


# ---------------------------------------------------------------------------
#                                 _consult
# ---------------------------------------------------------------------------


@SETTINGS
@given(
    window=windows_st,
    start=st.integers(min_value=MIN_INT56 // 2, max_value=MAX_INT56 // 2),
    mean_tick=st.integers(min_value=MIN_TICK - 1, max_value=MAX_TICK),
    remainder=st.integers(min_value=0, max_value=2**32 - 2),
)
def test_consult__any_tick_delta__returns_mean_tick_rounded_toward_negative_infinity(
    twap, pool, window, start, mean_tick, remainder
):
    # delta = mean_tick * window + r with 0 <= r < window: the floor of delta / window is mean_tick.
    delta = mean_tick * window + remainder % window
    pool.set_observations(start, start + delta, 0, 2**159)

    got, liquidity = twap.consult(pool.address, window)

    assert got == mean_tick == delta // window
    assert twap.try_consult(pool.address, window) == expected_try(mean_tick, liquidity)


@pytest.mark.parametrize(
    ("delta", "window", "expected"),
    [
        (-7, 2, -4),  # -3.5 rounds down, not toward zero
        (-1, 3600, -1),
        (-3600, 3600, -1),  # exact: no extra step down
        (-3601, 3600, -2),
        (7, 2, 3),
        (0, 1800, 0),
        (-887272 * 3600 - 1, 3600, -887273),  # MIN_TICK - 1, where a pool can sit, is still reported
    ],
)
def test_consult__negative_non_divisible_delta__rounds_toward_negative_infinity(twap, pool, delta, window, expected):
    pool.set_observations(10**12, 10**12 + delta, 5, 5 + 2**128)

    mean_tick, liquidity = twap.consult(pool.address, window)

    assert mean_tick == expected
    assert twap.try_consult(pool.address, window) == expected_try(expected, liquidity)


@SETTINGS
@given(
    window=windows_st,
    spl_0=st.integers(min_value=0, max_value=MAX_UINT160),
    spl_delta=st.integers(min_value=1, max_value=MAX_UINT160),
)
def test_consult__any_seconds_per_liquidity_delta__returns_harmonic_mean_liquidity(
    twap, pool, window, spl_0, spl_delta
):
    spl_1 = (spl_0 + spl_delta) % 2**160  # wraps around like the pool's accumulator
    expected = harmonic_liquidity(window, spl_0, spl_1)
    pool.set_observations(0, 0, spl_0, spl_1)

    if expected > MAX_UINT128:
        with boa.reverts("twap: liquidity overflow"):
            twap.consult(pool.address, window)
    else:
        assert twap.consult(pool.address, window) == (0, expected)
    assert twap.try_consult(pool.address, window) == expected_try(0, expected)


def _accumulate(segments: list[tuple[int, int, int]]) -> tuple[int, int]:
    """The pool's accumulators over (seconds, tick, liquidity) segments, as Uniswap V3 writes them."""
    tick_cumulative = spl_cumulative = 0
    for seconds, tick, liquidity in segments:
        tick_cumulative += tick * seconds
        spl_cumulative = (spl_cumulative + (seconds << 128) // max(liquidity, 1)) % 2**160
    return tick_cumulative, spl_cumulative


segments_st = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=86_400),
        st.integers(min_value=MIN_TICK, max_value=MAX_TICK),
        st.integers(min_value=1, max_value=2**100),
    ),
    min_size=1,
    max_size=8,
)


@SETTINGS
@given(segments=segments_st, start_spl=st.integers(min_value=0, max_value=MAX_UINT160))
def test_consult__simulated_pool_history__returns_time_weighted_means(twap, pool, segments, start_spl):
    window = sum(seconds for seconds, _, _ in segments)
    tick_delta, spl_delta = _accumulate(segments)
    pool.set_observations(-(10**9), -(10**9) + tick_delta, start_spl, (start_spl + spl_delta) % 2**160)
    pool.set_expected_window(window)

    mean_tick, liquidity = twap.consult(pool.address, window)

    assert twap.try_consult(pool.address, window) == (True, mean_tick, liquidity)
    assert mean_tick == sum(s * t for s, t, _ in segments) // window
    assert min(t for _, t, _ in segments) <= mean_tick <= max(t for _, t, _ in segments)
    # The harmonic mean lies between the extremes, up to the accumulator's rounding.
    assert liquidity == harmonic_liquidity(window, 0, spl_delta)
    lowest, highest = min(liq for _, _, liq in segments), max(liq for _, _, liq in segments)
    assert lowest - 1 <= liquidity <= highest + highest * len(segments) // (spl_delta - len(segments)) + 1


@SETTINGS
@given(window=windows_st, liquidity=st.integers(min_value=1, max_value=MAX_UINT128))
def test_consult__constant_liquidity__returns_it_up_to_accumulator_rounding(twap, pool, window, liquidity):
    _, spl_delta = _accumulate([(window, 0, liquidity)])
    pool.set_observations(0, 0, 0, spl_delta)

    _, got = twap.consult(pool.address, window)

    assert liquidity - 1 <= got <= liquidity + liquidity // spl_delta + 1


def test_consult__observe__is_asked_for_window_and_now(twap, pool):
    pool.set_observations(0, 3600 * 100, 0, 2**128)
    pool.set_expected_window(3600)

    assert twap.consult(pool.address, 3600) == (100, harmonic_liquidity(3600, 0, 2**128)) == (100, 3599)

    pool.set_expected_window(1800)
    with boa.reverts("mock: unexpected secondsAgos"):
        twap.consult(pool.address, 3600)


def test_consult__zero_window__reverts(twap, pool):
    pool.set_observations(0, 0, 0, 1)

    with boa.reverts("twap: zero window"):
        twap.consult(pool.address, 0)


def test_consult__history_too_short__propagates_pool_old_revert(twap, pool):
    pool.set_observations(0, 3600, 0, 2**128)
    pool.set_old(True)

    with boa.reverts("OLD"):
        twap.consult(pool.address, 3600)


def test_consult__unchanged_seconds_per_liquidity__reverts(twap, pool):
    pool.set_observations(0, 3600, 2**159, 2**159)

    with boa.reverts("twap: zero seconds per liquidity"):
        twap.consult(pool.address, 3600)


@pytest.mark.parametrize(("delta", "window"), [(MAX_INT56, 1), (-MAX_INT56, 1), ((MAX_INT24 + 1) * 60, 60)])
def test_consult__mean_tick_beyond_int24__reverts(twap, pool, delta, window):
    pool.set_observations(0, delta, 0, 2**128)

    with boa.reverts("twap: mean tick overflow"):
        twap.consult(pool.address, window)


def test_consult__mean_tick_at_int24_extremes__is_returned(twap, pool):
    pool.set_observations(0, MIN_INT24 * 60, 0, 2**128)
    assert twap.consult(pool.address, 60)[0] == MIN_INT24

    pool.set_observations(0, MAX_INT24 * 60 + 59, 0, 2**128)
    assert twap.consult(pool.address, 60)[0] == MAX_INT24


def test_mock_pool__constructor__sets_tokens(pool, tokens):
    assert (pool.token0(), pool.token1()) == tokens


# ---------------------------------------------------------------------------
#                               _try_consult
# ---------------------------------------------------------------------------


def test_try_consult__history_too_short__returns_false(twap, pool):
    pool.set_observations(0, 3600, 0, 2**128)
    pool.set_old(True)

    assert twap.try_consult(pool.address, 3600) == (False, 0, 0)


def test_try_consult__zero_window__returns_false(twap, pool):
    pool.set_observations(0, 0, 0, 1)

    assert twap.try_consult(pool.address, 0) == (False, 0, 0)


def test_try_consult__pool_without_code__returns_false(twap):
    assert twap.try_consult(boa.env.generate_address("nobody"), 3600) == (False, 0, 0)


def test_try_consult__unchanged_seconds_per_liquidity__returns_false(twap, pool):
    pool.set_observations(0, 3600, 2**159, 2**159)

    assert twap.try_consult(pool.address, 3600) == (False, 0, 0)


@pytest.mark.parametrize(("delta", "window"), [(MAX_INT56, 1), ((MAX_TICK + 1) * 60, 60), ((MIN_TICK - 1) * 60, 60)])
def test_try_consult__mean_tick_outside_tick_range__returns_false(twap, pool, delta, window):
    pool.set_observations(0, delta, 0, 2**128)

    assert twap.try_consult(pool.address, window) == (False, 0, 0)


def test_try_consult__canonical_solidity_encoding__is_read(twap):
    pool = raw_pool(observe_response([-(10**9), -(10**9) - 3600 * 100 - 1], [2**160 - 2**127, 2**127]))

    assert twap.try_consult(pool, 3600) == (True, -101, harmonic_liquidity(3600, 2**160 - 2**127, 2**127))
    assert twap.consult(pool, 3600) == (-101, harmonic_liquidity(3600, 2**160 - 2**127, 2**127))


def _word(value: int) -> bytes:
    return (value % 2**256).to_bytes(32, "big")


def _replace_word(response: bytes, index: int, value: int) -> bytes:
    return response[: 32 * index] + _word(value) + response[32 * (index + 1) :]


VALID_RESPONSE = observe_response([0, 3600 * 100], [0, 2**128])


@pytest.mark.parametrize(
    "response",
    [
        b"",
        VALID_RESPONSE[:-32],  # too short
        VALID_RESPONSE[:-1],
        _replace_word(VALID_RESPONSE, 0, 96),  # non-canonical first offset
        _replace_word(VALID_RESPONSE, 1, 192),  # non-canonical second offset
        _replace_word(VALID_RESPONSE, 2, 1),  # one tick cumulative
        _replace_word(VALID_RESPONSE, 5, 3),  # three seconds per liquidity
        observe_response([0, 1, 2], [0, 1, 2]),  # three of each (truncated to the expected size)
        _replace_word(VALID_RESPONSE, 4, 2**55),  # not an int56
        _replace_word(VALID_RESPONSE, 3, -(2**55) - 1),  # not an int56
        _replace_word(VALID_RESPONSE, 7, 2**160),  # not a uint160
    ],
    ids=[
        "empty",
        "short-word",
        "short-byte",
        "offset-0",
        "offset-1",
        "length-ticks",
        "length-spl",
        "three-each",
        "int56-high",
        "int56-low",
        "uint160-high",
    ],
)
def test_try_consult__malformed_observe_answer__returns_false(twap, response):
    assert twap.try_consult(raw_pool(response), 3600) == (False, 0, 0)


def test_try_consult__valid_raw_answer__is_accepted(twap):
    assert twap.try_consult(raw_pool(VALID_RESPONSE), 3600) == (True, 100, 3599)
