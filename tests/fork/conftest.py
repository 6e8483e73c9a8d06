"""Fork tests: the vault on a fork of the market chain (or of mainnet), forked the way a user forks mainnet.

`ape test tests/fork --network ethereum:market-fork:foundry` is all it takes. Ape connects to the network
before any fixture runs (at the end of collection), so the upstream cannot come from a fixture: the
`pytest_configure` hook below builds the market once (cached under `.cache/market/`), serves it with
`anvil --load-state STATE --port 0`, and exports its URL as `INDEX_VAULT_MARKET_RPC`, which `ape-config.yaml`
gives the `market` network's node provider; `pytest_unconfigure` stops that anvil. If
`INDEX_VAULT_MARKET_RPC` is already set (an upstream of your own), it is used as is, with the address book at
`INDEX_VAULT_MARKET_BOOK`.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from index_vault.common.anvil import stop_anvil
from tests.fork.upstream import BOOK, STATE, built_market, start_upstream

MARKET_DAY = "2022-06-01"
MARKET_ASSETS = ["ETH", "BTC", "LINK"]
RPC_ENV, BOOK_ENV = "INDEX_VAULT_MARKET_RPC", "INDEX_VAULT_MARKET_BOOK"
MAINNET_CONFIG = Path(__file__).with_name("mainnet.json")
MARKET_NETWORK, MAINNET_NETWORK = "market-fork", "mainnet-fork"
# The pool each asset's TWAP reads in the market chain (USDC's: the WETH/USDC pool).
MARKET_POOLS = {"ETH": "ETH/USDC", "BTC": "BTC/USDC", "LINK": "LINK/USDC", "USDC": "ETH/USDC"}

_upstream: dict[str, object] = {}


def _network_choice(config: pytest.Config) -> str:
    try:
        return config.getoption("--network") or ""
    except ValueError:  # run without Ape's plugin (`pytest -p no:ape_test`)
        return ""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """On `--network ethereum:market-fork:...`, starts the upstream market chain before Ape reads its config."""
    if f":{MARKET_NETWORK}" not in _network_choice(config) or os.environ.get(RPC_ENV):
        return
    folder = built_market(MARKET_DAY, MARKET_ASSETS)
    tmp = tempfile.TemporaryDirectory(prefix="market-upstream-")
    proc, url = start_upstream(folder / STATE, Path(tmp.name) / "anvil.log")
    _upstream.update(proc=proc, tmp=tmp)
    os.environ[RPC_ENV], os.environ[BOOK_ENV] = url, str(folder / BOOK)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stops the upstream anvil this session started (by its process), and forgets its URL."""
    if (proc := _upstream.pop("proc", None)) is not None:
        stop_anvil(proc)  # type: ignore[arg-type]
        os.environ.pop(RPC_ENV, None)
        os.environ.pop(BOOK_ENV, None)
    if (tmp := _upstream.pop("tmp", None)) is not None:
        tmp.cleanup()  # type: ignore[attr-defined]


@dataclass
class ForkMarket:
    """What the tests need of the chain under the fork, by index symbol (ETH, BTC, LINK, USDC)."""

    name: str
    upstream: str  # the upstream RPC URL
    tokens: dict[str, str]
    feeds: dict[str, str]
    pools: dict[str, str]  # the pool each asset's TWAP reads
    prices: dict[str, Decimal] = field(default_factory=dict)  # reference USD prices
    whales: dict[str, str] = field(default_factory=dict)  # market chain: who holds each token
    swap_router: str = ""  # Uniswap V3 SwapRouter (mainnet: tokens are bought with WETH here)
    swap_fees: dict[str, int] = field(default_factory=dict)
    v2_router: str = ""  # Uniswap V2 Router02


def _market_chain() -> ForkMarket:
    from index_vault.market.model import plan_market, read_address_book

    book = read_address_book(os.environ[BOOK_ENV])
    plan = plan_market(book.date, book.assets)
    return ForkMarket(
        name="market",
        upstream=os.environ[RPC_ENV],
        tokens={asset: t["address"] for asset, t in book.tokens.items()},
        feeds=dict(book.feeds),
        pools={asset: book.pools[key] for asset, key in MARKET_POOLS.items()},
        prices=dict(plan.prices),
        whales=dict(book.whales),
        swap_router=book.uniswap["swap_router"],
        v2_router=book.uniswap_v2.get("router", ""),
    )


def _mainnet() -> ForkMarket:
    from index_vault.chain.contracts import npm_container
    from index_vault.oracle.chain.feeds import answer_to_price

    data = json.loads(MAINNET_CONFIG.read_text())
    prices = {}
    for asset, feed in data["feeds"].items():
        proxy = npm_container("EACAggregatorProxy").at(feed)
        prices[asset] = answer_to_price(proxy.latestRoundData().answer, proxy.decimals())
    return ForkMarket(
        name="mainnet",
        upstream=os.environ["ETH_RPC_URL"],
        tokens=data["tokens"],
        feeds=data["feeds"],
        pools=data["pools"],
        prices=prices,
        swap_router=data["swap_router"],
        swap_fees=data["swap_fees"],
        v2_router=data["v2_router"],
    )


@pytest.fixture(scope="session")
def market_chain() -> ForkMarket:
    """The local market chain under the fork (skips unless the session runs on `ethereum:market-fork`)."""
    from ape import networks

    if (network := networks.network.name) != MARKET_NETWORK or not os.environ.get(BOOK_ENV):
        pytest.skip(f"market chain: run with --network ethereum:{MARKET_NETWORK}:foundry (connected to {network})")
    return _market_chain()


@pytest.fixture(scope="session")
def mainnet_chain() -> ForkMarket:
    """Mainnet under the fork (skips unless ETH_RPC_URL is set and the session runs on `ethereum:mainnet-fork`)."""
    from ape import networks

    if not os.environ.get("ETH_RPC_URL"):
        pytest.skip("ETH_RPC_URL is not set: no mainnet fork")
    if (network := networks.network.name) != MAINNET_NETWORK:
        pytest.skip(f"mainnet: run with --network ethereum:{MAINNET_NETWORK}:foundry (connected to {network})")
    return _mainnet()
