"""Portfolio analytics for backtests (floats): volatility, drawdown, correlations, risk contributions, stress.

Returns are daily, annualised with 365 days (crypto trades every day). Statistics between two constituents use
the days both have a return (pairwise), so a matrix over assets with different histories may not be exactly
positive semi-definite; it is a description, not an optimiser's input.

- Risk contribution of constituent i: `w_i (C w)_i / (w' C w)`, with C the covariance of daily returns over the
  window and w the ideal index's average target weights; the shares sum to 1.
- Stress correlations: the constituents' average pairwise correlation and the index volatility that the
  full-window volatilities give with each correlation matrix, on all days against two sets of stress days: the
  worst decile of the ideal index's days (its lowest 10% of daily returns) and the decile of its largest moves
  either way. Conditional correlations are biased by the selection alone (Boyer, Gibson and Loretan 1999;
  Forbes and Rigobon 2002): a one-sided tail truncates the common factor and lowers them, a two-sided one
  raises them; the two bracket the shift rather than measure it.

`write_backtest` writes a backtest's files: `report_markdown` its `report.md`, `write_charts` its PNG charts;
`write_capacity` a capacity report's (`index_vault.methodology.capacity`); matplotlib's Agg backend is imported
only in the chart writers (the `analytics` extra), so the package imports without matplotlib.
"""

import csv
import json
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index_vault.methodology.backtest import BacktestResult
    from index_vault.methodology.capacity import Capacity

PERIODS_PER_YEAR = 365
STRESS_QUANTILE = 0.1
MIN_PAIRS = 3  # fewest shared days for a correlation


def annualised_volatility(returns: Sequence[float]) -> float:
    """The sample standard deviation of daily returns times sqrt(365); 0 with fewer than two."""
    return statistics.stdev(returns) * math.sqrt(PERIODS_PER_YEAR) if len(returns) > 1 else 0.0


def max_drawdown(levels: Sequence[float]) -> float:
    """The largest fall from a running peak, as a positive fraction of the peak."""
    peak, worst = -math.inf, 0.0
    for level in levels:
        peak = max(peak, level)
        worst = max(worst, 1 - level / peak)
    return worst


def _pairs(xs: Sequence[float | None], ys: Sequence[float | None], rows: Sequence[int] | None) -> tuple[list, list]:
    keep = range(len(xs)) if rows is None else rows
    pairs = [(xs[r], ys[r]) for r in keep if xs[r] is not None and ys[r] is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _pairwise(
    returns: dict[str, Sequence[float | None]], rows: Sequence[int] | None, stat: Callable[[list, list], float]
) -> dict[tuple[str, str], float]:
    """`stat` of every pair's daily returns (on `rows` only, when given); NaN with too few days or when
    `stat` has no answer (no variance)."""
    result = {}
    for a in returns:
        for b in returns:
            xs, ys = _pairs(returns[a], returns[b], rows)
            try:
                result[a, b] = stat(xs, ys) if len(xs) >= MIN_PAIRS else math.nan
            except statistics.StatisticsError:
                result[a, b] = math.nan
    return result


def covariance_matrix(
    returns: dict[str, Sequence[float | None]], rows: Sequence[int] | None = None
) -> dict[tuple[str, str], float]:
    """Pairwise sample covariances of daily returns (on `rows` only, when given); NaN with too few days."""
    return _pairwise(returns, rows, statistics.covariance)


def correlation_matrix(
    returns: dict[str, Sequence[float | None]], rows: Sequence[int] | None = None
) -> dict[tuple[str, str], float]:
    """Pairwise correlations of daily returns (on `rows` only, when given); NaN with too few days or no variance."""
    return _pairwise(returns, rows, statistics.correlation)


def average_correlation(matrix: dict[tuple[str, str], float], assets: Sequence[str]) -> float:
    """The mean of the off-diagonal correlations that are defined; NaN when none is."""
    values = [matrix[a, b] for i, a in enumerate(assets) for b in assets[i + 1 :] if not math.isnan(matrix[a, b])]
    return statistics.fmean(values) if values else math.nan


def portfolio_variance(weights: dict[str, float], covariance: dict[tuple[str, str], float]) -> float:
    """`w' C w` over the weighted assets (undefined covariances count as 0)."""
    return sum(
        weights[a] * weights[b] * _defined(covariance[a, b])
        for a in weights
        for b in weights
        if weights[a] * weights[b]
    )


def risk_contributions(weights: dict[str, float], covariance: dict[tuple[str, str], float]) -> dict[str, float]:
    """Each asset's share of the portfolio variance, `w_i (C w)_i / (w' C w)`; they sum to 1."""
    total = portfolio_variance(weights, covariance)
    if total <= 0:
        return {a: math.nan for a in weights}
    return {a: weights[a] * sum(_defined(covariance[a, b]) * weights[b] for b in weights) / total for a in weights}


def _defined(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def stress_days(index_returns: Sequence[float], quantile: float = STRESS_QUANTILE, both: bool = False) -> list[int]:
    """The positions of the index's worst `quantile` of days (with `both`: its largest moves), worst first."""
    count = max(1, math.floor(len(index_returns) * quantile))
    key = (lambda r: (-abs(index_returns[r]), r)) if both else (lambda r: (index_returns[r], r))
    return sorted(range(len(index_returns)), key=key)[:count]


def volatility_with(
    weights: dict[str, float], volatilities: dict[str, float], correlation: dict[tuple[str, str], float]
) -> float:
    """Annualised index volatility from per-asset volatilities and a correlation matrix (undefined: 0)."""
    covariance = {(a, b): volatilities[a] * volatilities[b] * correlation[a, b] for a in weights for b in weights}
    for a in weights:
        covariance[a, a] = volatilities[a] ** 2
    return math.sqrt(max(portfolio_variance(weights, covariance), 0.0))


def average_weights(targets: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean weight of each asset over the days (0 on days it is not in the target)."""
    assets = list(dict.fromkeys(a for day in targets for a in day))
    return {a: sum(day.get(a, 0.0) for day in targets) / len(targets) for a in assets}


def _pct(value: float, places: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.{places}f}%"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report_markdown(result: "BacktestResult", charts: bool = True) -> str:
    """The backtest's `report.md`: the summary, the two indices' risk, constituents, correlations, stress.

    Length: over 80 lines, one report template written section by section, top to bottom.
    """
    summary = result.summary()
    ideal_r, tracked_r = result.daily_returns(result.ideal), result.daily_returns(result.tracked)
    weights = average_weights(result.targets)
    assets = [a for a in result.assets if a in weights]
    returns = {a: result.returns[a] for a in assets}
    vols = {a: annualised_volatility([r for r in returns[a] if r is not None]) for a in assets}
    covariance = covariance_matrix(returns)
    contributions = risk_contributions(weights, covariance)
    correlation = correlation_matrix(returns)
    stress = stress_days(ideal_r)
    stressed = correlation_matrix(returns, stress)
    extreme = stress_days(ideal_r, both=True)
    extremes = correlation_matrix(returns, extreme)
    m = result.methodology
    lines = [
        f"# Backtest: {m.method}, {m.universe}, {summary['start']}..{summary['end']}",
        "",
        f"Rebalanced `{result.schedule}`; NAV ${result.nav_usd:,.0f} at the start; costs "
        + (
            f"{result.costs.fee_bps:g} bps pool fee plus constant-product impact on the local market's pool depths, "
            f"{result.costs.gas_per_trade:,} gas a trade at {result.costs.gwei:g} gwei"
            if result.costs.enabled
            else "none"
        )
        + f". Cap {float(m.effective_cap):.2%}, floor {float(m.floor):.2%}. Data: `{Path(result.data).name}`.",
        "",
        "## Summary",
        "",
        _table(
            ["", "ideal", "tracked"],
            [
                ["annual return", _pct(summary["return_annual_ideal"]), _pct(summary["return_annual_tracked"])],
                ["volatility (annual)", _pct(annualised_volatility(ideal_r)), _pct(annualised_volatility(tracked_r))],
                ["max drawdown", _pct(max_drawdown(result.ideal)), _pct(max_drawdown(result.tracked))],
                ["final level", f"{result.ideal[-1]:.2f}", f"{result.tracked[-1]:.2f}"],
            ],
        ),
        "",
        f"- tracking error {_pct(summary['tracking_error_annual'], 3)} a year; tracking difference "
        f"{_pct(summary['tracking_difference_annual'], 3)} a year",
        f"- {summary['rebalances']} rebalances, {summary['trades']} trades, one-way turnover "
        f"{_pct(summary['turnover_annual'], 1)} a year",
        f"- costs ${summary['costs_usd']:,.0f} (slippage and fees ${summary['slippage_usd']:,.0f}, gas "
        f"${summary['gas_usd']:,.0f}), {_pct(summary['costs_usd'] / result.nav_usd / result.years, 3)} of the "
        "starting NAV a year",
        "",
        "## Constituents",
        "",
        "Average target weight, annualised volatility, and share of the ideal index's variance "
        "(risk contribution, at the average weights).",
        "",
        _table(
            ["asset", "avg weight", "volatility", "risk contribution"],
            [[a, _pct(weights[a]), _pct(vols[a]), _pct(contributions[a])] for a in assets],
        ),
        "",
        "## Correlations (daily returns, all days)",
        "",
        _table(
            ["", *assets],
            [
                [a, *("n/a" if math.isnan(correlation[a, b]) else f"{correlation[a, b]:.2f}" for b in assets)]
                for a in assets
            ],
        ),
        "",
        "## Stress: correlations on the worst days",
        "",
        "Average pairwise correlation of the constituents, and the index volatility their full-window volatilities "
        "give with that correlation matrix (at the average weights):",
        "",
        _table(
            ["days", "count", "avg correlation", "index volatility"],
            [
                [
                    name,
                    str(len(rows) if rows else len(ideal_r)),
                    f"{average_correlation(matrix, assets):.2f}",
                    _pct(volatility_with(weights, vols, matrix)),
                ]
                for name, rows, matrix in [
                    ("all", None, correlation),
                    (f"worst decile (index at most {_pct(ideal_r[stress[-1]])})", stress, stressed),
                    (f"largest moves (index beyond +/-{_pct(abs(ideal_r[extreme[-1]]))})", extreme, extremes),
                ]
            ],
        ),
        "",
        "Selection biases conditional correlations by itself: a one-sided tail (worst decile) truncates the common "
        "factor and lowers them, a two-sided one (largest moves) raises them; the two rows bracket the shift.",
    ]
    if result.warnings:
        lines += ["", "## Data warnings", "", *(f"- {w}" for w in result.warnings)]
    if charts:
        lines += ["", "## Charts", "", "![levels](levels.png)", "![weights](weights.png)", "![drift](drift.png)"]
    return "\n".join(lines) + "\n"


def write_charts(result: "BacktestResult", out: str | Path) -> list[Path]:
    """levels.png, weights.png and drift.png in `out` (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import date

    import matplotlib.pyplot as plt

    out = Path(out)
    days = [date.fromisoformat(d) for d in result.dates]
    rebalances = [date.fromisoformat(d) for d in result.rebalance_dates]
    paths = [out / "levels.png", out / "weights.png", out / "drift.png"]
    title = f"{result.methodology.method}, {result.methodology.universe}, {result.schedule}"

    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(days, result.ideal, label="ideal (daily, free)", linewidth=1.2)
    ax.plot(days, result.tracked, label=f"tracked ({result.schedule}, with costs)", linewidth=1.2)
    ax.set_title(f"Index level: {title}")
    ax.set_ylabel("level (start = 100)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    assets = result.assets
    fig, ax = plt.subplots(figsize=(10, 5))
    stacks = [[100 * w.get(a, 0.0) for w in result.weights] for a in assets]
    colours = plt.get_cmap("tab20").colors
    ax.stackplot(days, stacks, labels=assets, colors=[colours[k % len(colours)] for k in range(len(assets))])
    ax.set_title(f"Tracked weights: {title}")
    ax.set_ylabel("weight (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(days, [100 * d for d in result.drift], linewidth=1.0, label="largest weight gap before rebalancing")
    if rebalances:
        ax.vlines(rebalances, 0, max(100 * d for d in result.drift) or 1, colors="grey", alpha=0.3, label="rebalance")
    ax.set_title(f"Drift from target: {title}")
    ax.set_ylabel("percentage points")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.savefig(paths[2], dpi=100)
    plt.close(fig)
    return paths


def write_backtest(result: "BacktestResult", out: str | Path, charts: bool = True) -> list[Path]:
    """Writes summary.json, levels.csv, weights.csv, report.md and (with `charts`) the PNG charts to `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.json", out / "levels.csv", out / "weights.csv", out / "report.md"]
    written[0].write_text(json.dumps(result.summary(), indent=2) + "\n")
    with written[1].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "ideal", "tracked"])
        for row in zip(result.dates, result.ideal, result.tracked, strict=True):
            writer.writerow([row[0], f"{row[1]:.10f}", f"{row[2]:.10f}"])
    assets = result.assets
    with written[2].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", *assets])
        for day, weights in zip(result.dates, result.weights, strict=True):
            writer.writerow([day, *(f"{weights.get(a, 0.0):.10f}" for a in assets)])
    written[3].write_text(report_markdown(result, charts=charts))
    if charts:
        written += write_charts(result, out)
    return written


def write_capacity(report: "Capacity", out: str | Path, charts: bool = True) -> list[Path]:
    """capacity.json, capacity.csv and (with `charts`) capacity.png in `out`; returns the paths."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "capacity.json", folder / "capacity.csv"]
    paths[0].write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    with paths[1].open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        fields = list(type(report.runs[0]).__dataclass_fields__) if report.runs else []
        writer.writerow(fields)
        writer.writerows([getattr(run, k) for k in fields] for run in report.runs)
    if charts:
        paths.append(_capacity_chart(report, folder / "capacity.png"))
    return paths


def _capacity_chart(report: "Capacity", path: Path) -> Path:
    """Costs a year and tracking difference against NAV (log scale), one line per variant, the budget dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for variant in dict.fromkeys(r.variant for r in report.runs):
        runs = [r for r in report.runs if r.variant == variant]
        navs = [r.nav_usd for r in runs]
        top.plot(navs, [100 * r.cost_share_annual for r in runs], marker="o", label=variant)
        bottom.plot(navs, [100 * r.tracking_difference_annual for r in runs], marker="o", label=variant)
    top.axhline(report.budget_bps / 100, color="grey", linestyle="--", label=f"budget {report.budget_bps:g} bps")
    top.set_ylabel("costs, % of NAV a year")
    top.set_title(f"{report.method} of {report.universe}, {report.schedule}, {report.start}..{report.end}")
    top.legend()
    bottom.set_ylabel("tracking difference, % a year")
    bottom.set_xlabel("NAV at the start (USD)")
    bottom.set_xscale("log")
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
