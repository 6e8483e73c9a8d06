"""Where the keeper trades: Uniswap V3 routes and quotes, Uniswap V2 paths, and the venue that pays more.

V3 pools are found through the adapter's factory's `getPool` (direct, else two hops through a hub: a constituent
named USDC, USDT, DAI or WETH, WETH9 (the quoter's or the SwapRouter's), or an extra hub given); with a
`UniswapV2Adapter` too, V2 paths through its factory's `getPair` the same way. A trade goes to the venue quoting
more for it: QuoterV2 for V3 (without a quoter, the oracle less the route's fees and `QUOTE_MARGIN_BPS`), the
pairs' reserves for V2 (`getAmountsOut`'s maths, `uniswap_v2_math.get_amount_out`). With a `SplitAdapter` too, a
trade on a direct pair that both venues hold may go to both at once: the V2 part that leaves the pair's and the
pool's marginal prices equal (`market.liquidity.equal_price_split` on the pair's reserves and the pool's in-range
virtual reserves), taken when both parts together pay more than the best single venue by more than what the
split's extra gas is worth (`split_worth`, in the token bought; `SPLIT_EXTRA_GAS`). The adapters swap on the
pools directly; a SwapRouter is needed only by an auction filler, to resell its lots.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ape import project
from eth_utils import to_checksum_address
from web3.exceptions import ContractLogicError

from index_vault.chain.contracts import npm_type, web3_contract
from index_vault.chain.tx import TxSender
from index_vault.common.units import BPS, WAD
from index_vault.keeper.chain.snapshot import Snapshot
from index_vault.keeper.policy import Route, find_route, pair_key
from index_vault.keeper.routes import split_route, v2_route
from index_vault.keeper.rules import mul_div
from index_vault.market.liquidity import equal_price_split
from index_vault.market.uniswap_v2_math import get_amount_out

FEE_TIERS = (3000, 500, 10000)  # the V3 fee tiers probed for pools
HUB_SYMBOLS = ("USDC", "USDT", "DAI", "WETH")  # constituents routes may go through
QUOTE_MARGIN_BPS = 10  # without a quoter: expected out = oracle less the route's fees and this much impact
SPLIT_EXTRA_GAS = 75_000  # a split trade's gas over one venue's (about 67,000: tests/integration/test_keeper_trades.py)
Q96 = 2**96


@dataclass(frozen=True)
class Venue:
    """Where a trade goes: an allowlisted adapter and the route bytes it takes."""

    name: str  # "uniswap-v3", "uniswap-v2", "split" (both)
    adapter: str
    route: bytes
    path: tuple[str, ...]  # tokens from the one sold to the one bought


class Venues:
    """The DEX side of a keeper: `adapter` (an allowlisted `UniswapV3Adapter`), `v2_adapter` (a
    `UniswapV2Adapter`, optional), `split_adapter` (a `SplitAdapter` over those two, optional), `quoter` (a
    QuoterV2, optional) and `swap_router` (a V3 SwapRouter, for a filler's resales only) are addresses;
    `token(address)` gives (symbol, decimals). Pools, pairs and routes found are cached."""

    def __init__(
        self,
        tx: TxSender,
        token,
        *,
        adapter: str,
        v2_adapter=None,
        split_adapter=None,
        quoter=None,
        swap_router=None,
        hubs: Sequence[str] = (),
    ):
        self.tx, self.w3, self.token = tx, tx.w3, token
        self.adapter = web3_contract(self.w3, adapter, project.UniswapV3Adapter.contract_type)
        factory = tx.read(self.adapter.functions.factory().call)
        self.factory = web3_contract(self.w3, factory, npm_type("UniswapV3Factory"))
        self.quoter = web3_contract(self.w3, quoter, npm_type("QuoterV2")) if quoter else None
        self.swap_router = web3_contract(self.w3, swap_router, npm_type("SwapRouter")) if swap_router else None
        periphery = self.quoter or self.swap_router
        self.weth9 = to_checksum_address(tx.read(periphery.functions.WETH9().call)) if periphery else None
        self.v2_adapter = self.v2_factory = None
        if v2_adapter:
            self.v2_adapter = web3_contract(self.w3, v2_adapter, project.UniswapV2Adapter.contract_type)
            factory = tx.read(self.v2_adapter.functions.factory().call)
            self.v2_factory = web3_contract(self.w3, factory, npm_type("UniswapV2Factory"))
        self.split_adapter = to_checksum_address(split_adapter) if split_adapter and v2_adapter else None
        self._v2_pair_address: dict[frozenset[str], str] = {}
        self._v2_paths: dict[tuple[str, str], tuple[str, ...] | None] = {}
        self._v2_pairs: dict[frozenset[str], bool] = {}
        self.extra_hubs = [to_checksum_address(h) for h in hubs]
        self._pools: dict[tuple[str, str, int], bool] = {}
        self._pool_address: dict[tuple[str, str, int], str] = {}
        self._routes: dict[tuple[str, str], Route | None] = {}

    def _pool_exists(self, a: str, b: str, fee: int) -> bool:
        key = (*sorted((a, b)), fee)
        if key not in self._pools:
            address = self.tx.call(self.factory.functions.getPool(a, b, fee))
            exists = int(address, 16) != 0
            if exists:
                pool = web3_contract(self.w3, address, npm_type("UniswapV3Pool"))
                exists = self.tx.call(pool.functions.liquidity()) > 0
                self._pool_address[key] = address
            self._pools[key] = exists
        return self._pools[key]

    def v3_pools(self, a: str, b: str) -> list:
        """The V3 pools of `a` and `b` with liquidity, one per fee tier (`FEE_TIERS` order), as web3 contracts."""
        return [
            web3_contract(self.w3, self._pool_address[(*sorted((a, b)), fee)], npm_type("UniswapV3Pool"))
            for fee in FEE_TIERS
            if self._pool_exists(a, b, fee)
        ]

    def v2_pair(self, a: str, b: str):
        """The V2 pair of `a` and `b` with reserves, as a web3 contract, or None (or without a V2 adapter)."""
        if self.v2_factory is None or not self._v2_pair_exists(a, b):
            return None
        return web3_contract(self.w3, self._v2_pair_address[frozenset((a, b))], npm_type("UniswapV2Pair"))

    def hubs(self, assets: Iterable[str]) -> list[str]:
        found = list(self.extra_hubs)
        for asset in assets:
            if self.token(asset)[0] in HUB_SYMBOLS and asset not in found:
                found.append(asset)
        if self.weth9 and self.weth9 not in found:
            found.append(self.weth9)
        return found

    def route(self, sell: str, buy: str, assets: Iterable[str] = ()) -> Route | None:
        """The V3 route from `sell` to `buy` (`find_route` over the pools the factory knows)."""
        if (sell, buy) not in self._routes:
            hubs = self.hubs(assets or (sell, buy))
            pools: dict[frozenset[str], list[int]] = {}
            for a, b in [(sell, buy)] + [(x, h) for h in hubs for x in (sell, buy)]:
                if a != b:
                    pools[pair_key(a, b)] = [f for f in FEE_TIERS if self._pool_exists(a, b, f)]
            self._routes[(sell, buy)] = find_route(sell, buy, pools, hubs)
        return self._routes[(sell, buy)]

    def quote(self, route: Route, amount_in: int, block: int | str = "latest") -> int | None:
        """QuoterV2's amount out along `route`, or None without a quoter or when it reverts (no liquidity)."""
        if self.quoter is None or amount_in == 0:
            return None
        fn = self.quoter.functions.quoteExactInput(route.encode(), amount_in)
        try:
            return self.tx.call(fn, block)[0]
        except ContractLogicError:
            return None

    def _v2_pair_exists(self, a: str, b: str) -> bool:
        key = frozenset((a, b))
        if key not in self._v2_pairs:
            address = self.tx.call(self.v2_factory.functions.getPair(a, b))
            exists = int(address, 16) != 0
            if exists:
                self._v2_pair_address[key] = address
                pair = web3_contract(self.w3, address, npm_type("UniswapV2Pair"))
                exists = all(r > 0 for r in self.tx.call(pair.functions.getReserves())[:2])
            self._v2_pairs[key] = exists
        return self._v2_pairs[key]

    def v2_path(self, sell: str, buy: str, assets: Iterable[str] = ()) -> tuple[str, ...] | None:
        """The Uniswap V2 path from `sell` to `buy`: the direct pair, else two hops through the first hub."""
        if self.v2_factory is None:
            return None
        if (sell, buy) not in self._v2_paths:
            path = None
            if self._v2_pair_exists(sell, buy):
                path = (sell, buy)
            else:
                for hub in self.hubs(assets or (sell, buy)):
                    if hub not in (sell, buy) and self._v2_pair_exists(sell, hub) and self._v2_pair_exists(hub, buy):
                        path = (sell, hub, buy)
                        break
            self._v2_paths[(sell, buy)] = path
        return self._v2_paths[(sell, buy)]

    def eth_price(self, snap: Snapshot) -> int:
        """USD per ether (18 decimals), to price gas: WETH9 or a constituent named WETH/ETH at the snapshot, else
        the vault's oracle for WETH9; 0 if unknown."""
        for asset, symbol, price in zip(snap.assets, snap.symbols, snap.prices, strict=True):
            if asset == self.weth9 or symbol in ("WETH", "ETH"):
                return price
        if self.weth9 is None:
            return 0
        oracle = web3_contract(self.w3, snap.oracle, project.OracleRouter.contract_type)
        data = self.tx.call(oracle.functions.price_data(self.weth9), snap.block)
        return data[1] if data[0] == 0 else 0

    def split_worth(self, snap: Snapshot, buy: str, gas_price: int) -> int | None:
        """What a split trade's extra gas (`SPLIT_EXTRA_GAS` at `gas_price`) costs in units of `buy`, at the
        snapshot's prices, rounded up; None (never split) while the price of ether or of `buy` is unknown."""
        eth, b = self.eth_price(snap), snap.index(buy)
        if not eth or not snap.prices[b]:
            return None
        usd = mul_div(SPLIT_EXTRA_GAS * gas_price, eth, WAD, round_up=True)
        return mul_div(usd, 10 ** snap.decimals[b], snap.prices[b], round_up=True)

    def v3_out(self, snap: Snapshot, route: Route, amount_in: int, block: int | str) -> int:
        out = self.quote(route, amount_in, block)
        if out is None:
            s, b = snap.index(route.tokens[0]), snap.index(route.tokens[-1])
            oracle_out = mul_div(
                mul_div(amount_in, snap.prices[s], 10 ** snap.decimals[s]), 10 ** snap.decimals[b], snap.prices[b]
            )
            keep = BPS - int(route.fee_bps + 0.999) - QUOTE_MARGIN_BPS
            out = mul_div(oracle_out, max(keep, 0), BPS)
        return out

    def v2_out(self, path: tuple[str, ...], amount_in: int, block: int | str) -> int:
        """What the pairs along `path` pay for `amount_in` at `block` (Router02's `getAmountsOut`)."""
        amount = amount_in
        for a, b in pairwise(path):
            pair = web3_contract(self.w3, self._v2_pair_address[frozenset((a, b))], npm_type("UniswapV2Pair"))
            r0, r1 = self.tx.call(pair.functions.getReserves(), block)[:2]
            reserve_in, reserve_out = (r0, r1) if int(a, 16) < int(b, 16) else (r1, r0)
            if amount == 0 or reserve_in == 0 or reserve_out == 0:
                return 0
            amount = get_amount_out(amount, reserve_in, reserve_out)
        return amount

    def venue(
        self, snap: Snapshot, sell: str, buy: str, amount_in: int, block: int | str, split_worth: int | None = None
    ) -> tuple[Venue, int] | None:
        """The venue that pays the most for `amount_in` of `sell` at `block`, and what it pays; None: no route.
        With `split_worth` (what the split's extra gas is worth, in `buy`), both venues at once when that pays
        more than the best one by more than `split_worth`."""
        offers = []
        route = self.route(sell, buy, snap.assets)
        if route is not None:
            venue = Venue("uniswap-v3", self.adapter.address, route.encode(), route.tokens)
            offers.append((self.v3_out(snap, route, amount_in, block), venue))
        path = self.v2_path(sell, buy, snap.assets) if amount_in else None
        if path is not None:
            venue = Venue("uniswap-v2", self.v2_adapter.address, v2_route(path), path)
            offers.append((self.v2_out(path, amount_in, block), venue))
        if not offers:
            return None
        out, venue = max(offers, key=lambda offer: offer[0])  # ties: V3, listed first
        if split_worth is not None and route is not None and path is not None:
            split = self.split_offer(snap, route, path, amount_in, block)
            if split is not None and split[1] > out + split_worth:
                return split
        return venue, out

    def split_offer(
        self, snap: Snapshot, route: Route, path: tuple[str, ...], amount_in: int, block: int | str
    ) -> tuple[Venue, int] | None:
        """Both venues at once through the split adapter, and what the two parts pay together: the V2 part that
        leaves the pair's and the pool's marginal prices equal. None without a split adapter, unless both venues
        are the same direct pair, or when that split gives one venue everything."""
        if self.split_adapter is None or len(path) != 2 or tuple(route.tokens) != tuple(path):
            return None
        sell, buy = path
        pair = self.v2_pair(sell, buy)
        r0, r1 = self.tx.call(pair.functions.getReserves(), block)[:2]
        sell_is_0 = int(sell, 16) < int(buy, 16)
        v2_reserves = (r0, r1) if sell_is_0 else (r1, r0)
        address = self._pool_address[(*sorted((sell, buy)), route.fees[0])]
        pool = web3_contract(self.w3, address, npm_type("UniswapV3Pool"))
        sqrt_price = self.tx.call(pool.functions.slot0(), block)[0]
        liquidity = self.tx.call(pool.functions.liquidity(), block)
        if not sqrt_price or not liquidity or not all(v2_reserves):
            return None
        reserve0, reserve1 = liquidity * Q96 // sqrt_price, liquidity * sqrt_price // Q96  # in-range virtual reserves
        v3_reserves = (reserve0, reserve1) if sell_is_0 else (reserve1, reserve0)
        if not all(v3_reserves):
            return None
        v2_part = equal_price_split(amount_in, v2_reserves, v3_reserves)
        if v2_part in (0, amount_in):
            return None
        out = self.v2_out(path, v2_part, block) + self.v3_out(snap, route, amount_in - v2_part, block)
        venue = Venue("split", self.split_adapter, split_route(v2_part, route.tokens, route.fees), tuple(route.tokens))
        return venue, out

    def expected_out(self, snap: Snapshot, sell: str, buy: str, amount_in: int, cache: dict) -> int:
        key = (sell, buy, amount_in)
        if key not in cache:
            best = self.venue(snap, sell, buy, amount_in, snap.block)
            cache[key] = 0 if best is None else best[1]  # no route: the planner drops the pair (slippage)
        return cache[key]
