# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Index Arbitrage
@custom:contract-name IndexArbitrage
@license GNU Affero General Public License v3.0 only
@notice One atomic arbitrage cycle between an index token's Uniswap V2
        pair and its vault, with a flash swap from the pair, so that the
        arbitrageur never holds the index token nor needs capital:
        - `mint_and_sell` (the pair's price above NAV): the pair pays its
          quote token first; the zap buys the constituents with it and mints
          exactly `shares`, which repay the pair;
        - `buy_and_redeem` (below NAV): the pair pays `shares` first; the
          zap redeems them to the quote token, which repays the pair.
        The pair's amounts follow from its reserves in the same transaction
        (its 0.3% fee included). What the cycle leaves of the quote token is
        the profit, paid to `receiver` and at least `min_profit` or the
        whole cycle reverts; a constituent the zap hands back (bought beyond
        what the mint took) goes to `receiver` too. The zap's own bounds
        (the oracle's premium and discount) hold for each leg.

        The pair calls `uniswapV2Call` back within the cycle only: the pair
        and the cycle's parameters live in transient storage for the
        transaction, and a callback from any other caller, or one this
        contract did not start, is refused. The contract holds nothing
        between calls, has no owner and no state.
"""


from ethereum.ercs import IERC20

from ..interfaces import IIndexVault
from ..interfaces import IUniswapV2Pair
from ..interfaces import IZap
from ..lib import constants
from ..lib import safe_erc20


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev A Uniswap V2 pair keeps 997 of each 1,000 units paid in.
_FEE_KEPT: constant(uint256) = 997
_FEE_BASE: constant(uint256) = 1_000


# ---------------------------------------------------------------------------
#                                   EVENTS
# ---------------------------------------------------------------------------


event ArbitrageCycled:
    caller: indexed(address)
    pair: indexed(address)
    vault: indexed(address)
    minted: bool  # minted and sold (above NAV); otherwise bought and redeemed
    shares: uint256
    quote: uint256  # of the pair's quote token: received for the shares, or paid for them
    profit: uint256  # of the quote token, paid to the receiver
    receiver: address


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The pair of the cycle under way (empty outside one).
_pair: transient(address)

# @dev The cycle's vault and zap.
_vault: transient(address)
_zap: transient(address)

# @dev The pair's other token.
_quote: transient(address)

# @dev The shares minted or redeemed.
_shares: transient(uint256)

# @dev The quote token the pair pays (minting) or is owed (redeeming).
_quote_amount: transient(uint256)

# @dev Which way the cycle goes.
_minting: transient(bool)


# ---------------------------------------------------------------------------
#                                   CYCLES
# ---------------------------------------------------------------------------


@external
@nonreentrant
def mint_and_sell(
    pair: address,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
) -> uint256:
    """
    @dev Sells `shares` into `pair` for its quote token, minting them
         through `zap` with that quote token (`legs` buy the constituents);
         pays the quote token left to `receiver` (module doc).
    @param pair The Uniswap V2 pair of the vault's shares.
    @param vault The index vault.
    @param zap The zap.
    @param shares The shares minted and sold.
    @param legs The zap's legs, one per constituent, paid in the quote token.
    @param min_profit The least quote token left, or the cycle reverts.
    @param receiver Who receives the profit.
    @return uint256 The profit.
    """
    return self._cycle(pair, vault, zap, shares, legs, min_profit, receiver, True)


@external
@nonreentrant
def buy_and_redeem(
    pair: address,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
) -> uint256:
    """
    @dev Buys `shares` from `pair` with its quote token, redeeming them
         through `zap` to that quote token (`legs` sell the constituents);
         pays the quote token left to `receiver` (module doc).
    @param pair The Uniswap V2 pair of the vault's shares.
    @param vault The index vault.
    @param zap The zap.
    @param shares The shares bought and redeemed.
    @param legs The zap's legs, one per constituent, to the quote token.
    @param min_profit The least quote token left, or the cycle reverts.
    @param receiver Who receives the profit.
    @return uint256 The profit.
    """
    return self._cycle(pair, vault, zap, shares, legs, min_profit, receiver, False)


@external
def uniswapV2Call(sender: address, amount0: uint256, amount1: uint256, data: Bytes[constants.MAX_FLASH_DATA]):
    """
    @dev The pair's callback within a cycle: mints or redeems through the
         zap and repays the pair.
    @param sender Who called the pair's `swap`: this contract.
    @param amount0 The pair's token0 paid out.
    @param amount1 The pair's token1 paid out.
    @param data The zap's legs, ABI-encoded.
    """
    pair: address = self._pair
    assert pair != empty(address) and msg.sender == pair and sender == self, "arbitrage: not this cycle's pair"
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS] = abi_decode(data, DynArray[IZap.Leg, constants.MAX_ASSETS])
    vault: IIndexVault = IIndexVault(self._vault)
    zap: IZap = IZap(self._zap)
    quote: address = self._quote
    shares: uint256 = self._shares
    quote_amount: uint256 = self._quote_amount
    if self._minting:
        # the zap pulls all of `quote_amount` (the exact approval is used up)
        # and hands back what it did not spend
        self._approve(quote, zap.address, quote_amount)
        extcall zap.mint(vault, shares, quote, quote_amount, legs, self)
        safe_erc20._transfer(vault.address, pair, shares)
    else:
        # the zap pays at least what the pair is owed, or reverts
        self._approve(vault.address, zap.address, shares)
        extcall zap.redeem(vault, shares, quote, quote_amount, legs, self)
        safe_erc20._transfer(quote, pair, quote_amount)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _cycle(
    pair: address,
    vault: IIndexVault,
    zap: IZap,
    shares: uint256,
    legs: DynArray[IZap.Leg, constants.MAX_ASSETS],
    min_profit: uint256,
    receiver: address,
    minting: bool,
) -> uint256:
    """
    @dev One cycle either way (module doc).
    @return uint256 The profit.
    """
    assert shares != 0, "arbitrage: no shares"
    token0: address = staticcall IUniswapV2Pair(pair).token0()
    token1: address = staticcall IUniswapV2Pair(pair).token1()
    shares_are_0: bool = token0 == vault.address
    assert shares_are_0 or token1 == vault.address, "arbitrage: the pair does not trade the vault's shares"
    quote: address = token0
    if shares_are_0:
        quote = token1
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

    self._pair = pair
    self._vault = vault.address
    self._zap = zap.address
    self._quote = quote
    self._shares = shares
    self._quote_amount = quote_amount
    self._minting = minting
    if shares_are_0:
        extcall IUniswapV2Pair(pair).swap(out_shares, out_quote, self, abi_encode(legs))
    else:
        extcall IUniswapV2Pair(pair).swap(out_quote, out_shares, self, abi_encode(legs))
    self._pair = empty(address)

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
        pair=pair,
        vault=vault.address,
        minted=minting,
        shares=shares,
        quote=quote_amount,
        profit=profit,
        receiver=receiver,
    )
    return profit


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
