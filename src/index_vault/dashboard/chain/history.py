"""The reads behind the NAV history (`index_vault.dashboard.history` rebuilds it): the index token's mints and
burns and the constituents' flows to and from the vault from the logs, and each feed's rounds.

Chainlink's test aggregator (the local chains') logs no `AnswerUpdated`, and a node without archive state cannot
say what a feed answered at a past block, so the rounds are read from the aggregator behind each feed proxy:
`latestRound()`, then `getRoundData(id)` back from it, a batch at a time, until a round older than the window
(or the first round). A round never changes once written: the reader keeps the rounds it has read, and a later
view reads only the new ones. Round trips: the feeds' configurations, their aggregators and latest rounds, the
logs (one batch), the rounds (one batch per `ROUND_BATCH` rounds of all feeds together), block times, and the
head's exact figures.

The index token's pool price beside it comes from the same batch of logs: the pool's `Initialize` and `Swap`
logs, each with the price it leaves (one more `eth_getLogs` in the batch, exact, and no archive state needed;
the pool's oracle observations would need a call per sample at past blocks, or a cardinality the pool may not
have, and give the price to a tick only). Its quote token is valued at its own feed's rounds, read with the
constituents' (one more feed when the quote is no constituent). The last point is the pool's `slot0` at the
oracle's price of the quote now, as the page's DEX price is.
"""

from eth_utils import keccak, to_checksum_address

from index_vault.dashboard.chain.reads import TRANSFER, ZERO, VaultReader, _topic, _word
from index_vault.dashboard.chain.rpc import Abi, RpcError
from index_vault.dashboard.history import DAY, Change, Dex, Feed, Point, nav_history, sample_times

ROUND_BATCH = 100  # rounds read per feed per batch
MAX_ROUNDS = 5_000  # rounds read back per feed at most (a busy feed over a long window is cut there)

SWAP = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()
INITIALIZE = "0x" + keccak(text="Initialize(uint160,int24)").hex()

_VIEW = {"stateMutability": "view", "type": "function"}
FEED_ABI = [
    {**_VIEW, "name": "aggregator", "inputs": [], "outputs": [{"name": "", "type": "address"}]},
    {**_VIEW, "name": "latestRound", "inputs": [], "outputs": [{"name": "", "type": "uint256"}]},
    {
        **_VIEW,
        "name": "getRoundData",
        "inputs": [{"name": "_roundId", "type": "uint80"}],
        "outputs": [
            {"name": n, "type": t}
            for n, t in (("r", "uint80"), ("a", "int256"), ("s", "uint256"), ("u", "uint256"), ("i", "uint80"))
        ],
    },
]


def _priced(reader: VaultReader) -> list[str]:
    """The tokens whose feeds the history reads: the constituents, then the pool's quote if it is none."""
    extra = [reader.quote] if reader.pool and reader.quote and reader.quote not in reader.assets else []
    return [*reader.assets, *extra]


def _feeds(reader: VaultReader, oracle: str, block: int) -> list[Feed]:
    """Each priced token's feed (`_priced`): its aggregator, decimals, heartbeat and routed quote (basket
    position)."""
    tokens = _priced(reader)
    configs = reader.rpc.calls_at([reader.router.call(oracle, "feed_config", a) for a in tokens], block)
    feed = Abi(FEED_ABI)
    proxies = [c[0][0] if not isinstance(c, RpcError) else ZERO for c in configs]
    aggregators = reader.rpc.calls_at([feed.call(p, "aggregator") for p in proxies], block)
    feeds = []
    for a, c, agg in zip(tokens, configs, aggregators, strict=True):
        if isinstance(c, RpcError) or isinstance(agg, RpcError):
            feeds.append(Feed(ZERO, 8, reader.meta[a][1], 0))
            continue
        quote = to_checksum_address(c[0][3])
        routed = reader.assets.index(quote) if int(quote, 16) and quote in reader.assets else None
        feeds.append(Feed(to_checksum_address(agg), c[1], c[2], c[0][1] + c[0][2], routed))
    return feeds


def _rounds(reader: VaultReader, aggregators: list[str], since: int, block: int) -> list[Change]:
    """Every round of `aggregators` from the last before `since` on, as answers (see the module doc)."""
    feed = Abi(FEED_ABI)
    latest = reader.rpc.calls_at([feed.call(a, "latestRound") for a in aggregators], block)
    todo = {}
    for a, top in zip(aggregators, latest, strict=True):
        known = reader.rounds.setdefault(a, {})
        if not isinstance(top, RpcError):
            todo[a] = [r for r in range(top, max(top - MAX_ROUNDS, 0), -1) if r not in known]
    while todo:
        wanted = [(a, r) for a, ids in todo.items() for r in ids[:ROUND_BATCH]]
        answers = reader.rpc.calls_at([feed.call(a, "getRoundData", r) for a, r in wanted], block)
        done = set()
        for (a, r), answer in zip(wanted, answers, strict=True):
            if isinstance(answer, RpcError):
                done.add(a)  # a round the aggregator cannot give: stop there
                continue
            reader.rounds[a][r] = (answer[1], answer[3])
            if answer[3] < since:
                done.add(a)
        todo = {a: ids[ROUND_BATCH:] for a, ids in todo.items() if a not in done and ids[ROUND_BATCH:]}
    return [
        Change(block=0, log_index=r, timestamp=t, kind="answer", value=v, aggregator=a, updated_at=t)
        for a in aggregators
        for r, (v, t) in reader.rounds.get(a, {}).items()
    ]


def _flows(reader: VaultReader, block: int) -> list[Change]:
    """The index token's mints (+) and burns (-), the constituents' flows into (+) and out of (-) the vault, and
    the index pool's prices."""
    span = {"fromBlock": hex(reader.start_block), "toBlock": hex(block)}
    vault_topic, zero_topic = _topic(reader.address), _topic(ZERO)
    queries = [
        ("supply", 1, {**span, "address": reader.address, "topics": [TRANSFER, zero_topic]}),
        ("supply", -1, {**span, "address": reader.address, "topics": [TRANSFER, None, zero_topic]}),
        ("holding", 1, {**span, "address": list(reader.assets), "topics": [TRANSFER, None, vault_topic]}),
        ("holding", -1, {**span, "address": list(reader.assets), "topics": [TRANSFER, vault_topic]}),
    ]
    if reader.pool:
        queries.append(("pool", 0, {**span, "address": reader.pool, "topics": [[SWAP, INITIALIZE]]}))
    results = reader.rpc.batch([("eth_getLogs", [q]) for _, _, q in queries])
    for r in results:
        if isinstance(r, RpcError):
            raise r
    times = _block_times(reader, [log for logs in results for log in logs])
    index = {a.lower(): i for i, a in enumerate(reader.assets)}
    changes = []
    for (kind, sign, _), logs in zip(queries, results, strict=True):
        for log in logs:
            i = index.get(log["address"].lower(), -1) if kind == "holding" else -1
            if kind == "holding" and i < 0:
                continue  # a token no longer in the basket (see the history module)
            at = {"block": int(log["blockNumber"], 16), "log_index": int(log["logIndex"], 16)}
            if kind == "pool":  # the price a swap leaves (its third word), or the pool's first
                value = _word(log["data"], 2 if log["topics"][0] == SWAP else 0)
            else:
                value = sign * _word(log["data"], 0)
            changes.append(Change(**at, timestamp=times[log["blockNumber"]], kind=kind, value=value, index=i))
    return changes


def _block_times(reader: VaultReader, logs: list[dict]) -> dict[str, int]:
    """Each log's block time: the log's own `blockTimestamp` where the node gives it, else one batch of headers."""
    times = {log["blockNumber"]: int(log["blockTimestamp"], 16) for log in logs if log.get("blockTimestamp")}
    missing = sorted({log["blockNumber"] for log in logs} - set(times))
    if missing:
        headers = reader.rpc.batch([("eth_getBlockByNumber", [b, False]) for b in missing])
        times.update({b: int(h["timestamp"], 16) for b, h in zip(missing, headers, strict=True)})
    return times


def read_history(reader: VaultReader, days: int) -> dict:
    """NAV per share a day apart over `days` days (`index_vault.dashboard.history`), and the index token's pool
    price beside it; the last point is the vault's own `value_per_share` and the page's DEX price at the head."""
    head = reader.head()
    block, now = head["number"], head["timestamp"]
    if not reader.assets:
        reader.assets = tuple(to_checksum_address(a) for a in reader.rpc.calls_at([reader.v("assets")], block)[0])
    reader._learn(reader.assets, block)
    (oracle,) = reader.rpc.calls_at([reader.v("oracle")], block)
    feeds = _feeds(reader, oracle, block)
    flows = _flows(reader, block)
    first = min((c.timestamp for c in flows if c.kind == "supply"), default=now)
    since = max(first, now - days * DAY)
    aggregators = sorted({f.aggregator for f in feeds if f.aggregator != ZERO})
    changes = flows + _rounds(reader, aggregators, since, block)
    dex = None
    if reader.pool and reader.quote:
        dex = Dex(reader.index_is_0, _priced(reader).index(reader.quote), reader.meta[reader.quote][1])
    points = nav_history(changes, feeds, sample_times(now, days, first), dex)
    calls = {"vps": reader.v("value_per_share"), **reader.dex_calls(oracle)}
    if reader.quote in reader.assets:  # the quote's price data, as the page's view reads it
        calls[f"price:{reader.quote}"] = reader.router.call(oracle, "price_data", reader.quote)
    values = dict(zip(calls, reader.rpc.calls_at(list(calls.values()), block), strict=True))
    if points and not isinstance(values["vps"], RpcError):
        now_dex = (reader.dex(values) or {}).get("price") if dex else None
        points[-1] = Point(now, values["vps"], "the vault's value_per_share now", now_dex)
    return {"block": block, "points": [p.__dict__ for p in points], "dex": bool(dex)}
