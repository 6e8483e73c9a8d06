"""The keeper on a chain: read the Rebalancer and its vault, plan (`index_vault.keeper.planner`), simulate,
send, re-read.

A round:
1. If the keeper's account has transactions in flight (`eth_getTransactionCount` "pending" above "latest"),
   wait for them: a keeper killed between send and receipt and restarted never sends a second trade while
   its first may still land.
2. Read a snapshot pinned to the head block (`read_snapshot`): holdings, every price with its status
   (`OracleRouter.price_data`, never the reverting `price`), targets, limits, the period book, the pairs'
   last trades, the pause, the keeper role and the adapter allowlist. A paused vault, an unusable price,
   missing targets, a missing role or adapter make the keeper wait and say why.
3. Fill auctions (filler mode), then plan and send the plan's first trade only: simulate it with a plain
   `eth_call` (skipped, with the reason, when it would revert), estimate its gas, refuse to send above the
   gas price cap, sign, broadcast, wait for the receipt; then read the chain again and plan again from
   what actually happened. The pair's cool-down and the fresh read are the whole memory: a restarted
   keeper re-plans from the chain.

Every RPC goes through plain web3 (`networks.provider.web3`), retried with backoff on transient failures
(`index_vault.keeper.policy.RetryPolicy`): a revert comes back at once as `ContractLogicError` with its
reason, never through Ape's enriched errors (which trace the whole call tree of these oracle-heavy calls
and take a minute). A broadcast that fails in transit is retried with the very same signed bytes, so it
can land at most once.

Length: over 500 lines until it is split into parts with one job each.
"""

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ape import networks, project
from ape.api import AccountAPI
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD

from index_vault.chain.contracts import ERC20_ABI, npm_container
from index_vault.common.report import table
from index_vault.common.units import format_units
from index_vault.keeper.planner import (
    BPS,
    WAD,
    Constituent,
    KeeperSettings,
    Limits,
    Market,
    Plan,
    RebalancerState,
    Trade,
    check_trade,
    inside_bands,
    mul_div,
    plan,
)
from index_vault.keeper.policy import (
    GWEI,
    EventLog,
    Metrics,
    RetryPolicy,
    Route,
    auction_buy_in,
    fee_caps,
    fill_profit,
    find_route,
    gas_usd,
    pair_key,
)
from index_vault.keeper.routes import v2_route

FEE_TIERS = (3000, 500, 10000)  # the V3 fee tiers probed for pools
HUB_SYMBOLS = ("USDC", "USDT", "DAI", "WETH")  # constituents routes may go through
QUOTE_MARGIN_BPS = 10  # without a quoter: expected out = oracle less the route's fees and this much impact
AUCTION_LOOKBACK = 50  # the latest auctions scanned for fills (an auction lives at most a week)
GAS_FILL = 650_000  # a fill values the vault like a trade
GAS_APPROVE = 50_000
GAS_SWAP_PER_HOP = 120_000
DEADLINE_SECONDS = 600
FILL_LOOKBACK_BLOCKS = 50_000  # how far back unsold lots of this keeper's fills are looked for
TRANSFER_EVENT = {
    "type": "event",
    "name": "Transfer",
    "anonymous": False,
    "inputs": [
        {"name": "from", "type": "address", "indexed": True},
        {"name": "to", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False},
    ],
}


class KeeperError(RuntimeError):
    """A configuration the keeper cannot run with (no adapter, an unsigned transaction...)."""


class Reverted(Exception):  # noqa: N818 - what happened, not an error of the keeper
    """A simulated call that would revert, with the contract's reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Wait(Exception):  # noqa: N818 - control flow: the round ends waiting
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _abi(contract_type) -> list[dict]:
    return [a.model_dump(mode="json", by_alias=True, exclude_none=True) for a in contract_type.abi]


def _reason(exc: ContractLogicError) -> str:
    text = str(exc.message or exc)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted") or "reverted (no reason)"


# --- configuration and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class KeeperConfig:
    """How the keeper trades. Amounts in USD have 18 decimals; gas prices are in wei."""

    band: int = 10**16  # drift band (absolute weight, 1e18 = 100%)
    min_trade_usd: int = 100 * WAD
    slippage_bps: int | None = None  # min out below the oracle; None: the vault's max_slippage_bps
    max_trades_per_round: int = 10
    max_gas_price: int | None = None  # refuse to send above this (wait instead)
    priority_fee: int | None = None  # None: the node's eth_maxPriorityFeePerGas
    gas_per_trade: int | None = None  # for the plan's gas test; None: 200k + 110k per constituent
    gas_multiplier: float = 1.25  # gas limit over the estimate
    receipt_timeout: float = 180.0  # seconds; then the round ends and the next waits for the transaction
    poll_interval: float = 1.0
    dry_run: bool = False
    fill_auctions: bool = False
    min_fill_profit_usd: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class Snapshot:
    """The chain as a trade is judged by it, read at one block."""

    block: int
    timestamp: int
    base_fee: int
    oracle: str
    assets: tuple[str, ...]
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    holdings: tuple[int, ...]
    prices: tuple[int, ...]  # 0 where unusable
    price_problems: tuple[tuple[str, str], ...]  # (symbol, the oracle's reason)
    targets: tuple[int, ...]
    targets_set: bool
    limits: Limits
    period_start: int
    period_used: int
    last_trade: Mapping[tuple[str, str], int]
    paused: bool
    is_keeper: bool
    adapter_allowed: bool
    keeper: str

    def symbol(self, address: str) -> str:
        return dict(zip(self.assets, self.symbols, strict=True)).get(address, address[:10])

    def index(self, address: str) -> int:
        return self.assets.index(address)

    def wait_reason(self) -> tuple[str, str] | None:
        """(kind, reason) nothing can be traded or filled for, or None: no targets, a pause, a bad price."""
        if not self.targets_set:
            return "targets", "the rebalancer has no target weights"
        if self.paused:
            return "paused", "vault paused"
        if self.price_problems:
            text = ", ".join(f"{s}: {r}" for s, r in self.price_problems)
            return "prices", f"unusable prices ({text})"
        if sum(self.targets) != WAD:
            return "targets", "target weights do not sum to 100%"
        return None

    def trading_blocked(self) -> tuple[str, str] | None:
        """(kind, reason) this account cannot send keeper trades for (auctions it may still fill), or None."""
        if not self.is_keeper:
            return "role", f"{self.keeper} lacks the vault's KEEPER_ROLE"
        if not self.adapter_allowed:
            return "adapter", "the adapter is not allowed on the rebalancer"
        return None

    def state(self) -> RebalancerState:
        """The planner's view (prices must all be usable)."""
        constituents = tuple(
            Constituent(a, s, h, p, d, t)
            for a, s, h, p, d, t in zip(
                self.assets, self.symbols, self.holdings, self.prices, self.decimals, self.targets, strict=True
            )
        )
        return RebalancerState(
            constituents=constituents,
            limits=self.limits,
            now=self.timestamp,
            period_start=self.period_start,
            period_used=self.period_used,
            last_trade=dict(self.last_trade),
        )


@dataclass
class TradeOutcome:
    """A trade the keeper sent: its receipt's verdict, or still pending."""

    trade: Trade
    tx_hash: str
    status: str  # "mined", "reverted"
    amount_out: int = 0
    shortfall: int = 0
    gas_used: int = 0
    venue: str = ""  # "uniswap-v3" or "uniswap-v2"


@dataclass(frozen=True)
class Venue:
    """Where a trade goes: an allowlisted adapter and the route bytes it takes."""

    name: str  # "uniswap-v3", "uniswap-v2"
    adapter: str
    route: bytes
    path: tuple[str, ...]  # tokens from the one sold to the one bought


@dataclass
class FillOutcome:
    auction: int
    amount: int
    buy_in: int
    tx_hash: str
    status: str
    resold: int = 0  # what the DEX paid for the lot, in `buy`


@dataclass
class RoundResult:
    """What one round did."""

    number: int
    status: str = "idle"  # "traded", "idle", "waiting", "dry-run"
    reason: str | None = None  # why it waited, or what limited the plan
    plan: Plan | None = None  # the round's first plan
    trades: list[TradeOutcome] = field(default_factory=list)
    skipped: list[tuple[Trade, str]] = field(default_factory=list)  # simulated to revert: not sent
    simulations: list[tuple[Trade, int | None, str | None]] = field(default_factory=list)  # dry run
    fills: list[FillOutcome] = field(default_factory=list)
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class TradeRecord:
    """One `TradeExecuted` log."""

    block: int
    timestamp: int
    tx_hash: str
    keeper: str
    sell: str
    buy: str
    amount_in: int
    amount_out: int
    oracle_out: int
    shortfall: int
    gas_used: int = 0
    gas_cost_wei: int = 0


# --- the keeper -------------------------------------------------------------------------------------------


class Keeper:
    """Rounds of read, plan, simulate, send, read again for one Rebalancer, from one account.

    `rebalancer`, `adapter` (an allowlisted `UniswapV3Adapter`), `v2_adapter` (an allowlisted
    `UniswapV2Adapter`, optional) and `quoter` (a Uniswap V3 QuoterV2; without one the expected out is the
    oracle's less the route's fees and `QUOTE_MARGIN_BPS`) are addresses. With both adapters each trade goes
    to the venue that quotes more for it (V2: Router02's `getAmountsOut`), at planning and again at sending.
    `hubs` are extra tokens two-hop routes may go through (constituents named USDC, USDT, DAI or WETH and
    the SwapRouter's WETH9 always are). `sleep` and `clock` are injectable for tests.
    """

    def __init__(
        self,
        rebalancer: str,
        account: AccountAPI,
        *,
        adapter: str,
        v2_adapter: str | None = None,
        quoter: str | None = None,
        hubs: Sequence[str] = (),
        config: KeeperConfig | None = None,
        log: EventLog | None = None,
        metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        web3=None,
    ):
        self.config = config or KeeperConfig()
        self.account = account
        self.address = to_checksum_address(account.address)
        self.log = log or EventLog()
        self.metrics = metrics or Metrics()
        self.sleep, self.clock = sleep, clock
        self.w3 = web3 or networks.provider.web3
        self.rebalancer = self._contract(rebalancer, project.Rebalancer.contract_type)
        self.vault = self._contract(
            self._read(self.rebalancer.functions.vault().call), project.IndexVault.contract_type
        )
        self.adapter = self._contract(adapter, project.UniswapV3Adapter.contract_type)
        self.swap_router = self._contract(self._read(self.adapter.functions.router().call), _type("SwapRouter"))
        self.factory = self._contract(self._read(self.swap_router.functions.factory().call), _type("UniswapV3Factory"))
        self.weth9 = to_checksum_address(self._read(self.swap_router.functions.WETH9().call))
        self.quoter = self._contract(quoter, _type("QuoterV2")) if quoter else None
        self.v2_adapter = self.v2_router = self.v2_factory = None
        if v2_adapter:
            self.v2_adapter = self._contract(v2_adapter, project.UniswapV2Adapter.contract_type)
            router = self._read(self.v2_adapter.functions.router().call)
            self.v2_router = self._contract(router, _type("UniswapV2Router02"))
            self.v2_factory = self._contract(
                self._read(self.v2_router.functions.factory().call), _type("UniswapV2Factory")
            )
        self._v2_paths: dict[tuple[str, str], tuple[str, ...] | None] = {}
        self._v2_pairs: dict[frozenset[str], bool] = {}
        self.extra_hubs = [to_checksum_address(h) for h in hubs]
        self.keeper_role = self._read(self.vault.functions.KEEPER_ROLE().call)
        self._meta: dict[str, tuple[str, int]] = {}
        self._pools: dict[tuple[str, str, int], bool] = {}
        self._routes: dict[tuple[str, str], Route | None] = {}
        self._busy = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------------------------

    def _contract(self, address: str, contract_type):
        return self.w3.eth.contract(address=to_checksum_address(address), abi=_abi(contract_type))

    def _read(self, fn: Callable[[], Any], what: str = "read") -> Any:
        """`fn()` retried with backoff on transient RPC errors."""

        def on_retry(attempt: int, delay: float, exc: BaseException) -> None:
            self.metrics.retries += 1
            self.log("retry", what=what, attempt=attempt, delay=round(delay, 3), error=_short(exc))

        return self.config.retry.run(fn, sleep=self.sleep, on_retry=on_retry)

    def _call(self, fn, block: int | str = "latest") -> Any:
        """A contract view at `block`, retried."""
        return self._read(lambda: fn.call(block_identifier=block), fn.fn_name)

    def _token(self, address: str) -> tuple[str, int]:
        if address not in self._meta:
            token = self.w3.eth.contract(address=address, abi=ERC20_ABI)
            self._meta[address] = (self._call(token.functions.symbol()), self._call(token.functions.decimals()))
        return self._meta[address]

    def _nonces(self) -> tuple[int, int]:
        latest = self._read(lambda: self.w3.eth.get_transaction_count(self.address, "latest"), "nonce")
        pending = self._read(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), "nonce")
        return latest, pending

    def _check_no_pending(self) -> int:
        """The next nonce; waits (`_Wait`) while transactions of the account are in flight."""
        latest, pending = self._nonces()
        if pending > latest:
            raise _Wait(
                "pending",
                f"{pending - latest} transaction(s) of {self.address} in flight (nonce {latest}..{pending - 1}): "
                "waiting for them to be mined before planning again",
            )
        return latest

    # --- reading ------------------------------------------------------------------------------------------

    def read_snapshot(self) -> Snapshot:
        """Everything a trade is judged by, read at the head block."""
        head = self._read(lambda: self.w3.eth.get_block("latest"), "block")
        b = head["number"]
        r, v = self.rebalancer.functions, self.vault.functions
        assets = tuple(to_checksum_address(a) for a in self._call(v.assets(), b))
        oracle_address = to_checksum_address(self._call(v.oracle(), b))
        oracle = self._contract(oracle_address, project.OracleRouter.contract_type)
        holdings = tuple(self._call(v.holdings(), b))
        metas = [self._token(a) for a in assets]
        prices, problems = [], []
        for asset, (symbol, _) in zip(assets, metas, strict=True):
            data = self._call(oracle.functions.price_data(asset), b)
            status, price = data[0], data[1]
            if status != 0 or price == 0:
                reason = self._call(oracle.functions.status_reason(status), b) if status else "no price"
                problems.append((symbol, reason))
                price = 0
            prices.append(price)
        last_trade = {}
        for sell in assets:
            for buy in assets:
                if sell != buy and (t := self._call(r.last_trade(sell, buy), b)):
                    last_trade[(sell, buy)] = t
        return Snapshot(
            block=b,
            timestamp=head["timestamp"],
            base_fee=head.get("baseFeePerGas", 0) or 0,
            oracle=oracle_address,
            assets=assets,
            symbols=tuple(m[0] for m in metas),
            decimals=tuple(m[1] for m in metas),
            holdings=holdings,
            prices=tuple(prices),
            price_problems=tuple(problems),
            targets=tuple(self._call(r.target_weight(a), b) for a in assets),
            targets_set=self._call(r.targets_set(), b),
            limits=Limits(*self._call(r.limits(), b)),
            period_start=self._call(r.period_start(), b),
            period_used=self._call(r.period_used(), b),
            last_trade=last_trade,
            paused=self._call(v.paused(), b),
            is_keeper=self._call(v.hasRole(self.keeper_role, self.address), b),
            adapter_allowed=self._call(r.adapter_allowed(self.adapter.address), b),
            keeper=self.address,
        )

    # --- routes and quotes ----------------------------------------------------------------------------------

    def _pool_exists(self, a: str, b: str, fee: int) -> bool:
        key = (*sorted((a, b)), fee)
        if key not in self._pools:
            address = self._call(self.factory.functions.getPool(a, b, fee))
            exists = int(address, 16) != 0
            if exists:
                pool = self._contract(address, _type("UniswapV3Pool"))
                exists = self._call(pool.functions.liquidity()) > 0
            self._pools[key] = exists
        return self._pools[key]

    def hubs(self, assets: Iterable[str]) -> list[str]:
        found = list(self.extra_hubs)
        for asset in assets:
            if self._token(asset)[0] in HUB_SYMBOLS and asset not in found:
                found.append(asset)
        if self.weth9 not in found:
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
            return self._call(fn, block)[0]
        except ContractLogicError:
            return None

    def _v2_pair_exists(self, a: str, b: str) -> bool:
        key = frozenset((a, b))
        if key not in self._v2_pairs:
            address = self._call(self.v2_factory.functions.getPair(a, b))
            exists = int(address, 16) != 0
            if exists:
                pair = self._contract(address, _type("UniswapV2Pair"))
                exists = all(r > 0 for r in self._call(pair.functions.getReserves())[:2])
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

    def _v3_out(self, snap: Snapshot, route: Route, amount_in: int, block: int | str) -> int:
        out = self.quote(route, amount_in, block)
        if out is None:
            s, b = snap.index(route.tokens[0]), snap.index(route.tokens[-1])
            oracle_out = mul_div(
                mul_div(amount_in, snap.prices[s], 10 ** snap.decimals[s]), 10 ** snap.decimals[b], snap.prices[b]
            )
            keep = BPS - int(route.fee_bps + 0.999) - QUOTE_MARGIN_BPS
            out = mul_div(oracle_out, max(keep, 0), BPS)
        return out

    def _v2_out(self, path: tuple[str, ...], amount_in: int, block: int | str) -> int:
        try:
            return self._call(self.v2_router.functions.getAmountsOut(amount_in, list(path)), block)[-1]
        except ContractLogicError:
            return 0

    def venue(self, snap: Snapshot, sell: str, buy: str, amount_in: int, block: int | str) -> tuple[Venue, int] | None:
        """The venue that pays the most for `amount_in` of `sell` at `block`, and what it pays; None: no route."""
        offers = []
        route = self.route(sell, buy, snap.assets)
        if route is not None:
            venue = Venue("uniswap-v3", self.adapter.address, route.encode(), route.tokens)
            offers.append((self._v3_out(snap, route, amount_in, block), venue))
        path = self.v2_path(sell, buy, snap.assets) if amount_in else None
        if path is not None:
            venue = Venue("uniswap-v2", self.v2_adapter.address, v2_route(path), path)
            offers.append((self._v2_out(path, amount_in, block), venue))
        if not offers:
            return None
        out, venue = max(offers, key=lambda offer: offer[0])  # ties: V3, listed first
        return venue, out

    def _expected_out(self, snap: Snapshot, sell: str, buy: str, amount_in: int, cache: dict) -> int:
        key = (sell, buy, amount_in)
        if key not in cache:
            best = self.venue(snap, sell, buy, amount_in, snap.block)
            cache[key] = 0 if best is None else best[1]  # no route: the planner drops the pair (slippage)
        return cache[key]

    # --- planning -------------------------------------------------------------------------------------------

    def priority_fee(self) -> int:
        if self.config.priority_fee is not None:
            return self.config.priority_fee
        return self._read(lambda: self.w3.eth.max_priority_fee, "priority fee")

    def eth_price(self, snap: Snapshot) -> int:
        """USD per ether (18 decimals) for the gas test: WETH9 or a constituent named WETH/ETH; 0 if unknown."""
        for asset, symbol, price in zip(snap.assets, snap.symbols, snap.prices, strict=True):
            if asset == self.weth9 or symbol in ("WETH", "ETH"):
                return price
        oracle = self._contract(snap.oracle, project.OracleRouter.contract_type)
        data = self._call(oracle.functions.price_data(self.weth9), snap.block)
        return data[1] if data[0] == 0 else 0

    def settings(self, snap: Snapshot) -> KeeperSettings:
        cap = snap.limits.max_slippage_bps
        slippage = cap if self.config.slippage_bps is None else min(self.config.slippage_bps, cap)
        return KeeperSettings(
            band=self.config.band,
            min_trade_usd=self.config.min_trade_usd,
            slippage_bps=slippage,
            max_trades=self.config.max_trades_per_round,
        )

    def market(self, snap: Snapshot) -> Market:
        cache: dict = {}
        gas_per_trade = self.config.gas_per_trade or 200_000 + 110_000 * len(snap.assets)
        return Market(
            quote=lambda sell, buy, amount: self._expected_out(snap, sell, buy, amount, cache),
            gas_price=snap.base_fee + self.priority_fee(),
            gas_per_trade=gas_per_trade,
            eth_price=self.eth_price(snap),
        )

    def plan(self, snap: Snapshot, excluded: Iterable[tuple[str, str]] = ()) -> Plan:
        """The planner's trades for `snap`; `excluded` pairs are treated as cooling down (this round only)."""
        state = snap.state()
        excluded = list(excluded)
        if excluded:
            last = {**state.last_trade, **{pair: state.now for pair in excluded}}
            limits = replace(state.limits, cooldown=max(state.limits.cooldown, 1))
            state = replace(state, last_trade=last, limits=limits)
        self.metrics.plans += 1
        return plan(state, self.settings(snap), self.market(snap))

    # --- transactions ----------------------------------------------------------------------------------------

    def _tx(self, contract, fn_name: str, args: Sequence) -> dict:
        return {"from": self.address, "to": contract.address, "data": contract.encode_abi(fn_name, args=list(args))}

    def simulate(self, tx: dict) -> bytes:
        """A plain eth_call of `tx` at the latest block; raises `Reverted` with the reason."""
        try:
            return self._read(lambda: self.w3.eth.call(tx, "latest"), "simulate")
        except ContractLogicError as exc:
            raise Reverted(_reason(exc)) from None

    def _send(self, tx: dict, what: str, **fields: Any) -> dict:
        """Estimates, checks the gas price cap, signs, broadcasts and waits for the receipt of `tx`."""
        nonce = self._check_no_pending()
        try:
            estimate = self._read(lambda: self.w3.eth.estimate_gas(tx, "latest"), "estimate gas")
        except ContractLogicError as exc:
            raise Reverted(_reason(exc)) from None
        head = self._read(lambda: self.w3.eth.get_block("latest"), "block")
        base_fee, tip = head.get("baseFeePerGas", 0) or 0, self.priority_fee()
        caps = fee_caps(base_fee, tip, self.config.max_gas_price)
        if caps is None:
            raise _Wait(
                "gas",
                f"gas price {(base_fee + tip) / GWEI:.3f} gwei above the cap "
                f"{self.config.max_gas_price / GWEI:.3f} gwei",
            )
        max_fee, tip = caps
        gas_limit = min(int(estimate * self.config.gas_multiplier), head["gasLimit"])
        ecosystem = networks.provider.network.ecosystem
        txn = ecosystem.create_transaction(
            chain_id=self._read(lambda: self.w3.eth.chain_id, "chain id"),
            receiver=tx["to"],
            data=tx["data"],
            value=0,
            gas_limit=gas_limit,
            max_fee=max_fee,
            max_priority_fee=tip,
            nonce=nonce,
            type=2,
            sender=self.address,
        )
        signed = self.account.sign_transaction(txn)
        if signed is None:
            raise KeeperError(f"{self.address} did not sign the {what}")
        raw = bytes(signed.serialize_transaction())
        tx_hash = "0x" + keccak(raw).hex()
        self._broadcast(raw, tx_hash, nonce)
        if what == "trade":
            self.metrics.trades_sent += 1
        self.log("sent", what=what, tx=tx_hash, nonce=nonce, gas_limit=gas_limit, max_fee_gwei=max_fee / GWEI, **fields)
        receipt = self._await_receipt(tx_hash, nonce)
        self.metrics.add_receipt(receipt["gasUsed"], receipt.get("effectiveGasPrice", max_fee))
        return receipt

    def _broadcast(self, raw: bytes, tx_hash: str, nonce: int) -> None:
        """Sends the signed bytes; a retry after a transport error resends the same bytes (lands at most once)."""

        def push() -> None:
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                text = str(exc).lower()
                if "already known" in text or "already imported" in text:
                    return  # an earlier try reached the node
                if "replacement transaction underpriced" in text or "replacement fee too low" in text:
                    raise _Wait("nonce", f"another transaction with nonce {nonce} is in flight: re-reading") from None
                if "nonce too low" in text:
                    if self._known(tx_hash):
                        return
                    raise _Wait("nonce", f"nonce {nonce} was taken by another transaction: re-reading") from None
                raise

        self._read(push, "broadcast")

    def _known(self, tx_hash: str) -> bool:
        try:
            self._read(lambda: self.w3.eth.get_transaction(tx_hash), "transaction")
        except TransactionNotFound:
            return False
        return True

    def _receipt(self, tx_hash: str) -> dict | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _await_receipt(self, tx_hash: str, nonce: int) -> dict:
        """Polls for the receipt until `receipt_timeout`; then the round ends waiting (the next round sees the
        transaction in flight and waits for it, never sending another)."""
        deadline = self.clock() + self.config.receipt_timeout
        wait = min(0.05, self.config.poll_interval)  # a fast chain mines at once: look again soon, then back off
        while True:
            receipt = self._read(lambda: self._receipt(tx_hash), "receipt")
            if receipt is not None:
                return receipt
            if self.clock() >= deadline:
                latest, _ = self._nonces()
                if latest > nonce and not self._known(tx_hash):
                    raise _Wait("nonce", f"nonce {nonce} was used by another transaction; {tx_hash} dropped")
                raise _Wait(
                    "receipt",
                    f"{tx_hash} not mined after {self.config.receipt_timeout:g} s (full blocks or a low fee)",
                )
            self.sleep(wait)
            wait = min(wait * 2, self.config.poll_interval)

    # --- trades -------------------------------------------------------------------------------------------

    def _trade_args(self, snap: Snapshot, trade: Trade, venue: Venue | None = None) -> tuple | None:
        """`Rebalancer.trade`'s arguments through `venue` (default: the best venue now); None without a route."""
        if venue is None:
            best = self.venue(snap, trade.sell, trade.buy, trade.amount_in, "latest")
            if best is None:
                return None
            venue = best[0]
        return (trade.sell, trade.buy, trade.amount_in, trade.min_out, venue.adapter, venue.route)

    def _trade_fields(self, snap: Snapshot, trade: Trade, venue: Venue | None = None) -> dict:
        s, b = snap.index(trade.sell), snap.index(trade.buy)
        return {
            **({"venue": venue.name, "hops": len(venue.path) - 1} if venue else {}),
            "sell": snap.symbols[s],
            "buy": snap.symbols[b],
            "amount_in": format_units(trade.amount_in, snap.decimals[s]),
            "value_usd": format_units(trade.value_usd, 18, 2),
            "min_out": format_units(trade.min_out, snap.decimals[b]),
            "expected_out": format_units(trade.expected_out, snap.decimals[b]),
        }

    def simulate_trade(self, snap: Snapshot, trade: Trade) -> int:
        """The amount out `Rebalancer.trade` would return now; raises `Reverted`."""
        args = self._trade_args(snap, trade)
        if args is None:
            raise Reverted("no route between the pair's pools")
        out = self.simulate(self._tx(self.rebalancer, "trade", args))
        return int.from_bytes(out[:32], "big")

    def execute(self, snap: Snapshot, trade: Trade) -> TradeOutcome:
        """Simulates, sends and waits for one trade through the best venue now; raises `Reverted` when the
        simulation fails."""
        best = self.venue(snap, trade.sell, trade.buy, trade.amount_in, "latest")
        if best is None:
            raise Reverted("no route between the pair's pools")
        venue = best[0]
        fields = self._trade_fields(snap, trade, venue)
        args = self._trade_args(snap, trade, venue)
        self.simulate(self._tx(self.rebalancer, "trade", args))
        receipt = self._send(self._tx(self.rebalancer, "trade", args), "trade", **fields)
        tx_hash = _hex(receipt["transactionHash"])
        if receipt["status"] != 1:
            self.metrics.trades_reverted += 1
            self.log("reverted", what="trade", tx=tx_hash, gas_used=receipt["gasUsed"], **fields)
            return TradeOutcome(trade, tx_hash, "reverted", gas_used=receipt["gasUsed"], venue=venue.name)
        (event,) = self.rebalancer.events.TradeExecuted().process_receipt(receipt, errors=DISCARD)
        self.metrics.trades_mined += 1
        b = snap.index(trade.buy)
        self.log(
            "trade",
            tx=tx_hash,
            block=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            amount_out=format_units(event.args.amount_out, snap.decimals[b]),
            shortfall_bps=round(event.args.shortfall * BPS / max(event.args.oracle_out, 1), 2),
            **fields,
        )
        return TradeOutcome(
            trade,
            tx_hash,
            "mined",
            event.args.amount_out,
            event.args.shortfall,
            gas_used=receipt["gasUsed"],
            venue=venue.name,
        )

    # --- rounds -------------------------------------------------------------------------------------------

    def run_round(self) -> RoundResult:
        """One round (see the module's notes). Never raises for a wait; transient RPC errors are retried and
        raise only once the retry policy gives up."""
        if not self._busy.acquire(blocking=False):  # a bot may call again while a round is still running
            return RoundResult(number=self.metrics.rounds, status="busy", reason="a round is already running")
        try:
            self.metrics.rounds += 1
            result = RoundResult(number=self.metrics.rounds)
            try:
                self._round(result)
            except _Wait as wait:
                result.status, result.reason = "waiting", wait.reason
                self.metrics.wait(wait.kind)
                self.log("wait", reason=wait.reason, kind=wait.kind, round=result.number)
            return result
        finally:
            self._busy.release()

    def _round(self, result: RoundResult) -> None:
        if not self.config.dry_run:
            self._check_no_pending()
        snap = result.snapshot = self.read_snapshot()
        if why := snap.wait_reason():
            raise _Wait(*why)
        if self.config.fill_auctions:
            self._fill_auctions(snap, result)
            if result.fills:
                snap = result.snapshot = self.read_snapshot()
                if why := snap.wait_reason():
                    raise _Wait(*why)
        blocked = None if self.config.dry_run else snap.trading_blocked()
        if blocked and not self.config.fill_auctions:
            raise _Wait(*blocked)
        if blocked:  # a filler without the keeper role: auctions only
            result.reason = blocked[1]
            self._end_round(snap, result)
            return

        excluded: list[tuple[str, str]] = []
        for _ in range(self.config.max_trades_per_round + len(snap.assets) ** 2):
            current = self.plan(snap, excluded)
            if result.plan is None:
                result.plan = current
                self._log_plan(snap, current, result.number)
            if not current.trades:
                if current.limited_by:
                    result.reason = "limited by " + ", ".join(sorted(current.limited_by))
                break
            if self.config.dry_run:
                self._dry_run(snap, current, result)
                return
            trade = current.trades[0]
            try:
                outcome = self.execute(snap, trade)
            except Reverted as exc:
                self.metrics.reverts_skipped += 1
                result.skipped.append((trade, exc.reason))
                excluded.append((trade.sell, trade.buy))
                self.log("skip", reason=exc.reason, **self._trade_fields(snap, trade))
                continue
            result.trades.append(outcome)
            if len(result.trades) >= self.config.max_trades_per_round:
                break
            snap = result.snapshot = self.read_snapshot()
            if why := snap.wait_reason() or snap.trading_blocked():
                raise _Wait(*why)
        self._end_round(snap, result)

    def _end_round(self, snap: Snapshot, result: RoundResult) -> None:
        result.status = "traded" if result.trades or result.fills else "idle"
        inside = inside_bands(snap.state(), self.settings(snap))
        self.log(
            "round",
            round=result.number,
            status=result.status,
            trades=len(result.trades),
            skipped=len(result.skipped),
            fills=len(result.fills),
            outside_band=[s for s, ok in zip(snap.symbols, inside, strict=True) if not ok],
            reason=result.reason,
        )

    def _log_plan(self, snap: Snapshot, current: Plan, number: int) -> None:
        self.log(
            "plan",
            round=number,
            block=snap.block,
            trades=len(current.trades),
            nav_usd=format_units(current.nav_before, 18, 2),
            drift_usd=format_units(current.drift_before, 18, 2),
            drift_after_usd=format_units(current.drift_after, 18, 2),
            limited_by=sorted(current.limited_by),
        )

    def _dry_run(self, snap: Snapshot, current: Plan, result: RoundResult) -> None:
        """Simulates every planned trade against the current chain (each alone: a later trade of the plan is
        not simulated after the earlier ones) and sends nothing."""
        for trade in current.trades:
            try:
                out, why = self.simulate_trade(snap, trade), None
            except Reverted as exc:
                out, why = None, exc.reason
            result.simulations.append((trade, out, why))
            self.log("simulated", result=why or "ok", **self._trade_fields(snap, trade))
        result.status = "dry-run"

    def run(self, *, max_rounds: int | None = None, interval: float = 60.0) -> list[RoundResult]:
        """Rounds every `interval` seconds until `max_rounds` (forever by default). An error the retry policy
        gave up on, or any other, is logged and counted and the next round comes after `interval`:
        an unattended keeper does not stop on a flaky node. Returns the rounds' results (the last 100)."""
        results: list[RoundResult] = []
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            rounds += 1
            try:
                results.append(self.run_round())
            except (KeeperError, KeyboardInterrupt):
                raise
            except Exception as exc:
                self.metrics.errors += 1
                self.log("error", round=self.metrics.rounds, error=_short(exc))
            del results[:-100]
            if max_rounds is None or rounds < max_rounds:
                self.sleep(interval)
        return results

    def log_summary(self) -> dict:
        summary = self.metrics.summary()
        self.log("summary", **summary)
        return summary

    # --- auctions -------------------------------------------------------------------------------------------

    def live_auctions(self, snap: Snapshot) -> list[tuple[int, tuple, int]]:
        """(id, auction, current rate) of every live auction among the latest `AUCTION_LOOKBACK`."""
        r = self.rebalancer.functions
        count = self._call(r.auction_count(), snap.block)
        live = []
        for i in range(count, max(count - AUCTION_LOOKBACK, 0), -1):
            auction = self._call(r.auctions(i), snap.block)
            if auction[2] and snap.timestamp < auction[7]:
                live.append((i, auction, self._call(r.auction_rate(i), snap.block)))
        return live

    def _fill_size(self, snap: Snapshot, sell: str, buy: str, amount: int, rate: int) -> tuple[int, str | None]:
        """The largest fill of at most `amount` that `Rebalancer.fill` accepts at `rate`: its price rule (the
        rate at least the oracle's less `auction_discount_bps`), then the weight and size checks of a trade
        (`check_trade`, without the cool-down and the keeper's minimum-out floor, which fills do not have)."""
        lim = snap.limits
        s, b = snap.index(sell), snap.index(buy)
        oracle_rate = mul_div(
            mul_div(WAD, snap.prices[s], 10 ** snap.decimals[s]), 10 ** snap.decimals[b], snap.prices[b]
        )
        if rate * BPS < oracle_rate * (BPS - lim.auction_discount_bps):
            return 0, "rebalancer: auction price below oracle bound"
        state = replace(snap.state(), last_trade={}, limits=replace(lim, max_slippage_bps=BPS))

        def why(n: int) -> str | None:
            buy_in = auction_buy_in(n, rate)
            value = mul_div(n, snap.prices[s], 10 ** snap.decimals[s])
            return check_trade(state, Trade(sell, buy, n, buy_in, buy_in, value), received=buy_in)

        first = why(amount)
        if first is None:
            return amount, None
        lo, hi = 0, amount
        while hi - lo > max(1, hi >> 10):
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if why(mid) is None else (lo, mid)
        return lo, first

    def unsold_lots(self, snap: Snapshot) -> dict[tuple[str, str], int]:
        """Lots this keeper filled but never resold, by (lot token, auction's buy token), read from the chain.

        For each lot token: what `AuctionFilled` logs of this filler (the last `FILL_LOOKBACK_BLOCKS`) brought
        in, less every `Transfer` of it out of the account since the first of those fills, and never more than
        the account holds; it is resold for the buy token of the latest fill. A keeper killed between a fill
        and its resale finds its lot here on restart.
        """
        start = max(snap.block - FILL_LOOKBACK_BLOCKS, 0)
        event = self.rebalancer.events.AuctionFilled()
        logs = self._read(
            lambda: event.get_logs(from_block=start, to_block=snap.block, argument_filters={"filler": self.address}),
            "logs",
        )
        bought: dict[str, int] = {}  # by lot token: what fills brought in
        pay_in: dict[str, str] = {}  # by lot token: the buy token of its latest fill, what a resale goes to
        since: dict[str, int] = {}
        for log in logs:
            auction = self._call(self.rebalancer.functions.auctions(log["args"]["id"]), snap.block)
            lot, buy = to_checksum_address(auction[0]), to_checksum_address(auction[1])
            bought[lot] = bought.get(lot, 0) + log["args"]["sold"]
            pay_in[lot] = buy
            since.setdefault(lot, log["blockNumber"])
        unsold = {}
        for lot, amount in bought.items():
            token = self.w3.eth.contract(address=lot, abi=[*ERC20_ABI, TRANSFER_EVENT])
            transfers = self._read(
                lambda t=token, a=since[lot]: t.events.Transfer().get_logs(
                    from_block=a, to_block=snap.block, argument_filters={"from": self.address}
                ),
                "logs",
            )
            sent = sum(t["args"]["value"] for t in transfers)
            left = min(amount - sent, self._call(token.functions.balanceOf(self.address), snap.block))
            if left > 0:
                unsold[(lot, pay_in[lot])] = left
        return unsold

    def _resell_unsold(self, snap: Snapshot) -> None:
        """Resells what `unsold_lots` finds (a fill whose resale never happened), before any new fill."""
        for (lot, buy), amount in self.unsold_lots(snap).items():
            s, b = snap.index(lot), snap.index(buy)
            route = self.route(lot, buy, snap.assets)
            fields = {
                "sell": snap.symbols[s],
                "buy": snap.symbols[b],
                "amount": format_units(amount, snap.decimals[s]),
                "pay": "(an earlier fill)",
            }
            if route is None:
                self.log("resell-skip", reason="no DEX route for an unsold lot", **fields)
                continue
            dex_out = self.quote(route, amount, snap.block)
            if dex_out is None:
                dex_out = self._expected_out(snap, lot, buy, amount, {})
            self.log("unsold-lot", **fields)
            try:
                self._resell(snap, lot, buy, amount, route, dex_out, fields)
            except Reverted as exc:
                self.log("resell-skip", reason=exc.reason, **fields)

    def _fill_auctions(self, snap: Snapshot, result: RoundResult) -> None:
        """Resells any lot a killed run left unsold, then fills every live auction whose lot, resold on the DEX,
        pays more than the gas and the minimum profit."""
        if not self.config.dry_run:
            self._resell_unsold(snap)
        tip = self.priority_fee()
        gas_price, eth_price = snap.base_fee + tip, self.eth_price(snap)
        for auction_id, auction, rate in self.live_auctions(snap):
            sell, buy, remaining = to_checksum_address(auction[0]), to_checksum_address(auction[1]), auction[2]
            if sell not in snap.assets or buy not in snap.assets or rate == 0:
                continue
            s, b = snap.index(sell), snap.index(buy)
            token_buy = self.w3.eth.contract(address=buy, abi=ERC20_ABI)
            held = self._call(token_buy.functions.balanceOf(self.address))
            amount = min(remaining, held * WAD // rate)
            amount, why = self._fill_size(snap, sell, buy, amount, rate) if amount else (0, "no funds")
            fields = {"auction": auction_id, "sell": snap.symbols[s], "buy": snap.symbols[b]}
            route = self.route(sell, buy, snap.assets)
            if not amount or route is None:
                self.log("auction-skip", reason=why or "no DEX route to resell the lot", **fields)
                continue
            buy_in = auction_buy_in(amount, rate)
            dex_out = self.quote(route, amount, snap.block)
            if dex_out is None:
                dex_out = self._expected_out(snap, sell, buy, amount, {})
            gas = GAS_FILL + 3 * GAS_APPROVE + GAS_SWAP_PER_HOP * route.hops
            profit = fill_profit(
                buy_in, dex_out, snap.prices[b], 10 ** snap.decimals[b], gas_usd(gas, gas_price, eth_price)
            )
            fields |= {
                "amount": format_units(amount, snap.decimals[s]),
                "pay": format_units(buy_in, snap.decimals[b]),
                "dex_out": format_units(dex_out, snap.decimals[b]),
                "profit_usd": format_units(profit, 18, 2),
            }
            if profit <= self.config.min_fill_profit_usd:
                self.log("auction-skip", reason="not profitable yet", **fields)
                continue
            if self.config.dry_run:
                self.log("auction-fill", result="would fill (dry run)", **fields)
                continue
            try:
                result.fills.append(self._fill(snap, auction_id, sell, buy, amount, buy_in, route, dex_out, fields))
            except Reverted as exc:
                self.metrics.reverts_skipped += 1
                self.log("auction-skip", reason=exc.reason, **fields)

    def _approve(self, token: str, spender: str, amount: int) -> None:
        contract = self.w3.eth.contract(address=token, abi=ERC20_ABI)
        if self._call(contract.functions.allowance(self.address, spender)) >= amount:
            return
        receipt = self._send(self._tx(contract, "approve", [spender, amount]), "approve", token=token, amount=amount)
        if receipt["status"] != 1:
            raise Reverted(f"approve of {token} reverted")

    def _fill(self, snap, auction_id, sell, buy, amount, buy_in, route: Route, dex_out, fields) -> FillOutcome:
        """Approves exactly the price, fills (simulated first), then resells the lot on the DEX."""
        self._approve(buy, self.rebalancer.address, buy_in)
        tx = self._tx(self.rebalancer, "fill", [auction_id, amount, buy_in])
        self.simulate(tx)
        receipt = self._send(tx, "fill", **fields)
        tx_hash = _hex(receipt["transactionHash"])
        if receipt["status"] != 1:
            self.metrics.trades_reverted += 1
            self.log("reverted", what="fill", tx=tx_hash, **fields)
            return FillOutcome(auction_id, amount, buy_in, tx_hash, "reverted")
        self.metrics.fills += 1
        self.log("auction-fill", tx=tx_hash, gas_used=receipt["gasUsed"], **fields)
        outcome = FillOutcome(auction_id, amount, buy_in, tx_hash, "mined")
        try:
            outcome.resold = self._resell(snap, sell, buy, amount, route, dex_out, fields)
        except Reverted as exc:  # the lot stays with the keeper's account: nothing is lost, nothing retried
            self.log("resell-skip", reason=exc.reason, **fields)
        return outcome

    def _resell(self, snap: Snapshot, sell: str, buy: str, amount: int, route: Route, dex_out: int, fields) -> int:
        """Sells a filled lot on the DEX for at least the quote less the keeper's slippage; returns what it got."""
        slippage = snap.limits.max_slippage_bps if self.config.slippage_bps is None else self.config.slippage_bps
        min_out = mul_div(dex_out, BPS - slippage, BPS)
        token_out = self.w3.eth.contract(address=buy, abi=ERC20_ABI)
        before = self._call(token_out.functions.balanceOf(self.address))
        self._approve(sell, self.swap_router.address, amount)
        head = self._read(lambda: self.w3.eth.get_block("latest"), "block")
        params = (route.encode(), self.address, head["timestamp"] + DEADLINE_SECONDS, amount, min_out)
        swap = self._tx(self.swap_router, "exactInput", [params])
        self.simulate(swap)
        receipt = self._send(swap, "resell", lot=fields["amount"], sell=fields["sell"], buy=fields["buy"])
        if receipt["status"] != 1:
            self.log("reverted", what="resell", tx=_hex(receipt["transactionHash"]))
            return 0
        got = self._call(token_out.functions.balanceOf(self.address)) - before
        b = snap.index(buy)
        self.log(
            "resold", tx=_hex(receipt["transactionHash"]), got=format_units(got, snap.decimals[b]), paid=fields["pay"]
        )
        return got

    # --- history and status ----------------------------------------------------------------------------------

    def trade_history(self, from_block: int = 0, *, keeper: str | None = None, with_gas: bool = True, page=10_000):
        """Every `TradeExecuted` of the rebalancer since `from_block` (of `keeper` only if given), oldest first."""
        return trade_history(
            self.rebalancer, from_block, keeper=keeper, with_gas=with_gas, page=page, read=self._read, w3=self.w3
        )


def trade_history(
    rebalancer,
    from_block: int = 0,
    *,
    keeper: str | None = None,
    with_gas: bool = True,
    page: int = 10_000,
    read=None,
    w3=None,
) -> list[TradeRecord]:
    """`TradeExecuted` logs of a rebalancer (a web3 contract, or an address) since `from_block`, in pages."""
    w3 = w3 or networks.provider.web3
    read = read or (lambda fn, what="": fn())
    if isinstance(rebalancer, str):
        rebalancer = w3.eth.contract(
            address=to_checksum_address(rebalancer), abi=_abi(project.Rebalancer.contract_type)
        )
    event = rebalancer.events.TradeExecuted()
    head = read(lambda: w3.eth.block_number, "block")
    filters = {"keeper": to_checksum_address(keeper)} if keeper else None
    records, times = [], {}
    start = max(from_block, 0)
    while start <= head:
        stop = min(start + page - 1, head)
        logs = read(lambda a=start, z=stop: event.get_logs(from_block=a, to_block=z, argument_filters=filters), "logs")
        for log in logs:
            block = log["blockNumber"]
            if block not in times:
                times[block] = read(lambda n=block: w3.eth.get_block(n), "block")["timestamp"]
            gas_used = cost = 0
            if with_gas:
                receipt = read(lambda h=log["transactionHash"]: w3.eth.get_transaction_receipt(h), "receipt")
                gas_used = receipt["gasUsed"]
                cost = gas_used * receipt.get("effectiveGasPrice", 0)
            a = log["args"]
            records.append(
                TradeRecord(
                    block=block,
                    timestamp=times[block],
                    tx_hash=_hex(log["transactionHash"]),
                    keeper=a["keeper"],
                    sell=a["sell"],
                    buy=a["buy"],
                    amount_in=a["amount_in"],
                    amount_out=a["amount_out"],
                    oracle_out=a["oracle_out"],
                    shortfall=a["shortfall"],
                    gas_used=gas_used,
                    gas_cost_wei=cost,
                )
            )
        start = stop + 1
    return records


# --- status ---------------------------------------------------------------------------------------------------


@dataclass
class KeeperStatus:
    snapshot: Snapshot
    band: int
    wait: tuple[str, str] | None
    plan: Plan | None
    history: list[TradeRecord]
    gas_used: int
    gas_cost_wei: int
    pending: int
    auctions: list[tuple[int, tuple, int]]
    keeper: str


def keeper_status(keeper: Keeper, *, from_block: int = 0, last: int = 10) -> KeeperStatus:
    """Drift per constituent, the last trades, the gas they cost and whether the keeper would trade now."""
    latest, pending = keeper._nonces()
    snap = keeper.read_snapshot()
    wait = ("pending", f"{pending - latest} transaction(s) in flight") if pending > latest else None
    wait = wait or snap.wait_reason() or snap.trading_blocked()
    current = None
    if not snap.price_problems and snap.targets_set and sum(snap.targets) == WAD:
        current = keeper.plan(snap)
    history = keeper.trade_history(from_block)
    mine = [t for t in history if t.keeper == keeper.address]
    return KeeperStatus(
        snapshot=snap,
        band=keeper.config.band,
        wait=wait,
        plan=current,
        history=history[-last:],
        gas_used=sum(t.gas_used for t in mine),
        gas_cost_wei=sum(t.gas_cost_wei for t in mine),
        pending=pending - latest,
        auctions=keeper.live_auctions(snap),
        keeper=keeper.address,
    )


def _pct(weight: int) -> str:
    return f"{weight / 10**16:.2f}%"


def format_keeper_status(status: KeeperStatus) -> str:
    snap = status.snapshot
    lines = [f"rebalancer at block {snap.block} ({_when(snap.timestamp)}); keeper {status.keeper}"]
    nav = sum(mul_div(h, p, 10**d) for h, p, d in zip(snap.holdings, snap.prices, snap.decimals, strict=True))
    lines.append(f"NAV ${format_units(nav, 18, 2)}" if not snap.price_problems else "NAV unusable")
    rows = []
    for s, h, p, d, t in zip(snap.symbols, snap.holdings, snap.prices, snap.decimals, snap.targets, strict=True):
        value = mul_div(h, p, 10**d)
        weight = value * WAD // nav if nav and p else None
        problem = dict(snap.price_problems).get(s)
        if weight is None:
            rows.append([s, format_units(h, d, 6), "-", "-", _pct(t), "-", problem or "-"])
            continue
        drift = weight - t
        state = "inside" if abs(drift) <= status.band else ("over" if drift > 0 else "under")
        rows.append(
            [
                s,
                format_units(h, d, 6),
                f"${format_units(value, 18, 2)}",
                _pct(weight),
                _pct(t),
                f"{drift / 10**14:+.0f}",
                state,
            ]
        )
    lines.append(
        table(["asset", "holding", "value", "weight", "target", "drift bps", "band"], rows, right={1, 2, 3, 4, 5})
    )
    lines.append("")
    if status.history:
        symbol = snap.symbol
        rows = [
            [
                _when(t.timestamp),
                f"{symbol(t.sell)} -> {symbol(t.buy)}",
                format_units(t.amount_in, _dec(snap, t.sell), 6),
                format_units(t.amount_out, _dec(snap, t.buy), 6),
                f"{t.shortfall * BPS / max(t.oracle_out, 1):.1f}",
                f"{t.gas_used:,}",
                t.tx_hash[:12],
            ]
            for t in status.history
        ]
        lines.append("last trades:")
        lines.append(table(["time", "pair", "sold", "bought", "cost bps", "gas", "tx"], rows, right={2, 3, 4, 5}))
    else:
        lines.append("last trades: none")
    lines.append(f"gas spent by this keeper: {status.gas_used:,} gas, {status.gas_cost_wei / WAD:.6f} ETH")
    if status.auctions:
        lines.append(
            "live auctions: "
            + ", ".join(f"#{i} {snap.symbol(a[0])}->{snap.symbol(a[1])}" for i, a, _ in status.auctions)
        )
    lines.append("would trade now: " + would_trade(status))
    return "\n".join(lines)


def would_trade(status: KeeperStatus) -> str:
    if status.wait:
        return f"no, waiting: {status.wait[1]}"
    current = status.plan
    if current is None:
        return "no"
    if current.trades:
        first = current.trades[0]
        snap = status.snapshot
        return (
            f"yes, {len(current.trades)} trade(s); first {snap.symbol(first.sell)} -> {snap.symbol(first.buy)} "
            f"${format_units(first.value_usd, 18, 2)}"
        )
    if current.limited_by:
        return "no, limited by " + ", ".join(sorted(current.limited_by))
    return "no, every weight is inside its band"


def format_plan_table(snap: Snapshot, result: RoundResult) -> str:
    """The dry run's plan: one row per trade with its simulation."""
    current = result.plan
    if current is None:
        return f"no plan: {result.reason or 'nothing to do'}"
    head = (
        f"plan at block {snap.block}: {len(current.trades)} trade(s), NAV ${format_units(current.nav_before, 18, 2)}, "
        f"drift ${format_units(current.drift_before, 18, 2)} -> ${format_units(current.drift_after, 18, 2)}"
    )
    if current.limited_by:
        head += f" (limited by {', '.join(sorted(current.limited_by))})"
    sims = {id(t): (out, why) for t, out, why in result.simulations}
    rows = []
    for i, trade in enumerate(current.trades, 1):
        s, b = snap.index(trade.sell), snap.index(trade.buy)
        out, why = sims.get(id(trade), (None, "not simulated"))
        rows.append(
            [
                str(i),
                snap.symbols[s],
                snap.symbols[b],
                format_units(trade.amount_in, snap.decimals[s], 6),
                format_units(trade.value_usd, 18, 2),
                format_units(trade.min_out, snap.decimals[b], 6),
                format_units(trade.expected_out, snap.decimals[b], 6),
                format_units(out, snap.decimals[b], 6) if out is not None else f"reverts: {why}",
            ]
        )
    body = table(
        ["#", "sell", "buy", "amount in", "USD", "min out", "expected out", "simulated out"], rows, {3, 4, 5, 6}
    )
    return head + "\n" + body


# --- helpers ---------------------------------------------------------------------------------------------------


def _type(name: str):
    return npm_container(name).contract_type


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _dec(snap: Snapshot, address: str) -> int:
    return snap.decimals[snap.assets.index(address)] if address in snap.assets else 18


def read_state(keeper: Keeper) -> RebalancerState:
    """The planner's `RebalancerState` read from the chain; raises `KeeperError` with the reason to wait."""
    snap = keeper.read_snapshot()
    if why := snap.wait_reason():
        raise KeeperError(f"waiting: {why[1]}")
    return snap.state()
