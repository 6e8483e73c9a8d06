"""The demo's keeper off chain, over many 90-day windows: how many starts and trades, how much gas, what tracking.

An approximation of `ape run demo` without a chain: each day the keeper's own `decide` and `plan` (the demo's
band, trade band, minimum trade and slippage) run on the vault's holdings at the day's closes, and each trade
fills at the market plan's constant-product prices (a V2 pair of its full-range depth, a V3 position of its
concentrated capital times the variant's amplification, the better of the two; two hops through ETH or USDC
when neither side is ETH), 0.3% a hop. Gas per start and per trade are the demo's receipts (a start 363,000,
the first 449,000; a trade 175,000 on one pool, 232,000 through two). No secondary market, no retry rounds.
On the demo's window with the base pools it gives the chain's 15 starts, 28 trades and 0.41% tracking error
(and at a 0.7% trade band the chain's 19 starts, 25 trades and 0.45%).

Run: `python bench/keeper_windows.py [--liquidity base] [--trade-band-bps 60 ...] [--windows N]`.
"""

import argparse
import datetime
import math
import statistics
from dataclasses import replace
from fractions import Fraction

from index_vault.common.artifacts import project_root
from index_vault.common.units import WAD
from index_vault.keeper.planner import KeeperSettings, Market, plan
from index_vault.keeper.rebalance import IDLE, START, TRADE, SnapshotGas, decide, narrowed, stale, with_prices
from index_vault.keeper.rules import Constituent, Limits, RebalancerState
from index_vault.market.liquidity import VARIANTS
from index_vault.market.model import PANEL_PATH, load_panel, plan_market
from index_vault.methodology.backtest import CostModel, Schedule, run_backtest
from index_vault.methodology.history import find_panel, load_history
from index_vault.methodology.weights import Methodology

DAY = 86_400
FEE = 0.997
GAS = {"first_start": 449_000, "start": 363_000, "refresh": 145_000, "one_hop": 175_000, "two_hops": 232_000}


def _te(tracked: list[float], ideal: list[float]) -> float:
    d = [tracked[k + 1] / tracked[k] - ideal[k + 1] / ideal[k] for k in range(len(tracked) - 1)]
    mean = sum(d) / len(d)
    return math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) * 365)


def replay(history, panel, start: str, liquidity: str, band_bps: int = 125, trade_band_bps: int = 60) -> dict:
    """One window of 90 days from `start`: starts, trades, gas and tracking errors (chain-like and backtest)."""
    first_index = history.index(start)
    dates = history.dates[first_index : first_index + 91]
    first = Methodology("capped-market-cap", top=5).weights(history, dates[0])
    basket = list(first.assets)
    fixed = Methodology("capped-market-cap", assets=tuple(basket))
    backtest = run_backtest(
        history, fixed, dates[0], dates[-1], Schedule("drift", band_bps), CostModel(gwei=0.0, liquidity=liquidity)
    )
    amplification = VARIANTS[liquidity].amplification if liquidity != "legacy" else 1.0
    depth = {}
    for pool in plan_market(dates[0], basket, panel, liquidity).pools:
        v2 = pool.v2_depth_usd if pool.v2_depth_usd is not None else pool.depth_usd
        depth[frozenset((pool.asset, pool.quote))] = (v2, pool.depth_usd * amplification)
    day = {"i": 0}

    def price(asset: str) -> float:
        return history.price(asset, first_index + day["i"])

    def hop(a: str, b: str, usd: float, venue: int) -> float:
        d = depth[frozenset((a, b))][venue]
        return usd * FEE * d / (d + usd * FEE)

    def quote(sell: str, buy: str, amount: int) -> int:
        usd = amount / WAD * price(sell)
        if "ETH" in (sell, buy):
            out = max(hop(sell, buy, usd, v) for v in (0, 1))
        else:
            out = max(hop(mid, buy, hop(sell, mid, usd, v), v) for mid in ("ETH", "USDC") for v in (0, 1))
        return int(out / price(buy) * WAD)

    def prices() -> list[int]:
        return [int(Fraction(price(a)) * WAD) for a in basket]

    parts = tuple(
        Constituent(a, a, int(Fraction(100_000) * w / WAD / Fraction(price(a)) * WAD), p, 18, w)
        for a, w, p in zip(basket, first.weights, prices(), strict=True)
    )
    state = RebalancerState(parts, Limits(), now=DAY, supply=1000 * WAD)
    settings = KeeperSettings(band=band_bps * WAD // 10_000, min_trade_usd=50 * WAD, slippage_bps=100, max_trades=10)
    trade_band = trade_band_bps * WAD // 10_000
    counts = {"starts": 0, "trades": 0, "refreshes": 0, "gas": 0}
    levels = [sum(c.holding / WAD * price(c.symbol) for c in state.constituents)]
    for i in range(1, len(dates)):
        day["i"] = i
        targets = fixed.weights(history, dates[i]).weights
        parts = tuple(replace(c, target=t) for c, t in zip(state.constituents, targets, strict=True))
        state = replace(state, now=DAY * (i + 1) + 4_000, constituents=parts)
        now_prices = prices()
        market = Market(quote=quote, gas_price=10**9, gas_per_trade=180_000, eth_price=int(price("ETH") * WAD))
        decision = decide(
            state, now_prices, settings, market, SnapshotGas(GAS["start"], GAS["refresh"]), margin=120,
            trade_band=trade_band,
        )  # fmt: skip
        if decision.action == START:
            state = with_prices(state, now_prices).started()
            counts["gas"] += GAS["start"] if counts["starts"] else GAS["first_start"]
            counts["starts"] += 1
        elif decision.action == TRADE and decision.refresh:
            legs = [state.index[a] for a in decision.refresh]
            state = with_prices(state, now_prices, legs)
            counts["gas"] += GAS["refresh"] * len(legs)
            counts["refreshes"] += len(legs)
        if decision.action != IDLE:
            for _ in range(10):
                trading = with_prices(state, now_prices, stale(state, 120))
                trades = plan(trading, narrowed(trading, settings, trade_band), market).trades
                if not trades:
                    break
                trade = trades[0]
                state = replace(trading.apply(trade, quote(trade.sell, trade.buy, trade.amount_in)), now=state.now + 2)
                counts["gas"] += GAS["one_hop"] if "ETH" in (trade.sell, trade.buy) else GAS["two_hops"]
                counts["trades"] += 1
        levels.append(sum(c.holding / WAD * price(c.symbol) for c in state.constituents))
    return {**counts, "te": _te(levels, backtest.ideal), "te_backtest": _te(backtest.tracked, backtest.ideal)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--liquidity", default="base", choices=("thin", "base", "deep", "legacy"))
    parser.add_argument("--trade-band-bps", type=int, nargs="+", default=[60])
    parser.add_argument("--first", default="2021-06-01", help="the first window's start")
    parser.add_argument("--windows", type=int, default=25, help="windows, 20 days apart")
    args = parser.parse_args()
    panel_path = find_panel(project_root() / PANEL_PATH)
    history, panel = load_history(panel_path, []), load_panel(panel_path)
    first = datetime.date.fromisoformat(args.first)
    starts = [(first + datetime.timedelta(days=20 * k)).isoformat() for k in range(args.windows)]
    for trade_band in args.trade_band_bps:
        runs = [replay(history, panel, s, args.liquidity, trade_band_bps=trade_band) for s in starts]
        gas = statistics.mean(r["gas"] for r in runs) / 1e6
        starts_mean = statistics.mean(r["starts"] for r in runs)
        gap = statistics.mean(r["te"] - r["te_backtest"] for r in runs) * 100
        print(
            f"{args.liquidity} trade band {trade_band} bps, {len(runs)} windows: gas {gas:.2f}M, "
            f"starts {starts_mean:.1f}, tracking error {gap:+.3f} points over the backtest's"
        )
    demo = replay(history, panel, "2022-09-01", args.liquidity, trade_band_bps=args.trade_band_bps[0])
    print(f"the demo's window: {demo}")


if __name__ == "__main__":
    main()
