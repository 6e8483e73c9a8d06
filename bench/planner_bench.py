"""How long the keeper's planner takes on random 50-constituent vaults.

Prints the median and the maximum planning time over `--states` random states (default 200), with the
default quote (the oracle less a fixed slippage) and with a pool quote whose price impact makes the
planner shrink trades by bisection. Run: `python bench/planner_bench.py [--states N] [--seed S]`.
"""

import argparse
import random
import statistics
import time

from index_vault.common.units import BPS, WAD
from index_vault.keeper.planner import KeeperSettings, Market, plan
from index_vault.keeper.rules import Constituent, Limits, RebalancerState

NOW = 1_700_000_000


def random_state(rng: random.Random, n: int = 50) -> RebalancerState:
    """A vault of `n` constituents at $1M to $100M, each weight up to 3 points off its target, right after a
    rebalance's start (unit targets and snapshot prices as `start_rebalance` sets them)."""
    raw = [rng.randint(1, 1_000) for _ in range(n)]
    targets = [x * WAD // sum(raw) for x in raw]
    targets[0] += WAD - sum(targets)
    nav = rng.randint(10**24, 10**26)
    parts = []
    for i, target in enumerate(targets):
        decimals = rng.choice([6, 8, 18])
        price = rng.randint(10**16, 10**23)
        value = max(0, (target + rng.randint(-3 * 10**16, 3 * 10**16)) * nav // WAD)
        parts.append(Constituent(f"0x{i:040x}", f"T{i}", value * 10**decimals // price, price, decimals, target))
    limits = Limits(max_trade_bps=rng.choice([500, 2_000, BPS]), period_cap_bps=rng.choice([2_000, BPS]))
    return RebalancerState(tuple(parts), limits, NOW).started()


def pool_market(state: RebalancerState, depth_usd: int) -> Market:
    """A 0.3% fee and price impact against `depth_usd` (18 decimals) of liquidity in every pair."""
    book = {c.address: c for c in state.constituents}

    def quote(sell: str, buy: str, amount_in: int) -> int:
        s, b = book[sell], book[buy]
        value = amount_in * s.price // s.unit
        return value * b.unit // b.price * 9_970 // BPS * depth_usd // (depth_usd + value)

    return Market(quote=quote)


def run(states: list[RebalancerState], markets: list[Market], keeper: KeeperSettings) -> tuple[list[float], int]:
    times, trades = [], 0
    for state, market in zip(states, markets, strict=True):
        start = time.perf_counter()
        result = plan(state, keeper, market)
        times.append(time.perf_counter() - start)
        trades += len(result)
    return times, trades


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    states = [random_state(rng) for _ in range(args.states)]
    keeper = KeeperSettings(band=10**16, min_trade_usd=100 * WAD, slippage_bps=50)
    cases = {
        "oracle less 30 bps": [Market(expected_slippage_bps=30) for _ in states],
        "pool, $5M depth": [pool_market(s, 5 * 10**6 * WAD) for s in states],
    }
    print(f"{args.states} random states of 50 constituents (seed {args.seed})")
    for name, markets in cases.items():
        times, trades = run(states, markets, keeper)
        print(
            f"{name:20s} median {statistics.median(times) * 1e3:6.2f} ms   max {max(times) * 1e3:6.2f} ms"
            f"   {trades / len(states):5.1f} trades a plan"
        )


if __name__ == "__main__":
    main()
