"""The keeper end to end on a local market: real Uniswap V3 pools and Chainlink feeds moved along the price
history of December 2022, a keeper killed between send and receipt, an RPC outage, a stale oracle, a pause,
auction fills, and the `ape run keeper` script and the silverback bot."""

import io
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest
from ape import accounts, chain, networks

from index_vault.chain.contracts import npm_container
from index_vault.common.sending import RetryPolicy
from index_vault.common.units import WAD
from index_vault.keeper.chain.config import KeeperConfig
from index_vault.keeper.chain.history import trade_history
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.chain.market_state import depths_usd, tracking_variances
from index_vault.keeper.chain.status import format_keeper_status, format_plan_table, keeper_status
from index_vault.keeper.execution import DEFAULT
from index_vault.keeper.planner import inside_bands
from index_vault.keeper.policy import EventLog
from index_vault.market.chain.build import arbitrage_pool
from index_vault.market.model import load_panel
from index_vault.oracle.chain.feeds import set_feed_price
from index_vault.vault.chain.deploy import deploy_vault, fund_test_accounts
from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC, NETWORK, ROOT
from tests.integration.faults import flaky_rpc

SHARES = 100 * 10**18  # $10,000 of the $100-a-share demo basket
# WETH underweight (35% wanted, 20% held); USDC, LINK and UNI overweight (15% wanted, 20% held)
TARGETS = [35 * 10**16, 20 * 10**16, 15 * 10**16, 15 * 10**16, 15 * 10**16]
PANEL_SYMBOL = {"WETH": "ETH", "WBTC": "BTC", "LINK": "LINK", "UNI": "UNI"}
DAYS = ["2022-12-08", "2022-12-17", "2022-12-31"]  # real closes, December 2022
TWAP_WINDOW = 1_800
CONFIG = KeeperConfig(
    min_trade_usd=10 * WAD,
    receipt_timeout=5.0,
    poll_interval=0.05,
    retry=RetryPolicy(attempts=6, base_delay=0.0),
)
BOT_NAME = "keeper-integration-test"
TOTALS = {"rounds": 0, "trades": 0, "gas": 0}  # figures printed at the end of the module


@dataclass
class Env:
    vault: object
    rebalancer: object
    tokens: dict  # symbol -> token
    market: object
    adapter: object
    deployer: object
    keeper: object
    day: str = "2022-12-01"


@pytest.fixture(scope="module")
def env(accounts):
    deployer, holder, keeper = accounts[0], accounts[1], accounts[2]
    spec = load_spec(DEMO_SPEC)
    deployed = deploy_vault(spec, deployer, local=True, echo=lambda _: None)
    vault, rebalancer = deployed.vault, deployed.rebalancer
    fund_test_accounts(spec, deployed.tokens, [holder], SHARES, sender=deployer)
    for token in deployed.tokens:
        token.approve(vault, 2**256 - 1, sender=holder)
    vault.mint_in_kind(SHARES, holder, [2**256 - 1] * len(deployed.tokens), sender=holder)
    rebalancer.set_target_weights(TARGETS, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    tokens = {c.symbol: t for c, t in zip(spec.constituents, deployed.tokens, strict=True)}
    yield Env(vault, rebalancer, tokens, deployed.market, deployed.adapters["uniswap-v3"], deployer, keeper)
    print(
        f"\nkeeper totals over the module: {TOTALS['rounds']} rounds, {TOTALS['trades']} trades, {TOTALS['gas']:,} gas"
    )


def make_keeper(env: Env, account=None, **overrides) -> Keeper:
    return Keeper(
        env.rebalancer.address,
        account or env.keeper,
        adapter=env.adapter.address,
        quoter=env.market.uniswap.quoter_v2.address,
        swap_router=env.market.uniswap.swap_router.address,  # a filler resells its lots through it
        config=replace(CONFIG, **overrides),
        log=EventLog("json", stream=io.StringIO()),
        sleep=lambda _: None,
    )


def events(keeper: Keeper, kind: str | None = None) -> list[dict]:
    lines = [json.loads(line) for line in keeper.log.stream.getvalue().splitlines()]
    return [e for e in lines if kind is None or e["event"] == kind]


def tally(keeper: Keeper) -> None:
    TOTALS["rounds"] += keeper.metrics.rounds
    TOTALS["trades"] += keeper.metrics.trades_mined
    TOTALS["gas"] += keeper.metrics.gas_used


def nonce(account) -> int:
    return networks.provider.web3.eth.get_transaction_count(account.address, "pending")


def feed_price_of(env: Env, symbol: str) -> Decimal:
    _, answer, *_ = env.market.feeds[symbol].latestRoundData()
    return Decimal(answer).scaleb(-8)


def move_market(env: Env, seconds: int, day: str | None = None) -> None:
    """Moves the clock `seconds` on, then every feed to `day`'s close (or its own price again, fresh) and every
    pool to it by one arbitrage swap; then lets the TWAP window fill at the new prices."""
    chain.mine(timestamp=chain.blocks.head.timestamp + seconds)
    panel = load_panel() if day else None
    usdc, uni = env.tokens["USDC"], env.market.uniswap
    for symbol, feed in env.market.feeds.items():
        price = (
            panel.price(day, PANEL_SYMBOL[symbol]) if panel and symbol in PANEL_SYMBOL else feed_price_of(env, symbol)
        )
        price = price.quantize(Decimal("1e-8"))
        set_feed_price(feed, price, env.deployer)
        if symbol != "USDC":
            arbitrage_pool(uni, env.market.pools[symbol], env.tokens[symbol], usdc, price, env.deployer, uni.weth)
    chain.mine(timestamp=chain.blocks.head.timestamp + TWAP_WINDOW + 100)
    if day:
        env.day = day


def set_targets(env: Env, weights: list[int]) -> None:
    env.rebalancer.set_target_weights(weights, sender=env.deployer)


def all_inside(keeper: Keeper) -> bool:
    snap = keeper.read_snapshot()
    return all(inside_bands(snap.state(), keeper.settings(snap)))


def weights_line(keeper: Keeper) -> str:
    snap = keeper.read_snapshot()
    state = snap.state()
    return ", ".join(f"{c.symbol} {w / 1e16:.2f}%" for c, w in zip(state.constituents, state.weights(), strict=True))


# --- the tests -----------------------------------------------------------------------------------------------


def test_dry_run__plans_and_simulates__sends_nothing(env):
    keeper = make_keeper(env, dry_run=True)
    before = nonce(env.keeper)

    result = keeper.run_round()

    assert result.status == "dry-run" and result.decision.startswith("start: no rebalance started")
    assert len(result.plan.trades) >= 3  # WETH is 15% of NAV short: three trades at the 5% size cap
    # no snapshot yet: the trades are listed, not simulated (the start comes first)
    assert all(why == "not simulated: a start comes first" for _, _, why in result.simulations)
    assert nonce(env.keeper) == before
    assert trade_history(env.rebalancer.address) == []
    text = format_plan_table(result.snapshot, result)
    assert "simulated out" in text and "WETH" in text
    print("\n" + text)


def test_keeper__real_price_history__brings_every_weight_back_inside_its_band(env):
    keeper = make_keeper(env)

    first = keeper.run_round()

    assert first.status == "traded" and all(t.status == "mined" for t in first.trades)
    assert all_inside(keeper), weights_line(keeper)
    print(f"\n{env.day}: {len(first.trades)} trades; {weights_line(keeper)}")
    days = [env.day, *DAYS]
    for previous, day in itertools.pairwise(days):
        gap = (int(day[-2:]) - int(previous[-2:])) * 86_400
        move_market(env, gap, day)
        drifted = not all_inside(keeper)
        result = keeper.run_round()
        assert result.status in ("traded", "idle")
        inside = all_inside(keeper)
        print(f"{day}: drifted={drifted} {len(result.trades)} trades {result.reason or ''}; {weights_line(keeper)}")
        # inside every band, or the plan says which cap stopped it
        assert inside or result.reason, weights_line(keeper)
    assert keeper.metrics.trades_mined >= 4 and keeper.metrics.starts >= 1
    assert keeper.metrics.reverts_skipped == 0 and keeper.metrics.trades_reverted == 0
    history = trade_history(env.rebalancer.address)
    assert len(history) == keeper.metrics.trades_mined
    print(f"rounds {keeper.metrics.rounds}, trades {keeper.metrics.trades_mined}, gas {keeper.metrics.gas_used:,}")
    tally(keeper)


def test_keeper__snapshot_decisions__reuses_starts_refreshes_and_counts_gas_apart(env):
    """Nothing changed: the snapshot is reused (no start). Targets moved past the band: one start, then trades.
    A trade left for later (one a round) on an unchanged snapshot a day old: its legs are refreshed, no start.
    Every transaction's gas is counted by kind."""
    keeper = make_keeper(env, max_trades_per_round=1)
    move_market(env, 86_400)
    while keeper.run_round().trades:  # whatever the last test left: traded to the bands
        chain.mine(timestamp=chain.blocks.head.timestamp + 301)
    before = dict(keeper.metrics.gas_by_kind)
    idle = keeper.run_round()
    assert idle.starts == [] and idle.refreshes == [] and idle.decision.startswith(("idle", "trade"))

    set_targets(env, [25 * 10**16, 25 * 10**16, 20 * 10**16, 15 * 10**16, 15 * 10**16])  # WETH 10% over
    started = keeper.run_round()
    assert [t.status for t in started.starts] == ["mined"] and "targets moved" in started.decision
    assert len(started.trades) == 1 and started.refreshes == []

    move_market(env, 86_400)  # a new period (the cap), the same prices: the snapshot's prices are a day old
    refreshed = keeper.run_round()
    assert refreshed.starts == [] and refreshed.decision.startswith("trade")
    assert {t.asset for t in refreshed.refreshes} == {
        refreshed.snapshot.symbol(a) for a in (refreshed.trades[0].trade.sell, refreshed.trades[0].trade.buy)
    }
    gas = [r.gas() for r in (idle, started, refreshed)]
    assert gas[1]["start"] > 0 and gas[2]["refresh"] > 0 and gas[2]["start"] == 0
    assert all(g["total"] == g["start"] + g["refresh"] + g["trade"] + g["other"] for g in gas)
    by_kind = {k: v - before.get(k, 0) for k, v in keeper.metrics.gas_by_kind.items()}
    assert by_kind["start"] == gas[1]["start"] and by_kind["refresh"] == gas[2]["refresh"]
    assert by_kind["trade"] == sum(g["trade"] for g in gas)
    print(f"\nsnapshot decisions: {[r.decision for r in (idle, started, refreshed)]}; gas {dict(by_kind)}")
    tally(keeper)


def test_keeper__killed_between_send_and_receipt__restarted__no_duplicate_trade(env):
    move_market(env, 86_400)  # a new period, past every cool-down, fresh feeds
    set_targets(env, [25 * 10**16, 20 * 10**16, 25 * 10**16, 15 * 10**16, 15 * 10**16])  # WETH over, USDC under
    start = chain.blocks.head.number + 1
    web3 = networks.provider.web3

    class Killed(BaseException):
        pass

    first = make_keeper(env)

    def die(*_):
        raise Killed  # the process dies here: the transaction is in the node's pool, no receipt was seen

    first.tx.await_receipt = die
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        with pytest.raises(Killed):
            first.run_round()
        sent = events(first, "sent")
        assert len(sent) == 1
        del first

        restarted = make_keeper(env)
        waiting = restarted.run_round()
        assert waiting.status == "waiting" and "in flight" in waiting.reason
        assert restarted.metrics.trades_sent == 0
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])

    after = restarted.run_round()
    assert after.status in ("traded", "idle")
    history = [t for t in trade_history(env.rebalancer.address, start)]
    pairs = [(t.sell, t.buy) for t in history]
    if sent[0]["what"] == "trade":  # else the start it sent first landed once, then the trades came
        assert history[0].tx_hash == sent[0]["tx"]
    assert len(pairs) == len(set(pairs)), pairs  # no pair traded twice
    print(f"\nkilled after send {sent[0]['tx'][:12]}; restarted: waited, then {len(after.trades)} more trade(s)")
    tally(restarted)


def send_raw(account, contract, method: str, *args, tip: int) -> str:
    """Signs and broadcasts a call without waiting for it to be mined (automine off)."""
    web3 = networks.provider.web3
    txn = networks.provider.network.ecosystem.create_transaction(
        chain_id=chain.chain_id,
        receiver=contract.address,
        data=getattr(contract, method).encode_input(*args),
        gas_limit=200_000,
        max_fee=tip + 10 * 10**9,
        max_priority_fee=tip,
        nonce=web3.eth.get_transaction_count(account.address, "pending"),
        type=2,
        sender=account.address,
    )
    return web3.eth.send_raw_transaction(account.sign_transaction(txn).serialize_transaction()).hex()


def test_keeper__not_mined_in_time__waits_for_it_and_never_resends(env):
    """A full block (or too low a fee): the receipt does not come, the round ends waiting; the next rounds wait
    for the transaction in flight instead of sending it again."""
    start = chain.blocks.head.number + 1
    web3 = networks.provider.web3
    keeper = make_keeper(env, receipt_timeout=0.2)
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        timed_out = keeper.run_round()
        again = keeper.run_round()
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
    keeper.config = replace(keeper.config, receipt_timeout=CONFIG.receipt_timeout)
    after = keeper.run_round()

    assert timed_out.status == "waiting" and "not mined after" in timed_out.reason
    assert again.status == "waiting" and "in flight" in again.reason
    first = events(keeper, "sent")[0]["what"]  # a trade, or a start or refresh before one: sent once
    assert keeper.metrics.trades_sent == (first == "trade") + len(after.trades)
    pairs = [(t.sell, t.buy) for t in trade_history(env.rebalancer.address, start)]
    assert len(pairs) == keeper.metrics.trades_sent == len(set(pairs))
    tally(keeper)


def test_keeper__trade_reverts_on_chain__counted_then_reads_the_chain_again(env):
    """The simulation passed, but the guardian's pause lands first in the same block: the trade reverts on
    chain; the keeper counts it, reads the chain again and waits for the pause."""
    web3 = networks.provider.web3
    mined = []

    def mine_once(_):
        if not mined:
            mined.append(web3.provider.make_request("evm_mine", []))

    keeper = replace_sleep(make_keeper(env), mine_once)
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        send_raw(env.deployer, env.vault, "pause", tip=5 * 10**9)  # pending, ahead of the keeper's 1 gwei tip
        result = keeper.run_round()
    finally:
        web3.provider.make_request("evm_setAutomine", [True])

    (reverted,) = events(keeper, "reverted")  # the first transaction of the round: a trade, start or refresh
    assert reverted["what"] in ("trade", "start", "refresh") and len(events(keeper, "sent")) == 1
    assert keeper.metrics.trades_reverted == (reverted["what"] == "trade")
    assert result.status == "waiting" and result.reason == "vault paused"
    assert keeper.metrics.gas_used > 0
    env.vault.unpause(sender=env.deployer)


def replace_sleep(keeper: Keeper, sleep) -> Keeper:
    keeper.sleep = sleep
    return keeper


def test_keeper__rpc_outage_mid_round__retries_and_completes(env, monkeypatch):
    move_market(env, 86_400)
    set_targets(env, [20 * 10**16, 20 * 10**16, 15 * 10**16, 25 * 10**16, 20 * 10**16])  # WETH over; LINK, UNI under
    start = chain.blocks.head.number + 1
    keeper = make_keeper(env)
    calls = flaky_rpc(keeper.w3.eth, monkeypatch)  # four calls fail mid-read; the first broadcast's answer is lost

    result = keeper.run_round()

    assert result.status == "traded", events(keeper)
    assert calls["failed"] == 4 and calls["lost"] == 1
    assert keeper.metrics.retries == 5
    assert len(events(keeper, "retry")) == 5
    pairs = [(t.sell, t.buy) for t in trade_history(env.rebalancer.address, start)]
    assert len(pairs) == len(result.trades) == len(set(pairs))  # the resent broadcast did not trade twice
    print(f"\nRPC outage: {keeper.metrics.retries} retries, {len(result.trades)} trades, no duplicate")
    tally(keeper)


def test_keeper__stale_oracle__waits_with_the_oracles_reason(env):
    move_market(env, 86_400)
    set_targets(env, TARGETS)
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * 86_400)  # past heartbeat + grace
    keeper = make_keeper(env)
    before = nonce(env.keeper)

    result = keeper.run_round()

    assert result.status == "waiting"
    assert "stale price" in result.reason
    (wait,) = events(keeper, "wait")
    assert wait["kind"] == "prices" and "stale price" in wait["reason"]
    assert nonce(env.keeper) == before
    move_market(env, 60)  # fresh feeds again


def test_keeper__paused_vault__waits(env):
    keeper = make_keeper(env)
    env.vault.pause(sender=env.deployer)
    try:
        result = keeper.run_round()
    finally:
        env.vault.unpause(sender=env.deployer)

    assert result.status == "waiting" and result.reason == "vault paused"
    assert keeper.metrics.waits["paused"] == 1 and keeper.metrics.trades_sent == 0


def test_keeper__gas_price_above_cap__waits_and_sends_nothing(env):
    keeper = make_keeper(env, max_gas_price=10**8, priority_fee=10**9)  # cap 0.1 gwei, tip 1 gwei
    before = nonce(env.keeper)

    result = keeper.run_round()

    assert result.status == "waiting" and "above the cap" in result.reason
    assert nonce(env.keeper) == before


def test_filler__auction_fills_once_the_dex_price_pays(env, accounts):
    move_market(env, 86_400)
    set_targets(env, [30 * 10**16, 20 * 10**16, 10 * 10**16, 20 * 10**16, 20 * 10**16])  # USDC over, WETH under
    usdc, weth = env.tokens["USDC"], env.tokens["WETH"]
    filler = accounts[3]
    weth.mint(filler, 10**18, sender=env.deployer)
    env.rebalancer.start_rebalance(sender=env.keeper)  # a fresh snapshot at the new targets: opening reads it
    opened = env.rebalancer.open_auction(usdc, weth, 300 * 10**6, sender=env.keeper)
    (event,) = env.rebalancer.AuctionOpened.from_receipt(opened)
    keeper = make_keeper(env, account=filler, fill_auctions=True)

    early = keeper.run_round()  # the price starts 2% above the oracle's: reselling would lose
    assert early.fills == []
    assert any(e["reason"] == "not profitable yet" for e in events(keeper, "auction-skip"))

    chain.mine(timestamp=event.end - 200)  # near the end price, 1% below the oracle's
    late = keeper.run_round()

    assert [f.status for f in late.fills] == ["mined"]
    fill = late.fills[0]
    assert fill.resold > fill.buy_in  # the lot resold on the pool for more than the auction took
    assert env.rebalancer.auctions(event.id).remaining == 300 * 10**6 - fill.amount
    print(f"\nauction fill: paid {fill.buy_in} wei WETH, resold for {fill.resold}; gas {keeper.metrics.gas_used:,}")
    tally(keeper)


def test_filler__killed_between_fill_and_resale__restart_resells_the_lot(env, accounts):
    move_market(env, 86_400)  # the last auction has expired
    set_targets(env, [30 * 10**16, 20 * 10**16, 10 * 10**16, 20 * 10**16, 20 * 10**16])
    usdc, weth = env.tokens["USDC"], env.tokens["WETH"]
    filler = accounts[4]
    weth.mint(filler, 10**18, sender=env.deployer)
    env.rebalancer.start_rebalance(sender=env.keeper)
    opened = env.rebalancer.open_auction(usdc, weth, 400 * 10**6, sender=env.keeper)
    (event,) = env.rebalancer.AuctionOpened.from_receipt(opened)
    chain.mine(timestamp=event.end - 60)  # the price near its floor: reselling pays
    before = usdc.balanceOf(filler)

    class Killed(BaseException):
        pass

    def die(*_):
        raise Killed  # the process dies after the fill was mined, before it resold the lot

    first = make_keeper(env, account=filler, fill_auctions=True)
    first.filler._resell = die
    with pytest.raises(Killed):
        first.run_round()
    (fill,) = events(first, "auction-fill")
    lot = usdc.balanceOf(filler) - before
    assert lot > 0  # the lot sits in the filler's account

    restarted = make_keeper(env, account=filler, fill_auctions=True)
    restarted.run_round()

    (unsold,) = events(restarted, "unsold-lot")
    assert unsold["sell"] == "USDC" and unsold["buy"] == "WETH"
    assert len(events(restarted, "resold")) >= 1
    assert usdc.balanceOf(filler) == before  # sold on, once: nothing left over, nothing sold twice
    again = make_keeper(env, account=filler, fill_auctions=True)
    assert again.unsold_lots(again.read_snapshot()) == {}
    print(f"\nfill {fill['tx'][:12]} killed before resale; restart resold {lot} USDC units")
    tally(restarted)


def test_status__after_a_round__shows_drift_trades_gas_and_verdict(env):
    keeper = make_keeper(env)
    keeper.run_round()

    status = keeper_status(keeper)
    text = format_keeper_status(status)

    assert len(status.history) == keeper.metrics.trades_mined >= 3
    # the account's trades, starts and refreshes over the module: at least this keeper's, by kind
    assert status.gas_used >= keeper.metrics.gas_by_kind["trade"] > 0
    assert status.snapshot_gas["start"][1] >= keeper.metrics.gas_by_kind["start"]
    assert "starts" in text and "refreshes" in text and "decision now:" in text
    assert "drift bps" in text and "last trades:" in text and "UNI -> WETH" in text
    assert "would trade now: no" in text  # cooling down, or inside the bands
    print("\n" + text)


# --- the script and the bot ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def script_env(run_script, tmp_path_factory, project):
    """A demo vault deployed by `ape run deploy` into a manifest of its own (so the session's `deployed` vault is
    untouched), 100 shares minted, targets set off-balance and test account 2 a keeper."""
    folder = tmp_path_factory.mktemp("keeper-deployments")
    env = {"INDEX_VAULT_DEPLOYMENTS": str(folder)}
    run_script("deploy", str(DEMO_SPEC), "--fund-shares", "200", env=env)
    (path,) = (folder / "local").glob("*.json")
    manifest = json.loads(path.read_text())
    deployer, holder, keeper = (accounts.test_accounts[i] for i in range(3))
    vault = project.IndexVault.at(manifest["vaults"]["TOP5"])
    for address in manifest["tokens"].values():
        npm_container("StandardTokenMock").at(address).approve(vault, 2**256 - 1, sender=holder)
    vault.mint_in_kind(SHARES, holder, [2**256 - 1] * 5, sender=holder)
    project.Rebalancer.at(vault.rebalancer()).set_target_weights(TARGETS, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    return env, vault


def test_script__dry_run_json__run_once__status(run_script, script_env):
    env, _ = script_env
    keeper = accounts.test_accounts[2]
    args = ("--account", "TEST::2", "--min-trade-usd", "10")
    before = nonce(keeper)

    dry = run_script("keeper", "run", "--dry-run", "--log-format", "json", *args, env=env)

    lines = [json.loads(line) for line in dry.stdout.splitlines()]  # every line of stdout is one JSON event
    kinds = [e["event"] for e in lines]
    assert kinds[0] == "start" and kinds[-1] == "summary" and kinds.count("simulated") == 3
    (manifest,) = (Path(env["INDEX_VAULT_DEPLOYMENTS"]) / "local").glob("*.json")
    assert lines[0]["quoter"] == json.loads(manifest.read_text())["quoters"]["uniswap-v3"]  # the manifest's quoter
    assert lines[-1]["trades_sent"] == 0 and nonce(keeper) == before
    assert "plan at block" in dry.stderr and "simulated out" in dry.stderr  # the table, beside the JSON

    # unattended: rounds every half second until Ctrl-C, which still prints the summary
    once = interrupted_run(["keeper", "run", "--interval", "0.5", *args], env, until=" round round=2 ")

    assert " trade " in once and "stop reason=interrupted" in once and "keeper summary:" in once
    mined = int(once.split("trades mined")[1].split()[0])
    starts = int(once.split("\nstarts")[1].split()[0])
    refreshes = int(once.split("\nrefreshes")[1].split()[0])
    assert mined >= 3 and starts >= 1 and nonce(keeper) == before + mined + starts + refreshes
    assert int(once.split("rounds")[1].split()[0]) >= 2

    status = run_script("keeper", "status", *args, env=env).stdout

    assert "last trades:" in status and "UNI -> WETH" in status
    assert "gas spent by this keeper: 0 gas" not in status
    assert "would trade now: no" in status
    print("\n" + dry.stderr + "\n" + once + "\n" + status)
    TOTALS["rounds"] += 1
    TOTALS["trades"] += mined


def interrupted_run(args: list[str], env: dict, until: str, timeout: float = 90) -> str:
    """`ape run ARGS` on this chain until its output shows `until`, then Ctrl-C (SIGINT); returns its output."""
    full_env = {**os.environ, "APE_FOUNDRY_HOST": networks.provider.uri, **env}
    proc = subprocess.Popen(
        ["ape", "run", *args, "--network", NETWORK],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            lines.append(line)
            if until in line or time.monotonic() > deadline:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rest, _ = proc.communicate()
    return "".join(lines) + (rest or "")


def test_bot__silverback_runs_rounds_on_new_blocks(script_env, tmp_path):
    env, vault = script_env
    full_env = {
        **os.environ,
        **env,
        "APE_FOUNDRY_HOST": networks.provider.uri,
        "SILVERBACK_SIGNER_ALIAS": "TEST::2",
        "SILVERBACK_BOT_NAME": BOT_NAME,
        "KEEPER_VAULT": vault.address,
        "KEEPER_MIN_TRADE_USD": "10",
        "KEEPER_LOG_FORMAT": "json",
    }
    sessions = ROOT / ".silverback-sessions"  # silverback always keeps its state there, under the bot's name
    shutil.rmtree(sessions / BOT_NAME, ignore_errors=True)
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as sink:
        proc = subprocess.Popen(
            ["silverback", "run", "rebalancer", "--network", NETWORK],
            cwd=ROOT,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if '"event": "round"' in log_path.read_text():
                    break
                chain.mine()
                time.sleep(1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # a graceful stop: the bot logs its summary
                for _ in range(30):
                    if proc.poll() is not None:
                        break
                    chain.mine()  # the runner notices the stop between blocks
                    time.sleep(0.5)
                else:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    shutil.rmtree(sessions / BOT_NAME, ignore_errors=True)
    if sessions.is_dir() and not any(sessions.iterdir()):
        sessions.rmdir()
    out = log_path.read_text()
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert "plan" in kinds and "trade" in kinds and "round" in kinds, out[-3000:]
    assert kinds[-1] == "summary", out[-3000:]  # logged at shutdown
    TOTALS["rounds"] += events[-1]["rounds"]
    TOTALS["trades"] += events[-1]["trades_mined"]
    TOTALS["gas"] += events[-1]["gas_used"]


def test_keeper__execution_policy__trades_within_the_impact_budget_and_logs_its_decisions(env):
    move_market(env, 86_400)  # a new period, past every cool-down, fresh feeds
    policy = replace(DEFAULT, impact_budget_bps=1.0)  # slices of about a ten-thousandth of a pool's depth
    keeper = make_keeper(env, execution=policy)
    set_targets(env, [15 * 10**16, 20 * 10**16, 25 * 10**16, 20 * 10**16, 20 * 10**16])  # WETH 15% over

    result = keeper.run_round()

    assert result.trades and all(t.status == "mined" for t in result.trades)
    (logged, *_) = events(keeper, "execution")
    assert logged["policy"] == "default" and logged["decisions"]["WETH"] == "slice"
    snap = keeper.read_snapshot()
    depths = depths_usd(keeper.venues, snap)
    weth = env.tokens["WETH"].address
    sold = sum(t.trade.value_usd for t in result.trades if t.trade.sell == weth)
    assert 0 < sold <= policy.max_slice_usd(depths[weth]) * 1.01 * WAD  # the pools moved a little since the plan
    assert not all_inside(keeper) and "impact" in (result.reason or "")  # the rest waits: a later day of the window
    print(f"\nexecution: WETH sold ${sold / WAD:,.2f} of a ${depths[weth]:,.0f}-deep market; {result.reason}")
    # the local market's pools remember hours, not days: no variance, so the band never holds a gap back
    variances = tracking_variances(keeper.venues, snap, [w / WAD for w in snap.targets], days=6)
    assert set(variances.values()) == {math.inf}
    tally(keeper)
