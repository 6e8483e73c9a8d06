"""The dashboard's benchmark and screenshot on a local chain (`ape run dashboard bench | screenshot`).

`build_history` gives a deployed vault `days` of history as a chain would: every day one block, a day after
the last, in which every feed posts a new answer (a deterministic wave of at most 0.4% around its start price:
the pools do not move, USDC's TWAP is read through another asset's pool, and the oracle disputes a 2% gap) and
a holder mints one share in kind. The benchmark then
serves the page in this process and times it in headless Chromium: from the request to the page's `drawn`
mark (every section drawn from the server's answers), the median of a few views after a first one (which also
learns the tokens' symbols), and counts the JSON-RPC calls and HTTP round trips to the node of one page view.
"""

import math
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from ape import accounts, project
from eth_utils import to_checksum_address

from index_vault.arbitrage.chain.pools import seed_index_pool
from index_vault.chain.contracts import ERC20_ABI, abi_of
from index_vault.common.artifacts import project_root
from index_vault.common.units import WAD
from index_vault.dashboard.browser import InjectedWallet, drawn_ms, open_page
from index_vault.dashboard.chain.backend import ChainBackend, error_words
from index_vault.dashboard.chain.history import FEED_ABI
from index_vault.dashboard.chain.reads import Sources
from index_vault.dashboard.chain.rpc import Abi, Rpc
from index_vault.dashboard.server import Dashboard
from index_vault.oracle.chain.feeds import price_to_answer
from index_vault.vault.chain.deploy import Deployed, deploy_vault
from index_vault.vault.chain.governance import deploy_governor
from index_vault.vault.fees import rate_from_annual_bps
from index_vault.vault.spec import BasketSpec, load_spec, parse_spec

DAY = 86_400
MAX_UINT = 2**256 - 1
WAVE = Decimal("0.004")  # the feeds' daily answers move at most this far from the start price
GAS_FEED, GAS_MINT = hex(200_000), hex(3_000_000)  # gas limits: a feed update, a mint of up to 50 constituents
AGGREGATOR_ABI = [
    {
        "type": "function",
        "name": "updateAnswer",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "_answer", "type": "int256"}],
        "outputs": [],
    },
    {
        "type": "function",
        "name": "decimals",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
]
# The test tokens' ERC-20 surface and their open `mint`.
TOKEN_ABI = [
    *ERC20_ABI,
    {
        "type": "function",
        "name": "mint",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
    },
]


def bench_spec(n: int) -> BasketSpec:
    """N test assets at $1..$1,000, $10 of each per share, equal weights; USDC (the pools' quote) among them."""
    usdc = min(8, n - 1)
    prices = [Decimal(1) if i == usdc else Decimal(10) ** (i % 4) for i in range(n)]
    weights = [WAD // n + (WAD % n if i == 0 else 0) for i in range(n)]
    constituents = [
        {
            "symbol": "USDC" if i == usdc else f"T{i}",
            "decimals": (18, 8, 6)[i % 3] if i != usdc else 6,
            "units": str(Decimal(10) / p),
            "price_usd": str(p),
            "weight": str(Decimal(w) / WAD),
        }
        for i, (p, w) in enumerate(zip(prices, weights, strict=True))
    ]
    return parse_spec({"name": f"Dashboard Bench {n}", "symbol": f"DB{n}", "constituents": constituents})


def _send(rpc: Rpc, txs: list[dict], timestamp: int) -> None:
    """Mines `txs` (sent from unlocked accounts) in one block stamped `timestamp`; raises if one reverted."""
    rpc.request("evm_setAutomine", [False])
    try:
        hashes = [rpc.request("eth_sendTransaction", [{"gas": GAS_MINT, **tx}]) for tx in txs]
        rpc.request("evm_mine", [timestamp])
    finally:
        rpc.request("evm_setAutomine", [True])
    for tx, receipt in zip(txs, rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]), strict=True):
        if not isinstance(receipt, dict) or int(receipt["status"], 16) != 1:
            raise RuntimeError(f"a history transaction to {tx['to']} did not land: {receipt}")


def build_history(rpc: Rpc, spec: BasketSpec, vault: str, holder: str, days: int, echo=print) -> None:
    """`days` days of feed answers and daily mints on the vault at `vault` (see the module doc); its feeds must
    be test feeds (MockV3Aggregator behind a proxy) and `spec` its basket, for the start prices."""
    token_abi, vault_abi, agg = Abi(TOKEN_ABI), Abi(abi_of(project.IndexVault.contract_type)), Abi(AGGREGATOR_ABI)
    router, feed = Abi(abi_of(project.OracleRouter.contract_type)), Abi(FEED_ABI)
    tokens, oracle = rpc.calls_at([vault_abi.call(vault, "assets"), vault_abi.call(vault, "oracle")])
    configs = rpc.calls_at([router.call(oracle, "feed_config", t) for t in tokens])
    aggregators = [to_checksum_address(a) for a in rpc.calls_at([feed.call(c[0][0], "aggregator") for c in configs])]
    decimals = [c[1] for c in configs]
    deployer = str(accounts.test_accounts[0].address)
    setup = [{"from": deployer, "to": t, "data": token_abi.encode("mint", holder, 10**40)} for t in tokens]
    setup += [{"from": holder, "to": t, "data": token_abi.encode("approve", vault, MAX_UINT)} for t in tokens]
    now = int(rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    _send(rpc, setup, now + 12)
    mint = {
        "from": holder,
        "to": vault,
        "data": vault_abi.encode("mint_in_kind", WAD, holder, [MAX_UINT] * len(tokens)),
    }
    for day in range(1, days + 1):
        txs = []
        for i, c in enumerate(spec.constituents):
            wave = Decimal(math.sin(2 * math.pi * day / 30 + i)).quantize(Decimal("0.0001"))
            price = (c.price_usd * (1 + WAVE * wave)).quantize(Decimal(1).scaleb(-6))
            answer = price_to_answer(price, decimals[i])
            data = agg.encode("updateAnswer", answer)
            txs.append({"from": deployer, "to": aggregators[i], "data": data, "gas": GAS_FEED})
        _send(rpc, [*txs, mint], now + 12 + day * DAY)
        if day % 30 == 0:
            echo(f"  {spec.symbol}: {day} days of history")


def deploy_with_history(rpc: Rpc, spec: BasketSpec, days: int, echo=print) -> Deployed:
    deployer, holder = accounts.test_accounts[0], accounts.test_accounts[1]
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    build_history(rpc, spec, deployed.vault.address, str(holder.address), days, echo=echo)
    return deployed


@contextmanager
def serving(
    rpc: Rpc, deployed: Deployed, governor: str | None = None, market: dict | None = None
) -> Iterator[tuple[Dashboard, ChainBackend]]:
    """The dashboard of `deployed` served from this process on a free port (with `market`, the index pool's
    and zap's `Sources` fields); stopped on exit."""
    vault = deployed.vault.address
    backend = ChainBackend(rpc, {deployed.vault.symbol(): vault}, Sources(governor=governor, **(market or {})), None)
    dashboard = Dashboard(backend, errors=error_words).start()
    try:
        yield dashboard, backend
    finally:
        dashboard.stop()


def run_bench(sizes: list[int], days: int, views: int, uri: str, echo: Callable[[str], None] = print) -> list[str]:
    """Builds a vault per size, times its page and counts its RPC calls; returns the report's lines."""
    rpc = Rpc(uri)
    results = []
    for n in sizes:
        echo(f"building a vault of {n} constituents with {days} days of history...")
        deployed = deploy_with_history(rpc, bench_spec(n), days, echo=echo)
        page_rpc = Rpc(uri)
        with serving(page_rpc, deployed) as (dashboard, _), open_page() as (page, log):
            url = f"{dashboard.url}?vault={deployed.vault.address}&days={days}"
            first = drawn_ms(page, url)
            cold = (page_rpc.calls, page_rpc.round_trips)
            times, calls, trips = [], [], []
            for _ in range(views):
                before = (page_rpc.calls, page_rpc.round_trips)
                times.append(drawn_ms(page, url))
                calls.append(page_rpc.calls - before[0])
                trips.append(page_rpc.round_trips - before[1])
            points = page.get_attribute("#chart", "data-points")
            if log.problems():
                raise RuntimeError(f"the page had problems: {log.problems()}")
        results.append((n, first, *cold, statistics.median(times), max(calls), max(trips), points))
    lines = [
        f"dashboard page, {days} days of history, headless Chromium; first view (cold server), then the median of "
        f"{views} views",
        "constituents  first: ms  RPC calls  round trips    then: ms  RPC calls  round trips  chart points",
    ]
    lines += [
        f"{n:>12}  {f:>9.0f}  {fc:>9}  {fr:>11}  {t:>10.0f}  {c:>9}  {r:>11}  {p:>12}"
        for n, f, fc, fr, t, c, r, p in results
    ]
    return lines


def take_screenshot(out: Path, days: int, uri: str, echo: Callable[[str], None] = print) -> None:
    """The demo basket with `days` of history, its index token on a V3 pool against USDC from half-way (the
    pool left alone: its price follows the quote's feed, NAV the basket's), a zap, a management fee and a
    pending governance action, seen by a holder's wallet: a picture of the whole page at `out`."""
    rpc = Rpc(uri)
    deployer, holder = accounts.test_accounts[0], accounts.test_accounts[1]
    spec = load_spec(project_root() / "specs" / "demo-top5.yaml")
    echo("building the demo basket with its history and its index pool...")
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault = deployed.vault
    build_history(rpc, spec, vault.address, str(holder.address), days // 2, echo=echo)
    usdc = deployed.tokens[[c.symbol for c in spec.constituents].index("USDC")]
    pool = seed_index_pool(
        deployed.market.uniswap, vault, deployed.oracle, usdc.address, vault.balanceOf(holder) // 2, holder
    )
    build_history(rpc, spec, vault.address, str(holder.address), days - days // 2, echo=echo)
    zap = project.Zap.deploy(100, 100, 3_600, sender=deployer)
    market = {
        "index_pools": {vault.address: pool.address},
        "zaps": {vault.address: zap.address},
        "adapter": deployed.adapters["uniswap-v3"].address,
        "quoter": deployed.market.uniswap.quoter_v2.address,
    }
    governor = deploy_governor(deployer, [deployer.address], [deployer.address])
    vault.grantRole(b"\x00" * 32, governor, sender=deployer)
    data = vault.set_fees.encode_input(rate_from_annual_bps(50), 10, 10, 20, 20)
    governor.propose(vault, data, "fees: management 0.5% a year", sender=deployer)
    vault.set_fees(rate_from_annual_bps(25), 5, 5, 10, 10, sender=deployer)
    wallet = InjectedWallet(uri, str(holder.address))
    with serving(rpc, deployed, governor.address, market) as (dashboard, _), open_page(wallet) as (page, log):
        drawn_ms(page, f"{dashboard.url}?vault={vault.address}&days={days}")
        page.click("#connect")
        page.wait_for_selector("#account-shares[data-raw]")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        if log.problems():
            raise RuntimeError(f"the page had problems: {log.problems()}")
