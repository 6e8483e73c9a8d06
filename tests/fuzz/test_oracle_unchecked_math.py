"""Property tests of the oracle's unchecked arithmetic: `uniswap_v3_twap._try_consult`'s inlined mean tick, seconds
per liquidity delta and harmonic mean liquidity over the whole range its checks let through, and OracleRouter's
deviation check and band at the extremes of the sanity bounds and of the basis points, each against Python's
integers."""

import math

import boa
import eth_abi
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.baskets import CONTRACTS
from tests.conftest import fuzz_examples
from tests.oracle_helpers import WINDOW, params

SETTINGS = settings(
    max_examples=fuzz_examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

MIN_TICK, MAX_TICK = -887272, 887272
MIN_INT56, MAX_INT56 = -(2**55), 2**55 - 1
MAX_UINT128, MAX_UINT160 = 2**128 - 1, 2**160 - 1
BPS = 10_000


@pytest.fixture(scope="module")
def twap():
    return boa.load_partial(str(CONTRACTS / "mocks" / "TwapHarness.vy")).deploy()


def _raw_pool(response: bytes) -> str:
    """An account whose code answers every call with `response`."""
    size = len(response).to_bytes(2, "big")
    code = b"\x61" + size + b"\x60\x0e\x60\x00\x39\x61" + size + b"\x60\x00\xf3" + response
    address = boa.env.generate_address("raw_pool")
    boa.env.set_code(address, code)
    return address


def _expected(window: int, ticks: tuple[int, int], spls: tuple[int, int]) -> tuple[bool, int, int]:
    """`_try_consult`'s answer from Python's integers: the floor of the mean tick, the wrapping delta, the harmonic
    mean."""
    mean_tick = (ticks[1] - ticks[0]) // window  # Python's // rounds toward negative infinity
    delta = (spls[1] - spls[0]) % 2**160
    if not MIN_TICK <= mean_tick <= MAX_TICK or delta == 0:
        return False, 0, 0
    liquidity = window * MAX_UINT160 // (delta << 32)
    if liquidity > MAX_UINT128:
        return False, 0, 0
    return True, mean_tick, liquidity


int56_st = st.one_of(st.sampled_from([MIN_INT56, MAX_INT56, 0, -1, 1]), st.integers(MIN_INT56, MAX_INT56))
uint160_st = st.one_of(st.sampled_from([0, 1, MAX_UINT160, 2**159]), st.integers(0, MAX_UINT160))
window_st = st.one_of(st.sampled_from([1, 2, 1800, 3600, 86_400, 2**32 - 1]), st.integers(1, 2**32 - 1))


@SETTINGS
@given(window=window_st, tick_0=int56_st, tick_1=int56_st, spl_0=uint160_st, spl_1=uint160_st)
def test_try_consult__any_int56_ticks_and_uint160_cumulatives__exact(twap, window, tick_0, tick_1, spl_0, spl_1):
    response = eth_abi.encode(["int56[]", "uint160[]"], [[tick_0, tick_1], [spl_0, spl_1]])

    got = twap.try_consult(_raw_pool(response), window)

    assert got == _expected(window, (tick_0, tick_1), (spl_0, spl_1))


@SETTINGS
@given(
    window=window_st,
    start=int56_st,
    mean_tick=st.integers(MIN_TICK - 1, MAX_TICK + 1),
    remainder=st.integers(0, 2**32 - 2),
)
def test_try_consult__near_the_tick_range__rounds_down_as_consult(twap, window, start, mean_tick, remainder):
    delta = mean_tick * window + remainder % window
    end = start + delta
    if not MIN_INT56 <= end <= MAX_INT56:
        start, end = start - delta, start  # keep both within int56
    if not MIN_INT56 <= start <= MAX_INT56:
        return
    response = eth_abi.encode(["int56[]", "uint160[]"], [[start, end], [0, 2**128]])

    got = twap.try_consult(_raw_pool(response), window)

    assert got == _expected(window, (start, end), (0, 2**128))
    if got[0]:
        assert got[1] == mean_tick


def _log_tick(ratio: float) -> int:
    """The tick of a token1-per-token0 price, rounded down."""
    return math.floor(math.log(ratio) / math.log(1.0001))


@pytest.fixture
def band_market(router_market, make_token, aggregator_deployer, pool_deployer):
    """The router market and one more token, X (18 decimals), paired with USDC, for each example to configure."""
    router, tokens, _, _ = router_market
    x = make_token("X", 18)
    usdc = tokens["USDC"]
    pool = pool_deployer.deploy(*sorted([x.address, usdc.address], key=lambda a: int(a, 16)))
    feed = aggregator_deployer.deploy(8, 10**8, 0, 0)  # no clamps
    return router, x, usdc, pool, feed


# 8-decimal answers whose 18-decimal price spans the sanity bounds [1, 2**128 - 1]
answer_st = st.one_of(
    st.sampled_from([1, MAX_UINT128 // 10**10, MAX_UINT128 // 10**10 - 1, 10**8]),
    st.integers(1, MAX_UINT128 // 10**10),
)


@SETTINGS
@given(
    answer=answer_st,
    tick_offset=st.integers(-3_000, 3_000),
    deviation=st.one_of(st.sampled_from([10, 1_500]), st.integers(10, 1_500)),
    error=st.one_of(st.sampled_from([0, 1_000]), st.integers(0, 1_000)),
)
def test_price_data__any_price_within_bounds__deviation_and_band_exact(
    band_market, answer, tick_offset, deviation, error
):
    router, x, _usdc, pool, feed = band_market
    with boa.env.anchor():
        feed.set_answer(answer)
        price = answer * 10**10
        # the pool near the feed's price: USDC (6 decimals) per X (18 decimals), as token1 per token0
        x_is_token0 = pool.token0() == x.address
        ratio = price / 10**18 * 10**6 / 10**18
        tick = _log_tick(ratio if x_is_token0 else 1 / ratio) + tick_offset
        tick = max(MIN_TICK, min(MAX_TICK, tick))
        pool.set_observations(0, tick * WINDOW, 0, WINDOW * 2**128 // 2**100)
        router.set_feed(
            x.address,
            params(feed, pool, 1, min_price=1, max_price=MAX_UINT128, max_deviation_bps=deviation, error_bps=error),
        )

        data = router.price_data(x.address)
        event(f"status {data.status}")

        if data.status not in (0, 11):  # the pool too thin for a tiny price: nothing unchecked was reached
            assert data.status == 10
            return
        assert data.price == price
        lower, upper = min(price, data.twap_price), max(price, data.twap_price)
        disputed = upper - lower > price * deviation // BPS
        assert data.status == (11 if disputed else 0)
        if not disputed:
            assert data.low == lower * (BPS - error) // BPS
            assert data.high == -(-upper * (BPS + error) // BPS)
            assert data.high < 2**256


tick_st = st.one_of(st.sampled_from([MIN_TICK, MAX_TICK, 0, -1, 1]), st.integers(MIN_TICK, MAX_TICK))
base_amount_st = st.one_of(
    st.sampled_from([1, 10**18, 2**64 - 1, 2**64, 2**128 - 1, 2**128, 2**200]),
    st.integers(1, 10**36),
    st.integers(1, 2**256 - 1),
)


@SETTINGS
@given(tick=tick_st, base_amount=base_amount_st, base_is_token0=st.booleans())
def test_quote_at_tick__any_tick_and_amount__as_full_width_mul_div(twap, tick, base_amount, base_is_token0):
    sqrt_ratio = twap.sqrt_ratio_at_tick(tick)
    if sqrt_ratio <= MAX_UINT128:
        ratio, one = sqrt_ratio**2, 2**192
    else:
        ratio, one = sqrt_ratio**2 // 2**64, 2**128
    expected = base_amount * ratio // one if base_is_token0 else base_amount * one // ratio

    if expected >= 2**256:
        with boa.reverts("math: mul_div overflow"):
            twap.quote_at_tick(tick, base_amount, base_is_token0)
    else:
        assert twap.quote_at_tick(tick, base_amount, base_is_token0) == expected


amount_st = st.one_of(
    st.sampled_from([0, 1, 2**126 - 1, 2**126, 2**128]),
    st.integers(0, 10**30),
    st.integers(0, 2**127),
)


@SETTINGS
@given(amounts=st.tuples(amount_st, amount_st, amount_st))
def test_valuation__any_amounts__sums_as_python(router_market, amounts):
    router, tokens, _, _ = router_market
    assets = [tokens[s] for s in ("WETH", "WBTC", "USDC")]
    data = [router.price_data(t.address) for t in assets]
    units = [10 ** t.decimals() for t in assets]
    expected = (
        sum(a * d.price // u for a, d, u in zip(amounts, data, units, strict=True)),
        sum(a * d.low // u for a, d, u in zip(amounts, data, units, strict=True)),
        sum(-(-a * d.high // u) for a, d, u in zip(amounts, data, units, strict=True)),
    )

    got = router.valuation([t.address for t in assets], list(amounts))

    assert (got.mid, got.low, got.high) == expected
