"""The fast path of `advance_market`: the same arbitrage, sent as raw web3 transactions.

Moving a market of N assets to a new day is 3N+1 feed updates, pool swaps and mints. Through Ape's contract
calls each transaction costs a dozen RPC round trips (type detection, estimates, traces): 11 s a day for five
assets. `MarketMover` reads what never changes once (decimals, aggregators, pool tokens and fees), approves the
routers for good, and sends through `index_vault.chain.tx.LocalSender` (signed locally with the trader's key at
a fixed gas limit, one receipt read per transaction): about 1 s a day. The maths are `advance_market`'s own
(`swap_to_price`, `swap_to_price_v2`, exact integers).
"""

from decimal import Decimal
from fractions import Fraction
from functools import cache

from ape import networks
from ape.api import AccountAPI
from eth_abi import decode
from eth_utils import to_checksum_address

from index_vault.chain.tx import LocalSender
from index_vault.common.artifacts import load_artifact
from index_vault.market.chain.uniswap_v3 import price_from_sqrt_price_x96, sqrt_price_x96, swap_to_price
from index_vault.market.model import FEED_DECIMALS, AddressBook, MarketPlan, feed_price
from index_vault.market.uniswap_v2_math import pair_price, raw_price, swap_to_price_v2
from index_vault.oracle.chain.feeds import price_to_answer

MAX_UINT = 2**256 - 1
GAS_MONEY = 100 * 10**18  # ether a trader keeps on top of what it wraps
ARBITRAGE_TOLERANCE = Fraction(5, 1000)  # a pool must land within 0.5% of the target price
DEADLINE = 2**32 - 1


def _tuple_type(output: dict) -> str:
    return "(" + ",".join(c["type"] for c in output["components"]) + ")"


def check_landed(what: str, landed: Fraction, price: Decimal) -> Fraction:
    """`landed`, unless it is more than `ARBITRAGE_TOLERANCE` off `price` (then `RuntimeError`)."""
    wanted = Fraction(price)
    if abs(landed - wanted) > wanted * ARBITRAGE_TOLERANCE:
        raise RuntimeError(f"{what} landed at {float(landed):.8g}, target {float(wanted):.8g}")
    return landed


@cache
def _abi(name: str) -> tuple:
    return tuple(load_artifact(name).abi)


class MarketMover:
    """Moves the market of an address book to a plan's prices from `trader`'s account (local chains).

    Keep one for a run of days (`advance_market(..., mover=)`): it reads the book's static facts once.
    """

    def __init__(self, book: AddressBook, trader: AccountAPI, w3=None):
        self.w3 = w3 or networks.provider.web3
        self.book = book
        self.trader = trader
        self.address = to_checksum_address(trader.address)
        self.sender = LocalSender(trader, web3=self.w3)
        self.weth = to_checksum_address(book.uniswap["weth"])
        self.tokens = {a: to_checksum_address(t["address"]) for a, t in book.tokens.items()}
        self.decimals = {a: int(t["decimals"]) for a, t in book.tokens.items()}
        self.swap_router = self._contract(book.uniswap["swap_router"], "SwapRouter")
        self.v2_router = self._contract(book.uniswap_v2["router"], "UniswapV2Router02") if book.v2_pairs else None
        proxies = {asset: self._contract(feed, "EACAggregatorProxy") for asset, feed in book.feeds.items()}
        self.aggregators = {
            asset: self._contract(proxy.functions.aggregator().call(), "MockV3Aggregator")
            for asset, proxy in proxies.items()
        }
        self.pools = {key: self._contract(address, "UniswapV3Pool") for key, address in book.pools.items()}
        self.pool_meta = {
            key: (pool.functions.token0().call(), pool.functions.fee().call()) for key, pool in self.pools.items()
        }
        self.pairs = {key: self._contract(address, "UniswapV2Pair") for key, address in book.v2_pairs.items()}
        self.pair_token0 = {key: pair.functions.token0().call() for key, pair in self.pairs.items()}

    def _contract(self, address: str, name: str):
        return self.w3.eth.contract(address=to_checksum_address(address), abi=list(_abi(name)))

    def _call(self, fn):
        """A view function's result (a tuple when it has several outputs), by one eth_call."""
        data = fn._encode_transaction_data()
        result = self.sender.rpc("eth_call", [{"to": fn.address, "data": data}, "latest"])
        types = [o["type"] if o["type"] != "tuple" else _tuple_type(o) for o in fn.abi["outputs"]]
        values = decode(types, bytes.fromhex(result.removeprefix("0x")))
        return values[0] if len(values) == 1 else values

    def _send(self, fn, what: str, value: int = 0) -> dict:
        """Sends `fn` from the trader; `RuntimeError` with the reason when it reverts."""
        return self.sender.send({"to": fn.address, "data": fn._encode_transaction_data()}, what, value)

    def _token(self, asset: str):
        return self._contract(self.tokens[asset], "WETH9" if self.tokens[asset] == self.weth else "StandardTokenMock")

    def _give(self, asset: str, amount: int) -> None:
        """Mints `amount` of a test token to the trader, or wraps ether (topped up) for WETH."""
        token = self._token(asset)
        if self.tokens[asset] == self.weth:
            balance = int(self.sender.rpc("eth_getBalance", [self.address, "latest"]), 16)
            if balance < amount + GAS_MONEY // 2:
                self.w3.provider.make_request("anvil_setBalance", [self.address, hex(balance + amount + GAS_MONEY)])
            self._send(token.functions.deposit(), f"wrap {amount} WETH", value=amount)
        else:
            self._send(token.functions.mint(self.address, amount), f"mint {asset}")

    def _approve(self, asset: str, spender) -> None:
        """Approves `spender` for all of the trader's `asset` unless it is already (read each time: a test's
        snapshot revert can undo an approval behind this object's back)."""
        token = self._token(asset)
        if self._call(token.functions.allowance(self.address, spender.address)) < MAX_UINT // 2:
            self._send(token.functions.approve(spender.address, MAX_UINT), f"approve {asset}")

    def move(self, plan: MarketPlan) -> dict[str, Fraction]:
        """Feeds to the plan's prices, then every V3 pool and V2 pair arbitraged to them; returns landed prices."""
        self.sender.sync()  # others may have sent
        for asset, aggregator in self.aggregators.items():
            answer = price_to_answer(feed_price(plan.prices[asset]), FEED_DECIMALS)
            self._send(aggregator.functions.updateAnswer(answer), f"feed {asset}")
        landed = {}
        for key in self.pools:
            target = plan.pool(key)
            landed[f"v3 {key}"] = self._arbitrage_v3(key, target.asset, target.quote, target.price)
        for key in self.pairs:
            target = plan.pool(key)
            landed[f"v2 {key}"] = self._arbitrage_v2(key, target.asset, target.quote, target.price)
        return landed

    def _arbitrage_v3(self, key: str, a: str, b: str, price: Decimal) -> Fraction:
        pool = self.pools[key]
        token0, fee = self.pool_meta[key]
        a_is_token0 = token0 == self.tokens[a]
        dec_a, dec_b = self.decimals[a], self.decimals[b]
        target = sqrt_price_x96(price, dec_a, dec_b, a_is_token0)
        sqrt_price = self._call(pool.functions.slot0())[0]
        zero_for_one, amount_in = swap_to_price(sqrt_price, target, self._call(pool.functions.liquidity()), fee)
        if amount_in:
            asset0, asset1 = (a, b) if a_is_token0 else (b, a)
            asset_in, asset_out = (asset0, asset1) if zero_for_one else (asset1, asset0)
            self._give(asset_in, amount_in)
            self._approve(asset_in, self.swap_router)
            params = (self.tokens[asset_in], self.tokens[asset_out], fee, self.address, DEADLINE, amount_in, 0, target)
            self._send(self.swap_router.functions.exactInputSingle(params), f"swap in pool {key}")
            sqrt_price = self._call(pool.functions.slot0())[0]
        landed = price_from_sqrt_price_x96(sqrt_price, dec_a, dec_b, a_is_token0)
        return check_landed(f"pool {key}", landed, price)

    def _arbitrage_v2(self, key: str, a: str, b: str, price: Decimal) -> Fraction:
        pair = self.pairs[key]
        reserve0, reserve1, _ = self._call(pair.functions.getReserves())
        a_is_token0 = self.pair_token0[key] == self.tokens[a]
        reserve_a, reserve_b = (reserve0, reserve1) if a_is_token0 else (reserve1, reserve0)
        dec_a, dec_b = self.decimals[a], self.decimals[b]
        swap = swap_to_price_v2(reserve_a, reserve_b, raw_price(price, dec_a, dec_b))
        if swap.amount_in:
            asset_in, asset_out = (a, b) if swap.a_in else (b, a)
            self._give(asset_in, swap.amount_in)
            self._approve(asset_in, self.v2_router)
            path = [self.tokens[asset_in], self.tokens[asset_out]]
            fn = self.v2_router.functions.swapExactTokensForTokens(
                swap.amount_in, swap.amount_out, path, self.address, DEADLINE
            )
            self._send(fn, f"swap in V2 pair {key}")
            reserve0, reserve1, _ = self._call(pair.functions.getReserves())
            reserve_a, reserve_b = (reserve0, reserve1) if a_is_token0 else (reserve1, reserve0)
        return check_landed(f"V2 pair {key}", pair_price(reserve_a, reserve_b, dec_a, dec_b), price)
