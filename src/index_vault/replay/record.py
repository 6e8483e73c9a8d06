"""The main job's record and report (no chain): an index vault replayed through real history on the market chain.

`index_vault.replay.chain.run_replay` fills a `ReplayResult` day by day: the vault's NAV per share valued at
the day's closes (its on-chain balances times the panel's prices), the ideal index of the same methodology and
window, and the off-chain backtest of the same window (`index_vault.methodology.backtest`, rebalancing on drift past the
keeper's band). This module turns it into the summary, the terminal table, `levels.csv`, `trades.csv`, a
Markdown report and a chart.

Tracking is measured as the backtest measures it (`backtest.tracking`): daily returns, 365 a year. The
on-chain run and the backtest agree when the largest gap between their tracked levels stays within
`LEVEL_TOLERANCE` and their annual tracking errors within `TE_TOLERANCE` (`agreement`); the README states
these and `tests/integration/test_replay.py` checks them on a short window.
"""

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index_vault.methodology.backtest import PERIODS_PER_YEAR, tracking
from index_vault.methodology.history import days_between

LEVEL_TOLERANCE = 0.005  # the on-chain and backtest tracked levels stay within 0.5% of each other
TE_TOLERANCE = 0.02  # and their annual tracking errors within 2 percentage points


@dataclass
class ReplayDay:
    """One day of the replay, after the keeper's round: levels start at 100."""

    date: str
    nav_usd: float  # the vault's holdings at the day's closes
    supply: int  # shares, 18 decimals
    tracked: float  # on-chain NAV per share, as a level
    ideal: float  # the ideal index (backtest definition)
    backtest: float  # the off-chain backtest's tracked level
    weights: dict[str, float]  # the vault's weights at the day's closes, after trading
    targets: dict[str, float]
    drift: float  # the largest |weight - target| before the keeper's round
    trades: int = 0
    gas: int = 0  # every transaction the keeper sent that day: starts, refreshes, trades
    status: str = "idle"  # the keeper round's status
    reason: str = ""
    starts: int = 0
    refreshes: int = 0
    gas_start: int = 0
    gas_refresh: int = 0
    gas_trade: int = 0
    start_reasons: list[str] = field(default_factory=list)  # why the keeper started each rebalance it started


def start_reason(decision: str) -> str:
    """A round's decision ("start: targets moved past the band: WBTC") without the action and the symbols."""
    return decision.split(": ", 1)[-1].split(":")[0]


@dataclass
class ReplayTrade:
    """One keeper trade, valued at the day's closes."""

    date: str
    sell: str
    buy: str
    sold_usd: float
    cost_usd: float  # the oracle's value of what was sold less what was bought (DEX fee and price impact)
    gas: int
    tx_hash: str
    venue: str = ""  # the DEX the keeper chose: "uniswap-v3", "uniswap-v2" or "split" (both)


@dataclass
class SecondaryDay:
    """One day of the index token's secondary market: each pool's premium over NAV at the day's end (the V3
    pool's is the DEX price), the noise traded (USD) and the arbitrage cycles."""

    date: str
    premium_v3: float
    premium_v2: float
    noise_usd: float
    cycles: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a pool was left outside its band


@dataclass
class ReplayResult:
    """The whole replay: its settings, the deployment, every day and trade, and the backtest's summary."""

    start: str
    end: str
    method: str
    universe: str
    assets: list[str]
    band_bps: int
    nav_usd: float
    gwei: float  # the gas price the USD gas figure assumes (the backtest's)
    addresses: dict[str, str] = field(default_factory=dict)
    days: list[ReplayDay] = field(default_factory=list)
    trades: list[ReplayTrade] = field(default_factory=list)
    backtest_summary: dict = field(default_factory=dict)
    setup_gas: int = 0
    management_fee_bps: int = 0
    management_fee_usd: float = 0.0
    rounds: int = 0
    reverts: int = 0
    seconds: float = 0.0
    secondary: list[SecondaryDay] = field(default_factory=list)  # empty without the secondary market

    @property
    def dates(self) -> list[str]:
        return [d.date for d in self.days]

    @property
    def keeper_gas(self) -> int:
        """Every transaction the keeper sent: starts, refreshes, trades (and anything else it sent)."""
        return sum(d.gas for d in self.days)

    def start_reasons(self) -> dict[str, int]:
        """How many starts each reason of the keeper's (`Decision.reason`, without the symbols) led to."""
        counts: dict[str, int] = {}
        for reason in (r for d in self.days for r in d.start_reasons):
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def keeper_gas_by_kind(self) -> dict[str, int]:
        """The keeper's gas apart: starts, refreshes, trades, and their counts."""
        return {
            "starts": sum(d.starts for d in self.days),
            "refreshes": sum(d.refreshes for d in self.days),
            "gas_start": sum(d.gas_start for d in self.days),
            "gas_refresh": sum(d.gas_refresh for d in self.days),
            "gas_trade": sum(d.gas_trade for d in self.days),
        }

    def gas_usd(self, eth_prices: dict[str, float]) -> float:
        """The keeper's gas at `gwei` and each day's ETH price."""
        return sum(d.gas * self.gwei * 1e-9 * eth_prices.get(d.date, 0.0) for d in self.days)

    def summary(self, eth_prices: dict[str, float] | None = None) -> dict:
        """`summary.json`: the backtest's keys for the on-chain run, the backtest's own, and their agreement."""
        days = self.days
        onchain = tracking(self.dates, [d.ideal for d in days], [d.tracked for d in days])
        offchain = tracking(self.dates, [d.ideal for d in days], [d.backtest for d in days])
        years = days_between(self.start, self.end) / PERIODS_PER_YEAR
        sold = sum(t.sold_usd for t in self.trades)
        execution = sum(t.cost_usd for t in self.trades)
        gas_usd = self.gas_usd(eth_prices or {})
        return {
            "start": self.start,
            "end": self.end,
            "method": self.method,
            **onchain,
            "turnover_annual": sold / self.nav_usd / years if years else 0.0,
            "costs_usd": execution + gas_usd,  # what rebalancing cost: the vault's DEX costs and the keeper's gas
            "rebalances": sum(1 for d in days[1:] if d.trades),
            "universe": self.universe,
            "assets": self.assets,
            "band_bps": self.band_bps,
            "nav_usd_start": days[0].nav_usd,
            "nav_usd_end": days[-1].nav_usd,
            "final_level_ideal": days[-1].ideal,
            "final_level_tracked": days[-1].tracked,
            "final_level_backtest": days[-1].backtest,
            "trades": len(self.trades),
            "keeper_rounds": self.rounds,
            "keeper_reverts": self.reverts,
            "keeper_gas": self.keeper_gas,
            **{f"keeper_{k}": v for k, v in self.keeper_gas_by_kind().items()},
            "keeper_start_reasons": self.start_reasons(),
            "gas_per_trade": self.keeper_gas // len(self.trades) if self.trades else 0,
            "gas_usd": gas_usd,
            "gwei": self.gwei,
            "execution_cost_usd": execution,
            "management_fee_bps": self.management_fee_bps,
            "management_fee_usd": self.management_fee_usd,
            "setup_gas": self.setup_gas,
            "max_drift_after_trading": max(self.drift_after(), default=0.0),
            "backtest": {k: self.backtest_summary.get(k) for k in BACKTEST_KEYS} | offchain,
            "agreement": agreement(days),
            "addresses": self.addresses,
            "seconds": self.seconds,
            **({"secondary": self.secondary_summary(eth_prices or {})} if self.secondary else {}),
        }

    def secondary_summary(self, eth_prices: dict[str, float]) -> dict:
        """The secondary market's figures: the DEX price's premium over NAV at each day's end (the share of days
        within `PREMIUM_TARGET`, the worst day), the noise traded and the arbitrage cycles, their profit and gas."""
        days = self.secondary
        worst = max(days, key=lambda d: abs(d.premium_v3))
        worst_v2 = max(days, key=lambda d: abs(d.premium_v2))
        cycles = [c for d in days for c in d.cycles]
        gas = sum(c["gas"] for c in cycles)
        gas_usd = sum(c["gas"] * self.gwei * 1e-9 * eth_prices.get(c["date"], 0.0) for c in cycles)
        return {
            "premium_target": PREMIUM_TARGET,
            "days": len(days),
            "days_within_target": sum(1 for d in days if abs(d.premium_v3) <= PREMIUM_TARGET),
            "share_within_target": sum(1 for d in days if abs(d.premium_v3) <= PREMIUM_TARGET) / len(days),
            "worst_premium": worst.premium_v3,
            "worst_date": worst.date,
            "v2_share_within_target": sum(1 for d in days if abs(d.premium_v2) <= PREMIUM_TARGET) / len(days),
            "v2_worst_premium": worst_v2.premium_v2,
            "noise_volume_usd": sum(d.noise_usd for d in days),
            "cycles": len(cycles),
            "cycles_mint_and_sell": sum(1 for c in cycles if c["direction"] == "mint-and-sell"),
            "profit_usd": sum(c["profit_usd"] for c in cycles),
            "gas": gas,
            "gas_usd": gas_usd,
        }

    def drift_after(self) -> list[float]:
        """The largest |weight - target| of each day after the keeper's round."""
        return [
            max((abs(d.weights.get(a, 0.0) - d.targets.get(a, 0.0)) for a in {*d.weights, *d.targets}), default=0.0)
            for d in self.days
        ]


PREMIUM_TARGET = 0.005  # |DEX price / NAV - 1| at a day's end
BACKTEST_KEYS = ("schedule", "turnover_annual", "costs_usd", "rebalances", "trades")


def agreement(days: list[ReplayDay]) -> dict:
    """How closely the on-chain run tracks the backtest: the largest level gap and the TE difference."""
    dates = [d.date for d in days]
    gap = max(abs(d.tracked / d.backtest - 1) for d in days)
    onchain = tracking(dates, [d.ideal for d in days], [d.tracked for d in days])["tracking_error_annual"]
    offchain = tracking(dates, [d.ideal for d in days], [d.backtest for d in days])["tracking_error_annual"]
    return {
        "max_level_gap": gap,
        "tracking_error_gap": abs(onchain - offchain),
        "level_tolerance": LEVEL_TOLERANCE,
        "tracking_error_tolerance": TE_TOLERANCE,
        "within_tolerance": gap <= LEVEL_TOLERANCE and abs(onchain - offchain) <= TE_TOLERANCE,
    }


def _pct(x: float, places: int = 2) -> str:
    return f"{100 * x:.{places}f}%"


def format_table(summary: dict) -> str:
    """The end-of-run table: the vault on chain against the ideal index and the off-chain backtest."""
    bt, agree = summary["backtest"], summary["agreement"]
    rows = [
        ("", "on chain", "backtest"),
        ("final level (ideal index)", f"{summary['final_level_ideal']:.2f}", f"{summary['final_level_ideal']:.2f}"),
        ("final level (tracked)", f"{summary['final_level_tracked']:.2f}", f"{summary['final_level_backtest']:.2f}"),
        ("tracking error (annual)", _pct(summary["tracking_error_annual"]), _pct(bt["tracking_error_annual"])),
        (
            "tracking difference (annual)",
            _pct(summary["tracking_difference_annual"]),
            _pct(bt["tracking_difference_annual"]),
        ),
        ("turnover (annual)", _pct(summary["turnover_annual"], 1), _pct(bt["turnover_annual"], 1)),
        ("trades", f"{summary['trades']}", f"{bt['trades']}"),
        ("days with trades", f"{summary['rebalances']}", f"{bt['rebalances']}"),
        ("DEX fees and impact (USD)", f"{summary['execution_cost_usd']:,.2f}", f"{bt['costs_usd']:,.2f}"),
        ("keeper gas (USD, not the vault's)", f"{summary['gas_usd']:,.2f}", "-"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b:>12}  {c:>12}" for a, b, c in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines += [
        "",
        f"NAV ${summary['nav_usd_start']:,.0f} -> ${summary['nav_usd_end']:,.0f}; keeper: {summary['keeper_rounds']} "
        f"rounds, {summary['trades']} trades, {summary['keeper_gas']:,} gas ({summary['gas_per_trade']:,} a trade, "
        f"${summary['gas_usd']:,.2f} at {summary['gwei']:g} gwei), {summary['keeper_reverts']} reverted",
        f"keeper gas apart: {summary.get('keeper_starts', 0)} starts {summary.get('keeper_gas_start', 0):,}, "
        f"{summary.get('keeper_refreshes', 0)} refreshes {summary.get('keeper_gas_refresh', 0):,}, "
        f"{summary['trades']} trades {summary.get('keeper_gas_trade', 0):,}",
        "why it started: "
        + (", ".join(f"{n} {why}" for why, n in summary.get("keeper_start_reasons", {}).items()) or "never"),
        f"fees: DEX fee and price impact ${summary['execution_cost_usd']:,.2f}; management fee "
        f"{summary['management_fee_bps']} bps a year, ${summary['management_fee_usd']:,.2f} accrued",
        f"largest weight gap after the keeper's rounds: {_pct(summary['max_drift_after_trading'])} "
        f"(band {summary['band_bps'] / 100:g}%)",
        f"on chain vs backtest: largest level gap {_pct(agree['max_level_gap'], 3)} "
        f"(tolerance {_pct(agree['level_tolerance'], 1)}), tracking error gap {_pct(agree['tracking_error_gap'])} "
        f"(tolerance {_pct(agree['tracking_error_tolerance'], 1)}): "
        f"{'within' if agree['within_tolerance'] else 'OUTSIDE'} tolerance",
    ]
    if "secondary" in summary:
        lines += _secondary_lines(summary["secondary"])
    return "\n".join(lines)


def _secondary_lines(sec: dict) -> list[str]:
    """The secondary market's lines of the end-of-run table."""
    return [
        "",
        f"DEX price vs NAV (V3 pool, 0.05%): within {_pct(sec['premium_target'], 1)} at the end of "
        f"{sec['days_within_target']} of {sec['days']} days ({_pct(sec['share_within_target'], 1)}); worst "
        f"{sec['worst_premium']:+.3%} on {sec['worst_date']}; V2 pair: {_pct(sec['v2_share_within_target'], 1)} "
        f"of days, worst {sec['v2_worst_premium']:+.3%}",
        f"noise traded ${sec['noise_volume_usd']:,.0f}; arbitrage: {sec['cycles']} cycles "
        f"({sec['cycles_mint_and_sell']} mint-and-sell), profit ${sec['profit_usd']:,.2f} before gas, "
        f"{sec['gas']:,} gas (${sec['gas_usd']:,.2f} at the keeper's gas price)",
    ]


def write_results(
    result: ReplayResult, out: str | Path, eth_prices: dict[str, float], chart: bool = True
) -> list[Path]:
    """Writes summary.json, levels.csv, trades.csv, report.md and (with `chart`) replay.png to `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = result.summary(eth_prices)
    paths = [out / "summary.json", out / "levels.csv", out / "trades.csv", out / "report.md"]
    if result.secondary:
        paths.append(_write_premium(result, out / "premium.csv"))
    paths[0].write_text(json.dumps(summary, indent=2) + "\n")
    with paths[1].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "date",
                "ideal",
                "tracked",
                "backtest",
                "nav_usd",
                "drift",
                "trades",
                "starts",
                "refreshes",
                "gas",
                "keeper",
            ]
        )
        for d in result.days:
            writer.writerow(
                [
                    d.date,
                    f"{d.ideal:.10f}",
                    f"{d.tracked:.10f}",
                    f"{d.backtest:.10f}",
                    f"{d.nav_usd:.2f}",
                    f"{d.drift:.6f}",
                    d.trades,
                    d.starts,
                    d.refreshes,
                    d.gas,
                    d.status + (f": {d.reason}" if d.reason else ""),
                ]
            )
    with paths[2].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(result.trades[0])) if result.trades else ["date"])
        writer.writeheader()
        for trade in result.trades:
            writer.writerow(asdict(trade))
    if chart:
        paths.append(write_chart(result, out / "replay.png"))
    paths[3].write_text(report_markdown(result, summary, chart))
    return paths


def _write_premium(result: ReplayResult, path: Path) -> Path:
    """premium.csv: a row a day of the secondary market."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["date", "premium_v3", "premium_v2", "noise_usd", "cycles", "cycle_gas", "cycle_profit_usd", "notes"]
        )
        for d in result.secondary:
            writer.writerow(
                [
                    d.date,
                    f"{d.premium_v3:.6f}",
                    f"{d.premium_v2:.6f}",
                    f"{d.noise_usd:.2f}",
                    len(d.cycles),
                    sum(c["gas"] for c in d.cycles),
                    f"{sum(c['profit_usd'] for c in d.cycles):.2f}",
                    "; ".join(d.notes),
                ]
            )
    return path


def report_markdown(result: ReplayResult, summary: dict, chart: bool) -> str:
    """A short Markdown report of the run."""
    lines = [
        f"# Index vault replay, {result.start} to {result.end}",
        "",
        f"Method `{result.method}` over {', '.join(result.assets)}; NAV ${result.nav_usd:,.0f}; keeper band "
        f"{result.band_bps / 100:g}%. The vault ran on a local chain with real Uniswap V3 and V2 pools and Chainlink "
        "feeds moved to each day's close; the real keeper traded through the pools. The backtest column is the same "
        "methodology and window off chain, rebalancing on drift past the band.",
        "",
        "```",
        format_table(summary),
        "```",
        "",
    ]
    if chart:
        lines += ["![levels](replay.png)", ""]
    files = "Files: `summary.json`, `levels.csv` (a row a day), `trades.csv` (a row a keeper trade)"
    if result.secondary:
        files += ", `premium.csv` (the DEX price's premium over NAV, a row a day)"
    lines += [files + ".", ""]
    return "\n".join(lines)


def write_chart(result: ReplayResult, path: Path) -> Path:
    """replay.png: levels (ideal, on chain, backtest) above the drift before each round and the band."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import date

    import matplotlib.pyplot as plt

    days = [date.fromisoformat(d) for d in result.dates]
    panels = 3 if result.secondary else 2
    fig, axes = plt.subplots(
        panels, 1, figsize=(10, 7 + 2 * (panels - 2)), sharex=True, height_ratios=(3, 1, 1)[:panels]
    )
    top, bottom = axes[0], axes[1]
    top.plot(days, [d.ideal for d in result.days], label="ideal index", linewidth=1.2)
    top.plot(days, [d.tracked for d in result.days], label="vault NAV per share (on chain)", linewidth=1.2)
    top.plot(days, [d.backtest for d in result.days], label="backtest", linewidth=1.0, linestyle="--")
    top.set_title(f"{result.method} over {', '.join(result.assets)}: {result.start} to {result.end}")
    top.set_ylabel("level (start = 100)")
    top.legend()
    top.grid(alpha=0.3)
    bottom.plot(days, [100 * d.drift for d in result.days], linewidth=1.0, label="largest weight gap before the round")
    bottom.axhline(result.band_bps / 100, color="grey", linestyle=":", label="keeper band")
    traded = [day for day, d in zip(days, result.days, strict=True) if d.trades]
    if traded:
        bottom.scatter(traded, [0] * len(traded), marker="|", color="black", label="keeper traded")
    bottom.set_ylabel("pp")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    if result.secondary:
        premium = axes[2]
        when = [date.fromisoformat(d.date) for d in result.secondary]
        premium.plot(when, [100 * d.premium_v3 for d in result.secondary], linewidth=1.0, label="V3 pool (DEX price)")
        premium.plot(when, [100 * d.premium_v2 for d in result.secondary], linewidth=0.8, label="V2 pair")
        for edge in (PREMIUM_TARGET, -PREMIUM_TARGET):
            premium.axhline(100 * edge, color="grey", linestyle=":")
        premium.set_ylabel("premium %")
        premium.legend(fontsize=8)
        premium.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
