"""The demo's noise flows, pure: how much of the index token changes hands in a day.

The index token turns over like its basket: its daily volume is NAV times the basket's turnover, each
constituent's trailing mean daily volume (`History.liquidity`: the price panel's, or CoinMarketCap's monthly
snapshots where the panel has none) over its market cap, weighted by the vault's weights, over the constituents
the data covers.
"""

from index_vault.methodology.history import History


def turnover(history: History, basket: list[str], weights: dict[str, float], i: int) -> float:
    """The basket's daily turnover on day `i`: each constituent's trailing mean daily volume over its market cap,
    weighted by `weights` (over the constituents with both; 0 when none has)."""
    total, covered = 0.0, 0.0
    for asset in basket:
        volume, _ = history.liquidity(asset, i)
        cap = history.market_cap(asset, i)
        if volume and cap:
            total += weights.get(asset, 0.0) * volume / cap
            covered += weights.get(asset, 0.0)
    return total / covered if covered else 0.0
