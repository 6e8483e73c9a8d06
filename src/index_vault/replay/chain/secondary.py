"""The index token's secondary market in the main job: its pools seeded at NAV, noise traders sized from data, the
arbitrageur beside the keeper, and each day's premium of the DEX price over NAV.

Set-up (`setup_secondary`, after the vault is minted): a Uniswap V3 pool of the index token against USDC at 0.05%
(one full-range position of `V3_SHARE` of the supply and its NAV in USDC) and a V2 pair (`V2_SHARE`), both opened at
NAV; the zap and `IndexArbitrage`; a noise trader holding shares and USDC; the arbitrageur's account, with nothing.

Each day, after the keeper's rounds (`secondary_day`):
1. noise traders trade the index token: the day's volume is NAV times the basket's turnover (each constituent's
   trailing mean daily volume over its market cap, weighted by the vault's weights: `turnover`; the index token
   turns over like its basket), split into `TRADES_PER_DAY` trades of random side and size (seeded), each split
   across the V3 pool and the V2 pair in proportion to their depth (as an aggregator routes);
2. the arbitrageur runs on each pool until its price is inside the band around NAV, or no cycle pays (at most
   `MAX_CYCLES` rounds a pool a day);
3. the day's premium of each pool's price over NAV is recorded; the V3 pool's is the DEX price.
"""

import random
from dataclasses import dataclass
from fractions import Fraction

from ape import project
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from eth_utils import to_checksum_address

from index_vault.arbitrage.chain.arbitrageur import Arbitrageur, ArbitrageVenue, CycleOutcome, venue_legs
from index_vault.arbitrage.chain.pools import INDEX_POOL_FEE, nav_in_quote, seed_index_pair, seed_index_pool
from index_vault.arbitrage.planner import ArbitrageSettings
from index_vault.chain.contracts import erc20_at, npm_container, npm_type, web3_contract
from index_vault.chain.tx import LocalSender
from index_vault.common.units import WAD
from index_vault.keeper.routes import v3_route
from index_vault.market.chain.build import uniswap_from_book
from index_vault.market.chain.uniswap_v2 import uniswap_v2_from_book
from index_vault.market.model import POOL_FEE, pair_key
from index_vault.replay.flows import turnover
from index_vault.replay.record import SecondaryDay

QUOTE = "USDC"
V3_SHARE = Fraction(10, 100)  # of the supply, in the V3 pool at the start
V2_SHARE = Fraction(5, 100)  # in the V2 pair
TRADER_SHARE = Fraction(20, 100)  # held by the noise trader (and as much again in USDC)
TRADES_PER_DAY = 4
MAX_CYCLES = 3
SEED = 20_220_901
ZAP_BOUND_BPS = 100  # the zap's oracle bounds: 1% over / under the oracle value
ZAP_PRICE_AGE = 3_600
SETTINGS = ArbitrageSettings(band_bps=50, mint_cost_bps=35, redeem_cost_bps=35, min_profit=0)
MAX_UINT = 2**256 - 1
DEADLINE = 2**32 - 1


@dataclass
class Secondary:
    """What `setup_secondary` deployed, and the noise trader's state."""

    vault: ContractInstance
    oracle: ContractInstance
    quote: str
    pools: dict[str, ContractInstance]  # "v3", "v2"
    arbitrageurs: dict[str, Arbitrageur]
    trader: "NoiseTrader"
    rng: random.Random


class NoiseTrader:
    """Buys and sells the index token on its pools through Uniswap's routers, from one account (raw transactions,
    signed locally: `LocalSender`)."""

    def __init__(self, account: AccountAPI, book, vault: str, quote: str):
        self.sender = LocalSender(account)
        w3 = self.sender.w3
        self.address = to_checksum_address(account.address)
        self.vault, self.quote = to_checksum_address(vault), to_checksum_address(quote)
        self.v3_router = web3_contract(w3, book.uniswap["swap_router"], npm_type("SwapRouter"))
        self.v2_router = web3_contract(w3, book.uniswap_v2["router"], npm_type("UniswapV2Router02"))
        self.sender.sync()
        for token in (self.vault, self.quote):
            contract = web3_contract(w3, token, npm_type("StandardTokenMock"))
            for router in (self.v3_router, self.v2_router):
                self._send(contract.functions.approve(router.address, MAX_UINT), "approve")

    def _send(self, fn, what: str) -> dict:
        return self.sender.send({"to": fn.address, "data": fn._encode_transaction_data()}, what)

    def balance(self, token: str) -> int:
        fn = web3_contract(self.sender.w3, token, npm_type("StandardTokenMock")).functions.balanceOf(self.address)
        return fn.call()

    def trade(self, kind: str, buy: bool, amount: int) -> None:
        """Sells `amount` of the quote token for shares (`buy`) or `amount` of shares for the quote token."""
        token_in, token_out = (self.quote, self.vault) if buy else (self.vault, self.quote)
        if kind == "v3":
            params = (token_in, token_out, INDEX_POOL_FEE, self.address, DEADLINE, amount, 0, 0)
            self._send(self.v3_router.functions.exactInputSingle(params), "noise v3")
        else:
            fn = self.v2_router.functions.swapExactTokensForTokens(
                amount, 0, [token_in, token_out], self.address, DEADLINE
            )
            self._send(fn, "noise v2")


def setup_secondary(
    setup, deployer: AccountAPI, trader: AccountAPI, arbitrageur: AccountAPI, holder: AccountAPI
) -> Secondary:
    """The set-up of the module doc, from `holder`'s shares (the replay's minted supply)."""
    book, vault, oracle = setup.book, setup.vault, setup.oracle
    quote = to_checksum_address(book.tokens[QUOTE]["address"])
    usdc = npm_container("StandardTokenMock").at(quote)
    supply = vault.totalSupply()
    nav = nav_in_quote(vault, oracle, quote)
    in_pools = int(supply * (V3_SHARE + V2_SHARE))
    usdc.mint(holder, int(in_pools * nav) + 1, sender=deployer)
    pools = {
        "v3": seed_index_pool(uniswap_from_book(book), vault, oracle, quote, int(supply * V3_SHARE), holder),
        "v2": seed_index_pair(uniswap_v2_from_book(book), vault, oracle, quote, int(supply * V2_SHARE), holder),
    }
    vault.transfer(trader, int(supply * TRADER_SHARE), sender=holder)
    usdc.mint(trader, int(supply * TRADER_SHARE * nav), sender=deployer)
    zap = project.Zap.deploy(ZAP_BOUND_BPS, ZAP_BOUND_BPS, ZAP_PRICE_AGE, sender=deployer)
    arbitrage = project.IndexArbitrage.deploy(sender=deployer)
    adapter = setup.result.addresses["adapter_uniswap-v3"]  # allowed by the vault's rebalancer
    legs = venue_legs(
        [t.address for t in setup.tokens],
        quote,
        adapter,
        lambda a: v3_route([quote, a], [POOL_FEE]),
        lambda a: v3_route([a, quote], [POOL_FEE]),
        fee=POOL_FEE,
    )
    arbitrageurs = {
        kind: Arbitrageur(
            ArbitrageVenue(
                vault.address,
                pool.address,
                kind == "v3",
                zap.address,
                arbitrage.address,
                quote,
                legs,
                quoter=book.uniswap["quoter_v2"],
            ),
            arbitrageur,
            SETTINGS,
        )
        for kind, pool in pools.items()
    }
    for asset in setup.basket:  # every leg's pool exists
        if pair_key(asset, QUOTE) not in book.pools:
            raise ValueError(f"the market has no {asset}/{QUOTE} V3 pool for the zap")
    return Secondary(vault, oracle, quote, pools, arbitrageurs, NoiseTrader(trader, book, vault.address, quote),
                     random.Random(SEED))  # fmt: skip


def _premium(secondary: Secondary, kind: str) -> float:
    """The pool's price over NAV, less one."""
    pair, nav = secondary.arbitrageurs[kind].read()
    return float(pair.price / nav - 1)


def secondary_day(setup, secondary: Secondary, i: int) -> SecondaryDay:
    """Steps 1-3 of the module doc for day `i`."""
    date = setup.dates[i]
    day_index = setup.history.index(date)
    weights = setup.result.days[-1].weights if setup.result.days else {}
    nav_usd = setup.result.days[-1].nav_usd if setup.result.days else 0.0
    volume_usd = nav_usd * turnover(setup.history, setup.basket, weights, day_index)
    reads = {kind: a.read() for kind, a in secondary.arbitrageurs.items()}
    nav = reads["v3"][1]
    depth_v3, depth_v2 = reads["v3"][0].quote, reads["v2"][0].quote
    quote_units = 10 ** erc20_at(secondary.quote).decimals()
    rng, trader = secondary.rng, secondary.trader
    trader.sender.sync()
    for _ in range(TRADES_PER_DAY):
        # an aggregator's trade: split across the pools in proportion to their depth
        usd = volume_usd / TRADES_PER_DAY * rng.uniform(0.5, 1.5)
        quote_amount = int(usd * quote_units)
        shares = int(Fraction(quote_amount) / nav)
        buy = rng.random() < 0.5
        if not buy and trader.balance(trader.vault) < shares:  # a seller out of shares buys instead
            buy = True
        if buy and trader.balance(trader.quote) < quote_amount:
            continue
        amount = quote_amount if buy else shares
        v3_part = amount * depth_v3 // (depth_v3 + depth_v2)
        for kind, part in (("v3", v3_part), ("v2", amount - v3_part)):
            if part > 0:
                trader.trade(kind, buy, part)
    cycles, notes = [], []
    for kind, arb in secondary.arbitrageurs.items():
        for _ in range(MAX_CYCLES):
            outcome: CycleOutcome = arb.run_round()
            if outcome.status != "mined":
                if outcome.status != "inside":
                    notes.append(f"{kind}: {outcome.status}: {outcome.reason}")
                break
            cycles.append(
                {
                    "date": date,
                    "pool": kind,
                    "direction": outcome.direction,
                    "shares": outcome.shares / WAD,
                    "profit_usd": outcome.profit / quote_units,
                    "gas": outcome.gas_used,
                    "tx": outcome.tx_hash,
                }
            )
    day = SecondaryDay(date, _premium(secondary, "v3"), _premium(secondary, "v2"), volume_usd, cycles, notes)
    setup.result.secondary.append(day)
    return day
