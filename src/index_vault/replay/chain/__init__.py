"""The main job on a local chain: an index vault replayed through real history, kept on target by the real keeper.

`run_replay`:
1. resolves the basket (a methodology's universe on the start day, then fixed) and runs the off-chain backtest
   of the same window first (it is fast, and a bad option fails before anything is deployed). Its cost model
   charges the DEX fee and price impact but no gas: on chain the keeper pays the gas, the vault never does;
2. builds the market chain at the start date (`build_market`: tokens, Chainlink feeds, Uniswap V3 pools and V2
   pairs against USDC and WETH, priced from the panel);
3. deploys an OracleRouter over the market's feeds (each cross-checked against its V3 pool's TWAP against USDC),
   the vault at the methodology's weights ($100 a share at the start day's prices), its Rebalancer with those
   targets, and the Uniswap V3 and V2 adapters; mints `nav_usd` worth of shares in kind;
4. then for every later day of the window: moves the clock one day, moves the feeds and every pool to the day's
   close (`advance_market`: arbitrage swaps), lets the TWAP window fill, proposes the day's methodology weights
   when they changed, and runs one round of the real `Keeper` (plan, eth_call, send, receipt) through the pools;
5. records the day: the vault's balances at the day's closes, the ideal and backtest levels, trades and the
   keeper's gas: every transaction it sent (starts, refreshes, trades), each kind apart, and why it started;
6. with the secondary market (`index_vault.replay.chain.secondary`): noise traders trade the index token on its pools,
   the arbitrageur brings their prices back to NAV, and the day's premium is recorded.

Length: just over 500 lines: the set-up's steps and the daily loop share `ReplaySetup`; apart they would pass
it and the keeper's settings around.
"""

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path

from ape import chain
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import npm_container
from index_vault.common.artifacts import project_root
from index_vault.common.units import BPS, WAD
from index_vault.keeper.chain.config import KeeperConfig, RoundResult
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.policy import EventLog
from index_vault.market.chain.build import advance_market, build_market
from index_vault.market.chain.mover import MarketMover
from index_vault.market.chain.uniswap_v3 import advance_time
from index_vault.market.model import PANEL_PATH, AddressBook, Panel, load_panel, plan_market
from index_vault.methodology.backtest import GWEI, BacktestResult, CostModel, Schedule, run_backtest
from index_vault.methodology.history import History, MethodologyError, find_panel, load_history
from index_vault.methodology.weights import METRIC_PREFIX, Methodology
from index_vault.oracle.chain.local import FeedSettings, deploy_oracle
from index_vault.replay.chain.secondary import Secondary, secondary_day, setup_secondary
from index_vault.replay.record import ReplayDay, ReplayResult, ReplayTrade, start_reason
from index_vault.vault.basket import MIN_UNIT
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters
from index_vault.vault.chain.deploy import Deployed, deploy_vault
from index_vault.vault.fees import rate_from_annual_bps
from index_vault.vault.spec import BasketSpec, Constituent

DAY = 86_400
MAX_ROUNDS_PER_DAY = 6
RETRY_LIMITS = ("cooldown", "slippage")  # what a later round of the same day can get past
SHARE_PRICE_USD = 100  # a share is worth $100 on the start day
FEED_SETTINGS = FeedSettings()

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ReplayConfig:
    """What to replay: the window, the methodology, the vault's size and the keeper's band."""

    start: str = "2022-09-01"
    days: int = 90
    method: str = "capped-market-cap"
    assets: tuple[str, ...] = ()  # a fixed basket; else the `top` N on the start day
    top: int | None = 5
    cap: Fraction | None = None
    nav_usd: int = 100_000
    band_bps: int = 125  # the keeper's drift band, and the backtest's drift threshold
    trade_band_bps: int = 60  # once a weight is past the band, the keeper trades every one past this to target
    min_trade_usd: int = 50
    management_fee_bps: int = 0
    gwei: float = GWEI  # for the USD figure of the keeper's gas (the backtest's assumption)
    data: Path | None = None  # a data folder; None: the project's panel
    liquidity: str = "base"  # the pools' depth: the liquidity model's variant (or "legacy"), chain and backtest alike

    def methodology(self) -> Methodology:
        return Methodology(self.method, assets=self.assets, top=None if self.assets else self.top, cap=self.cap)


@dataclass
class ReplaySetup:
    """What `setup_replay` deployed, and the plan the replay follows."""

    book: AddressBook
    vault: ContractInstance
    rebalancer: ContractInstance
    oracle: ContractInstance
    keeper: Keeper
    holder: AccountAPI
    basket: list[str]  # index symbols, in basket order
    tokens: list[ContractInstance]
    decimals: list[int]
    methodology: Methodology  # its universe fixed to `basket`
    dates: list[str]
    history: History
    result: ReplayResult
    targets: tuple[int, ...]  # the weights the Rebalancer holds
    backtest: BacktestResult
    panel: Panel
    day0_timestamp: int = 0  # the start day's block time; day i is `i` days later
    started: float = 0.0  # time.monotonic() when the set-up began
    mover: MarketMover | None = None  # moves the market each day
    secondary: Secondary | None = None  # the index token's secondary market, when replayed


def _window(history: History, start: str, days: int) -> list[str]:
    if days < 1:
        raise MethodologyError("the window needs at least one day after the start", "days")
    first = history.index(start, "start")
    dates = list(history.dates[first : first + days + 1])
    if len(dates) < days + 1:
        raise MethodologyError(
            f"the data end on {history.dates[-1]}: {days} days from {dates[0]} need {days + 1} days of data, "
            f"{len(dates)} are left; start earlier or replay fewer days",
            "days",
        )
    return dates


def _units(weight: int, price: Decimal, decimals: int) -> int:
    """Base units of a token worth `weight` of a $100 share at `price`, rounded down; at least MIN_UNIT."""
    usd = Decimal(weight) / WAD * SHARE_PRICE_USD
    return max(int((usd / price).scaleb(decimals).to_integral_value(ROUND_DOWN)), MIN_UNIT)


def _backtest(
    config: ReplayConfig, history: History, fixed: Methodology, dates: list[str], on_day: Callable[[int], None] | None
) -> BacktestResult:
    """The off-chain backtest of the window, rebalancing on drift past the keeper's band."""
    return run_backtest(
        history,
        fixed,
        dates[0],
        dates[-1],
        Schedule("drift", config.band_bps),
        # the keeper pays the gas, not the vault: only DEX costs come out of NAV, at the chain's pool depths
        CostModel(gwei=0.0, liquidity=config.liquidity),
        nav_usd=config.nav_usd,
        on_day=on_day,
    )


def _replay_spec(book: AddressBook, prices: dict[str, Decimal], basket: list[str], weights) -> BasketSpec:
    """The replay vault's spec: the book's tokens at `weights` of a $100 share at `prices`."""
    base = "ETH" if "ETH" in basket else basket[0]
    constituents = []
    for asset, weight in zip(basket, weights, strict=True):
        meta = book.tokens[asset]
        price = prices[asset]
        constituents.append(
            Constituent(
                symbol=meta["symbol"],
                name=meta["name"],
                decimals=meta["decimals"],
                units=_units(weight, price, meta["decimals"]),
                address=meta["address"],
                price_usd=price,
                weight=weight,
            )
        )
    return BasketSpec(
        name="Replay Index",
        symbol="RPLY",
        constituents=tuple(constituents),
        base_asset=book.tokens[base]["symbol"],
    )


def _deploy_replay_vault(
    config: ReplayConfig,
    spec: BasketSpec,
    book: AddressBook,
    oracle: ContractInstance,
    deployer: AccountAPI,
    keeper_account: AccountAPI,
    echo: Echo,
) -> tuple[Deployed, dict[str, ContractInstance]]:
    """Step 3's contracts: the vault and its Rebalancer, both DEX adapters allowed, the fee, the keeper role."""
    deployed = deploy_vault(spec, deployer, local=True, oracle=oracle.address, echo=_quiet)
    vault, rebalancer = deployed.vault, deployed.rebalancer
    adapters = deploy_adapters(
        deployer, v3_swap_router=book.uniswap["swap_router"], v2_router=book.uniswap_v2.get("router")
    )
    allow_adapters(rebalancer, adapters, deployer)
    if config.management_fee_bps:
        vault.set_fees(rate_from_annual_bps(config.management_fee_bps), 0, 0, 0, 0, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper_account, sender=deployer)
    echo(f"vault at {vault.address}, rebalancer {rebalancer.address}, oracle router {oracle.address}")
    return deployed, adapters


def _seed(
    config: ReplayConfig,
    spec: BasketSpec,
    deployed: Deployed,
    book: AddressBook,
    holder: AccountAPI,
    deployer: AccountAPI,
    echo: Echo,
) -> None:
    """Mints `nav_usd` worth of shares in kind to `holder` (tokens minted, or ether wrapped, first)."""
    vault = deployed.vault
    shares = config.nav_usd * WAD // SHARE_PRICE_USD
    for c, token in zip(spec.constituents, deployed.tokens, strict=True):
        amount = -(-c.units * shares // WAD)
        if token.address == book.uniswap["weth"]:
            npm_container("WETH9").at(token.address).deposit(value=amount, sender=holder)
        else:
            npm_container("StandardTokenMock").at(token.address).mint(holder, amount, sender=deployer)
        token.approve(vault, amount, sender=holder)
    vault.mint_in_kind(shares, holder, [2**256 - 1] * len(spec.constituents), sender=holder)
    echo(f"minted {shares // WAD:,} shares in kind (${config.nav_usd:,} at the start day's closes)")


def _replay_keeper(
    config: ReplayConfig,
    rebalancer: str,
    account: AccountAPI,
    adapters: dict[str, ContractInstance],
    book: AddressBook,
    log: EventLog | None,
) -> Keeper:
    """The real keeper of the replay's rebalancer, through both adapters and the market's QuoterV2."""
    return Keeper(
        rebalancer,
        account,
        adapter=adapters["uniswap-v3"].address,
        v2_adapter=adapters["uniswap-v2"].address if "uniswap-v2" in adapters else None,
        split_adapter=adapters["split"].address if "split" in adapters else None,
        quoter=book.uniswap["quoter_v2"],
        swap_router=book.uniswap["swap_router"],
        config=KeeperConfig(
            band=config.band_bps * WAD // BPS,
            min_trade_usd=config.min_trade_usd * WAD,
            receipt_timeout=30.0,
            trade_band=config.trade_band_bps * WAD // BPS,
            poll_interval=0.05,
        ),
        log=log or EventLog("json", stream=io.StringIO()),
    )


def _replay_result(
    config: ReplayConfig,
    dates: list[str],
    method: str,
    universe: str,
    basket: list[str],
    addresses: dict[str, str],
    backtest: BacktestResult,
) -> ReplayResult:
    """The replay's record before its first day."""
    return ReplayResult(
        start=dates[0],
        end=dates[-1],
        method=method,
        universe=universe,
        assets=basket,
        band_bps=config.band_bps,
        nav_usd=float(config.nav_usd),
        gwei=config.gwei,
        addresses=addresses,
        backtest_summary=backtest.summary(),
        management_fee_bps=config.management_fee_bps,
    )


def setup_replay(
    config: ReplayConfig,
    deployer: AccountAPI,
    holder: AccountAPI,
    keeper_account: AccountAPI,
    *,
    echo: Echo = _quiet,
    keeper_log: EventLog | None = None,
    on_backtest_day: Callable[[int], None] | None = None,
    secondary: tuple[AccountAPI, AccountAPI] | None = None,
) -> ReplaySetup:
    """Steps 1-3 of the module doc; returns everything the daily loop needs. With `secondary` (a noise trader's
    and an arbitrageur's accounts), the index token's secondary market too (`index_vault.replay.chain.secondary`)."""
    started = time.monotonic()
    panel_path = find_panel(config.data or project_root() / PANEL_PATH)
    methodology = config.methodology()
    columns = [methodology.metric_name] if methodology.method.startswith(METRIC_PREFIX) else []
    history, panel = load_history(panel_path, columns), load_panel(panel_path)
    dates = _window(history, config.start, config.days)
    first = methodology.weights(history, dates[0])
    basket = list(first.assets)
    fixed = replace(methodology, assets=tuple(basket), top=None)
    shown = ", ".join(f"{a} {w / 1e16:.2f}%" for a, w in zip(basket, first.weights, strict=True))
    echo(f"basket on {dates[0]}: {shown}")

    backtest = _backtest(config, history, fixed, dates, on_backtest_day)
    plan = plan_market(dates[0], basket, panel, config.liquidity)
    block_before = chain.blocks.head.number
    book = build_market(plan, deployer)
    echo(f"market built at {dates[0]}: {len(book.pools)} Uniswap V3 pools and {len(book.v2_pairs)} V2 pairs")
    advance_time(FEED_SETTINGS.twap_window + 60)  # a TWAP needs history: let the window fill
    oracle = deploy_oracle(book, plan.prices, deployer, FEED_SETTINGS)

    spec = _replay_spec(book, plan.prices, basket, first.weights)
    deployed, adapters = _deploy_replay_vault(config, spec, book, oracle, deployer, keeper_account, echo)
    vault, rebalancer = deployed.vault, deployed.rebalancer
    _seed(config, spec, deployed, book, holder, deployer, echo)
    setup_gas = sum(
        (b.gas_used for b in chain.blocks.range(block_before + 1, chain.blocks.head.number + 1)),
        start=0,
    )

    keeper = _replay_keeper(config, rebalancer.address, keeper_account, adapters, book, keeper_log)
    addresses = {
        "vault": vault.address,
        "rebalancer": rebalancer.address,
        "oracle": oracle.address,
        **{f"adapter_{k}": a.address for k, a in adapters.items()},
        "quoter_v2": book.uniswap["quoter_v2"],
    }
    result = _replay_result(config, dates, fixed.method, methodology.universe, basket, addresses, backtest)
    result.setup_gas = setup_gas
    setup = ReplaySetup(
        book=book,
        vault=vault,
        rebalancer=rebalancer,
        oracle=oracle,
        keeper=keeper,
        holder=holder,
        basket=basket,
        tokens=deployed.tokens,
        decimals=[c.decimals for c in spec.constituents],
        methodology=fixed,
        dates=dates,
        history=history,
        result=result,
        targets=tuple(first.weights),
        backtest=backtest,
        panel=panel,
        started=started,
        mover=MarketMover(book, deployer),
    )
    result.days.append(_record(setup, 0, drift=0.0))
    if secondary:
        setup.secondary = setup_secondary(setup, deployer, *secondary, holder)
        echo(f"index token on a V3 pool {setup.secondary.pools['v3'].address} and a V2 pair, seeded at NAV")
    setup.day0_timestamp = chain.blocks.head.timestamp
    return setup


def _prices(setup: ReplaySetup, i: int) -> list[float]:
    day = setup.history.index(setup.dates[i])
    return [setup.history.price(a, day) for a in setup.basket]


def _weights(setup: ReplaySetup, i: int) -> tuple[dict[str, float], float, int]:
    """The vault's weights at day `i`'s closes, its NAV in USD and its supply (with any pending fee shares)."""
    balances = [t.balanceOf(setup.vault) for t in setup.tokens]
    values = [b / 10**d * p for b, d, p in zip(balances, setup.decimals, _prices(setup, i), strict=True)]
    nav = sum(values)
    supply = setup.vault.totalSupply() + setup.vault.pending_management_fee()
    return {a: v / nav for a, v in zip(setup.basket, values, strict=True)}, nav, supply


def _record(setup: ReplaySetup, i: int, drift: float, rounds: list[RoundResult] = ()) -> ReplayDay:
    weights, nav, supply = _weights(setup, i)
    targets = {a: w / WAD for a, w in zip(setup.basket, setup.targets, strict=True)}
    result = setup.result
    first = result.days[0] if result.days else None
    per_share = nav / supply
    tracked = 100.0 if first is None else 100.0 * per_share / (first.nav_usd / first.supply)
    day = ReplayDay(
        date=setup.dates[i],
        nav_usd=nav,
        supply=supply,
        tracked=tracked,
        ideal=setup.backtest.ideal[i],
        backtest=setup.backtest.tracked[i],
        weights=weights,
        targets=targets,
        drift=drift,
    )
    if rounds:
        outcomes = [t for r in rounds for t in r.trades]
        day.trades = sum(1 for t in outcomes if t.status == "mined")
        day.starts = sum(1 for r in rounds for t in r.starts if t.status == "mined")
        day.start_reasons = [start_reason(r.decision) for r in rounds for t in r.starts if t.status == "mined"]
        day.refreshes = sum(1 for r in rounds for t in r.refreshes if t.status == "mined")
        gas = [r.gas() for r in rounds]
        day.gas_start = sum(g["start"] for g in gas)
        day.gas_refresh = sum(g["refresh"] for g in gas)
        day.gas_trade = sum(g["trade"] for g in gas)
        day.gas = sum(g["total"] for g in gas)
        day.status = rounds[-1].status + (f" ({len(rounds)} rounds)" if len(rounds) > 1 else "")
        day.reason = rounds[-1].reason or ""
    return day


def move_to_day(setup: ReplaySetup, i: int, deployer: AccountAPI) -> float:
    """Step 4 of the module doc up to the keeper: the clock, the market and the targets to day `i` (i >= 1).
    Returns the largest |weight - target| the keeper then faces."""
    chain.mine(timestamp=max(chain.blocks.head.timestamp + 1, setup.day0_timestamp + i * DAY))
    setup.book = advance_market(setup.book, setup.dates[i], deployer, setup.panel, mover=setup.mover)
    advance_time(FEED_SETTINGS.twap_window + 60)
    proposal = setup.methodology.weights(setup.history, setup.dates[i])
    if tuple(proposal.weights) != setup.targets:
        setup.rebalancer.set_target_weights(list(proposal.weights), sender=deployer)
        setup.targets = tuple(proposal.weights)
    weights, _, _ = _weights(setup, i)
    return max(abs(weights[a] - w / WAD) for a, w in zip(setup.basket, setup.targets, strict=True))


def keeper_round(setup: ReplaySetup, i: int, drift: float, keeper: Keeper | None = None) -> ReplayDay:
    """The rounds of `keeper` (default: the setup's) on day `i`, then step 5: the day's record, appended.

    A keeper runs all day and arbitrageurs keep the pools at the market price: when a round ends because a
    pair is cooling down or a pool's depth is spent for now (slippage), the clock moves past the cool-down,
    the pools are arbitraged back to the day's close, and another round runs, up to `MAX_ROUNDS_PER_DAY`.
    """
    result = setup.result
    keeper = keeper or setup.keeper
    reverts_before = keeper.metrics.trades_reverted
    rounds = [keeper.run_round()]
    while (
        len(rounds) < MAX_ROUNDS_PER_DAY
        and rounds[-1].status in ("traded", "idle")
        and any(limit in (rounds[-1].reason or "") for limit in RETRY_LIMITS)
        and rounds[-1].snapshot is not None
    ):
        advance_time(rounds[-1].snapshot.limits.cooldown + 1)
        if "slippage" in (rounds[-1].reason or ""):
            day = setup.dates[i]
            setup.book = advance_market(setup.book, day, setup.mover.trader, setup.panel, mover=setup.mover)
            advance_time(FEED_SETTINGS.twap_window + 60)
        rounds.append(keeper.run_round())
    result.rounds += len(rounds)
    result.reverts += keeper.metrics.trades_reverted - reverts_before
    prices = dict(zip(setup.basket, _prices(setup, i), strict=True))
    by_address = {t.address: (a, d) for a, t, d in zip(setup.basket, setup.tokens, setup.decimals, strict=True)}
    for outcome in (t for r in rounds for t in r.trades):
        if outcome.status != "mined":
            continue
        (sell, sell_dec), (buy, buy_dec) = by_address[outcome.trade.sell], by_address[outcome.trade.buy]
        sold = outcome.trade.amount_in / 10**sell_dec * prices[sell]
        bought = outcome.amount_out / 10**buy_dec * prices[buy]
        result.trades.append(
            ReplayTrade(
                setup.dates[i], sell, buy, sold, sold - bought, outcome.gas_used, outcome.tx_hash, outcome.venue
            )
        )
    day = _record(setup, i, drift, rounds)
    result.days.append(day)
    return day


def replay_day(setup: ReplaySetup, i: int, deployer: AccountAPI) -> ReplayDay:
    """Steps 4 and 5 of the module doc for day `i` of the window (i >= 1), then the secondary market's day."""
    day = keeper_round(setup, i, move_to_day(setup, i, deployer))
    if setup.secondary is not None:
        secondary_day(setup, setup.secondary, i)
    return day


def finish_replay(setup: ReplaySetup) -> ReplayResult:
    """The management fee accrued to its recipient, valued at the last day's NAV per share; the backtest's
    summary cut to the days replayed when the replay stopped early."""
    result, vault = setup.result, setup.vault
    if result.days[-1].date != setup.dates[-1]:
        config = setup.backtest
        short = run_backtest(
            setup.history,
            setup.methodology,
            result.start,
            result.days[-1].date,
            config.schedule,
            config.costs,
            nav_usd=config.nav_usd,
        )
        result.backtest_summary = short.summary()
        result.end = result.days[-1].date
    last = result.days[-1]
    fee_shares = vault.balanceOf(vault.fee_recipient()) + vault.pending_management_fee()
    result.management_fee_usd = fee_shares * last.nav_usd / last.supply if result.management_fee_bps else 0.0
    result.seconds = time.monotonic() - setup.started
    return result


def run_replay(
    config: ReplayConfig,
    deployer: AccountAPI,
    holder: AccountAPI,
    keeper_account: AccountAPI,
    *,
    echo: Echo = _quiet,
    on_day: Callable[[ReplayDay], None] | None = None,
    keeper_log: EventLog | None = None,
) -> ReplayResult:
    """The whole replay (module doc); `on_day` after each replayed day, for a progress bar."""
    setup = setup_replay(config, deployer, holder, keeper_account, echo=echo, keeper_log=keeper_log)
    for i in range(1, len(setup.dates)):
        day = replay_day(setup, i, deployer)
        if on_day:
            on_day(day)
    return finish_replay(setup)


def eth_prices(history: History, dates: list[str]) -> dict[str, float]:
    """ETH's close on each date (for the USD figure of gas)."""
    return {d: history.price("ETH", history.index(d)) or 0.0 for d in dates}
