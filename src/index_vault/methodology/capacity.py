"""How large an index can grow before its trading costs eat it: one backtest per NAV and liquidity variant.

`capacity` runs the same methodology, window and schedule (`run_backtest`) at each NAV of a grid (default $100k
to $100M, `DEFAULT_NAVS`) under each variant of the liquidity model (`index_vault.market.liquidity`: thin, base,
deep), and reports for each run the costs as a share of NAV a year, the tracking difference and the tracking
error. Costs are U-shaped in NAV: gas is a fixed cost per trade, so a small index pays more of its NAV; price
impact grows with the trade, so a large one does too. The report gives, under each variant, the NAVs whose costs
stay within the budget (50 bps a year by default): from the smallest (the index's *floor*) to the largest (its
*capacity*). Between two grid points the costs' share is interpolated linearly in log NAV, so the figures do not
jump from one grid point to the next; an end of the grid within the budget is reported as a bound ("at most" the
smallest NAV, "at least" the largest). With liquidity caps (`Methodology.depth_multiple`) the caps are sized
at each NAV, and a NAV too large for them to hold the index is a run with infinite costs (`feasible` false).
Floats throughout: this is analytics.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from index_vault.keeper.execution import NAIVE, ExecutionPolicy
from index_vault.market.liquidity import VARIANTS
from index_vault.methodology.backtest import CostModel, Schedule, run_backtest
from index_vault.methodology.history import History, MethodologyError, date_range
from index_vault.methodology.weights import Methodology

DEFAULT_NAVS = (100_000.0, 300_000.0, 1_000_000.0, 3_000_000.0, 10_000_000.0, 30_000_000.0, 100_000_000.0)
DEFAULT_BUDGET_BPS = 50.0


@dataclass(frozen=True)
class CapacityRun:
    """One backtest of the grid."""

    variant: str
    nav_usd: float
    costs_usd: float
    cost_share_annual: float  # costs over the starting NAV, per year
    tracking_difference_annual: float
    tracking_error_annual: float
    trades: int
    feasible: bool = True  # False: too large for its assets' liquidity caps (costs then infinite)


@dataclass(frozen=True)
class Capacity:
    """The grid's runs and, per variant, the NAVs whose costs stay within the budget."""

    method: str
    execution: str  # the execution policy's name
    universe: str  # the methodology's universe (a fixed basket or the top N)
    assets: list[str]  # every asset the index held or targeted in the window
    start: str
    end: str
    schedule: str
    budget_bps: float
    runs: list[CapacityRun]
    floor_usd: dict[str, float | None]  # the smallest NAV within the budget (None: no NAV of the grid is)
    floor_at_most: dict[str, bool]  # the grid's smallest NAV is within: the floor is at most it
    capacity_usd: dict[str, float | None]  # the largest NAV within the budget
    capacity_at_least: dict[str, bool]  # the grid's largest NAV is within: the capacity is at least it

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "execution": self.execution,
            "universe": self.universe,
            "assets": self.assets,
            "start": self.start,
            "end": self.end,
            "schedule": self.schedule,
            "budget_bps": self.budget_bps,
            "floor_usd": self.floor_usd,
            "floor_at_most": self.floor_at_most,
            "capacity_usd": self.capacity_usd,
            "capacity_at_least": self.capacity_at_least,
            "runs": [
                {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in run.__dict__.items()}
                for run in self.runs
            ],
        }


def capacity(
    history: History,
    methodology: Methodology,
    start: str,
    end: str,
    schedule: Schedule,
    costs: CostModel | None = None,
    navs: Sequence[float] = DEFAULT_NAVS,
    budget_bps: float = DEFAULT_BUDGET_BPS,
    variants: Sequence[str] = tuple(VARIANTS),
    on_run: Callable[[str, float], None] | None = None,
    execution: ExecutionPolicy = NAIVE,
) -> Capacity:
    """Backtests every NAV of `navs` under every liquidity variant (module doc), trading by `execution`;
    `on_run(variant, nav)` after each, for progress."""
    start, end = date_range(start, end)
    navs = sorted(float(n) for n in navs)
    if not navs or navs[0] <= 0:
        raise MethodologyError("give at least one positive NAV", "navs")
    if not budget_bps > 0:
        raise MethodologyError("the cost budget must be positive (basis points a year)", "budget-bps")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise MethodologyError(f"unknown liquidity variant {unknown[0]!r}; use {', '.join(VARIANTS)}", "variants")
    costs = costs or CostModel()
    if not costs.enabled:
        raise MethodologyError("a capacity report needs costs", "costs")
    runs = []
    assets: list[str] = []
    for variant in variants:
        for nav in navs:
            run, held = _run(
                history, methodology, start, end, schedule, replace(costs, liquidity=variant), nav, execution
            )
            runs.append(run)
            assets = assets or held
            if on_run:
                on_run(variant, nav)
    budget = budget_bps / 10_000
    floors: dict[str, tuple[float | None, bool]] = {}
    capacities: dict[str, tuple[float | None, bool]] = {}
    for variant in variants:
        points = [(r.nav_usd, r.cost_share_annual) for r in runs if r.variant == variant]
        floors[variant], capacities[variant] = within_budget(points, budget)
    return Capacity(
        method=methodology.method,
        execution=execution.name,
        universe=methodology.universe,
        assets=assets,
        start=start,
        end=end,
        schedule=str(schedule),
        budget_bps=budget_bps,
        runs=runs,
        floor_usd={v: f[0] for v, f in floors.items()},
        floor_at_most={v: f[1] for v, f in floors.items()},
        capacity_usd={v: c[0] for v, c in capacities.items()},
        capacity_at_least={v: c[1] for v, c in capacities.items()},
    )


def _run(
    history: History,
    methodology: Methodology,
    start: str,
    end: str,
    schedule: Schedule,
    costs: CostModel,
    nav: float,
    execution: ExecutionPolicy,
) -> tuple[CapacityRun, list[str]]:
    """One backtest of the grid, and the assets it held; an infeasible one when the NAV is too large for the
    methodology's liquidity caps (sized at this NAV)."""
    sized = replace(methodology, nav_usd=nav) if methodology.depth_multiple is not None else methodology
    try:
        result = run_backtest(history, sized, start, end, schedule, costs, nav_usd=nav, execution=execution)
    except MethodologyError as exc:
        if exc.param != "depth-multiple":
            raise
        return CapacityRun(costs.liquidity, nav, math.inf, math.inf, math.nan, math.nan, 0, feasible=False), []
    summary = result.summary()
    run = CapacityRun(
        variant=costs.liquidity,
        nav_usd=nav,
        costs_usd=summary["costs_usd"],
        cost_share_annual=summary["costs_usd"] / nav / result.years,
        tracking_difference_annual=summary["tracking_difference_annual"],
        tracking_error_annual=summary["tracking_error_annual"],
        trades=result.trades,
    )
    return run, result.assets


def within_budget(
    points: Sequence[tuple[float, float]], budget: float
) -> tuple[tuple[float | None, bool], tuple[float | None, bool]]:
    """From `(nav, share)` points sorted by NAV: the smallest and the largest NAV whose cost share is within
    `budget`, each where the share crosses the budget next to the first and the last point within it,
    interpolated linearly in log NAV. Each comes with whether it is the grid's end (a bound); both `(None, False)`
    when no point is within."""
    inside = [i for i, (_, share) in enumerate(points) if share <= budget]
    if not inside:
        return (None, False), (None, False)
    first, last = inside[0], inside[-1]
    floor = (points[0][0], True) if first == 0 else (_crossing(points[first - 1], points[first], budget), False)
    if last == len(points) - 1:
        return floor, (points[-1][0], True)
    return floor, (_crossing(points[last], points[last + 1], budget), False)


def _crossing(a: tuple[float, float], b: tuple[float, float], budget: float) -> float:
    """The NAV between points `a` and `b` (one within the budget, one over) where the share meets the budget."""
    (nav0, share0), (nav1, share1) = a, b
    t = (budget - share0) / (share1 - share0)
    return math.exp(math.log(nav0) + t * (math.log(nav1) - math.log(nav0)))
