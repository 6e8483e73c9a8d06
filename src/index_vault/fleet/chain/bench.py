"""The fleet's benchmark (`ape run fleet bench`): vault rounds per worker per minute and RPC calls per round.

On a local chain: one market of `assets` constituents (test tokens, Chainlink feeds, Uniswap V3 pools), a factory
and `vaults` vaults created through it over those tokens, each with $10,000 minted and keeper accounts shared
round-robin (the account lease serialises the rounds of vaults sharing one). A real redis-server and one
`silverback worker fleet -w 1` process run the rounds; the benchmark itself plays the client, queueing every
vault's round and waiting for the results: first `passes` passes with nothing to trade, then one pass after the
prices moved (every vault starts a rebalance and trades). A round's RPC calls are counted by the worker (every
JSON-RPC request its thread made); with one round per vault per block they are the RPC calls per vault per block.
"""

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import redis
from ape import accounts, chain, networks
from taskiq.kicker import AsyncKicker

from index_vault.fleet.broker import FleetBroker, FleetResultBackend
from index_vault.fleet.chain.registry import sync
from index_vault.fleet.processes import silverback_env, spawn, worker_args
from index_vault.fleet.redis_server import RedisServer
from index_vault.fleet.settings import FleetSettings
from index_vault.fleet.store import FleetStore
from index_vault.market.chain.build import arbitrage_pool
from index_vault.oracle.chain.feeds import set_feed_price
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters
from index_vault.vault.chain.deploy import fund_test_accounts
from index_vault.vault.chain.factory import Roles, create_from_spec, deploy_factory
from index_vault.vault.spec import parse_spec

SHARES = 100 * 10**18
TWAP_WINDOW = 1_800


@dataclass
class Phase:
    """One timed batch of rounds on the worker."""

    name: str
    rounds: int
    seconds: float
    rpc_calls: list[int]
    trades: int

    @property
    def per_minute(self) -> float:
        return self.rounds * 60.0 / self.seconds

    @property
    def rpc_per_round(self) -> float:
        return sum(self.rpc_calls) / max(len(self.rpc_calls), 1)


def bench_spec(assets: int) -> dict:
    """An equal-weight basket of `assets` constituents, USDC among them, $10 of each a share."""
    rows = [{"symbol": "USDC", "decimals": 6, "units": "10", "price_usd": "1"}]
    for i in range(assets - 1):
        price = Decimal(2 + 3 * i)
        units = (Decimal(10) / price).quantize(Decimal("1e-6"))
        rows.append({"symbol": f"TK{i}", "decimals": 18, "units": str(units), "price_usd": str(price)})
    weight = str(Decimal(1) / assets)
    for row in rows:
        row["weight"] = weight
    rows[-1]["weight"] = str(Decimal(1) - Decimal(weight) * (assets - 1))
    return {"name": f"Bench {assets}", "symbol": "BNCH", "base_asset": "USDC", "constituents": rows}


def build(assets: int, vaults: int, keepers: int, echo: Callable[[str], None]) -> dict:
    """The market, the factory and the vaults (see the module doc); returns what the fleet's settings need."""
    deployer, holder = accounts.test_accounts[0], accounts.test_accounts[1]
    keeper_accounts = [accounts.test_accounts[2 + i] for i in range(keepers)]
    start = chain.blocks.head.number
    factory = deploy_factory(deployer, echo=lambda _: None).factory
    spec = parse_spec(bench_spec(assets))
    quiet = lambda _: None  # noqa: E731
    roles = Roles(deployer.address, keeper=keeper_accounts[0].address)
    first = create_from_spec(spec, factory, deployer, local=True, roles=roles, echo=quiet)
    tokens = first.tokens
    created = [first]
    pairs = zip(spec.constituents, tokens, strict=True)
    with_addresses = replace(spec, constituents=tuple(replace(c, address=t.address) for c, t in pairs))
    for i in range(1, vaults):
        roles = Roles(deployer.address, keeper=keeper_accounts[i % keepers].address)
        spec_i = replace(with_addresses, symbol=f"B{i}", name=f"Bench {i}")
        oracle = first.oracle.address
        created.append(create_from_spec(spec_i, factory, deployer, local=True, oracle=oracle, roles=roles, echo=quiet))
    adapters = deploy_adapters(deployer, v3_swap_router=first.market.uniswap.swap_router.address)
    fund_test_accounts(spec, tokens, [holder], SHARES * vaults, sender=deployer)
    for token in tokens:
        for c in created:
            token.approve(c.vault, 2**256 - 1, sender=holder)
    for c in created:
        allow_adapters(c.rebalancer, adapters, deployer)
        c.vault.mint_in_kind(SHARES, holder, [2**256 - 1] * len(tokens), sender=holder)
    return {
        "factory": factory.address,
        "start": start,
        "adapter": adapters["uniswap-v3"].address,
        "quoter": first.market.uniswap.quoter_v2.address,
        "market": first.market,
        "tokens": {c.symbol: t for c, t in zip(spec.constituents, tokens, strict=True)},
        "keepers": [f"TEST::{2 + i}" for i in range(keepers)],
        "deployer": deployer,
    }


def move_prices(built: dict, factor: Callable[[int], Decimal]) -> None:
    """Every feed and pool to its price times `factor(i)` (asset i), then the TWAP window fills."""
    market, deployer = built["market"], built["deployer"]
    uni, usdc = market.uniswap, built["tokens"]["USDC"]
    chain.mine(timestamp=chain.blocks.head.timestamp + 86_400)
    for i, (symbol, feed) in enumerate(market.feeds.items()):
        price = (Decimal(feed.latestRoundData()[1]).scaleb(-8) * (1 if symbol == "USDC" else factor(i))).quantize(
            Decimal("1e-8")
        )
        set_feed_price(feed, price, deployer)
        if symbol != "USDC":
            arbitrage_pool(uni, market.pools[symbol], built["tokens"][symbol], usdc, price, deployer, uni.weth)
    chain.mine(timestamp=chain.blocks.head.timestamp + TWAP_WINDOW + 100)


async def _rounds(broker: FleetBroker, vaults: list[str], block: int) -> list[dict]:
    kicker = AsyncKicker("fleet_vault_round", broker, {})
    tasks = [await kicker.kiq(v, block) for v in vaults]
    results = []
    for task in tasks:
        result = await task.wait_result(check_interval=0.05, timeout=600)
        if result.is_err:
            raise RuntimeError(f"a round failed: {result.error}")
        results.append(result.return_value)
    return results


async def timed(broker: FleetBroker, name: str, vaults: list[str], passes: int) -> Phase:
    """`passes` rounds of every vault, queued at once, timed from the first queued to the last result."""
    calls, trades, rounds = [], 0, 0
    started = time.monotonic()
    for _ in range(passes):
        for result in await _rounds(broker, vaults, chain.blocks.head.number):
            if "rpc_calls" in result:
                calls.append(result["rpc_calls"])
                trades += result["trades"]
                rounds += 1
    return Phase(name, rounds, time.monotonic() - started, calls, trades)


def run_bench(
    *, assets: int, vaults: int, keepers: int, passes: int, workdir: Path, echo: Callable[[str], None]
) -> list[Phase]:
    """Builds the fleet's chain, starts Redis and one worker, and times the rounds (see the module doc)."""
    echo(f"building a market of {assets} assets and {vaults} vaults through the factory...")
    built = build(assets, vaults, keepers, echo)
    with RedisServer(workdir / "redis") as server:
        queue = f"fleet-bench-{server.port}"
        fleet = {
            "APE_FOUNDRY_HOST": networks.provider.uri,
            "FLEET_FACTORY": built["factory"],
            "FLEET_START_BLOCK": str(built["start"]),
            "FLEET_KEEPERS": ",".join(built["keepers"]),
            "FLEET_ADAPTER": built["adapter"],
            "FLEET_QUOTER": built["quoter"],
            "FLEET_MIN_TRADE_USD": "10",
        }
        env = silverback_env(server.url, queue, fleet, bot_name=queue)
        settings = FleetSettings.from_env(env)
        store = FleetStore(redis.Redis.from_url(server.url), queue)
        sync(store, networks.provider.web3, settings, chain.blocks.head.number, "bench")
        addresses = list(store.vaults())
        network = networks.provider.network.choice
        worker = spawn("worker", worker_args(network, threads=1), env, Path.cwd(), workdir / "worker.log")
        try:
            return asyncio.run(_measure(server.url, queue, built, addresses, passes, echo))
        finally:
            worker.stop(grace=10)
            shutil.rmtree(Path.cwd() / ".silverback-sessions" / queue, ignore_errors=True)


async def _measure(url: str, queue: str, built: dict, vaults: list[str], passes: int, echo) -> list[Phase]:
    broker = FleetBroker(url, queue_name=queue).with_result_backend(FleetResultBackend(url))
    await broker.startup()
    try:
        echo("warming the worker up (its first rounds build each vault's keeper)...")
        await timed(broker, "warm-up", vaults, 1)
        idle = await timed(broker, "nothing to trade", vaults, passes)
        echo("moving the prices: every vault trades...")
        move_prices(built, lambda i: Decimal(1) + Decimal((-1) ** i) * Decimal("0.2"))
        trading = await timed(broker, "with trades", vaults, 1)
    finally:
        await broker.shutdown()
    return [idle, trading]
