"""The dashboard's chain reads: one vault's state at one block, its trades and auctions, and its NAV history,
in a few JSON-RPC batches (`index_vault.dashboard.chain.rpc`).

A page view is five round trips: the head block; the vault's oracle and rebalancer; every view call pinned to
the head (the vault, the oracle's price data of each constituent, the rebalancer, the Governor's pending
proposals, the index token's pool price and, when its quote token is not a constituent, the oracle's price of
the quote, the account's balances and allowances); the fee recipient's balance, the latest auctions and the
logs of the keeper's trades, the auction fills and the arbitrage cycles; their receipts and block times. Token
symbols and decimals, and the pool's tokens, are read once per vault. The NAV history is read by
`index_vault.dashboard.chain.history`.
"""

from dataclasses import dataclass, field
from typing import Any

from ape import project
from eth_utils import keccak, to_checksum_address

from index_vault.chain.contracts import ERC20_ABI, abi_of
from index_vault.common.units import WAD
from index_vault.dashboard.chain.rpc import Abi, Call, Rpc, RpcError
from index_vault.dashboard.model import RawConstituent, RawView, oracle_status, v3_price
from index_vault.vault.chain.governance import KNOWN_CALLS

ZERO = "0x" + "00" * 20
TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
TRADE_EXECUTED = (
    "0x" + keccak(text="TradeExecuted(address,address,address,uint256,uint256,uint256,uint256,address)").hex()
)
AUCTION_FILLED = "0x" + keccak(text="AuctionFilled(uint256,address,uint256,uint256,uint256,uint256)").hex()
ARBITRAGE_CYCLED = (
    "0x" + keccak(text="ArbitrageCycled(address,address,address,bool,bool,uint256,uint256,uint256,address)").hex()
)
LAST_TRADES = 20  # trades and fills shown
AUCTION_LOOKBACK = 20  # the latest auctions looked at for live ones

_VIEW = {"stateMutability": "view", "type": "function"}
POOL_ABI = [
    {**_VIEW, "name": n, "inputs": [], "outputs": [{"name": "", "type": "address"}]} for n in ("token0", "token1")
] + [
    {
        **_VIEW,
        "name": "slot0",
        "inputs": [],
        "outputs": [{"name": n, "type": t} for n, t in (("sqrtPriceX96", "uint160"), ("tick", "int24"))]
        + [{"name": f"x{i}", "type": t} for i, t in enumerate(("uint16", "uint16", "uint16", "uint8", "bool"))],
    }
]


def _topic(address: str) -> str:
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def _word(data: str, i: int) -> int:
    return int(data[2 + 64 * i : 2 + 64 * (i + 1)], 16)


def _address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


@dataclass
class Sources:
    """Where the dashboard looks, from the network's manifest: the Governor, each vault's index-token pool
    (a Uniswap V3 pool of the index token against a quote token the vault's oracle prices) and Zap, the
    arbitrage contract, the Uniswap V3 adapter and quoter the zap's legs use (and their pools' fee tier), and
    the first block to read logs from."""

    governor: str | None = None
    index_pools: dict[str, str] = field(default_factory=dict)  # vault address -> pool
    zaps: dict[str, str] = field(default_factory=dict)  # vault address -> zap
    start_blocks: dict[str, int] = field(default_factory=dict)  # vault address -> deployment block
    arbitrage: str | None = None  # the IndexArbitrage contract (one a chain)
    adapter: str | None = None  # the Uniswap V3 adapter the zap's legs swap through
    quoter: str | None = None  # Uniswap's QuoterV2, which sizes a zap buy's legs
    zap_fee: int = 3000  # the V3 fee tier of the constituents' pools the legs use (ppm)


class VaultReader:
    """Reads one vault for the page through `rpc`; `sources` says what else the network has."""

    def __init__(self, rpc: Rpc, vault: str, sources: Sources):
        self.rpc, self.address, self.sources = rpc, to_checksum_address(vault), sources
        self.vault = Abi(abi_of(project.IndexVault.contract_type))
        self.router = Abi(abi_of(project.OracleRouter.contract_type))
        self.rebalancer_abi = Abi(abi_of(project.Rebalancer.contract_type))
        self.governor = Abi(abi_of(project.Governor.contract_type))
        self.erc20, self.pool_abi = Abi(ERC20_ABI), Abi(POOL_ABI)
        self.assets: tuple[str, ...] = ()
        self.meta: dict[str, tuple[str, int]] = {}  # token -> (symbol, decimals)
        self.start_block = sources.start_blocks.get(self.address, 0)
        self.rounds: dict[str, dict[int, tuple[int, int]]] = {}  # aggregator -> round -> (answer, updated at)
        self.pool = sources.index_pools.get(self.address)
        self.quote: str | None = None  # the pool's other token, once read
        self.index_is_0 = False

    def v(self, name: str, *args: Any) -> Call:
        return self.vault.call(self.address, name, *args)

    def head(self) -> dict:
        block, chain_id = self.rpc.batch([("eth_getBlockByNumber", ["latest", False]), ("eth_chainId", [])])
        return {"number": int(block["number"], 16), "timestamp": int(block["timestamp"], 16), "chain": chain_id}

    def _learn(self, assets: tuple[str, ...], block: int) -> None:
        """Symbols and decimals of tokens not seen yet (one batch); the index pool's tokens the first time (one
        more batch, and the quote's symbol and decimals when it is no constituent)."""
        if self.pool and self.quote is None:
            token0, token1 = self.rpc.calls_at([self.pool_abi.call(self.pool, n) for n in ("token0", "token1")], block)
            if not isinstance(token0, RpcError) and not isinstance(token1, RpcError):
                self.index_is_0 = to_checksum_address(token0) == self.address
                self.quote = to_checksum_address(token1 if self.index_is_0 else token0)
        new = [
            a
            for a in dict.fromkeys((*assets, self.address, *([self.quote] if self.quote else [])))
            if a not in self.meta
        ]
        if new:
            calls = [self.erc20.call(a, n) for a in new for n in ("symbol", "decimals")]
            out = self.rpc.calls_at(calls, block)
            for i, a in enumerate(new):
                self.meta[a] = (out[2 * i], out[2 * i + 1])
        self.assets = assets

    def read_view(self, account: str | None = None) -> RawView:
        """The vault at the head block, for `account` (its balances and allowances) if given."""
        head = self.head()
        block = head["number"]
        if not self.assets:
            self.assets = tuple(to_checksum_address(a) for a in self.rpc.calls_at([self.v("assets")], block)[0])
        self._learn(self.assets, block)
        values = self._main_batch(block, account)
        assets = tuple(to_checksum_address(a) for a in values["assets"])
        if assets != self.assets:  # the basket changed since the last view: read again with the new one
            self._learn(assets, block)
            values = self._main_batch(block, account)
        return self._raw(head, values, account)

    def _main_batch(self, block: int, account: str | None) -> dict[str, Any]:
        """Every view call of a page at `block`, by name (see the module doc)."""
        oracle, rebalancer = self.rpc.calls_at([self.v("oracle"), self.v("rebalancer")], block)
        names = [
            "assets", "name", "symbol", "totalSupply", "pending_management_fee", "total_value", "value_per_share",
            "paused", "asset", "management_fee_rate", "mint_fee_bps", "redeem_fee_bps", "entry_fee_bps",
            "exit_fee_bps", "fee_recipient", "flow_cap_bps", "flow_period", "entry_used", "exit_used",
            "entry_period_start", "exit_period_start", "holdings",
        ]  # fmt: skip
        calls: dict[str, Call] = {n: self.v(n) for n in names}
        for a in self.assets:
            calls[f"price:{a}"] = self.router.call(oracle, "price_data", a)
        r = self.rebalancer_abi
        if int(rebalancer, 16):
            for n in ("target_weights", "targets_set", "rebalance", "limits", "auction_count"):
                calls[f"r:{n}"] = r.call(rebalancer, n)
        if account:
            calls["account"] = self.v("balanceOf", account)
            for a in self.assets:
                calls[f"bal:{a}"] = self.erc20.call(a, "balanceOf", account)
                calls[f"allow:{a}"] = self.erc20.call(a, "allowance", account, self.address)
        if self.sources.governor:
            calls["pending"] = self.governor.call(self.sources.governor, "pending")
        calls.update(self.dex_calls(oracle))
        out = dict(zip(calls, self.rpc.calls_at(list(calls.values()), block), strict=True))
        out["oracle"], out["rebalancer"] = oracle, rebalancer
        return out

    def _raw(self, head: dict, values: dict[str, Any], account: str | None) -> RawView:
        block, now = head["number"], head["timestamp"]
        targets = values.get("r:target_weights")
        targets = list(targets) if isinstance(targets, list | tuple) and len(targets) == len(self.assets) else None
        constituents = []
        for i, a in enumerate(self.assets):
            p = values[f"price:{a}"]
            constituents.append(
                RawConstituent(
                    address=a,
                    symbol=self.meta[a][0],
                    decimals=self.meta[a][1],
                    holding=values["holdings"][i],
                    status=p[0],
                    price=p[1] if p[0] == 0 else 0,
                    twap_price=p[2],
                    updated_at=p[5],
                    target=targets[i] if targets else None,
                    balance=values.get(f"bal:{a}", 0),
                    allowance=values.get(f"allow:{a}", 0),
                )
            )
        nav, per_share = values["total_value"], values["value_per_share"]
        nav_error = nav.reason or str(nav) if isinstance(nav, RpcError) else ""
        recipient = values["fee_recipient"]
        extra = self._second_batch(block, now, values, recipient)
        limits, rebalance = values.get("r:limits"), values.get("r:rebalance")
        return RawView(
            block=block,
            timestamp=now,
            chain_id=int(head["chain"], 16),
            address=self.address,
            name=values["name"],
            symbol=values["symbol"],
            supply=values["totalSupply"],
            pending_fee=values["pending_management_fee"],
            nav=None if isinstance(nav, RpcError) else nav,
            nav_per_share=None if isinstance(per_share, RpcError) else per_share,
            nav_error=nav_error,
            paused=values["paused"],
            base_asset=self.meta[to_checksum_address(values["asset"])][0],
            constituents=constituents,
            fee_rate=values["management_fee_rate"],
            mint_bps=values["mint_fee_bps"],
            redeem_bps=values["redeem_fee_bps"],
            entry_bps=values["entry_fee_bps"],
            exit_bps=values["exit_fee_bps"],
            recipient=to_checksum_address(recipient),
            recipient_balance=extra["recipient_balance"],
            flow_cap_bps=values["flow_cap_bps"],
            flow_period=values["flow_period"],
            entry_used=values["entry_used"],
            exit_used=values["exit_used"],
            entry_period_start=values["entry_period_start"],
            exit_period_start=values["exit_period_start"],
            band=limits[1] if isinstance(limits, tuple) else 0,
            rebalance_started=rebalance[0] if isinstance(rebalance, tuple) else 0,
            account=to_checksum_address(account) if account else None,
            account_shares=values.get("account", 0),
            governor=self.sources.governor,
            pending=self._pending(values.get("pending")),
            trades=extra["trades"],
            auctions=extra["auctions"],
            dex=self.dex(values),
            zap=self.sources.zaps.get(self.address),
        )

    def _pending(self, proposals: Any) -> list[dict]:
        if not isinstance(proposals, list | tuple):
            return []
        return [
            {
                "id": p[0],
                "target": to_checksum_address(p[1]),
                "function": KNOWN_CALLS.get(bytes(p[2])[:4], "0x" + bytes(p[2])[:4].hex()),
                "eta": p[3],
                "expires": p[4],
                "proposer": to_checksum_address(p[5]),
            }
            for p in proposals
        ]

    def dex_calls(self, oracle: str) -> dict[str, Call]:
        """The calls `dex` needs: the pool's `slot0`, and the oracle's price of its quote token when that is no
        constituent (a constituent's price data is read with the basket)."""
        if not self.pool or self.quote is None:
            return {}
        calls = {"pool:slot0": self.pool_abi.call(self.pool, "slot0")}
        if self.quote not in self.assets:
            calls["quote:price"] = self.router.call(oracle, "price", self.quote)
        return calls

    def dex(self, values: dict[str, Any]) -> dict | None:
        """The index token's price on its pool in USD: the pool's price in the quote token times the oracle's
        price of the quote (a constituent's price data, else `price(quote)`); None without a pool, else the
        reason it has no price."""
        if not self.pool:
            return None
        out = {"pool": self.pool, "price": None, "quote": self.meta.get(self.quote, ("?", 0))[0] if self.quote else "?"}
        slot0 = values.get("pool:slot0")
        if self.quote is None or slot0 is None or isinstance(slot0, RpcError):
            return {**out, "error": f"the pool cannot be read: {getattr(slot0, 'reason', None) or slot0}"}
        if f"price:{self.quote}" in values:
            status, quote_price = values[f"price:{self.quote}"][:2]
            if status != 0:
                return {**out, "error": f"the oracle's price of {out['quote']} is unusable: {oracle_status(status)[0]}"}
        else:
            quote_price = values.get("quote:price")
            if isinstance(quote_price, RpcError) or quote_price is None:
                reason = getattr(quote_price, "reason", None) or "no answer"
                return {**out, "error": f"the oracle cannot price {out['quote']}: {reason}"}
        in_quote = v3_price(slot0[0], self.index_is_0, 18, self.meta[self.quote][1])
        return {**out, "price": in_quote * quote_price // WAD, "pool_price": in_quote, "quote_price": quote_price}

    def _second_batch(self, block: int, now: int, values: dict[str, Any], recipient: str) -> dict:
        """The recipient's balance, the latest auctions and the trade logs; then the trades' receipts."""
        rebalancer = values["rebalancer"]
        calls: list[Call] = [self.v("balanceOf", recipient)]
        count = values.get("r:auction_count", 0) if int(rebalancer, 16) else 0
        count = count if isinstance(count, int) else 0
        ids = list(range(count, max(count - AUCTION_LOOKBACK, 0), -1))
        r = self.rebalancer_abi
        for i in ids:
            calls += [r.call(rebalancer, "auctions", i), r.call(rebalancer, "auction_rate", i)]
        requests = [("eth_call", [{"to": c.to, "data": c.data()}, hex(block)]) for c in calls]
        span = {"fromBlock": hex(self.start_block), "toBlock": hex(block)}
        if int(rebalancer, 16):
            requests.append(
                ("eth_getLogs", [{**span, "address": rebalancer, "topics": [[TRADE_EXECUTED, AUCTION_FILLED]]}])
            )
        if self.sources.arbitrage:
            topics = [ARBITRAGE_CYCLED, None, None, _topic(self.address)]
            requests.append(("eth_getLogs", [{**span, "address": self.sources.arbitrage, "topics": topics}]))
        answers = self.rpc.batch(requests)
        decoded = [
            a if isinstance(a, RpcError) else c.decode(a) for c, a in zip(calls, answers[: len(calls)], strict=True)
        ]
        auctions = []
        for k, i in enumerate(ids):
            auction, rate = decoded[1 + 2 * k], decoded[2 + 2 * k]
            if isinstance(auction, RpcError) or isinstance(rate, RpcError) or not auction[2]:
                continue
            if now < auction[7]:
                auctions.append(self._auction(i, auction, rate))
        logs = [log for found in answers[len(calls) :] if isinstance(found, list) for log in found]
        logs.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
        return {
            "recipient_balance": decoded[0] if isinstance(decoded[0], int) else 0,
            "auctions": auctions,
            "trades": self._trades(logs[-LAST_TRADES:]),
        }

    def _symbol(self, token: str) -> tuple[str, int]:
        return self.meta.get(to_checksum_address(token), (token[:10], 18))

    def _auction(self, i: int, a: tuple, rate: int) -> dict:
        sell, sd = self._symbol(a[0])
        buy, bd = self._symbol(a[1])
        per_unit = rate * 10**sd // 10**18  # buy base units per whole sell token
        return {
            "id": i,
            "sell": sell,
            "buy": buy,
            "remaining": f"{a[2] / 10**sd:,.6g} {sell}",
            "rate": str(rate),
            "price_text": f"1 {sell} = {per_unit / 10**bd:,.6g} {buy}",
            "ends": a[7],
        }

    def _trades(self, logs: list[dict]) -> list[dict]:
        if not logs:
            return []
        hashes = list(dict.fromkeys(log["transactionHash"] for log in logs))
        blocks = list(dict.fromkeys(log["blockNumber"] for log in logs))
        answers = self.rpc.batch(
            [("eth_getTransactionReceipt", [h]) for h in hashes]
            + [("eth_getBlockByNumber", [b, False]) for b in blocks]
        )
        receipts = dict(zip(hashes, answers[: len(hashes)], strict=True))
        times = {b: int(blk["timestamp"], 16) for b, blk in zip(blocks, answers[len(hashes) :], strict=True)}
        rows = []
        for log in reversed(logs):
            receipt = receipts[log["transactionHash"]]
            gas = int(receipt["gasUsed"], 16) if isinstance(receipt, dict) else 0
            fields = self._cycle_fields(log) if log["topics"][0] == ARBITRAGE_CYCLED else self._trade_fields(log)
            rows.append({**fields, "gas": gas, "tx": log["transactionHash"]})
            rows[-1]["timestamp"] = times[log["blockNumber"]]
        return rows

    def _trade_fields(self, log: dict) -> dict:
        data, topics = log["data"], log["topics"]
        if topics[0] == TRADE_EXECUTED:
            sell, sd = self._symbol(_address(topics[2]))
            buy, bd = self._symbol(_address(topics[3]))
            amount_in, amount_out, oracle_out, shortfall = (_word(data, i) for i in range(4))
            return {
                "kind": "keeper trade",
                "who": _address(topics[1]),
                "pair": f"{sell} -> {buy}",
                "sold": f"{amount_in / 10**sd:,.6g} {sell}",
                "bought": f"{amount_out / 10**bd:,.6g} {buy}",
                "shortfall_bps": round(shortfall * 10_000 / oracle_out, 2) if oracle_out else 0.0,
                "profit": None,
            }
        sold, bought, rate, oracle_rate = (_word(data, i) for i in range(4))
        return {
            "kind": "auction fill",
            "who": _address(topics[2]),
            "pair": f"auction #{int(topics[1], 16)}",
            "sold": f"{sold:,} units",
            "bought": f"{bought:,} units",
            "shortfall_bps": round((oracle_rate - rate) * 10_000 / oracle_rate, 2) if oracle_rate else 0.0,
            "profit": None,
        }

    def _cycle_fields(self, log: dict) -> dict:
        """An `ArbitrageCycled` of this vault: which way, the shares, the quote token paid or received, the
        profit (in the recorded pool's quote token; another pool's amounts in base units)."""
        data, topics = log["data"], log["topics"]
        minted, shares, quote, profit = bool(_word(data, 1)), _word(data, 2), _word(data, 3), _word(data, 4)
        pool = _address(topics[2])
        symbol, decimals = self.meta[self.quote] if self.quote and pool == self.pool else ("units", 0)
        index = f"{shares / 10**18:,.6g} {self.meta.get(self.address, ('shares', 18))[0]}"
        paid = f"{quote / 10**decimals:,.6g} {symbol}"
        return {
            "kind": "arbitrage",
            "who": _address(topics[1]),
            "pair": "mint and sell (pool over NAV)" if minted else "buy and redeem (pool under NAV)",
            "direction": "mint-and-sell" if minted else "buy-and-redeem",
            "sold": index if minted else paid,
            "bought": paid if minted else index,
            "shares": str(shares),
            "quote": str(quote),
            "shortfall_bps": None,
            "profit": {"raw": str(profit), "text": f"{profit / 10**decimals:,.6g} {symbol}"},
        }
