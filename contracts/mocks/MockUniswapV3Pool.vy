# pragma version ~=0.4.3
"""
@title Mock Uniswap V3 Pool
@custom:contract-name MockUniswapV3Pool
@license GNU Affero General Public License v3.0 only
@notice A test-only stand-in for a Uniswap V3 pool's oracle: `observe`
        returns two configurable tick cumulatives and two configurable
        seconds per liquidity cumulatives, whatever the times asked for,
        or reverts with "OLD" (as a pool whose observation history is too
        short does) when `old` is set. When `expected_window` is set, it
        also checks that it was asked for `[expected_window, 0]`. Anyone
        may configure it. Never deploy it on a live network.
"""


# @dev The pool's token0.
token0: public(address)

# @dev The pool's token1.
token1: public(address)

# @dev The tick cumulatives returned by `observe`, oldest first.
tick_cumulatives: public(int56[2])

# @dev The seconds per liquidity cumulatives (Q128) returned by `observe`,
# oldest first.
seconds_per_liquidity_cumulative_x128s: public(uint160[2])

# @dev When set, `observe` reverts with "OLD".
old: public(bool)

# @dev When not zero, `observe` requires `secondsAgos == [expected_window, 0]`.
expected_window: public(uint32)


@deploy
def __init__(token0: address, token1: address):
    """
    @dev Sets the two pool tokens.
    @param token0 The pool's token0.
    @param token1 The pool's token1.
    """
    self.token0 = token0
    self.token1 = token1


@external
def set_observations(
    tick_cumulative_0: int56,
    tick_cumulative_1: int56,
    seconds_per_liquidity_cumulative_x128_0: uint160,
    seconds_per_liquidity_cumulative_x128_1: uint160,
):
    """
    @dev Sets the values `observe` returns.
    @param tick_cumulative_0 The tick cumulative at the start of the window.
    @param tick_cumulative_1 The tick cumulative now.
    @param seconds_per_liquidity_cumulative_x128_0 The seconds per
           liquidity cumulative at the start of the window.
    @param seconds_per_liquidity_cumulative_x128_1 The seconds per
           liquidity cumulative now.
    """
    self.tick_cumulatives = [tick_cumulative_0, tick_cumulative_1]
    self.seconds_per_liquidity_cumulative_x128s = [
        seconds_per_liquidity_cumulative_x128_0,
        seconds_per_liquidity_cumulative_x128_1,
    ]


@external
def set_old(old: bool):
    """
    @dev Makes `observe` revert with "OLD", or stops it from doing so.
    @param old Whether `observe` reverts.
    """
    self.old = old


@external
def set_expected_window(expected_window: uint32):
    """
    @dev Makes `observe` check the times it is asked for (zero: no check).
    @param expected_window The window `observe` expects.
    """
    self.expected_window = expected_window


@external
@view
def observe(secondsAgos: DynArray[uint32, 2]) -> (DynArray[int56, 2], DynArray[uint160, 2]):
    """
    @dev Returns the configured cumulatives, as Uniswap V3's `observe`.
    @param secondsAgos How long ago each observation is taken, in seconds.
    @return DynArray The tick cumulatives.
    @return DynArray The seconds per liquidity cumulatives (Q128).
    """
    assert not self.old, "OLD"
    if self.expected_window != 0:
        assert len(secondsAgos) == 2, "mock: unexpected secondsAgos"
        assert secondsAgos[0] == self.expected_window and secondsAgos[1] == 0, "mock: unexpected secondsAgos"
    return (
        [self.tick_cumulatives[0], self.tick_cumulatives[1]],
        [self.seconds_per_liquidity_cumulative_x128s[0], self.seconds_per_liquidity_cumulative_x128s[1]],
    )
