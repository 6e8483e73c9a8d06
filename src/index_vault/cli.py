"""`index-vault`: the commands that need no chain."""

import importlib.util
import json
import sys
from dataclasses import replace

import click
import yaml

from index_vault.cli_options import (
    execution_from,
    execution_options,
    liquidity_option,
    load_data,
    methodology_from,
    methodology_options,
    usage_error,
    warn,
)
from index_vault.common.report import format_amounts, table
from index_vault.common.units import format_units, parse_units
from index_vault.market.liquidity import VARIANTS
from index_vault.market.model import POOL_FEE, MarketDataError
from index_vault.methodology.analytics import write_backtest, write_capacity
from index_vault.methodology.backtest import (
    GAS_PER_TRADE,
    GWEI,
    NAV_USD,
    CostModel,
    Schedule,
    run_backtest,
)
from index_vault.methodology.capacity import DEFAULT_BUDGET_BPS, DEFAULT_NAVS, capacity
from index_vault.methodology.history import MethodologyError, date_range
from index_vault.vault.basket import LOCKED_SHARES, MAX_ASSETS, MIN_UNIT, mint_amounts, redeem_amounts
from index_vault.vault.spec import SpecError, load_spec

SUMMARY_KEYS = (
    "start",
    "end",
    "method",
    "tracking_error_annual",
    "tracking_difference_annual",
    "turnover_annual",
    "costs_usd",
    "rebalances",
)


@click.group()
@click.version_option(package_name="index-vault")
def main() -> None:
    """Index vault tooling that needs no chain (see `ape run deploy|vault|demo` for the rest)."""


@main.group()
def spec() -> None:
    """Basket spec files."""


@spec.command("check")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the normalised spec as JSON.")
def spec_check(spec_file: str, as_json: bool) -> None:
    """Validate SPEC and show the basket as the vault will hold it."""
    try:
        basket = load_spec(spec_file)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(basket.to_dict(), indent=2))
        return
    click.echo(f"{basket.name} ({basket.symbol}): {len(basket.constituents)} of at most {MAX_ASSETS} constituents")
    rows = [
        [
            c.symbol,
            str(c.decimals),
            c.units_text,
            str(c.units),
            f"{c.price_usd:,}" if c.price_usd is not None else "-",
            f"{c.weight / 10**16:.2f}%" if c.weight is not None else "-",
            c.address or "(test token on local chains)",
        ]
        for c in basket.constituents
    ]
    headers = ["asset", "decimals", "units/share", "base units", "price_usd", "weight", "address"]
    click.echo(table(headers, rows, right={1, 2, 3, 4, 5}))
    if all(c.price_usd is not None for c in basket.constituents):
        value = sum(c.price_usd * c.units / 10**c.decimals for c in basket.constituents)
        click.echo(f"one share holds ${value:,.2f} at these prices")
    click.echo(f"\nok: every unit is at least {MIN_UNIT} base units, so the locked shares hold some of each")
    for where, local in (("a local chain", True), ("a live network (with --oracle)", False)):
        problems = basket.deploy_problems(local=local, oracle=not local)
        click.echo(f"deploys on {where}: " + ("; ".join(problems) if problems else "yes"))


@spec.command("preview")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False))
@click.argument("shares")
def spec_preview(spec_file: str, shares: str) -> None:
    """What the first mint of SHARES would pay, and what a redemption of them would return."""
    try:
        basket = load_spec(spec_file)
        amount = parse_units(shares, 18)
    except (SpecError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if amount <= LOCKED_SHARES:
        raise click.ClickException(f"the first mint must exceed {LOCKED_SHARES} wei of shares (0.01 share)")
    symbols = [c.symbol for c in basket.constituents]
    decimals = [c.decimals for c in basket.constituents]
    paid = mint_amounts(amount, 0, [], basket.units)
    back = redeem_amounts(amount - LOCKED_SHARES, amount, paid)
    click.echo(f"first mint of {shares} shares pays: {format_amounts(symbols, decimals, paid)}")
    received = format_units(amount - LOCKED_SHARES, 18)
    click.echo(f"the minter receives {received} shares (0.01 is locked); redeeming them returns:")
    click.echo(f"  {format_amounts(symbols, decimals, back)}")


@spec.command("template")
def spec_template() -> None:
    """Print an example spec to start from."""
    example = {
        "name": "My Index",
        "symbol": "MYIDX",
        "constituents": [
            {"symbol": "WETH", "decimals": 18, "units": "0.01", "price_usd": "2500"},
            {"symbol": "USDC", "decimals": 6, "units": "25", "price_usd": "1"},
        ],
    }
    yaml.safe_dump(example, sys.stdout, sort_keys=False)


@main.command("weights")
@methodology_options
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day of the weights (data up to it).")
@click.option("--nav", type=float, default=NAV_USD, show_default=True, help="The index's NAV, for --depth-multiple.")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write the proposal file (JSON) here.")
def weights_command(**options) -> None:
    """Target weights (1e18 fixed point, summing to 10**18) for one day, as a table and a proposal file."""
    try:
        methodology = methodology_from(options)
        history = load_data(options["data_dir"], methodology)
        proposal = methodology.weights(history, options["day"])
    except MethodologyError as exc:
        raise usage_error(exc) from exc
    except MarketDataError as exc:
        raise click.ClickException(str(exc)) from exc
    warn(proposal.warnings)
    click.echo(
        f"{proposal.method}, {proposal.universe} on {proposal.date}: cap {float(proposal.cap):.2%}, "
        f"floor {float(proposal.floor):.2%}"
    )
    rows = [
        [a, f"{w / 10**16:.4f}%", str(w), "-" if m is None else f"{m:,.2f}"]
        for a, w, m in zip(proposal.assets, proposal.weights, proposal.metrics, strict=True)
    ]
    click.echo(table(["asset", "weight", "weight (1e18)", proposal.metric], rows, right={1, 2, 3}))
    click.echo(f"sum {sum(proposal.weights)} (10**18)")
    if options["out"]:
        click.echo(f"proposal written to {proposal.write(options['out'])}")


@main.command("backtest")
@methodology_options
@click.option("--start", required=True, metavar="YYYY-MM-DD")
@click.option("--end", required=True, metavar="YYYY-MM-DD")
@click.option(
    "--rebalance",
    default="monthly",
    show_default=True,
    help="daily, weekly, monthly, quarterly or drift:BPS (when a weight is BPS basis points off target).",
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Folder for summary, levels, charts, report."
)
@click.option(
    "--nav", type=float, default=NAV_USD, show_default=True, help="The tracked index's NAV in USD at the start."
)
@click.option("--gwei", type=float, default=GWEI, show_default=True, help="Gas price.")
@click.option("--gas-per-trade", type=int, default=GAS_PER_TRADE, show_default=True)
@click.option("--fee-bps", type=float, default=POOL_FEE / 100, show_default=True, help="The pools' fee.")
@click.option(
    "--costs/--no-costs", default=True, show_default=True, help="Without costs the tracked index trades free."
)
@liquidity_option(
    "Pool depth: the liquidity model's thin, base or deep variant (the market chain's too; the costs are "
    "printed under all three), or the rule before it (legacy)."
)
@execution_options
@click.option("--charts/--no-charts", default=True, show_default=True, help="PNG charts (needs matplotlib).")
def backtest_command(**options) -> None:
    """Replay history: the ideal index (at target daily, free) against one rebalanced on a schedule, with costs."""
    charts, out = options["charts"], options["out"]
    if charts and importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException("charts need matplotlib: pip install -e '.[analytics]' (or pass --no-charts)")
    try:
        methodology = methodology_from(options)
        schedule = Schedule.parse(options["rebalance"])
        model = CostModel(
            enabled=options["costs"],
            fee_bps=options["fee_bps"],
            gas_per_trade=options["gas_per_trade"],
            gwei=options["gwei"],
            liquidity=options["liquidity"],
        )
        execution = execution_from(options)
        history = load_data(options["data_dir"], methodology)
        methodology.check(history)
        first, last = date_range(options["start"], options["end"])
        length = history.index(last, "end") - history.index(first, "start") + 1
        with click.progressbar(length=length, label="backtest", file=sys.stderr) as bar:
            result = run_backtest(
                history, methodology, first, last, schedule, model, options["nav"], bar.update, execution
            )
    except MethodologyError as exc:
        raise usage_error(exc) from exc
    except MarketDataError as exc:
        raise click.ClickException(str(exc)) from exc
    warn(result.warnings)
    written = write_backtest(result, out, charts=charts)
    summary = result.summary()
    rows = [[k, _summary_value(k, summary[k])] for k in SUMMARY_KEYS]
    click.echo(table(["", "value"], rows, right={1}))
    if model.enabled and model.liquidity != "legacy":
        _liquidity_variants(history, methodology, first, last, schedule, model, options["nav"], result, execution)
    click.echo(f"wrote {', '.join(p.name for p in written)} to {out}")


@main.command("capacity")
@methodology_options
@click.option("--start", required=True, metavar="YYYY-MM-DD")
@click.option("--end", required=True, metavar="YYYY-MM-DD")
@click.option("--rebalance", default="monthly", show_default=True, help="As for backtest.")
@click.option(
    "--navs",
    default=",".join(f"{n:g}" for n in DEFAULT_NAVS),
    show_default=True,
    metavar="USD,...",
    help="The NAVs to backtest at (USD at the start).",
)
@click.option(
    "--budget-bps",
    type=float,
    default=DEFAULT_BUDGET_BPS,
    show_default=True,
    help="The costs an index can bear, basis points of NAV a year.",
)
@click.option("--gwei", type=float, default=GWEI, show_default=True, help="Gas price.")
@click.option("--gas-per-trade", type=int, default=GAS_PER_TRADE, show_default=True)
@click.option("--fee-bps", type=float, default=POOL_FEE / 100, show_default=True, help="The pools' fee.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for capacity.json, .csv, .png.")
@execution_options
@click.option("--charts/--no-charts", default=True, show_default=True, help="capacity.png (needs matplotlib).")
def capacity_command(**options) -> None:
    """Backtest one index at NAVs from $100k to $100M under each liquidity variant: its costs, tracking and the
    largest NAV whose costs stay within the budget."""
    charts, out = options["charts"], options["out"]
    if charts and importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException("charts need matplotlib: pip install -e '.[analytics]' (or pass --no-charts)")
    try:
        navs = [float(n) for n in options["navs"].replace("_", "").split(",") if n.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"not a list of numbers: {options['navs']!r}", param_hint="--navs") from exc
    try:
        methodology = methodology_from(options)
        schedule = Schedule.parse(options["rebalance"])
        costs = CostModel(fee_bps=options["fee_bps"], gas_per_trade=options["gas_per_trade"], gwei=options["gwei"])
        execution = execution_from(options)
        history = load_data(options["data_dir"], methodology)
        methodology.check(history)
        with click.progressbar(length=len(navs) * len(VARIANTS), label="capacity", file=sys.stderr) as bar:
            report = capacity(
                history,
                methodology,
                options["start"],
                options["end"],
                schedule,
                costs,
                navs=navs,
                budget_bps=options["budget_bps"],
                on_run=lambda variant, nav: bar.update(1),
                execution=execution,
            )
    except MethodologyError as exc:
        raise usage_error(exc) from exc
    except MarketDataError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [
        [f"${r.nav_usd:,.0f}", r.variant, "too large for its liquidity caps", "", "", "", ""]
        if not r.feasible
        else [
            f"${r.nav_usd:,.0f}",
            r.variant,
            f"{r.costs_usd:,.0f}",
            f"{r.cost_share_annual:.2%}",
            f"{r.tracking_difference_annual:.2%}",
            f"{r.tracking_error_annual:.2%}",
            str(r.trades),
        ]
        for r in sorted(report.runs, key=lambda r: (r.nav_usd, list(VARIANTS).index(r.variant)))
    ]
    held = ", ".join(report.assets)
    click.echo(
        f"{report.method} of {report.universe} ({held}), {report.schedule}, {report.start}..{report.end}, "
        f"{report.execution} execution"
    )
    click.echo(
        table(
            ["NAV", "liquidity", "costs (USD)", "costs / NAV a year", "TD (annual)", "TE (annual)", "trades"],
            rows,
            right={0, 2, 3, 4, 5, 6},
        )
    )
    for variant in report.capacity_usd:
        floor, top = report.floor_usd[variant], report.capacity_usd[variant]
        if floor is None or top is None:
            said = f"no NAV from ${min(navs):,.0f} to ${max(navs):,.0f}"
        else:
            said = (
                f"from {'at most ' if report.floor_at_most[variant] else ''}${floor:,.0f} "
                f"to {'at least ' if report.capacity_at_least[variant] else ''}${top:,.0f}"
            )
        click.echo(f"costs within {report.budget_bps:g} bps a year ({variant} liquidity): {said}")
    written = write_capacity(report, out, charts=charts)
    click.echo(f"wrote {', '.join(p.name for p in written)} to {out}")


def _summary_value(key: str, value) -> str:
    """A summary figure as its report writes it: shares of NAV as percentages, USD with separators."""
    if key.endswith("_annual"):
        return f"{value:.2%}"
    if key.endswith("_usd"):
        return f"${value:,.0f}"
    return str(value)


def _liquidity_variants(history, methodology, first, last, schedule, model, nav, result, execution) -> None:
    """The same backtest's costs under each variant of the liquidity model (the chosen one is `result`)."""
    rows = []
    for variant in VARIANTS:
        if variant == model.liquidity:
            run = result
        else:
            costs = replace(model, liquidity=variant)
            run = run_backtest(history, methodology, first, last, schedule, costs, nav, execution=execution)
        s = run.summary()
        rows.append(
            [
                variant + (" (above)" if variant == model.liquidity else ""),
                f"{s['costs_usd']:,.0f}",
                f"{s['costs_usd'] / nav / run.years:.2%}",
                f"{s['tracking_difference_annual']:.2%}",
                f"{s['tracking_error_annual']:.2%}",
            ]
        )
    click.echo("costs under each liquidity variant (docs: index_vault.market.liquidity)")
    click.echo(
        table(
            ["liquidity", "costs (USD)", "costs / NAV a year", "TD (annual)", "TE (annual)"], rows, right={1, 2, 3, 4}
        )
    )
