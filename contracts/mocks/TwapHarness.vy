# pragma version ~=0.4.3
"""
@title TWAP Harness
@custom:contract-name TwapHarness
@license GNU Affero General Public License v3.0 only
@notice A test-only contract that exposes the internal functions of the
        `uniswap_v3_twap` module as external view functions, so that the
        tests can call them. Never deploy it on a live network.
"""


from ..oracle import uniswap_v3_twap


@external
@pure
def sqrt_ratio_at_tick(tick: int24) -> uint256:
    """
    @dev Exposes `uniswap_v3_twap._sqrt_ratio_at_tick`.
    @param tick The tick.
    @return uint256 `sqrt(1.0001**tick)` as a Q64.96 number.
    """
    return uniswap_v3_twap._sqrt_ratio_at_tick(tick)


@external
@pure
def quote_at_tick(tick: int24, base_amount: uint256, base_is_token0: bool) -> uint256:
    """
    @dev Exposes `uniswap_v3_twap._quote_at_tick`.
    @param tick The tick.
    @param base_amount The amount of the base token.
    @param base_is_token0 Whether the base token is the pool's token0.
    @return uint256 The amount of the other pool token, rounded down.
    """
    return uniswap_v3_twap._quote_at_tick(tick, base_amount, base_is_token0)


@external
@view
def consult(pool: address, window: uint32) -> (int24, uint128):
    """
    @dev Exposes `uniswap_v3_twap._consult`.
    @param pool The Uniswap V3 pool.
    @param window The window, in seconds.
    @return int24 The arithmetic mean tick.
    @return uint128 The harmonic mean liquidity.
    """
    return uniswap_v3_twap._consult(pool, window)


@external
@view
def try_consult(pool: address, window: uint32) -> (bool, int24, uint128):
    """
    @dev Exposes `uniswap_v3_twap._try_consult`.
    @param pool The Uniswap V3 pool.
    @param window The window, in seconds.
    @return bool Whether the values are usable.
    @return int24 The arithmetic mean tick, or zero.
    @return uint128 The harmonic mean liquidity, or zero.
    """
    return uniswap_v3_twap._try_consult(pool, window)
