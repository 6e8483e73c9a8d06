"""The arbitrageur on a chain: read the index token's pool (a Uniswap V2 pair, or a V3 pool with one full-range
position) and the vault's NAV, plan
(`index_vault.arbitrage.planner`), simulate, send one atomic cycle through `IndexArbitrage`, read again.

A round:
1. If the account has transactions in flight (`eth_getTransactionCount` "pending" above "latest"), wait for them
   (`TxSender.next_nonce`): an arbitrageur killed between send and receipt and restarted never sends a second
   cycle while its first may still land.
2. Read the pool's reserves (a V3 pool's virtual ones: `L * 2**96 / sqrtP`, `L * sqrtP / 2**96`), the vault's NAV
   per share (`value_per_share`, every oracle check) and the quote
   token's price, at the head block. An unusable price makes the arbitrageur wait and say why.
3. Plan the cycle (`plan_cycle`); inside the band, or with no cycle that pays, do nothing and say why.
4. Build the zap's legs: minting, each constituent's exact need (the vault's in-kind preview) bought with the
   quote token: with a QuoterV2, the exact input its pool asks for that output now (`quoteExactOutputSingle`)
   plus `QUOTE_MARGIN_BPS`; without, the oracle value grossed up by the pools' fee and a margin (`plan_mint`);
   redeeming, each constituent sold for the quote token. Simulate the cycle (`eth_call`), then sign, send and
   wait for the receipt.

The chain is the arbitrageur's only memory: every round reads it afresh. A cycle is atomic (the flash swap and the
zap in one transaction): it lands whole, profit at least `min_profit`, or not at all, and the arbitrageur never
holds the index token.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ape import project
from ape.api import AccountAPI
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from index_vault.arbitrage.planner import BUY_AND_REDEEM, MINT_AND_SELL, NONE, ArbitrageSettings, Pair, plan_cycle
from index_vault.chain.contracts import erc20_type, npm_type, web3_contract
from index_vault.chain.tx import GasPolicy, Reverted, TxSender, Wait, hex_str, revert_reason
from index_vault.common.units import WAD
from index_vault.vault.basket import mint_amounts
from index_vault.vault.fees import mint_fee_shares
from index_vault.vault.zap import plan_mint

Q96 = 2**96
QUOTE_MARGIN_BPS = 10  # beyond a quoter's exact input: the pool may move between the quote and the cycle
BPS = 10_000


@dataclass(frozen=True)
class Leg:
    """How the zap trades one constituent against the quote token: an allowed adapter and its two routes
    (quote token to the constituent, and back); empty routes for the quote token itself."""

    adapter: str
    buy: bytes
    sell: bytes
    fee: int | None = None  # the V3 pool's fee of a one-hop route (for a quoter's exact-output quote)


@dataclass(frozen=True)
class ArbitrageVenue:
    """Where the arbitrageur works: the vault, its index pool (a V2 pair, or a V3 pool), the zap and the arbitrage
    contract, the pool's quote token, and one zap leg per constituent (basket order)."""

    vault: str
    pair: str  # the index token's pool
    v3: bool
    zap: str
    arbitrage: str
    quote: str
    legs: tuple[Leg, ...]
    fee_bps: int = 30  # the constituents' pools' fee, for the mint legs' amounts
    margin_bps: int = 50  # what a mint leg buys beyond the need (handed back to the receiver)
    quoter: str | None = None  # a Uniswap V3 QuoterV2: mint legs sized by exact-output quotes


@dataclass
class CycleOutcome:
    """One round: its status ("inside", "none", "mined", "reverted", "skipped", "wait"), the planned cycle and,
    when mined, what it did."""

    status: str
    reason: str
    direction: str = NONE
    shares: int = 0
    quote: int = 0
    profit: int = 0
    gas_used: int = 0
    tx_hash: str = ""
    price: Fraction = Fraction(0)  # the pair's price before, quote base units per share base unit
    nav: Fraction = Fraction(0)  # NAV per share base unit, in quote base units
    fields: dict = field(default_factory=dict)


class Arbitrageur:
    """Rounds of the arbitrage cycle on `venue`, sent from `account` (module doc)."""

    def __init__(
        self,
        venue: ArbitrageVenue,
        account: AccountAPI,
        settings: ArbitrageSettings,
        *,
        web3=None,
        gas: GasPolicy | None = None,
        dry_run: bool = False,
    ):
        self.venue, self.settings, self.dry_run = venue, settings, dry_run
        self.tx = TxSender(account, web3=web3, gas=gas)
        w3 = self.tx.w3
        self.vault = web3_contract(w3, venue.vault, project.IndexVault.contract_type)
        self.arbitrage = web3_contract(w3, venue.arbitrage, project.IndexArbitrage.contract_type)
        self.pair = web3_contract(w3, venue.pair, npm_type("UniswapV3Pool" if venue.v3 else "UniswapV2Pair"))
        self.v3_fee = self.pair.functions.fee().call() if venue.v3 else None
        self.erc20 = lambda address: web3_contract(w3, address, erc20_type())
        self.assets = [w3.to_checksum_address(a) for a in self.vault.functions.assets().call()]
        if len(self.assets) != len(venue.legs):
            raise ValueError(f"arbitrage: {len(venue.legs)} legs for {len(self.assets)} constituents")
        self.decimals = [self.erc20(a).functions.decimals().call() for a in self.assets]
        self.quote_decimals = self.erc20(venue.quote).functions.decimals().call()
        self.oracle = web3_contract(w3, self.vault.functions.oracle().call(), project.OracleRouter.contract_type)
        self.quoter = web3_contract(w3, venue.quoter, npm_type("QuoterV2")) if venue.quoter else None

    # --- reading ------------------------------------------------------------------------------------------

    def read(self, block: int | str = "latest") -> tuple[Pair, Fraction]:
        """The pool's reserves and NAV per share base unit in quote base units, at `block`; raises
        `ContractLogicError` with the oracle's reason while a price is unusable."""
        pool = self.pair.functions
        if self.v3_fee is None:
            reserve0, reserve1, _ = pool.getReserves().call(block_identifier=block)
        else:
            sqrt_price, liquidity = (
                pool.slot0().call(block_identifier=block)[0],
                pool.liquidity().call(block_identifier=block),
            )
            reserve0, reserve1 = liquidity * Q96 // sqrt_price, liquidity * sqrt_price // Q96
        shares_first = pool.token0().call() == self.vault.address
        pair = Pair(reserve0, reserve1, self.v3_fee) if shares_first else Pair(reserve1, reserve0, self.v3_fee)
        per_share = self.vault.functions.value_per_share().call(block_identifier=block)
        quote_price = self.oracle.functions.price(self.venue.quote).call(block_identifier=block)
        return pair, Fraction(per_share * 10**self.quote_decimals, quote_price * WAD)

    def mint_legs(self, shares: int, block: int | str = "latest") -> list[tuple]:
        """The zap's legs minting `shares` with the quote token (module doc, step 4)."""
        vault = self.vault.functions
        holdings = vault.holdings().call(block_identifier=block)
        supply = vault.totalSupply().call(block_identifier=block) + vault.pending_management_fee().call(
            block_identifier=block
        )
        gross = shares + mint_fee_shares(shares, vault.mint_fee_bps().call(block_identifier=block))
        need = mint_amounts(gross, supply, holdings, [])
        prices, _ = self.oracle.functions.checked_prices(self.assets).call(block_identifier=block)
        quote_price = self.oracle.functions.price(self.venue.quote).call(block_identifier=block)
        token = self.assets.index(self.venue.quote) if self.venue.quote in self.assets else None
        if self.quoter is not None and all(leg.fee for i, leg in enumerate(self.venue.legs) if i != token):
            return self._quoted_legs(need, token, block)
        plan = plan_mint(
            need,
            self.decimals,
            prices,
            token,
            self.quote_decimals,
            quote_price,
            self.venue.fee_bps,
            self.venue.margin_bps,
        )
        return [(leg.adapter, amount, leg.buy) for leg, amount in zip(self.venue.legs, plan.amounts_in, strict=True)]

    def _quoted_legs(self, need: list[int], token: int | None, block: int | str) -> list[tuple]:
        """Mint legs at the quoter's exact inputs for each need, plus `QUOTE_MARGIN_BPS`."""
        legs = []
        for i, (leg, amount) in enumerate(zip(self.venue.legs, need, strict=True)):
            if i == token or amount == 0:
                legs.append((leg.adapter, 0, leg.buy))
                continue
            params = (self.venue.quote, self.assets[i], amount, leg.fee, 0)
            quoted = self.quoter.functions.quoteExactOutputSingle(params).call(block_identifier=block)[0]
            legs.append((leg.adapter, -(-quoted * (BPS + QUOTE_MARGIN_BPS) // BPS), leg.buy))
        return legs

    def redeem_legs(self) -> list[tuple]:
        return [(leg.adapter, 0, leg.sell) for leg in self.venue.legs]

    # --- a round ------------------------------------------------------------------------------------------

    def run_round(self) -> CycleOutcome:
        """One round (module doc)."""
        try:
            self.tx.next_nonce()
            head = self.tx.head()["number"]
            try:
                pair, nav = self.read(head)
            except ContractLogicError as exc:
                return CycleOutcome("wait", f"the NAV is unavailable: {revert_reason(exc)}")
            cycle = plan_cycle(pair, nav, self.settings)
            if cycle.direction == NONE:
                status = "inside" if cycle.reason == "inside the band" else "none"
                return CycleOutcome(status, cycle.reason, price=pair.price, nav=nav)
            outcome = CycleOutcome(
                "planned",
                cycle.reason,
                cycle.direction,
                cycle.shares,
                cycle.quote,
                cycle.profit,
                price=pair.price,
                nav=nav,
            )
            return self._send(outcome, head)
        except Wait as wait:
            return CycleOutcome("wait", wait.reason)

    def _send(self, outcome: CycleOutcome, head: int) -> CycleOutcome:
        venue = self.venue
        if outcome.direction == MINT_AND_SELL:
            legs, fn = self.mint_legs(outcome.shares, head), "mint_and_sell"
        elif outcome.direction == BUY_AND_REDEEM:
            legs, fn = self.redeem_legs(), "buy_and_redeem"
        else:  # pragma: no cover - plan_cycle has two directions
            raise ValueError(outcome.direction)
        args = [
            venue.pair,
            venue.v3,
            venue.vault,
            venue.zap,
            outcome.shares,
            legs,
            self.settings.min_profit,
            self.tx.address,
        ]
        tx = self.tx.tx(self.arbitrage, fn, args)
        try:
            self.tx.simulate(tx)
        except Reverted as exc:
            outcome.status, outcome.reason = "skipped", f"the cycle would revert: {exc.reason}"
            return outcome
        if self.dry_run:
            outcome.status, outcome.reason = "planned", f"{outcome.reason} (dry run: not sent)"
            return outcome
        try:
            receipt = self.tx.send(tx, fn, shares=outcome.shares)
        except Reverted as exc:
            outcome.status, outcome.reason = "skipped", f"the cycle would revert: {exc.reason}"
            return outcome
        outcome.tx_hash, outcome.gas_used = hex_str(receipt["transactionHash"]), receipt["gasUsed"]
        if receipt["status"] != 1:
            outcome.status, outcome.reason = "reverted", "the cycle reverted on chain"
            return outcome
        (event,) = self.arbitrage.events.ArbitrageCycled().process_receipt(receipt, errors=DISCARD)
        outcome.status, outcome.quote, outcome.profit = "mined", event.args.quote, event.args.profit
        return outcome


def venue_legs(
    assets: Sequence[str], quote: str, adapter: str, buy_routes, sell_routes, fee: int | None = None
) -> tuple[Leg, ...]:
    """One `Leg` per constituent through `adapter`; `buy_routes(asset)` and `sell_routes(asset)` give the routes
    (the quote token itself has empty ones); `fee`, the one-hop routes' V3 pool fee, if they are one hop."""
    return tuple(
        Leg(adapter, b"", b"") if a.lower() == quote.lower() else Leg(adapter, buy_routes(a), sell_routes(a), fee)
        for a in assets
    )
