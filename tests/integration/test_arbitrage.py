"""The arbitrageur on real pools: the demo basket's vault, its index token on a Uniswap V2 pair and a V3 pool (0.05%)
against USDC, each seeded at NAV, the zap over the constituents' V3 pools and `IndexArbitrage`'s flash cycles. A
trader pushes a pool's price off NAV either way; one round brings it back inside the band, atomically, leaving
nothing in the contracts."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ape
import pytest
from ape import accounts, chain, networks, project
from ape.contracts import ContractInstance

from index_vault.arbitrage.chain.arbitrageur import Arbitrageur, ArbitrageVenue, venue_legs
from index_vault.arbitrage.chain.pools import INDEX_POOL_FEE, nav_in_quote, seed_index_pair, seed_index_pool
from index_vault.arbitrage.planner import BUY_AND_REDEEM, MINT_AND_SELL, ArbitrageSettings, plan_cycle
from index_vault.chain.contracts import erc20_at, npm_container, vault_at
from index_vault.keeper.routes import v3_route
from index_vault.market.chain.uniswap_v2 import UniswapV2, deploy_uniswap_v2, swap_exact_input_v2
from index_vault.market.chain.uniswap_v3 import UniswapV3, price_from_sqrt_price_x96, swap_exact_input
from index_vault.oracle.chain.local import POOL_FEE
from index_vault.vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC

SHARE = 10**18
BAND_BPS = 50
SETTINGS = ArbitrageSettings(band_bps=BAND_BPS, mint_cost_bps=60, redeem_cost_bps=60, min_profit=0)


@dataclass
class Market:
    vault: ContractInstance
    oracle: ContractInstance
    usdc: ContractInstance
    pools: dict[str, ContractInstance]  # "v2": the pair, "v3": the pool
    v2: UniswapV2
    uni: UniswapV3
    zap: ContractInstance
    arbitrage: ContractInstance
    venues: dict[str, ArbitrageVenue]
    trader: object
    arbitrageur_account: object


@pytest.fixture(scope="module")
def market(project) -> Market:
    deployer, trader, arb = accounts.test_accounts[0], accounts.test_accounts[5], accounts.test_accounts[6]
    spec = load_spec(DEMO_SPEC)
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault, adapter = deployed.vault, deployed.adapters["uniswap-v3"]
    fund_test_accounts(spec, deployed.tokens, [deployer], 1_000 * SHARE, sender=deployer)
    for token in deployed.tokens:
        token.approve(vault, 2**256 - 1, sender=deployer)
    vault.mint_in_kind(1_000 * SHARE, deployer, [2**256 - 1] * len(deployed.tokens), sender=deployer)
    usdc = deployed.tokens[[c.symbol for c in spec.constituents].index("USDC")]
    v2 = deploy_uniswap_v2(deployer, deployed.market.uniswap.weth)
    usdc.mint(deployer, 10**12, sender=deployer)
    pools = {
        "v2": seed_index_pair(v2, vault, deployed.oracle, usdc.address, 200 * SHARE, deployer),  # about $20,000 a side
        "v3": seed_index_pool(deployed.market.uniswap, vault, deployed.oracle, usdc.address, 200 * SHARE, deployer),
    }
    usdc.mint(trader, 10**12, sender=deployer)
    vault.transfer(trader, 100 * SHARE, sender=deployer)
    zap = project.Zap.deploy(100, 100, 3600, sender=deployer)
    arbitrage = project.IndexArbitrage.deploy(sender=deployer)
    assets = [t.address for t in deployed.tokens]
    legs = venue_legs(
        assets,
        usdc.address,
        adapter.address,
        lambda a: v3_route([usdc.address, a], [POOL_FEE]),
        lambda a: v3_route([a, usdc.address], [POOL_FEE]),
        fee=POOL_FEE,
    )
    quoter = deployed.market.uniswap.quoter_v2.address
    venues = {  # the V3 venue sizes its mint legs by the quoter's exact-output quotes, the V2 one by the oracle
        kind: ArbitrageVenue(
            vault.address,
            pool.address,
            kind == "v3",
            zap.address,
            arbitrage.address,
            usdc.address,
            legs,
            quoter=quoter if kind == "v3" else None,
        )
        for kind, pool in pools.items()
    }
    return Market(vault, deployed.oracle, usdc, pools, v2, deployed.market.uniswap, zap, arbitrage, venues, trader, arb)


def premium(market: Market, kind: str) -> Fraction:
    """The pool's price over NAV, less one."""
    pool, vault = market.pools[kind], market.vault.address
    if kind == "v3":
        price = price_from_sqrt_price_x96(pool.slot0().sqrtPriceX96, 0, 0, pool.token0() == vault)
    else:
        reserve0, reserve1 = pool.getReserves()[:2]
        price = Fraction(reserve1, reserve0) if pool.token0() == vault else Fraction(reserve0, reserve1)
    return price / nav_in_quote(market.vault, market.oracle, market.usdc.address) - 1


def push(market: Market, kind: str, usdc_in: int = 0, shares_in: int = 0) -> None:
    """A trader moves the pool: buys shares with `usdc_in`, or sells `shares_in`."""
    pair = (market.usdc, market.vault) if usdc_in else (market.vault, market.usdc)
    amount = usdc_in or shares_in
    if kind == "v3":
        swap_exact_input(market.uni, *pair, INDEX_POOL_FEE, amount, market.trader)
    else:
        swap_exact_input_v2(market.v2, list(pair), amount, market.trader)


def assert_nothing_left(market: Market) -> None:
    for holder in (market.arbitrage, market.zap):
        assert market.vault.balanceOf(holder) == 0 and market.usdc.balanceOf(holder) == 0
        for asset in market.vault.assets():
            assert erc20_at(asset).balanceOf(holder) == 0


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_arbitrageur__price_above_the_band__mints_sells_and_ends_inside_the_band(market, kind):
    push(market, kind, usdc_in=600 * 10**6)  # about 3% of the pool's USDC
    assert premium(market, kind) > Fraction(BAND_BPS, 10_000)
    before = market.usdc.balanceOf(market.arbitrageur_account)

    outcome = Arbitrageur(market.venues[kind], market.arbitrageur_account, SETTINGS).run_round()

    assert (outcome.status, outcome.direction) == ("mined", MINT_AND_SELL), outcome.reason
    assert abs(premium(market, kind)) <= Fraction(BAND_BPS, 10_000)
    assert outcome.profit > 0 and market.usdc.balanceOf(market.arbitrageur_account) == before + outcome.profit
    assert market.vault.balanceOf(market.arbitrageur_account) == 0  # never holds the index token
    assert_nothing_left(market)
    print(f"\n{kind} mint-and-sell {outcome.shares / SHARE:.3f} shares: {outcome.gas_used:,} gas, profit "
          f"{outcome.profit / 1e6:.2f} USDC, premium after {float(premium(market, kind)):+.4%}")  # fmt: skip


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_arbitrageur__price_below_the_band__buys_redeems_and_ends_inside_the_band(market, kind):
    push(market, kind, shares_in=12 * SHARE)  # about 6% of the pool's shares
    assert premium(market, kind) < -Fraction(BAND_BPS, 10_000)
    before = market.usdc.balanceOf(market.arbitrageur_account)

    outcome = Arbitrageur(market.venues[kind], market.arbitrageur_account, SETTINGS).run_round()

    assert (outcome.status, outcome.direction) == ("mined", BUY_AND_REDEEM), outcome.reason
    assert abs(premium(market, kind)) <= Fraction(BAND_BPS, 10_000)
    assert outcome.profit > 0 and market.usdc.balanceOf(market.arbitrageur_account) == before + outcome.profit
    assert_nothing_left(market)
    print(f"\n{kind} buy-and-redeem {outcome.shares / SHARE:.3f} shares: {outcome.gas_used:,} gas, profit "
          f"{outcome.profit / 1e6:.2f} USDC, premium after {float(premium(market, kind)):+.4%}")  # fmt: skip


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_arbitrageur__inside_the_band__sends_nothing(market, kind):
    web3 = networks.provider.web3
    nonce = web3.eth.get_transaction_count(market.arbitrageur_account.address)
    assert abs(premium(market, kind)) <= Fraction(BAND_BPS, 10_000)

    outcome = Arbitrageur(market.venues[kind], market.arbitrageur_account, SETTINGS).run_round()

    assert outcome.status == "inside" and outcome.reason == "inside the band"
    assert web3.eth.get_transaction_count(market.arbitrageur_account.address) == nonce


def test_mint_and_sell__front_run_on_the_index_pool__reverts_below_its_minimum_profit(market):
    push(market, "v3", usdc_in=600 * 10**6)
    arb = Arbitrageur(market.venues["v3"], market.arbitrageur_account, SETTINGS)
    pair, nav = arb.read()
    cycle = plan_cycle(pair, nav, SETTINGS)
    legs = arb.mint_legs(cycle.shares)
    assert cycle.direction == MINT_AND_SELL and cycle.profit > 0
    push(market, "v3", shares_in=6 * 10**18)  # a front-runner sells first: the pool is back at NAV or below

    with ape.reverts():
        market.arbitrage.mint_and_sell(
            market.pools["v3"], True, market.vault, market.zap, cycle.shares, legs, cycle.profit // 2,
            market.arbitrageur_account, sender=market.arbitrageur_account,
        )  # fmt: skip

    assert_nothing_left(market)
    assert market.vault.balanceOf(market.arbitrageur_account) == 0


def test_arbitrageur__killed_between_send_and_receipt__restarted__no_second_cycle(market):
    push(market, "v3", usdc_in=600 * 10**6)
    web3 = networks.provider.web3
    account = market.arbitrageur_account
    start = chain.blocks.head.number + 1

    class Killed(BaseException):
        pass

    first = Arbitrageur(market.venues["v3"], account, SETTINGS)

    def die(*_):
        raise Killed  # the process dies with its cycle in the node's pool, before any receipt

    first.tx.await_receipt = die
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        with pytest.raises(Killed):
            first.run_round()
        restarted = Arbitrageur(market.venues["v3"], account, SETTINGS)
        waiting = restarted.run_round()
        assert waiting.status == "wait" and "in flight" in waiting.reason
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])

    after = restarted.run_round()

    assert after.status == "inside", after.reason
    cycles = market.arbitrage.ArbitrageCycled.range(start, chain.blocks.head.number + 1)
    assert len(list(cycles)) == 1
    assert_nothing_left(market)


@pytest.fixture(scope="module")
def own_deployment(run_script, tmp_path_factory) -> tuple[dict, Path]:
    """The demo basket deployed by `ape run deploy` into a manifest of its own (within this module's chain: the
    session's `deployed` vault is left alone)."""
    folder = tmp_path_factory.mktemp("arbitrage-deployments")
    env = {"INDEX_VAULT_DEPLOYMENTS": str(folder)}
    run_script("deploy", str(DEMO_SPEC), env=env)
    (path,) = (folder / "local").glob("*.json")
    return env, path


def test_arbitrage_script__setup_status_run__the_pool_back_inside_the_band(run_script, own_deployment):
    env, path = own_deployment
    run_script("vault", "mint", "30", env=env)  # the deployer, funded by the local deployment

    out = run_script("arbitrage", "setup", "--shares", "20", "--yes", env=env).stdout

    manifest = json.loads(path.read_text())
    symbol = next(iter(manifest["vaults"]))
    pool, zap = manifest["index_pools"][symbol], manifest["zaps"][symbol]
    assert pool in out and zap in out and manifest["arbitrage"] in out

    u = manifest["uniswap"]
    uni = UniswapV3(
        npm_container("UniswapV3Factory").at(u["factory"]),
        npm_container("NonfungiblePositionManager").at(u["position_manager"]),
        npm_container("SwapRouter").at(u["swap_router"]),
        npm_container("QuoterV2").at(u["quoter_v2"]),
        u["weth"],
    )
    trader = accounts.test_accounts[4]
    usdc = npm_container("StandardTokenMock").at(manifest["tokens"]["USDC"])
    usdc.mint(trader, 10**11, sender=trader)
    swap_exact_input(uni, usdc, manifest["vaults"][symbol], INDEX_POOL_FEE, 200 * 10**6, trader)  # ~10% of a side
    assert "mint-and-sell" in run_script("arbitrage", "status", env=env).stdout

    ran = run_script("arbitrage", "run", "--once", "--yes", "--account", "TEST::5", env=env).stdout

    assert ran.startswith("mined: above the band (mint-and-sell"), ran
    vault = vault_at(manifest["vaults"][symbol])
    index_pool = npm_container("UniswapV3Pool").at(pool)
    price = price_from_sqrt_price_x96(index_pool.slot0().sqrtPriceX96, 0, 0, index_pool.token0() == vault.address)
    nav = nav_in_quote(vault, project.OracleRouter.at(vault.oracle()), usdc.address)
    assert abs(price / nav - 1) <= Fraction(BAND_BPS, 10_000)

    # the same arbitrageur as a silverback bot, on new blocks, after a seller pushed the pool under the band
    vault.transfer(trader, 2 * 10**18, sender=accounts.test_accounts[0])
    swap_exact_input(uni, vault, usdc, INDEX_POOL_FEE, 2 * 10**18, trader)
    log = _run_bot(
        {**env, "SILVERBACK_SIGNER_ALIAS": "TEST::5", "SILVERBACK_BOT_NAME": BOT_NAME}, "mined: below the band"
    )
    assert "mined: below the band" in log, log[-3000:]
    assert "arbitrageur stopped: 1 cycles" in log, log[-3000:]  # one cycle, then inside the band


BOT_NAME = "arbitrage-integration-test"


def _run_bot(env: dict, wanted: str, timeout: float = 120) -> str:
    """Runs `silverback run arbitrage` on the session's chain until its output shows `wanted` (mining a block a
    second), then stops it gracefully; returns its output."""
    root = Path(__file__).resolve().parents[2]
    sessions = root / ".silverback-sessions"  # silverback keeps its state there, under the bot's name
    shutil.rmtree(sessions / BOT_NAME, ignore_errors=True)
    full_env = {**os.environ, "APE_FOUNDRY_HOST": networks.provider.uri, **env}
    with tempfile.TemporaryFile("w+") as sink:
        proc = subprocess.Popen(
            ["silverback", "run", "arbitrage", "--network", "ethereum:local:foundry"],
            cwd=root, env=full_env, stdout=sink, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                sink.seek(0)
                if wanted in sink.read():
                    break
                chain.mine()
                time.sleep(1)
            for _ in range(3):  # a few more blocks: a second cycle would show here
                chain.mine()
                time.sleep(1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # a graceful stop: the bot says how many cycles it sent
                for _ in range(30):
                    if proc.poll() is not None:
                        break
                    chain.mine()
                    time.sleep(0.5)
                else:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        sink.seek(0)
        out = sink.read()
    shutil.rmtree(sessions / BOT_NAME, ignore_errors=True)
    if sessions.is_dir() and not any(sessions.iterdir()):
        sessions.rmdir()
    return out
