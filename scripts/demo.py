"""`ape run demo` (what `make demo` runs): an index vault replayed through 90 days of real prices.

On the embedded local chain: builds the market chain (test tokens, Chainlink feeds, Uniswap V3 pools and V2
pairs) at the start date, deploys an index vault at a methodology's weights and mints $100,000 of it, then
replays each day's real closes: the feeds and pools move to the day's prices and the real keeper trades the
vault back inside its bands through the pools. At the end a table (NAV against the ideal index and against the
off-chain backtest of the same window, tracking error, trades, gas, fees) and a chart, written to `--out`.
See `index_vault.replay.chain`.
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from index_vault.chain.scripting import is_local
from index_vault.cli_options import liquidity_option
from index_vault.common.artifacts import project_root
from index_vault.keeper.policy import EventLog
from index_vault.market.model import MarketDataError
from index_vault.methodology.history import MethodologyError
from index_vault.methodology.weights import parse_fraction
from index_vault.replay.chain import ReplayConfig, eth_prices, finish_replay, replay_day, setup_replay
from index_vault.replay.record import format_table, write_results


@click.command(cls=ConnectedProviderCommand)
@click.option("--start", default="2022-09-01", show_default=True, metavar="YYYY-MM-DD", help="The first day.")
@click.option("--days", type=int, default=90, show_default=True, help="Days to replay after the start.")
@click.option(
    "--method",
    default="capped-market-cap",
    show_default=True,
    help="market-cap, capped-market-cap, equal, liquidity, sqrt-market-cap or metric:COLUMN.",
)
@click.option("--top", type=int, default=5, show_default=True, help="The N largest assets on the start day.")
@click.option("--assets", default=None, metavar="SYM,...", help="A fixed basket instead of --top.")
@click.option("--cap", default=None, metavar="FRACTION", help="Per-asset cap (capped-market-cap: 0.25).")
@click.option("--nav", "nav_usd", type=int, default=100_000, show_default=True, help="USD minted on the start day.")
@click.option("--band-bps", type=int, default=ReplayConfig.band_bps, show_default=True, help="The keeper's drift band.")
@click.option(
    "--trade-band-bps",
    type=int,
    default=ReplayConfig.trade_band_bps,
    show_default=True,
    help="Once past the band, the keeper trades every weight past this back to target.",
)
@click.option("--management-fee-bps", type=int, default=0, show_default=True, help="Annual management fee.")
@click.option("--data", "data_dir", default=None, metavar="DIR", help="A data folder in the layout of data/prices.")
@click.option(
    "--out", default=None, type=click.Path(file_okay=False), help="Results folder (default: results/demo-TIME)."
)
@liquidity_option("How deep the market's pools are: the liquidity model's variant (the backtest's too), or the legacy "
                  "rule.")  # fmt: skip
@click.option("--chart/--no-chart", default=True, show_default=True)
def cli(
    start,
    days,
    method,
    top,
    assets,
    cap,
    nav_usd,
    band_bps,
    trade_band_bps,
    management_fee_bps,
    data_dir,
    liquidity,
    out,
    chart,
):
    """Replay real daily prices through an index vault on a local market, with the real keeper."""
    if not is_local():
        raise click.UsageError("the demo builds a market of test tokens: run it on a local chain (the default)")
    logger.set_level("WARNING")  # a progress bar, not one line per confirmed transaction
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out else project_root() / "results" / f"demo-{stamp}"
    try:
        config = ReplayConfig(
            start=start,
            days=days,
            method=method,
            assets=tuple(a.strip() for a in assets.split(",")) if assets else (),
            top=top,
            cap=parse_fraction(cap, "cap") if cap is not None else None,
            nav_usd=nav_usd,
            band_bps=band_bps,
            trade_band_bps=trade_band_bps,
            management_fee_bps=management_fee_bps,
            data=Path(data_dir) if data_dir else None,
            liquidity=liquidity,
        )
        config.methodology()
    except MethodologyError as exc:
        raise click.BadParameter(str(exc)) from exc
    if not 1 <= band_bps <= 2_000 or not 1 <= trade_band_bps <= 2_000 or nav_usd < 1_000:
        raise click.BadParameter("the bands are 1..2000 bps and the NAV at least $1,000")
    deployer, holder, keeper, trader, arbitrageur = list(accounts.test_accounts)[:5]
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "keeper.jsonl"
    click.secho(f"== Building the market at {start} and deploying the vault", bold=True)
    try:
        with log_path.open("w") as log_file:
            setup = setup_replay(
                config,
                deployer,
                holder,
                keeper,
                echo=click.echo,
                keeper_log=EventLog("json", stream=log_file),
                secondary=(trader, arbitrageur),
            )
            click.secho(f"== Replaying {setup.dates[1]} .. {setup.dates[-1]} with the keeper", bold=True)
            with click.progressbar(
                range(1, len(setup.dates)),
                label="replay",
                file=sys.stderr,
                item_show_func=lambda i: _progress(setup, i),
            ) as bar:
                for i in bar:
                    replay_day(setup, i, deployer)
    except (MethodologyError, MarketDataError) as exc:
        raise click.ClickException(str(exc)) from exc
    result = finish_replay(setup)
    prices = eth_prices(setup.history, setup.dates)
    written = write_results(result, out, prices, chart=chart)
    click.secho("\n== Result", bold=True)
    click.echo(format_table(result.summary(prices)))
    click.echo(f"\nwrote {', '.join(p.name for p in written)} and keeper.jsonl to {out}")


def _progress(setup, i) -> str:
    if i is None or len(setup.result.days) < 2:
        return ""
    day = setup.result.days[-1]
    trades = len(setup.result.trades)
    return f"{day.date} NAV ${day.nav_usd:,.0f} level {day.tracked:.2f} (ideal {day.ideal:.2f}) trades {trades}"
