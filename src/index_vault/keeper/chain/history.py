"""The Rebalancer's trade history: `TradeExecuted` logs read in pages, with their gas; and the gas of the
snapshot transactions (`RebalanceStarted`, `PriceRefreshed`)."""

from dataclasses import dataclass

from ape import networks, project
from eth_utils import to_checksum_address

from index_vault.chain.contracts import web3_contract
from index_vault.chain.tx import hex_str


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
        rebalancer = web3_contract(w3, rebalancer, project.Rebalancer.contract_type)
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
                    tx_hash=hex_str(log["transactionHash"]),
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


def snapshot_gas(
    rebalancer, from_block: int = 0, *, caller: str | None = None, read=None, w3=None
) -> dict[str, tuple[int, int]]:
    """(count, gas used) of the `RebalanceStarted` and `PriceRefreshed` transactions since `from_block` (of
    `caller` only if given), by kind: {"start": ..., "refresh": ...}. A transaction is counted once."""
    w3 = w3 or networks.provider.web3
    read = read or (lambda fn, what="": fn())
    if isinstance(rebalancer, str):
        rebalancer = web3_contract(w3, rebalancer, project.Rebalancer.contract_type)
    filters = {"caller": to_checksum_address(caller)} if caller else None
    found = {}
    for kind, event in (
        ("start", rebalancer.events.RebalanceStarted()),
        ("refresh", rebalancer.events.PriceRefreshed()),
    ):
        logs = read(lambda e=event: e.get_logs(from_block=max(from_block, 0), argument_filters=filters), "logs")
        hashes = {log["transactionHash"] for log in logs}
        gas = sum(read(lambda h=h: w3.eth.get_transaction_receipt(h), "receipt")["gasUsed"] for h in hashes)
        found[kind] = (len(hashes), gas)
    return found
