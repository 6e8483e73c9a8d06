"""Helpers for tests that run the real OracleRouter over mock feeds and mock pools."""

import math

WAD = 10**18
WINDOW = 1800
DEEP = 10**24  # pool liquidity: millions of dollars of virtual depth
ZERO = "0x" + "00" * 20


def set_twap(pool, asset, quote, usd_asset: float, usd_quote: float, liquidity: int = DEEP) -> None:
    """Makes the mock pool's TWAP over WINDOW say `usd_asset` per asset, given the quote's USD price."""
    raw_quote_per_asset = usd_asset / usd_quote * 10 ** quote.decimals() / 10 ** asset.decimals()
    raw = raw_quote_per_asset if pool.token0() == asset.address else 1 / raw_quote_per_asset  # token1 per token0
    tick = math.floor(math.log(raw) / math.log(1.0001))
    pool.set_observations(0, tick * WINDOW, 0, WINDOW * 2**128 // liquidity)


def params(feed, pool, price_usd: float, **overrides) -> tuple:
    p = {
        "feed": feed.address,
        "heartbeat": 3600,
        "grace": 600,
        "quote": ZERO,
        "min_price": int(price_usd * WAD) // 100,
        "max_price": int(price_usd * WAD) * 100,
        "pool": pool.address,
        "twap_window": WINDOW,
        "min_depth": 25_000 * WAD,
        "max_deviation_bps": 200,
        "error_bps": 100,
    }
    p.update(overrides)
    return tuple(p.values())
