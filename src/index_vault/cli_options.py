"""Click options and parsing shared by the `index-vault` commands that weight, backtest and size an index."""

from dataclasses import replace

import click

from index_vault.common.artifacts import project_root
from index_vault.keeper.execution import DEFAULT as DEFAULT_POLICY
from index_vault.keeper.execution import NAIVE as NAIVE_POLICY
from index_vault.keeper.execution import POLICIES, ExecutionPolicy
from index_vault.market.model import MarketDataError
from index_vault.methodology.backtest import LIQUIDITY_MODELS, NAV_USD
from index_vault.methodology.history import WINDOW_DAYS, History, MethodologyError, load_history
from index_vault.methodology.weights import METRIC_PREFIX, MIN_HISTORY_DAYS, Methodology, parse_fraction


def liquidity_option(help_text: str):
    """`--liquidity`: a variant of the liquidity model (thin, base or deep; base by default) or the rule before it
    (legacy), for the commands that cost trades or build a market's pools."""
    return click.option(
        "--liquidity", type=click.Choice(LIQUIDITY_MODELS), default="base", show_default=True, help=help_text
    )


def methodology_options(command):
    """The options `weights` and `backtest` share: data, method, universe and bounds."""
    options = [
        click.option(
            "--data",
            "data_dir",
            default=None,
            metavar="DIR",
            help="A data folder in the layout of data/prices (a CSV panel date,symbol,price_usd,market_cap_usd,"
            "volume_usd), or the CSV itself. Default: the project's data/.",
        ),
        click.option(
            "--method",
            required=True,
            help="market-cap, capped-market-cap, equal, liquidity, sqrt-market-cap or metric:COLUMN.",
        ),
        click.option("--assets", default=None, metavar="SYM,...", help="A fixed basket, in this order."),
        click.option("--top", type=int, default=None, metavar="N", help="The N largest eligible assets by market cap."),
        click.option(
            "--cap", default=None, metavar="FRACTION", help="Per-asset cap (0.25, 25%); capped-market-cap: 0.25."
        ),
        click.option("--floor", default="0", metavar="FRACTION", help="Per-asset floor (0.01, 1%).", show_default=True),
        click.option(
            "--min-history",
            type=int,
            default=MIN_HISTORY_DAYS,
            show_default=True,
            help="Days since an asset's first price for --top eligibility.",
        ),
        click.option(
            "--window",
            type=int,
            default=WINDOW_DAYS,
            show_default=True,
            help="Trailing days of the supply median, volume mean and metric median.",
        ),
        click.option(
            "--depth-multiple",
            type=float,
            default=None,
            metavar="M",
            help="Cap each position at M times its asset's DEX depth per side (the liquidity model), at the NAV.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def methodology_from(options: dict) -> Methodology:
    assets, top, cap = options["assets"], options["top"], options["cap"]
    if assets is not None and top is not None:
        raise click.UsageError("give --assets or --top, not both")
    if assets is None and top is None:
        raise click.UsageError("give --assets SYM,... or --top N")
    return Methodology(
        method=options["method"],
        assets=tuple(assets.split(",")) if assets is not None else (),
        top=top,
        cap=parse_fraction(cap, "cap") if cap is not None else None,
        floor=parse_fraction(options["floor"], "floor"),
        min_history_days=options["min_history"],
        window_days=options["window"],
        depth_multiple=options["depth_multiple"],
        # capacity has no --nav: it sizes the caps at each NAV of its grid
        nav_usd=options.get("nav", NAV_USD) if options["depth_multiple"] is not None else None,
    )


def load_data(data_dir: str | None, methodology: Methodology) -> History:
    path = data_dir if data_dir is not None else project_root() / "data"
    columns = [methodology.metric_name] if methodology.method.startswith(METRIC_PREFIX) else []
    try:
        return load_history(path, columns)
    except MarketDataError as exc:
        raise click.BadParameter(str(exc), param_hint="--data") from exc


def usage_error(exc: MethodologyError) -> click.ClickException:
    if exc.param in {
        "method",
        "assets",
        "top",
        "cap",
        "floor",
        "start",
        "end",
        "date",
        "rebalance",
        "nav",
        "gwei",
        "window",
        "navs",
        "budget-bps",
        "execution",
        "max-band",
        "depth-multiple",
    }:
        return click.BadParameter(str(exc), param_hint=f"--{exc.param}")
    return click.ClickException(str(exc))


def warn(messages) -> None:
    for message in messages:
        click.echo(f"warning: {message}", err=True)


def execution_options(command):
    """The execution policy's options (`index_vault.keeper.execution`), for backtest and capacity."""
    options = [
        click.option(
            "--execution",
            type=click.Choice(tuple(POLICIES)),
            default="default",
            show_default=True,
            help="How a rebalance trades: the cost-aware policy, or naive (every gap whole, at once).",
        ),
        click.option(
            "--tracking-price",
            type=float,
            default=DEFAULT_POLICY.tracking_price,
            show_default=True,
            help="NAV a unit of tracking variance is worth (the no-trade band's trade-off).",
        ),
        click.option(
            "--max-band",
            default=str(DEFAULT_POLICY.max_band),
            show_default=True,
            metavar="FRACTION",
            help="Gaps wider than this share of NAV always trade.",
        ),
        click.option(
            "--window-days",
            type=int,
            default=DEFAULT_POLICY.window_days,
            show_default=True,
            help="Days a rebalance may spread its trades over.",
        ),
        click.option(
            "--impact-budget-bps",
            type=float,
            default=DEFAULT_POLICY.impact_budget_bps,
            show_default=True,
            help="A pool trade's price impact beyond the fee; larger trades are spread.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def execution_from(options) -> ExecutionPolicy:
    """The policy the options ask for; a `MethodologyError` names a bad value."""
    if options["execution"] == "naive":
        return NAIVE_POLICY
    try:
        return replace(
            DEFAULT_POLICY,
            tracking_price=options["tracking_price"],
            max_band=float(parse_fraction(options["max_band"], "max-band")),
            window_days=options["window_days"],
            impact_budget_bps=options["impact_budget_bps"],
        )
    except ValueError as exc:
        raise MethodologyError(str(exc), "execution") from exc
