"""Backtests on real history: an ideal index against one that is only rebalanced on a schedule and pays for it.

Both start on `start` at 100, invested at that day's target weights at no cost (a vault seeded in kind). Every
later day, in order:
- the ideal index earns yesterday's target weights' return (it is back at target every day, for free);
- the tracked index's holdings drift with prices;
- the day's target is computed from data up to that day (`Methodology.weights`, the same integer weights
  `index-vault weights` proposes);
- on a rebalance day (`Schedule`) the tracked index trades every constituent back to target at the day's prices
  and pays the `CostModel`; its NAV drops by the cost before the new holdings are bought. That is the naive
  execution (`execution=NAIVE`, the default here; `--execution naive`). Under another `ExecutionPolicy`
  (`index_vault.keeper.execution`, `--execution default`) a rebalance trades over up to the policy's window of
  days from the rebalance day: each day, each gap to that day's target is traded whole, cut to the policy's
  impact budget (what is left trades whole on the window's last day), or left in the cost-aware no-trade band;
  a name with no pool goes to the auction. Sells go first, into cash, and buys spend what cash holds (scaled down
  together when it is short). Cash counts in the NAV and earns nothing.

Cost model (`CostModel`), in USD at the tracked NAV (`nav_usd` at the start): each constituent whose value
changes is one trade against its own USDC pool, a constant-product pool of depth `D` per side: with
`liquidity="legacy"` the local market's rule (`pool_depth_usd` in `index_vault.market.model`, on the day's robust
market cap); with `thin`, `base` or `deep` that variant of the data model (`index_vault.market.liquidity`: the
asset's real V2, SushiSwap and V3 depth that day, the trade split across them in proportion to depth). A trade
pays the pool's fee (`fee_bps`, 30 as the market's 0.3% pools) and the price impact: selling or buying `x` USD
against depth `D` costs `x - D * x' / (D + x')` with `x' = x * (1 - fee)`. Each trade also pays `gas_per_trade`
gas (210,000: `make demo`'s keeper trades average 207,845, through one pool or two) at `gwei` and the day's ETH
price. A trade smaller than a billionth of NAV (float noise) is not made.

Schedules: `daily`, `weekly` (first day of an ISO week), `monthly`, `quarterly` (first day in the window of
each month or quarter), `drift:BPS` (when a constituent's weight is more than BPS basis points off its target).

Summary (`BacktestResult.summary`): daily returns, 365 a year. `tracking_error_annual` is the sample standard
deviation of the daily return difference (tracked - ideal) times sqrt(365); `tracking_difference_annual` the
tracked index's annualised return less the ideal one's; `turnover_annual` the one-way turnover (half the sum
of absolute trades over NAV, summed over rebalances) per year; `costs_usd` slippage plus gas; `rebalances`
the rebalances after the start. Floats throughout: this is analytics, nothing here meets the chain.

Length: over 500 lines; the day loop, the naive rebalance and the policy's day of execution share the cost model
and the result they book into, and read best side by side.
"""

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date

from index_vault.keeper.execution import NAIVE, Decision, ExecutionPolicy, decide_all, tracking_variance
from index_vault.market.liquidity import VARIANTS, LiquidityModel
from index_vault.market.model import MIN_DEPTH_USD, POOL_FEE, MarketDataError, pool_depth_usd
from index_vault.methodology.history import History, MethodologyError, date_range, days_between
from index_vault.methodology.weights import Methodology

PERIODS_PER_YEAR = 365
GAS_PER_TRADE = 210_000  # make demo: 6,027,498 gas over 29 keeper trades
GWEI = 30.0
NAV_USD = 1_000_000.0
NOISE = 1e-9  # trades below this share of NAV are not made
VARIANCE_DAYS = 30  # trailing days of the tracking variance the execution policy's no-trade band weighs
SCHEDULE_KINDS = ("daily", "weekly", "monthly", "quarterly")
LIQUIDITY_MODELS = ("legacy", *VARIANTS)  # legacy: the local market's depth rule; else a variant of the data model


@dataclass(frozen=True)
class Schedule:
    """When the tracked index rebalances: a calendar rule, or a drift threshold in basis points."""

    kind: str
    drift_bps: float = 0.0

    @classmethod
    def parse(cls, text: str) -> "Schedule":
        """`daily`, `weekly`, `monthly`, `quarterly` or `drift:BPS`."""
        raw = text.strip().lower()
        if raw in SCHEDULE_KINDS:
            return cls(raw)
        if raw.startswith("drift:"):
            try:
                bps = float(raw[len("drift:") :])
            except ValueError:
                bps = -1.0
            if math.isfinite(bps) and bps >= 0:
                return cls("drift", bps)
        raise MethodologyError(f"unknown schedule {text!r}; use {', '.join(SCHEDULE_KINDS)} or drift:BPS", "rebalance")

    def __str__(self) -> str:
        return f"drift:{self.drift_bps:g}" if self.kind == "drift" else self.kind

    def due(self, previous: str, today: str, drift: float) -> bool:
        """Whether to rebalance on `today` (the day before in the data was `previous`; `drift` the largest gap)."""
        if self.kind == "drift":
            return drift * 10_000 > self.drift_bps
        if self.kind == "daily":
            return True
        before, now = date.fromisoformat(previous), date.fromisoformat(today)
        if self.kind == "weekly":
            return before.isocalendar()[:2] != now.isocalendar()[:2]
        if self.kind == "monthly":
            return (before.year, before.month) != (now.year, now.month)
        return (before.year, (before.month - 1) // 3) != (now.year, (now.month - 1) // 3)


@dataclass(frozen=True)
class CostModel:
    """DEX fee and constant-product price impact against the local market's pool depth, plus gas per trade."""

    enabled: bool = True
    fee_bps: float = POOL_FEE / 100
    gas_per_trade: int = GAS_PER_TRADE
    gwei: float = GWEI
    liquidity: str = "legacy"  # the pool depth: the local market's rule, or thin/base/deep of the data model

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps < 10_000 or self.gas_per_trade < 0 or self.gwei < 0:
            raise MethodologyError("costs: the fee must be within 0..10000 bps, gas and gwei non-negative", "costs")
        if self.liquidity not in LIQUIDITY_MODELS:
            raise MethodologyError(
                f"unknown liquidity model {self.liquidity!r}; use {', '.join(LIQUIDITY_MODELS)}", "liquidity"
            )

    @property
    def needs_eth(self) -> bool:
        return self.enabled and self.gas_per_trade > 0 and self.gwei > 0

    def swap_cost_usd(self, amount_usd: float, depth_usd: float) -> float:
        """What a trade of `amount_usd` loses to the fee and the price impact in a pool `depth_usd` deep a side."""
        if not self.enabled or amount_usd <= 0:
            return 0.0
        net = amount_usd * (1 - self.fee_bps / 10_000)
        return amount_usd - depth_usd * net / (depth_usd + net)

    def gas_usd(self, eth_price: float) -> float:
        """One trade's gas in USD."""
        return self.gas_per_trade * self.gwei * 1e-9 * eth_price if self.enabled else 0.0

    def to_dict(self) -> dict:
        return {
            "enabled": self.enabled,
            "fee_bps": self.fee_bps,
            "gas_per_trade": self.gas_per_trade,
            "gwei": self.gwei,
            "liquidity": self.liquidity,
        }


@dataclass
class BacktestResult:
    """A backtest's daily record (levels start at 100) and totals; `summary()` is `summary.json`."""

    methodology: Methodology
    schedule: Schedule
    costs: CostModel
    nav_usd: float
    data: str
    dates: list[str]
    ideal: list[float]
    tracked: list[float]
    weights: list[dict[str, float]]  # tracked, at the end of each day
    targets: list[dict[str, float]]
    drift: list[float]  # the largest |weight - target| before the day's rebalance
    returns: dict[str, list[float | None]]  # each constituent's daily return (dates[1:]); None where unobserved
    rebalance_dates: list[str] = field(default_factory=list)
    turnover: float = 0.0
    slippage_usd: float = 0.0
    gas_usd: float = 0.0
    trades: int = 0
    warnings: list[str] = field(default_factory=list)
    execution: ExecutionPolicy = NAIVE

    @property
    def assets(self) -> list[str]:
        """Every asset ever targeted or held, in order of first appearance."""
        seen: dict[str, None] = {}
        for day in [*self.targets, *self.weights]:
            seen.update(dict.fromkeys(day))
        return list(seen)

    @property
    def years(self) -> float:
        return days_between(self.dates[0], self.dates[-1]) / PERIODS_PER_YEAR

    def daily_returns(self, levels: list[float]) -> list[float]:
        return [b / a - 1 for a, b in itertools.pairwise(levels)]

    def annual_return(self, levels: list[float]) -> float:
        return (levels[-1] / levels[0]) ** (1 / self.years) - 1

    def summary(self) -> dict:
        """The summary.json keys (module doc), then context."""
        return {
            "start": self.dates[0],
            "end": self.dates[-1],
            "method": self.methodology.method,
            **tracking(self.dates, self.ideal, self.tracked),
            "turnover_annual": self.turnover / self.years,
            "costs_usd": self.slippage_usd + self.gas_usd,
            "rebalances": len(self.rebalance_dates),
            "universe": self.methodology.universe,
            "cap": str(self.methodology.effective_cap),
            "floor": str(self.methodology.floor),
            "schedule": str(self.schedule),
            "nav_usd": self.nav_usd,
            "cost_model": self.costs.to_dict(),
            "execution": asdict(self.execution),
            "slippage_usd": self.slippage_usd,
            "gas_usd": self.gas_usd,
            "trades": self.trades,
            "return_annual_ideal": self.annual_return(self.ideal),
            "return_annual_tracked": self.annual_return(self.tracked),
            "final_level_ideal": self.ideal[-1],
            "final_level_tracked": self.tracked[-1],
            "days": len(self.dates),
            "data": self.data,
            "warnings": self.warnings,
        }


def tracking(dates: list[str], ideal: list[float], tracked: list[float]) -> dict[str, float]:
    """`tracking_error_annual` and `tracking_difference_annual` of two level series over `dates` (module doc)."""
    years = days_between(dates[0], dates[-1]) / PERIODS_PER_YEAR
    returns = [[b / a - 1 for a, b in itertools.pairwise(levels)] for levels in (tracked, ideal)]
    difference = [t - i for t, i in zip(*returns, strict=True)]
    te = statistics.stdev(difference) * math.sqrt(PERIODS_PER_YEAR) if len(difference) > 1 else 0.0

    def annual(levels: list[float]) -> float:
        return (levels[-1] / levels[0]) ** (1 / years) - 1 if years > 0 else 0.0

    return {"tracking_error_annual": te, "tracking_difference_annual": annual(tracked) - annual(ideal)}


def run_backtest(
    history: History,
    methodology: Methodology,
    start: str,
    end: str,
    schedule: Schedule,
    costs: CostModel | None = None,
    nav_usd: float = NAV_USD,
    on_day: Callable[[int], None] | None = None,
    execution: ExecutionPolicy = NAIVE,
) -> BacktestResult:
    """Replays `start`..`end` day by day (module doc); `on_day(1)` after each day, for a progress bar. With an
    `execution` policy other than `NAIVE`, a rebalance trades over up to its window of days (`_execute`).

    Length: over 80 lines; the day loop follows the module doc's steps in order and reads as one piece.
    """
    costs = costs or CostModel()
    methodology.check(history)
    start, end = date_range(start, end)
    first, last = history.index(start, "start"), history.index(end, "end")
    if last - first < 1:
        raise MethodologyError(f"empty window: the data have fewer than two days in {start}..{end}", "start")
    if not nav_usd > 0:
        raise MethodologyError("the NAV must be positive", "nav")
    if costs.needs_eth and "ETH" not in history.symbols:
        raise MethodologyError("gas costs need ETH's price, which the data lack (set the gwei to 0)", "gwei")
    warnings = _Warnings()
    liquidity = history.liquidity_model() if costs.enabled and costs.liquidity != "legacy" else None

    def target(i: int) -> dict[str, float]:
        proposal = methodology.weights(history, i)
        warnings.add(proposal.warnings)
        return {a: w for a, w in proposal.fractions().items() if w > 0}

    def prices(i: int, assets: list[str]) -> dict[str, float]:
        found = {a: history.price(a, i) for a in assets}
        missing = [a for a, p in found.items() if p is None]
        if missing:
            raise MarketDataError(f"{', '.join(missing)} held but without a price on {history.dates[i]} or just before")
        return found

    goal = target(first)
    now = prices(first, list(goal))
    holdings = {a: w * 100 / now[a] for a, w in goal.items()}  # index-level units per price
    result = BacktestResult(
        methodology=methodology,
        schedule=schedule,
        costs=costs,
        nav_usd=nav_usd,
        data=str(history.path),
        dates=[history.dates[first]],
        ideal=[100.0],
        tracked=[100.0],
        weights=[dict(goal)],
        targets=[dict(goal)],
        drift=[0.0],
        returns={},
        execution=execution,
    )
    ideal_weights = goal
    cash = [0.0]  # index points held in USD between the days of a spread rebalance
    window = 0  # days left in the current rebalance's window
    if on_day:
        on_day(1)
    for i in range(first + 1, last + 1):
        before, today = history.dates[i - 1], history.dates[i]
        yesterday = now
        now = prices(i, list(dict.fromkeys([*holdings, *ideal_weights])))
        result.ideal.append(
            result.ideal[-1] * (1 + sum(w * (now[a] / yesterday[a] - 1) for a, w in ideal_weights.items()))
        )
        value = sum(q * now[a] for a, q in holdings.items()) + cash[0]
        goal = target(i)
        now.update(prices(i, [a for a in goal if a not in now]))
        current = {a: q * now[a] / value for a, q in holdings.items()}
        drift = max((abs(current.get(a, 0.0) - goal.get(a, 0.0)) for a in {*current, *goal}), default=0.0)
        due = schedule.due(before, today, drift)
        if due:
            result.rebalance_dates.append(today)
        if execution.naive and due:
            value = _rebalance(history, i, holdings, now, value, goal, costs, nav_usd / 100, result, liquidity)
            current = dict(goal)
        elif not execution.naive and (due or window > 0):
            window = execution.window_days if due else window
            context = _Day(history, i, now, costs, nav_usd / 100, liquidity, _horizon_days(schedule))
            value, more = _execute(context, holdings, cash, value, goal, execution, result, last_day=window == 1)
            window = window - 1 if more else 0
            current = {a: q * now[a] / value for a, q in holdings.items()}
        result.dates.append(today)
        result.tracked.append(value)
        result.weights.append(current)
        result.targets.append(goal)
        result.drift.append(drift)
        ideal_weights = goal
        if on_day:
            on_day(1)
    for asset in result.assets:
        series = history.columns["price_usd"][asset]
        result.returns[asset] = [
            series[i] / series[i - 1] - 1 if series[i] and series[i - 1] else None for i in range(first + 1, last + 1)
        ]
    result.warnings = warnings.summary()
    return result


def _rebalance(
    history: History,
    i: int,
    holdings: dict[str, float],
    prices: dict[str, float],
    value: float,
    goal: dict[str, float],
    costs: CostModel,
    usd_per_point: float,
    result: BacktestResult,
    liquidity: LiquidityModel | None = None,
) -> float:
    """Trades `holdings` to `goal` at `prices`, paying `costs` against the pool depth of `liquidity` (the data
    model, at the cost model's variant) or, without it, of the local market's rule; returns the NAV left (index
    points)."""
    trades = {a: goal.get(a, 0.0) * value - holdings.get(a, 0.0) * prices[a] for a in {*holdings, *goal}}
    trades = {a: t for a, t in trades.items() if abs(t) > NOISE * value}
    slippage = 0.0
    for asset, amount in sorted(trades.items()):
        depth = _depth_usd(history, i, asset, costs, liquidity)
        slippage += costs.swap_cost_usd(abs(amount) * usd_per_point, depth)
    gas = len(trades) * costs.gas_usd(history.price("ETH", i) or 0.0) if costs.needs_eth else 0.0
    result.slippage_usd += slippage
    result.gas_usd += gas
    result.trades += len(trades)
    result.turnover += sum(abs(t) for t in trades.values()) / 2 / value
    left = value - (slippage + gas) / usd_per_point
    if left <= 0:
        raise MethodologyError(f"costs on {history.dates[i]} exceed the NAV; raise --nav or lower the costs", "nav")
    holdings.clear()
    holdings.update({a: w * left / prices[a] for a, w in goal.items()})
    return left


def _depth_usd(history: History, i: int, asset: str, costs: CostModel, liquidity: LiquidityModel | None) -> float:
    """`asset`'s pool depth per side on day `i`: the data model's at the cost model's variant, else the local
    market's rule."""
    cap = history.market_cap(asset, i)
    if liquidity is None:
        return pool_depth_usd(int(cap)) if cap else MIN_DEPTH_USD
    if not cap:
        raise MarketDataError(f"{asset} has no market cap on {history.dates[i]}: its pool depth cannot be modelled")
    return liquidity.depth(asset, history.dates[i], cap, costs.liquidity).total_usd


@dataclass(frozen=True)
class _Day:
    """What a day of a spread rebalance reads: the data, the day, its prices, the costs and the horizon."""

    history: History
    i: int
    prices: dict[str, float]
    costs: CostModel
    usd_per_point: float
    liquidity: LiquidityModel | None
    horizon_days: int


def _execute(
    day: _Day,
    holdings: dict[str, float],
    cash: list[float],
    value: float,
    goal: dict[str, float],
    policy: ExecutionPolicy,
    result: "BacktestResult",
    last_day: bool,
) -> tuple[float, bool]:
    """One day of a rebalance under `policy` (`index_vault.keeper.execution`): sells first, into `cash`, then buys
    with what cash holds (scaled down together when it is short); returns the NAV left (index points) and whether
    anything is left to trade on a later day of the window."""
    usd, prices, costs = day.usd_per_point, day.prices, day.costs
    gas = costs.gas_usd(day.history.price("ETH", day.i) or 0.0) if costs.needs_eth else 0.0
    fee = costs.fee_bps if costs.enabled else 0.0
    gaps = {a: goal.get(a, 0.0) * value - holdings.get(a, 0.0) * prices[a] for a in {*holdings, *goal}}
    gaps = {a: gap * usd for a, gap in gaps.items() if abs(gap) > NOISE * value}
    # free trades (costs off) move no price: nothing to spread
    depths = {a: _depth_usd(day.history, day.i, a, costs, day.liquidity) if costs.enabled else math.inf for a in gaps}
    variances = {a: _tracking_variance(day, a, result) * day.horizon_days for a in gaps}
    decided = decide_all(policy, gaps, value * usd, depths, variances, gas, fee, last_day)  # the keeper's too
    decisions: dict[str, tuple[Decision, float]] = {a: (d, depths[a]) for a, d in decided.items()}
    more = any(d.reason == "slice" for d, _ in decisions.values())
    sells = {a: x for a, x in decisions.items() if x[0].traded_usd < 0}
    buys = {a: x for a, x in decisions.items() if x[0].traded_usd > 0}
    for asset, (decision, depth) in sells.items():
        pool, auction = -decision.pool_usd, -decision.auction_usd
        slippage, paid = _book(result, costs, pool, auction, depth, gas, policy, value * usd)
        holdings[asset] -= (pool + auction) / usd / prices[asset]
        cash[0] += (pool + auction - slippage - paid) / usd
    need = sum(d.traded_usd for d, _ in buys.values())
    scale = min(1.0, max(cash[0] * usd, 0.0) / need) if need > 0 else 1.0
    more = more or (scale < 1.0 and not last_day)
    for asset, (decision, depth) in buys.items():
        pool, auction = decision.pool_usd * scale, decision.auction_usd * scale
        slippage, paid = _book(result, costs, pool, auction, depth, gas, policy, value * usd)
        holdings[asset] = holdings.get(asset, 0.0) + (pool + auction - slippage) / usd / prices[asset]
        cash[0] -= (pool + auction + paid) / usd
    for asset in [a for a, q in holdings.items() if a not in goal and abs(q * prices[a]) <= NOISE * value]:
        del holdings[asset]
    left = sum(q * prices[a] for a, q in holdings.items()) + cash[0]
    if left <= 0:
        raise MethodologyError(
            f"costs on {day.history.dates[day.i]} exceed the NAV; raise --nav or lower the costs", "nav"
        )
    return left, more


def _book(
    result: "BacktestResult",
    costs: CostModel,
    pool: float,
    auction: float,
    depth: float,
    gas: float,
    policy: ExecutionPolicy,
    nav_usd: float,
) -> tuple[float, float]:
    """Records one asset's pool and auction trades of a day (USD) in `result`; returns what they lose to the pool
    and the auction, and the gas they pay."""
    count = (pool > 0) + (auction > 0)
    discount = policy.auction_discount_bps / 10_000 if costs.enabled else 0.0
    slippage = costs.swap_cost_usd(pool, depth) + auction * discount
    result.slippage_usd += slippage
    result.gas_usd += count * gas
    result.trades += count
    result.turnover += (pool + auction) / 2 / nav_usd
    return slippage, count * gas


def _tracking_variance(day: _Day, asset: str, result: "BacktestResult") -> float:
    """The daily variance of `asset`'s return less the ideal index's over the last `VARIANCE_DAYS` days (infinite
    with fewer than five: a gap is then always worth trading)."""
    series = day.history.columns["price_usd"].get(asset, ())
    first = day.i - (len(result.ideal) - 1)  # the data's index of the window's first day
    asset, index = [], []
    for j in range(max(first + 1, day.i - VARIANCE_DAYS + 1), day.i + 1):
        k = j - first
        if k >= len(result.ideal) or j >= len(series) or not series[j] or not series[j - 1]:
            continue
        asset.append(series[j] / series[j - 1] - 1)
        index.append(result.ideal[k] / result.ideal[k - 1] - 1)
    return tracking_variance(asset, index)


def _horizon_days(schedule: Schedule) -> int:
    """The days until the schedule's next rebalance, roughly: how long a gap left today lasts."""
    return {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91}.get(schedule.kind, 30)


class _Warnings:
    """Daily methodology warnings, folded into one line per message with its days."""

    def __init__(self) -> None:
        self.days: dict[str, list[str]] = {}

    def add(self, messages: tuple[str, ...]) -> None:
        for message in messages:
            day, _, text = message.partition(": ")
            self.days.setdefault(text, []).append(day)

    def summary(self) -> list[str]:
        return [
            f"{text} ({days[0]}{'..' + days[-1] + f', {len(days)} days' if len(days) > 1 else ''})"
            for text, days in self.days.items()
        ]
