"""The dashboard's view model, pure (no chain): what the page shows, built from raw chain reads.

`build_view` turns a `RawView` (integers as the contracts return them, read at one block by
`index_vault.dashboard.chain.reads`) into JSON for the page: every figure as exact base units (`raw`, a decimal
string) beside its text for people. The wording lives here, once: an oracle status in words, a premium or a
discount by its sign (a DEX price under NAV is a discount, over it a premium, equal "at NAV"; the text's sign
is the difference's, even where it rounds to 0.00%), a governance action's time left, a weight's place against
its band.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from index_vault.common.units import BPS, WAD, format_units
from index_vault.vault.fees import annual_bps_from_rate

# OracleRouter's status codes (its public constants OK .. DISPUTED) in words, and what each means for the price.
ORACLE_STATUS = {
    0: ("ok", "fresh and inside its checks"),
    1: ("not configured", "the oracle has no feed for it"),
    2: ("no answer", "its feed has no round yet"),
    3: ("non-positive", "its feed answered zero or less"),
    4: ("incomplete", "its feed's round is incomplete"),
    5: ("stale", "its feed has not updated within its heartbeat"),
    6: ("clamped", "its feed sits at the aggregator's clamp: the true price may lie beyond it"),
    7: ("out of bounds", "outside the sanity bounds set for it"),
    8: ("quote unusable", "the asset it is routed through has no usable price"),
    9: ("TWAP unavailable", "its pool's TWAP cannot be read over the window"),
    10: ("TWAP thin", "its pool is too thin to check the feed against"),
    11: ("disputed", "its feed and its pool's TWAP disagree beyond the allowed deviation"),
}


def oracle_status(code: int) -> tuple[str, str]:
    """(word, meaning) of an OracleRouter status code."""
    return ORACLE_STATUS.get(code, (f"status {code}", "an oracle status this dashboard does not know"))


def duration_text(seconds: int) -> str:
    """`2d 3h`, `4h 10m`, `12m 5s`, `40s`: two units at most."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def premium(dex_price: int, nav_per_share: int) -> dict:
    """The DEX price against NAV per share (both USD, 18 decimals), signed: positive is a premium, negative a
    discount. `bps` is rounded toward zero, so a price a hair under NAV never reads as a premium."""
    if nav_per_share <= 0:
        raise ValueError("NAV per share must be positive")
    diff = dex_price - nav_per_share
    bps = abs(diff) * BPS * 100 // nav_per_share  # hundredths of a bp
    signed = bps if diff >= 0 else -bps
    label = "at NAV" if diff == 0 else "premium" if diff > 0 else "discount"
    pct = f"{'-' if diff < 0 else '+'}{bps / 10_000:.2f}%"  # the sign of the difference, even when it rounds to 0
    return {"bps_x100": signed, "label": label, "text": "at NAV" if label == "at NAV" else f"{pct} {label}"}


def v3_price(sqrt_price_x96: int, token_is_token0: bool, token_decimals: int, quote_decimals: int) -> int:
    """A Uniswap V3 pool's price of the token in the quote token (18 decimals), from `slot0().sqrtPriceX96`."""
    ratio_x192 = sqrt_price_x96 * sqrt_price_x96  # token1 base units per token0 base unit, times 2**192
    if token_is_token0:
        return ratio_x192 * 10**token_decimals * WAD // (10**quote_decimals << 192)
    return (10**token_decimals << 192) * WAD // (ratio_x192 * 10**quote_decimals)


def usd(amount: int, places: int = 2) -> str:
    """`$1,234.56` from USD with 18 decimals (rounded down)."""
    return f"${format_units(amount, 18, places)}"


def pct(weight: int, places: int = 2) -> str:
    """A 1e18 fraction as a percentage."""
    return f"{weight * 100 / WAD:.{places}f}%"


def when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def figure(raw: int, text: str) -> dict:
    """A number for the page: exact (`raw`, a decimal string: JSON numbers lose precision) and its text."""
    return {"raw": str(raw), "text": text}


@dataclass
class RawConstituent:
    """One constituent as read: its token, the vault's holding, the oracle's price data and its target."""

    address: str
    symbol: str
    decimals: int
    holding: int
    status: int  # OracleRouter status code
    price: int  # the feed's USD price (18 decimals), 0 unless usable
    twap_price: int
    updated_at: int  # the oldest round behind the price
    target: int | None  # target weight (1e18), None before targets are set
    balance: int = 0  # the viewing account's
    allowance: int = 0  # the viewing account's allowance to the vault


@dataclass
class RawView:
    """A vault as read at one block (`index_vault.dashboard.chain.reads.read_view`)."""

    block: int
    timestamp: int
    chain_id: int
    address: str
    name: str
    symbol: str
    supply: int
    pending_fee: int
    nav: int | None  # total_value(), None while it reverts
    nav_per_share: int | None
    nav_error: str
    paused: bool
    base_asset: str
    constituents: list[RawConstituent]
    fee_rate: int
    mint_bps: int
    redeem_bps: int
    entry_bps: int
    exit_bps: int
    recipient: str
    recipient_balance: int
    flow_cap_bps: int
    flow_period: int
    entry_used: int
    exit_used: int
    entry_period_start: int
    exit_period_start: int
    band: int  # the rebalancer's drift band (1e18), 0 when unknown
    rebalance_started: int
    account: str | None = None
    account_shares: int = 0
    governor: str | None = None
    pending: list[dict] = field(default_factory=list)  # Governor proposals: id, target, function, eta, expires
    trades: list[dict] = field(default_factory=list)  # keeper trades and auction fills, newest first
    auctions: list[dict] = field(default_factory=list)  # live auctions with their current rate
    dex: dict | None = None  # {"pool", "quote", "price", "pool_price", "quote_price"} or {"pool", "error"}
    zap: str | None = None  # the Zap the manifest records, if any


def _weight_row(c: RawConstituent, nav: int, band: int, now: int) -> dict:
    value = c.holding * c.price // 10**c.decimals if c.status == 0 else None
    word, meaning = oracle_status(c.status)
    weight = value * WAD // nav if value is not None and nav else None
    place = "-"
    if weight is not None and c.target is not None:
        drift = weight - c.target
        place = "inside" if abs(drift) <= band else ("over" if drift > 0 else "under")
    age = now - c.updated_at if c.updated_at else None
    return {
        "symbol": c.symbol,
        "address": c.address,
        "decimals": c.decimals,
        "holding": figure(c.holding, format_units(c.holding, c.decimals, 6)),
        "value": figure(value, usd(value)) if value is not None else None,
        "weight": figure(weight, pct(weight)) if weight is not None else None,
        "target": figure(c.target, pct(c.target)) if c.target is not None else None,
        "band": place,
        "price": figure(c.price, usd(c.price, 4)) if c.status == 0 else None,
        "price_age": {"seconds": age, "text": f"{duration_text(age)} ago"} if age is not None else None,
        "status": {"code": c.status, "word": word, "meaning": meaning},
        "balance": figure(c.balance, format_units(c.balance, c.decimals, 6)),
        "allowance": str(c.allowance),
    }


def build_view(raw: RawView) -> dict:
    """The page's JSON for one vault (see the module doc)."""
    marked = [c for c in raw.constituents if c.status == 0]
    nav_sum = sum(c.holding * c.price // 10**c.decimals for c in marked)
    problems = [f"{c.symbol}: {oracle_status(c.status)[0]}" for c in raw.constituents if c.status != 0]
    view = {
        "block": raw.block,
        "timestamp": raw.timestamp,
        "time": when(raw.timestamp),
        "chain_id": raw.chain_id,
        "address": raw.address,
        "name": raw.name,
        "symbol": raw.symbol,
        "supply": figure(raw.supply, format_units(raw.supply, 18, 6)),
        "nav": figure(raw.nav, usd(raw.nav)) if raw.nav is not None else None,
        "nav_per_share": figure(raw.nav_per_share, usd(raw.nav_per_share, 4)) if raw.nav_per_share else None,
        "nav_error": raw.nav_error or ("" if not problems else "prices unusable: " + ", ".join(problems)),
        "paused": raw.paused,
        "pause_text": "paused: mints and the NAV path are stopped; redemptions in kind still work"
        if raw.paused
        else "not paused",
        "base_asset": raw.base_asset,
        "constituents": [_weight_row(c, nav_sum, raw.band, raw.timestamp) for c in raw.constituents],
        "band": figure(raw.band, pct(raw.band)),
        "rebalance": f"rebalance started {when(raw.rebalance_started)}"
        if raw.rebalance_started
        else "no rebalance started",
        "fees": _fees(raw),
        "caps": _caps(raw),
        "governance": _governance(raw),
        "trades": raw.trades,
        "auctions": raw.auctions,
        "dex": _dex(raw),
        "zap": _zap(raw),
        "account": _account(raw),
    }
    return view


def _fees(raw: RawView) -> dict:
    annual = annual_bps_from_rate(raw.fee_rate)
    return {
        "management": {"raw": str(raw.fee_rate), "text": f"{annual / 100:.2f}% a year"},
        "accrued": figure(raw.pending_fee, f"{format_units(raw.pending_fee, 18, 6)} shares due"),
        "recipient": raw.recipient,
        "recipient_balance": figure(raw.recipient_balance, format_units(raw.recipient_balance, 18, 6)),
        "mint_bps": raw.mint_bps,
        "redeem_bps": raw.redeem_bps,
        "entry_bps": raw.entry_bps,
        "exit_bps": raw.exit_bps,
        "text": f"in kind: mint {raw.mint_bps} bps, redeem {raw.redeem_bps} bps; at NAV: entry {raw.entry_bps} bps, "
        f"exit {raw.exit_bps} bps",
    }


def _caps(raw: RawView) -> dict:
    if raw.flow_cap_bps == 0:
        return {"text": "no flow cap on the NAV path"}

    def used(amount: int, start: int) -> str:
        if amount == 0 or start + raw.flow_period <= raw.timestamp:
            return "nothing used this period"
        left = duration_text(start + raw.flow_period - raw.timestamp)
        return f"{format_units(amount, 18, 2)} USD used, refills in {left}"

    return {
        "cap_bps": raw.flow_cap_bps,
        "period": raw.flow_period,
        "text": f"{raw.flow_cap_bps / 100:g}% of NAV per {duration_text(raw.flow_period)}",
        "entry": used(raw.entry_used, raw.entry_period_start),
        "exit": used(raw.exit_used, raw.exit_period_start),
    }


def _governance(raw: RawView) -> dict:
    if not raw.governor:
        return {"governor": None, "text": "no Governor recorded for this network", "pending": []}
    rows = []
    for p in raw.pending:
        if raw.timestamp < p["eta"]:
            left = f"executable in {duration_text(p['eta'] - raw.timestamp)}"
        else:
            left = f"executable now, expires in {duration_text(p['expires'] - raw.timestamp)}"
        rows.append({**p, "time_left": left})
    text = f"{len(rows)} pending" if rows else "nothing pending"
    return {"governor": raw.governor, "text": text, "pending": rows}


def _dex(raw: RawView) -> dict:
    """The index token's pool price in USD against NAV per share: a premium over it, a discount under it."""
    if not raw.dex:
        return {"text": "no DEX pool recorded for the index token", "price": None, "premium": None}
    out = {"pool": raw.dex["pool"], "quote": raw.dex.get("quote"), "price": None, "premium": None}
    price = raw.dex.get("price")
    if price is None:
        return {**out, "text": raw.dex.get("error") or "the pool has no price"}
    out["price"] = figure(price, usd(price, 4))
    if "pool_price" in raw.dex:
        out["pool_price"] = figure(
            raw.dex["pool_price"], f"{format_units(raw.dex['pool_price'], 18, 6)} {out['quote']}"
        )
    if raw.nav_per_share:
        out["premium"] = premium(price, raw.nav_per_share)
        out["text"] = out["premium"]["text"]
    else:
        out["text"] = "NAV unusable: no premium or discount"
    return out


def _zap(raw: RawView) -> dict:
    """The zap, if recorded, and the tokens it takes or pays: the constituents and the pool's quote token."""
    if not raw.zap:
        return {"address": None, "text": "no zap recorded for this network: buy and sell with the constituents"}
    tokens = [c.symbol for c in raw.constituents]
    quote = (raw.dex or {}).get("quote")
    if quote and quote != "?" and quote not in tokens:
        tokens.append(quote)
    text = "one token in for exact shares, or shares out for one token, through the constituents' pools"
    return {"address": raw.zap, "text": text, "tokens": tokens, "default": quote if quote in tokens else raw.base_asset}


def _account(raw: RawView) -> dict | None:
    if not raw.account:
        return None
    return {"address": raw.account, "shares": figure(raw.account_shares, format_units(raw.account_shares, 18, 6))}
