"""The keeper's auction filler: fills the Rebalancer's Dutch auctions when reselling the lot on the DEX pays.

A live auction is filled when the lot, resold through the best V3 route, pays more than its price, the gas and
the minimum profit; the fill is sized to what `Rebalancer.fill` accepts (`_fill_size`: the snapshot's rule, on
the snapshot's prices, a stale leg priced as the refresh the filler sends first will leave it), the filler
approves the Rebalancer for exactly the price (it moves the payment to the vault), refreshes the stale legs
(anyone may), simulates the fill, sends it under the same caps as a trade, then resells the lot. A filler killed
between its fill and the resale finds the lot on restart from the chain (`unsold_lots`) and resells it before
filling anything new.
"""

from collections.abc import Callable
from dataclasses import replace

from eth_utils import to_checksum_address

from index_vault.chain.contracts import ERC20_ABI
from index_vault.chain.tx import Reverted, TxSender, hex_str
from index_vault.common.units import BPS, WAD, format_units
from index_vault.keeper.chain.config import FillOutcome, KeeperConfig, RoundResult, TxOutcome
from index_vault.keeper.chain.snapshot import Snapshot
from index_vault.keeper.chain.venues import Venues
from index_vault.keeper.policy import EventLog, Metrics, Route, auction_buy_in, fill_profit, gas_usd
from index_vault.keeper.rebalance import stale, with_prices
from index_vault.keeper.rules import NO_REBALANCE, RebalancerState, Trade, check_trade, mul_div

AUCTION_LOOKBACK = 50  # the latest auctions scanned for fills (an auction lives at most a week)
GAS_FILL = 130_000  # a fill reads only its two legs (bench: ~117k)
GAS_REFRESH = 150_000
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


class AuctionFiller:
    """Fills `rebalancer`'s auctions (a web3 contract) from `tx`'s account, reselling through `venues`;
    `refresh(snap, asset)` re-prices a stale leg first (the keeper's `Keeper.refresh`)."""

    def __init__(
        self,
        tx: TxSender,
        venues: Venues,
        rebalancer,
        config: KeeperConfig,
        log: EventLog,
        metrics: Metrics,
        refresh: Callable[[Snapshot, str], TxOutcome],
    ):
        self.tx, self.w3, self.venues, self.rebalancer = tx, tx.w3, venues, rebalancer
        self.config, self.log, self.metrics, self.refresh = config, log, metrics, refresh
        self.address = tx.address

    def fill_state(self, snap: Snapshot) -> tuple[RebalancerState, list[int]]:
        """The state a fill is judged by once the filler has refreshed the legs that are stale (or about to
        be): the snapshot with those prices replaced by the oracle's; and those legs."""
        state = snap.state()
        late = stale(state, self.config.snapshot_margin)
        return with_prices(state, snap.prices, late), late

    def live_auctions(self, snap: Snapshot) -> list[tuple[int, tuple, int]]:
        """(id, auction, current rate) of every live auction among the latest `AUCTION_LOOKBACK`."""
        r = self.rebalancer.functions
        count = self.tx.call(r.auction_count(), snap.block)
        live = []
        for i in range(count, max(count - AUCTION_LOOKBACK, 0), -1):
            auction = self.tx.call(r.auctions(i), snap.block)
            if auction[2] and snap.timestamp < auction[7]:
                live.append((i, auction, self.tx.call(r.auction_rate(i), snap.block)))
        return live

    def _fill_size(self, snap: Snapshot, sell: str, buy: str, amount: int, rate: int) -> tuple[int, str | None]:
        """The largest fill of at most `amount` that `Rebalancer.fill` accepts at `rate`: its price rule (the
        rate at least the oracle's less `auction_discount_bps`), then the weight and size checks of a trade
        (`check_trade`, without the cool-down and the keeper's minimum-out floor, which fills do not have)."""
        lim = snap.limits
        s, b = snap.index(sell), snap.index(buy)
        state = self.fill_state(snap)[0]
        if state.started_at == 0:
            return 0, NO_REBALANCE
        ps, pb = state.constituents[s].price, state.constituents[b].price
        oracle_rate = mul_div(mul_div(WAD, ps, 10 ** snap.decimals[s]), 10 ** snap.decimals[b], pb)
        if rate * BPS < oracle_rate * (BPS - lim.auction_discount_bps):
            return 0, "rebalancer: auction price below oracle bound"
        state = replace(state, last_trade={}, limits=replace(lim, max_slippage_bps=BPS))

        def why(n: int) -> str | None:
            buy_in = auction_buy_in(n, rate)
            value = mul_div(n, ps, 10 ** snap.decimals[s])
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
        logs = self.tx.read(
            lambda: event.get_logs(from_block=start, to_block=snap.block, argument_filters={"filler": self.address}),
            "logs",
        )
        bought: dict[str, int] = {}  # by lot token: what fills brought in
        pay_in: dict[str, str] = {}  # by lot token: the buy token of its latest fill, what a resale goes to
        since: dict[str, int] = {}
        for log in logs:
            auction = self.tx.call(self.rebalancer.functions.auctions(log["args"]["id"]), snap.block)
            lot, buy = to_checksum_address(auction[0]), to_checksum_address(auction[1])
            bought[lot] = bought.get(lot, 0) + log["args"]["sold"]
            pay_in[lot] = buy
            since.setdefault(lot, log["blockNumber"])
        unsold = {}
        for lot, amount in bought.items():
            token = self.w3.eth.contract(address=lot, abi=[*ERC20_ABI, TRANSFER_EVENT])
            transfers = self.tx.read(
                lambda t=token, a=since[lot]: t.events.Transfer().get_logs(
                    from_block=a, to_block=snap.block, argument_filters={"from": self.address}
                ),
                "logs",
            )
            sent = sum(t["args"]["value"] for t in transfers)
            left = min(amount - sent, self.tx.call(token.functions.balanceOf(self.address), snap.block))
            if left > 0:
                unsold[(lot, pay_in[lot])] = left
        return unsold

    def resell_unsold(self, snap: Snapshot) -> None:
        """Resells what `unsold_lots` finds (a fill whose resale never happened), before any new fill."""
        for (lot, buy), amount in self.unsold_lots(snap).items():
            s, b = snap.index(lot), snap.index(buy)
            route = self.venues.route(lot, buy, snap.assets)
            fields = {
                "sell": snap.symbols[s],
                "buy": snap.symbols[b],
                "amount": format_units(amount, snap.decimals[s]),
                "pay": "(an earlier fill)",
            }
            if route is None:
                self.log("resell-skip", reason="no DEX route for an unsold lot", **fields)
                continue
            dex_out = self.venues.quote(route, amount, snap.block)
            if dex_out is None:
                dex_out = self.venues.expected_out(snap, lot, buy, amount, {})
            self.log("unsold-lot", **fields)
            try:
                self._resell(snap, lot, buy, amount, route, dex_out, fields)
            except Reverted as exc:
                self.log("resell-skip", reason=exc.reason, **fields)

    def fill_auctions(self, snap: Snapshot, result: RoundResult, gas_price: int, eth_price: int) -> None:
        """Fills every live auction whose lot, resold on the DEX, pays more than the gas (at `gas_price` and
        `eth_price` USD per ether) and the minimum profit. Call `resell_unsold` first."""
        for auction_id, auction, rate in self.live_auctions(snap):
            sell, buy, remaining = to_checksum_address(auction[0]), to_checksum_address(auction[1]), auction[2]
            if sell not in snap.assets or buy not in snap.assets or rate == 0:
                continue
            s, b = snap.index(sell), snap.index(buy)
            token_buy = self.w3.eth.contract(address=buy, abi=ERC20_ABI)
            held = self.tx.call(token_buy.functions.balanceOf(self.address))
            amount = min(remaining, held * WAD // rate)
            amount, why = self._fill_size(snap, sell, buy, amount, rate) if amount else (0, "no funds")
            fields = {"auction": auction_id, "sell": snap.symbols[s], "buy": snap.symbols[b]}
            route = self.venues.route(sell, buy, snap.assets)
            if self.venues.swap_router is None:
                why, amount = "no SwapRouter to resell the lot through (give the keeper one)", 0
            if not amount or route is None:
                self.log("auction-skip", reason=why or "no DEX route to resell the lot", **fields)
                continue
            buy_in = auction_buy_in(amount, rate)
            dex_out = self.venues.quote(route, amount, snap.block)
            if dex_out is None:
                dex_out = self.venues.expected_out(snap, sell, buy, amount, {})
            late = [snap.assets[i] for i in self.fill_state(snap)[1] if i in (s, b)]
            gas = GAS_FILL + len(late) * GAS_REFRESH + 3 * GAS_APPROVE + GAS_SWAP_PER_HOP * route.hops
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
                for asset in late:
                    result.refreshes.append(self.refresh(snap, asset))
                result.fills.append(self._fill(snap, auction_id, sell, buy, amount, buy_in, route, dex_out, fields))
            except Reverted as exc:
                self.metrics.reverts_skipped += 1
                self.log("auction-skip", reason=exc.reason, **fields)

    def _approve(self, token: str, spender: str, amount: int) -> None:
        contract = self.w3.eth.contract(address=token, abi=ERC20_ABI)
        if self.tx.call(contract.functions.allowance(self.address, spender)) >= amount:
            return
        receipt = self.tx.send(
            self.tx.tx(contract, "approve", [spender, amount]), "approve", token=token, amount=amount
        )
        if receipt["status"] != 1:
            raise Reverted(f"approve of {token} reverted")

    def _fill(self, snap, auction_id, sell, buy, amount, buy_in, route: Route, dex_out, fields) -> FillOutcome:
        """Approves the Rebalancer for exactly the price, fills (simulated first), then resells the lot on the DEX."""
        self._approve(buy, self.rebalancer.address, buy_in)
        tx = self.tx.tx(self.rebalancer, "fill", [auction_id, amount, buy_in])
        self.tx.simulate(tx)
        receipt = self.tx.send(tx, "fill", **fields)
        tx_hash = hex_str(receipt["transactionHash"])
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
        if self.venues.swap_router is None:
            raise Reverted("no SwapRouter to resell the lot through (give the keeper one)")
        slippage = snap.limits.max_slippage_bps if self.config.slippage_bps is None else self.config.slippage_bps
        min_out = mul_div(dex_out, BPS - slippage, BPS)
        token_out = self.w3.eth.contract(address=buy, abi=ERC20_ABI)
        before = self.tx.call(token_out.functions.balanceOf(self.address))
        self._approve(sell, self.venues.swap_router.address, amount)
        head = self.tx.read(lambda: self.w3.eth.get_block("latest"), "block")
        params = (route.encode(), self.address, head["timestamp"] + DEADLINE_SECONDS, amount, min_out)
        swap = self.tx.tx(self.venues.swap_router, "exactInput", [params])
        self.tx.simulate(swap)
        receipt = self.tx.send(swap, "resell", lot=fields["amount"], sell=fields["sell"], buy=fields["buy"])
        if receipt["status"] != 1:
            self.log("reverted", what="resell", tx=hex_str(receipt["transactionHash"]))
            return 0
        got = self.tx.call(token_out.functions.balanceOf(self.address)) - before
        b = snap.index(buy)
        self.log(
            "resold",
            tx=hex_str(receipt["transactionHash"]),
            got=format_units(got, snap.decimals[b]),
            paid=fields["pay"],
        )
        return got
