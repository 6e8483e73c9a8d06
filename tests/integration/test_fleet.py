"""The keeper fleet on the market chain with a real redis-server: silverback's client and two worker processes
keep six vaults created through the factory on target; a stale oracle, a broker restart and a worker killed
between send and receipt.

One market (real Uniswap V3 pools, Chainlink feeds) serves every vault; five vaults are priced by its router, the
sixth by a second router over the same pools with its own feeds (so its oracle can go stale alone).
"""

import json
import shutil
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from ape import chain, networks, project

from index_vault.common.units import WAD
from index_vault.fleet.processes import Proc, client_args, silverback_env, spawn, wait_for, worker_args
from index_vault.fleet.redis_server import RedisServer
from index_vault.fleet.status import drift_bps, weights_of
from index_vault.fleet.store import FleetStore
from index_vault.keeper.chain.config import KeeperConfig
from index_vault.keeper.chain.keeper import Keeper
from index_vault.market.chain.build import arbitrage_pool
from index_vault.market.model import load_panel
from index_vault.oracle.chain.feeds import deploy_price_feed, set_feed_price
from index_vault.oracle.chain.local import FeedSettings, feed_params
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters
from index_vault.vault.chain.deploy import fund_test_accounts
from index_vault.vault.chain.factory import Roles, create_from_spec, deploy_factory
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC, NETWORK, ROOT

VAULTS = 6
SHARES = 100 * 10**18  # $10,000 a vault
PANEL_SYMBOL = {"WETH": "ETH", "WBTC": "BTC", "LINK": "LINK", "UNI": "UNI"}
TWAP_WINDOW = 1_800
BAND_BPS = 100
# each vault its own targets (WETH, WBTC, USDC, LINK, UNI), so that every one of them trades
TARGETS = [
    [20, 20, 20, 20, 20],
    [30, 20, 20, 15, 15],
    [15, 30, 25, 15, 15],
    [25, 15, 15, 25, 20],
    [20, 25, 15, 20, 20],
    [25, 25, 20, 15, 15],
]
LEASE_SECONDS = 4
CONFIG = KeeperConfig(band=BAND_BPS * WAD // 10_000, min_trade_usd=10 * WAD)


@pytest.fixture
def _function_isolation():
    """No revert between this module's tests: the fleet's processes follow one chain (and remember its blocks).
    Ape's module isolation still reverts the whole module's chain afterwards."""
    yield


def weights(percents: list[int]) -> list[int]:
    return [p * 10**16 for p in percents]


def nudged(i: int, k: int) -> list[int]:
    """Vault `i`'s targets with 3 points moved from constituent k + 1 to constituent k (a trade or two, well
    inside the Rebalancer's per-period cap)."""
    targets = list(TARGETS[i])
    targets[k % 5] += 3
    targets[(k + 1) % 5] -= 3
    return weights(targets)


@dataclass
class Market:
    factory: object
    vaults: list  # Created, in factory order
    tokens: dict  # symbol -> token
    local: object  # LocalMarket: router A, pools, feeds
    feeds_b: dict  # symbol -> feed proxy of router B (the sixth vault's)
    adapter: object
    deployer: object
    keepers: list
    start_block: int
    day: str = "2022-12-01"


@pytest.fixture(scope="module")
def market(accounts) -> Market:
    """The factory, one market, six vaults (each with its own keeper account), $10,000 minted in each."""
    deployer, holder, keepers = accounts[0], accounts[1], [accounts[2 + i] for i in range(VAULTS)]
    quiet = lambda _: None  # noqa: E731
    start_block = chain.blocks.head.number
    factory = deploy_factory(deployer, echo=quiet).factory
    spec = load_spec(DEMO_SPEC)
    roles = Roles(deployer.address, keeper=keepers[0].address)
    first = create_from_spec(spec, factory, deployer, local=True, roles=roles, echo=quiet)
    tokens = {c.symbol: t for c, t in zip(spec.constituents, first.tokens, strict=True)}
    with_addresses = replace(
        spec, constituents=tuple(replace(c, address=tokens[c.symbol].address) for c in spec.constituents)
    )
    # router B: the same pools for its TWAPs, its own feeds
    router_b = project.OracleRouter.deploy(deployer, sender=deployer)
    feeds_b = {}
    for c in spec.constituents:
        feeds_b[c.symbol] = deploy_price_feed(deployer, c.price_usd, 8)
        params = feed_params(
            feeds_b[c.symbol].address, first.market.pools[c.symbol].address, c.price_usd, FeedSettings()
        )
        router_b.set_feed(tokens[c.symbol], params, sender=deployer)
    created = [first]
    for i in range(1, VAULTS):
        oracle = router_b.address if i == VAULTS - 1 else first.oracle.address
        spec_i = replace(with_addresses, symbol=f"FLT{i}", name=f"Fleet Index {i}")
        roles = Roles(deployer.address, keeper=keepers[i].address)
        created.append(create_from_spec(spec_i, factory, deployer, local=True, oracle=oracle, roles=roles, echo=quiet))
    adapters = deploy_adapters(deployer, v3_swap_router=first.market.uniswap.swap_router.address)
    fund_test_accounts(spec, first.tokens, [holder], SHARES * VAULTS, sender=deployer)
    for c, targets in zip(created, TARGETS, strict=True):
        allow_adapters(c.rebalancer, adapters, deployer)
        for token in first.tokens:
            token.approve(c.vault, 2**256 - 1, sender=holder)
        c.vault.mint_in_kind(SHARES, holder, [2**256 - 1] * len(first.tokens), sender=holder)
        c.rebalancer.set_target_weights(weights(targets), sender=deployer)
    return Market(
        factory, created, tokens, first.market, feeds_b, adapters["uniswap-v3"], deployer, keepers, start_block
    )


def feed_price(feed) -> Decimal:
    return Decimal(feed.latestRoundData()[1]).scaleb(-8)


def move_market(m: Market, seconds: int, day: str | None = None, *, stale_b: bool = False) -> None:
    """The clock `seconds` on, every feed to `day`'s close (or its own price, fresh) and every pool to it; router
    B's feeds too unless `stale_b`; then the TWAP window fills."""
    chain.mine(timestamp=chain.blocks.head.timestamp + seconds)
    panel = load_panel() if day else None
    uni, usdc = m.local.uniswap, m.tokens["USDC"]
    for symbol, feed in m.local.feeds.items():
        price = panel.price(day, PANEL_SYMBOL[symbol]) if panel and symbol in PANEL_SYMBOL else feed_price(feed)
        price = price.quantize(Decimal("1e-8"))
        set_feed_price(feed, price, m.deployer)
        if not stale_b:
            set_feed_price(m.feeds_b[symbol], price, m.deployer)
        if symbol != "USDC":
            arbitrage_pool(uni, m.local.pools[symbol], m.tokens[symbol], usdc, price, m.deployer, uni.weth)
    chain.mine(timestamp=chain.blocks.head.timestamp + TWAP_WINDOW + 100)
    if day:
        m.day = day


def reader(m: Market, i: int) -> Keeper:
    """A keeper that only reads (the test's own view of vault `i`, at the fleet's band)."""
    return Keeper(
        m.vaults[i].rebalancer.address,
        m.deployer,
        adapter=m.adapter.address,
        quoter=m.local.uniswap.quoter_v2.address,
        config=CONFIG,
    )


def inside(m: Market, i: int) -> bool:
    """Every weight of vault `i`, valued at the oracle's prices now, within the band of its target."""
    snap = reader(m, i).read_snapshot()
    if snap.wait_reason():
        return False
    return drift_bps(weights_of(snap.holdings, snap.prices, snap.decimals), snap.targets) <= BAND_BPS


def trades_on_chain(m: Market, i: int, from_block: int = 0) -> list:
    return list(m.vaults[i].rebalancer.TradeExecuted.range(from_block, chain.blocks.head.number + 1))


def has_work(m: Market, i: int, since: int) -> bool:
    """Vault `i` is outside its bands, or the running fleet already traded it since block `since` (it acts on the
    blocks the market's move mines, so a vault may be back inside before the test looks). Read in that order, so a
    trade landing between the two reads is still seen."""
    return not inside(m, i) or bool(trades_on_chain(m, i, since))


@dataclass
class Fleet:
    redis: RedisServer
    store: FleetStore
    client: Proc
    workers: list[Proc]
    env: dict
    logs: Path

    def events(self, proc: Proc, kind: str | None = None) -> list[dict]:
        found = []
        for line in proc.text().splitlines():
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:  # a line being written
                    continue
                if kind is None or event.get("event") == kind:
                    found.append(event)
        return found


@pytest.fixture(scope="module")
def fleet(market, tmp_path_factory) -> Fleet:
    """redis-server on a free port, silverback's client and two worker processes; every one stopped by PID."""
    logs = tmp_path_factory.mktemp("fleet")
    server = RedisServer(logs / "redis").start()
    queue = f"fleet-test-{server.port}"
    env = silverback_env(
        server.url,
        queue,
        {
            "APE_FOUNDRY_HOST": networks.provider.uri,
            "FLEET_FACTORY": market.factory.address,
            "FLEET_START_BLOCK": str(market.start_block),
            "FLEET_KEEPERS": ",".join(f"TEST::{2 + i}" for i in range(VAULTS)),
            "FLEET_ADAPTER": market.adapter.address,
            "FLEET_QUOTER": market.local.uniswap.quoter_v2.address,
            "FLEET_MIN_TRADE_USD": "10",
            "FLEET_BAND_BPS": str(BAND_BPS),
            "FLEET_LEASE_SECONDS": str(LEASE_SECONDS),
            "FLEET_RECEIPT_TIMEOUT": "8",
            "FLEET_QUEUED_SECONDS": "20",
        },
        bot_name=queue,
    )
    procs: list[Proc] = []
    try:
        workers = [spawn(f"worker{i}", worker_args(NETWORK), env, ROOT, logs / f"worker{i}.log") for i in range(2)]
        procs += workers
        client = spawn("client", client_args(NETWORK), env, ROOT, logs / "client.log")
        procs.append(client)
        store = FleetStore(redis.Redis.from_url(server.url), queue)
        # the client is up once it dispatched a block and a worker read the registry
        up = wait_for(lambda: len(store.vaults()) == VAULTS, timeout=120, interval=1.0, tick=chain.mine)
        assert up, "\n".join(p.text()[-2000:] for p in procs)
        yield Fleet(server, store, client, workers, env, logs)
    finally:
        for proc in procs:
            proc.stop(grace=8)
        server.stop()
        shutil.rmtree(ROOT / ".silverback-sessions" / queue, ignore_errors=True)


def tick() -> None:
    """A block 30 s on: pair cool-downs (300 s) pass in ten blocks."""
    chain.mine(timestamp=chain.blocks.head.timestamp + 30)


def settle(m: Market, fleet: Fleet, vaults: list[int], timeout: float = 150) -> bool:
    """Mines a block a second (`tick`) until every vault in `vaults` is inside its bands."""

    return wait_for(lambda: all(inside(m, i) for i in vaults), timeout=timeout, interval=1.0, tick=tick)


def explain(m: Market, fleet: Fleet) -> str:
    """Each vault's last recorded round and whether it is inside its bands now (for a failure's message)."""
    lines = []
    for i, c in enumerate(m.vaults):
        s = fleet.store.status(c.vault.address)
        keep = ("block", "status", "reason", "decision", "outside", "worker", "error")
        lines.append(f"{i} inside={inside(m, i)} " + json.dumps({k: s.get(k) for k in keep}))
    return "\n".join(lines)


def test_fleet__two_workers_six_vaults_prices_moved__every_vault_inside_its_band_each_trade_once(market, fleet):
    m = market
    before = chain.blocks.head.number
    move_market(m, 86_400, "2022-12-17")
    assert all(has_work(m, i, before) for i in range(VAULTS))

    assert settle(m, fleet, list(range(VAULTS))), explain(m, fleet)

    sent = [e for w in fleet.workers for e in fleet.events(w, "sent") if e.get("what") == "trade"]
    mined = {i: trades_on_chain(m, i, before) for i in range(VAULTS)}
    assert all(mined[i] for i in range(VAULTS))  # every vault traded
    hashes = [e["tx"] for e in sent]
    assert len(hashes) == len(set(hashes)) == sum(len(t) for t in mined.values())  # each trade sent once
    on_chain = {t.transaction_hash for ts in mined.values() for t in ts}
    assert {h.lower() for h in hashes} == {str(h).lower() for h in on_chain}
    workers_used = {e["worker"] for e in sent}
    assert len(workers_used) == 2, workers_used  # both workers traded
    for c in m.vaults:
        status = fleet.store.status(c.vault.address)
        assert int(status["rounds"]) >= 1 and status["status"] in ("idle", "traded"), status
    print(f"\n{len(hashes)} trades over {VAULTS} vaults by {len(workers_used)} workers")


def test_fleet__one_oracle_stale__its_vault_waits_and_says_why_the_others_trade(market, fleet, run_script):
    m = market
    before = chain.blocks.head.number
    move_market(m, 2 * 86_400, "2022-12-31", stale_b=True)  # router B's feeds are now two days old
    others, stale = list(range(VAULTS - 1)), m.vaults[-1].vault.address
    assert any(has_work(m, i, before) for i in others)

    assert settle(m, fleet, others), explain(m, fleet)

    recorded = wait_for(lambda: int(fleet.store.status(stale).get("block") or 0) > before, timeout=30, tick=tick)
    status = fleet.store.status(stale)
    assert recorded and status["status"] == "waiting" and "stale" in status["reason"], status
    assert trades_on_chain(m, VAULTS - 1, before) == []
    out = run_script("fleet", "status", env=fleet.env).stdout
    (row,) = [line for line in out.splitlines() if line.startswith("FLT5 ")]
    assert "waiting" in row and "FLT5: waits now: unusable prices" in out and "stale" in out, out
    for i in others:
        assert f"{m.vaults[i].vault.symbol()} " in out
    print("\n" + out)


def test_fleet__broker_restarted__work_resumes(market, fleet):
    m = market
    port = fleet.redis.port
    fleet.redis.stop()
    wait_for(lambda: False, timeout=5, interval=1.0, tick=tick)  # blocks come while Redis is down
    fleet.redis.start(port=port)  # a new, empty Redis: queues, leases and the registry's cursor are gone
    before = chain.blocks.head.number
    move_market(m, 86_400)  # a new day, fresh feeds for both routers: the sixth vault may trade again
    for i, c in enumerate(m.vaults):
        c.rebalancer.set_target_weights(nudged(i, i), sender=m.deployer)

    assert settle(m, fleet, list(range(VAULTS))), explain(m, fleet)

    assert fleet.client.alive() and all(w.alive() for w in fleet.workers)
    assert len(fleet.store.vaults()) == VAULTS  # the registry read again from the start block

    def recorded() -> bool:  # every vault's round since the restart, recorded in the new Redis
        return all(int(fleet.store.status(c.vault.address).get("block") or 0) > before for c in m.vaults)

    assert wait_for(recorded, timeout=30, tick=tick), explain(m, fleet)
    assert all(trades_on_chain(m, i, before) for i in range(VAULTS))


def rpc(method: str, *params):
    return networks.provider.web3.provider.make_request(method, list(params))


def test_fleet__worker_killed_between_send_and_receipt__its_vault_finishes_on_the_other_no_duplicate(market, fleet):
    m, w3 = market, networks.provider.web3
    move_market(m, 86_400)  # a new day: the Rebalancer's per-period caps start again
    before = chain.blocks.head.number
    gas_limit = chain.blocks.head.gas_limit
    seen: set[str] = set()
    victim, sent = None, None
    rpc("evm_setAutomine", False)  # from here a transaction waits for the test to mine it
    try:
        for i, c in enumerate(m.vaults):
            data = c.rebalancer.set_target_weights.encode_input(nudged(i, i + 2))
            w3.eth.send_transaction({"from": m.deployer.address, "to": c.rebalancer.address, "data": data})
        deadline = time.monotonic() + 90
        while victim is None and time.monotonic() < deadline:
            for worker in fleet.workers:
                for event in fleet.events(worker, "sent"):
                    if event["what"] == "trade" and event["tx"] not in seen:
                        seen.add(event["tx"])
                        if w3.eth.get_transaction(event["tx"])["blockNumber"] is None:
                            victim, sent = worker, event
            if victim is None:
                tick()  # mines what is in flight: starts, refreshes, trades seen too late
                time.sleep(0.3)
        assert victim is not None, "no trade was sent"
        victim.kill()  # between send and receipt: the trade is in flight, nobody waits for it
        rpc("evm_setBlockGasLimit", hex(30_000))  # blocks with no room for it: it stays in flight
        assert w3.eth.get_transaction(sent["tx"])["blockNumber"] is None
        (survivor,) = [w for w in fleet.workers if w is not victim]

        def found() -> bool:
            waits = [e for e in fleet.events(survivor, "wait") if e["vault"] == sent["vault"] and e["ts"] > sent["ts"]]
            return any("in flight" in e["reason"] for e in waits)

        assert wait_for(found, timeout=60, interval=0.5, tick=tick), survivor.text()[-3000:]
        assert w3.eth.get_transaction(sent["tx"])["blockNumber"] is None  # it waited; it sent nothing meanwhile
    finally:
        rpc("evm_setBlockGasLimit", hex(gas_limit))
        rpc("evm_setAutomine", True)
        chain.mine()
    assert w3.eth.get_transaction_receipt(sent["tx"])["status"] == 1

    assert settle(m, fleet, list(range(VAULTS))), survivor.text()[-3000:]

    i = next(i for i, c in enumerate(m.vaults) if c.vault.symbol() == sent["vault"])
    mine = trades_on_chain(m, i, before)
    later = [e for e in fleet.events(survivor, "sent") if e["vault"] == sent["vault"] and e["ts"] > sent["ts"]]
    assert all(e["nonce"] > sent["nonce"] for e in later)
    for trades in (trades_on_chain(m, j, before) for j in range(VAULTS)):  # no trade repeated from a stale plan
        keys = [(t.sell, t.buy, t.amount_in) for t in trades]
        assert len(keys) == len(set(keys)), keys
    hashes = [e["tx"] for w in fleet.workers for e in fleet.events(w, "sent") if e["what"] == "trade"]
    assert len(hashes) == len(set(hashes))
    assert sent["tx"].lower() in {str(t.transaction_hash).lower() for t in mine}
    print(f"\nkilled {victim.name} with {sent['vault']}'s trade {sent['tx'][:12]} in flight; {survivor.name} waited")
