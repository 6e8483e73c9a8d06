# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Index Arbitrage
@custom:contract-name IndexArbitrage
@license GNU Affero General Public License v3.0 only
@notice One atomic arbitrage cycle between an index token's pool (a
        Uniswap V2 pair, or a V3 pool) and its vault, with a flash swap from
        the pool, so that the arbitrageur never holds the index token nor
        needs capital:
        - `mint_and_sell` (the pool's price above NAV): the pool pays its
          quote token first; the zap buys the constituents with it and mints
          exactly the shares owed, which repay the pool;
        - `buy_and_redeem` (below NAV): the pool pays `shares` first; the
          zap redeems them to the quote token, which repays the pool.
        A V2 pair's amounts follow from its reserves in the same transaction
        (its 0.3% fee included); a V3 pool computes its own (exactly
        `shares` in when minting, exactly `shares` out when redeeming, with
        no price limit: the caller sizes the cycle). What the cycle leaves of the quote token is
        the profit, paid to `receiver` and at least `min_profit` or the
        whole cycle reverts; a constituent the zap hands back (bought beyond
        what the mint took) goes to `receiver` too. The zap's own bounds
        (the oracle's premium and discount) hold for each leg.

        The pool calls `uniswapV2Call` (`uniswapV3SwapCallback`) back within
        the cycle only: the pool and the cycle's parameters live in transient
        storage for the transaction, and a callback from any other caller, or
        one this contract did not start, is refused. The contract holds nothing
        between calls, has no owner and no state.
"""


from ethereum.ercs import IERC20

from ..interfaces import IIndexVault
from ..interfaces import IUniswapV2Pair
from ..interfaces import IUniswapV3Pool
from ..interfaces import IZap
from ..lib import constants
from ..lib import safe_erc20


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev A Uniswap V2 pair keeps 997 of each 1,000 units paid in.
_FEE_KEPT: constant(uint256) = 997
_FEE_BASE: constant(uint256) = 1_000

# @dev A V3 swap's price limits that never bind (the tick range's ends, one
# unit inside).
_MIN_SQRT_RATIO_PLUS_ONE: constant(uint160) = 4295128740
_MAX_SQRT_RATIO_MINUS_ONE: constant(uint160) = 1461446703485210103287273052203988822378723970341


# ---------------------------------------------------------------------------
#                                   EVENTS
# ---------------------------------------------------------------------------


event ArbitrageCycled:
    caller: indexed(address)
    pool: indexed(address)
    vault: indexed(address)
    v3: bool  # a Uniswap V3 pool; otherwise a V2 pair
    minted: bool  # minted and sold (above NAV); otherwise bought and redeemed
    shares: uint256
    quote: uint256  # of the pool's quote token: received for the shares, or paid for them
    profit: uint256  # of the quote token, paid to the receiver
    receiver: address


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The pool of the cycle under way (empty outside one).
_pool: transient(address)

# @dev The cycle's vault and zap.
_vault: transient(address)
_zap: transient(address)

# @dev The pool's other token.
_quote: transient(address)

# @dev The shares minted or redeemed.
_shares: transient(uint256)

# @dev The quote token the pool pays (minting) or is owed (redeeming).
_quote_amount: transient(uint256)

# @dev Which way the cycle goes.
_minting: transient(bool)

# @dev Whether the shares are the pool's token0.
_shares_are_0: transient(bool)


# ---------------------------------------------------------------------------
#                                   CYCLES
# ---------------------------------------------------------------------------


@external
@nonreentrant
def mint_and_sell(
    pool: address,
    v3: bool,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
) -> uint256:
    """
    @dev Sells `shares` into `pool` for its quote token, minting them
         through `zap` with that quote token (`legs` buy the constituents);
         pays the quote token left to `receiver` (module doc).
    @param pool The pool of the vault's shares.
    @param v3 Whether `pool` is a Uniswap V3 pool (otherwise a V2 pair).
    @param vault The index vault.
    @param zap The zap.
    @param shares The shares minted and sold.
    @param legs The zap's legs, one per constituent, paid in the quote token.
    @param min_profit The least quote token left, or the cycle reverts.
    @param receiver Who receives the profit.
    @return uint256 The profit.
    """
    return self._cycle(pool, v3, vault, zap, shares, legs, min_profit, receiver, True)


@external
@nonreentrant
def buy_and_redeem(
    pool: address,
    v3: bool,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
) -> uint256:
    """
    @dev Buys `shares` from `pool` with its quote token, redeeming them
         through `zap` to that quote token (`legs` sell the constituents);
         pays the quote token left to `receiver` (module doc).
    @param pool The pool of the vault's shares.
    @param v3 Whether `pool` is a Uniswap V3 pool (otherwise a V2 pair).
    @param vault The index vault.
    @param zap The zap.
    @param shares The shares bought and redeemed.
    @param legs The zap's legs, one per constituent, to the quote token.
    @param min_profit The least quote token left, or the cycle reverts.
    @param receiver Who receives the profit.
    @return uint256 The profit.
    """
    return self._cycle(pool, v3, vault, zap, shares, legs, min_profit, receiver, False)


@external
def uniswapV2Call(sender: address, amount0: uint256, amount1: uint256, data: Bytes[constants.MAX_FLASH_DATA]):
    """
    @dev A V2 pair's callback within a cycle: mints or redeems through the
         zap and repays the pair (the amounts were set by `_cycle`).
    @param sender Who called the pair's `swap`: this contract.
    @param amount0 The pair's token0 paid out.
    @param amount1 The pair's token1 paid out.
    @param data The zap's legs, ABI-encoded.
    """
    pool: address = self._pool
    assert pool != empty(address) and msg.sender == pool and sender == self, "arbitrage: not this cycle's pool"
    self._settle(pool, data, self._shares, self._quote_amount)


@external
def uniswapV3SwapCallback(amount0_delta: int256, amount1_delta: int256, data: Bytes[constants.MAX_FLASH_DATA]):
    """
    @dev A V3 pool's callback within a cycle: mints the shares owed with
         the quote token received (or redeems the shares received for the
         quote token owed) through the zap, and repays the pool.
    @param amount0_delta The pool's token0 owed to it (positive) or paid.
    @param amount1_delta The pool's token1 owed to it (positive) or paid.
    @param data The zap's legs, ABI-encoded.
    """
    pool: address = self._pool
    assert pool != empty(address) and msg.sender == pool, "arbitrage: not this cycle's pool"
    shares_delta: int256 = amount1_delta
    quote_delta: int256 = amount0_delta
    if self._shares_are_0:
        shares_delta = amount0_delta
        quote_delta = amount1_delta
    # minting: shares owed, quote paid out; redeeming: shares paid out,
    # quote owed (a pool owed nothing on one side and paid on the other)
    shares: uint256 = convert(abs(shares_delta), uint256)
    quote_amount: uint256 = convert(abs(quote_delta), uint256)
    if self._minting:
        assert shares_delta > 0 and quote_delta < 0, "arbitrage: unexpected swap"
    else:
        assert shares_delta < 0 and quote_delta > 0, "arbitrage: unexpected swap"
    self._quote_amount = quote_amount
    self._settle(pool, data, shares, quote_amount)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _cycle(
    pool: address,
    v3: bool,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
    minting: bool,
) -> uint256:
    """
    @dev One cycle either way, on either kind of pool (module doc).
    @return uint256 The profit.
    """
    assert shares != 0, "arbitrage: no shares"
    token0: address = staticcall IUniswapV2Pair(pool).token0()
    token1: address = staticcall IUniswapV2Pair(pool).token1()
    shares_are_0: bool = token0 == vault.address
    assert shares_are_0 or token1 == vault.address, "arbitrage: the pool does not trade the vault's shares"
    quote: address = token0
    if shares_are_0:
        quote = token1

    self._pool = pool
    self._quote_amount = 0  # set by the swap (V2) or its callback (V3)
    self._vault = vault.address
    self._zap = zap.address
    self._quote = quote
    self._shares = shares
    self._minting = minting
    self._shares_are_0 = shares_are_0
    if v3:
        self._swap_v3(pool, shares, minting, shares_are_0, abi_encode(legs))
    else:
        self._swap_v2(pool, shares, minting, shares_are_0, abi_encode(legs))
    self._pool = empty(address)
    quote_amount: uint256 = self._quote_amount

    profit: uint256 = staticcall IERC20(quote).balanceOf(self)
    assert profit >= min_profit, "arbitrage: profit below the minimum"
    if profit != 0:
        safe_erc20._transfer(quote, receiver, profit)
    for asset: address in staticcall vault.assets():
        if asset != quote:
            left: uint256 = staticcall IERC20(asset).balanceOf(self)
            if left != 0:
                safe_erc20._transfer(asset, receiver, left)
    log ArbitrageCycled(
        caller=msg.sender,
        pool=pool,
        vault=vault.address,
        v3=v3,
        minted=minting,
        shares=shares,
        quote=quote_amount,
        profit=profit,
        receiver=receiver,
    )
    return profit


@internal
def _swap_v2(pair: address, shares: uint256, minting: bool, shares_are_0: bool, data: Bytes[constants.MAX_FLASH_DATA]):
    """
    @dev The V2 flash swap: the pair pays the quote token for `shares`
         (minting) or `shares` for the quote token (redeeming), at the
         amounts its reserves give, and calls back.
    """
    reserve0: uint112 = 0
    reserve1: uint112 = 0
    stamp: uint32 = 0
    reserve0, reserve1, stamp = staticcall IUniswapV2Pair(pair).getReserves()
    reserve_shares: uint256 = convert(reserve1, uint256)
    reserve_quote: uint256 = convert(reserve0, uint256)
    if shares_are_0:
        reserve_shares = convert(reserve0, uint256)
        reserve_quote = convert(reserve1, uint256)
    quote_amount: uint256 = 0
    out_shares: uint256 = 0
    out_quote: uint256 = 0
    if minting:
        # the shares paid in buy this much of the quote token
        quote_amount = self._amount_out(shares, reserve_shares, reserve_quote)
        out_quote = quote_amount
    else:
        assert shares < reserve_shares, "arbitrage: the pair holds too few shares"
        quote_amount = self._amount_in(shares, reserve_quote, reserve_shares)
        out_shares = shares
    assert quote_amount != 0, "arbitrage: the swap rounds to nothing"
    self._quote_amount = quote_amount
    if shares_are_0:
        extcall IUniswapV2Pair(pair).swap(out_shares, out_quote, self, data)
    else:
        extcall IUniswapV2Pair(pair).swap(out_quote, out_shares, self, data)


@internal
def _swap_v3(pool: address, shares: uint256, minting: bool, shares_are_0: bool, data: Bytes[constants.MAX_FLASH_DATA]):
    """
    @dev The V3 swap: exactly `shares` in (minting) or out (redeeming), no
         price limit; the pool pays first and calls back.
    """
    # shares in: the price of the shares falls; quote in: it rises
    zero_for_one: bool = minting == shares_are_0
    amount: int256 = convert(shares, int256)
    if not minting:
        amount = -amount  # exact output
    limit: uint160 = _MAX_SQRT_RATIO_MINUS_ONE
    if zero_for_one:
        limit = _MIN_SQRT_RATIO_PLUS_ONE
    extcall IUniswapV3Pool(pool).swap(self, zero_for_one, amount, limit, data)


@internal
def _settle(pool: address, data: Bytes[constants.MAX_FLASH_DATA], shares: uint256, quote_amount: uint256):
    """
    @dev Within a callback: mints `shares` with the `quote_amount` the pool
         paid and hands them to it (minting), or redeems the `shares` it paid
         for at least the `quote_amount` it is owed and pays that (redeeming).
    """
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS] = abi_decode(data, DynArray[IZap.Leg, constants.MAX_ASSETS])
    vault: IIndexVault = IIndexVault(self._vault)
    zap: IZap = IZap(self._zap)
    quote: address = self._quote
    if self._minting:
        # the zap pulls all of `quote_amount` (the exact approval is used up)
        # and hands back what it did not spend
        self._approve(quote, zap.address, quote_amount)
        extcall zap.mint(vault, shares, quote, quote_amount, legs, self)
        safe_erc20._transfer(vault.address, pool, shares)
    else:
        # the zap pays at least what the pool is owed, or reverts
        self._approve(vault.address, zap.address, shares)
        extcall zap.redeem(vault, shares, quote, quote_amount, legs, self)
        safe_erc20._transfer(quote, pool, quote_amount)


@internal
@pure
def _amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    """
    @dev What a V2 pair pays for `amount_in`, its fee kept (as the pair's
         own invariant check allows, rounded down).
    """
    kept: uint256 = amount_in * _FEE_KEPT
    return kept * reserve_out // (reserve_in * _FEE_BASE + kept)


@internal
@pure
def _amount_in(amount_out: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    """
    @dev The least a V2 pair takes for paying `amount_out` (below its
         reserve), its fee kept (rounded up by one unit, as the pair needs).
    """
    return reserve_in * amount_out * _FEE_BASE // ((reserve_out - amount_out) * _FEE_KEPT) + 1


@internal
def _approve(token: address, spender: address, amount: uint256):
    """
    @dev Sets this contract's allowance of `token` for `spender` to
         `amount` (tokens returning nothing are accepted).
    """
    response: Bytes[32] = raw_call(
        token,
        abi_encode(spender, amount, method_id=method_id("approve(address,uint256)")),
        max_outsize=32,
    )
    if len(response) != 0:
        assert abi_decode(response, bool), "arbitrage: approve returned false"
