"""NAV per share over time, rebuilt from the chain's logs (pure: no chain).

A node keeps every block's logs but, unless it is an archive node, not every block's state (anvil as this
project runs it keeps about the last 500 blocks), so the history is not read by calling `value_per_share` at
past blocks. It is rebuilt from what the logs say, which is all the vault's NAV depends on:

- the supply: the index token's mints and burns (`Transfer` from or to the zero address);
- the holdings: every constituent's `Transfer` to and from the vault (the vault's holdings are its balances);
- the prices: every round of each feed (the aggregator behind the Chainlink proxy the oracle reads, round by
  round), a routed feed's answer times its quote asset's price.

At each sample time the NAV per share is the holdings at the feeds' prices over the supply, as the vault's
`value_per_share` computes it at the mid price, except the management fee not yet settled (the vault divides
by the supply after it accrues): at most the fee rate times the time since the last settlement. The oracle's
other checks (staleness, TWAP) are not replayed: a point is the feeds' price, marked where the feed was older
than its heartbeat. Constituents removed from the basket before the head are not valued (they leave at weight
0, sold to dust).

The index token's price on its Uniswap V3 pool is rebuilt beside it, exactly: a V3 pool's price (`slot0`) is
set by its `Initialize` and changed only by its swaps, each of which logs the price it leaves (`Swap`'s
`sqrtPriceX96`), so the price at a sample time is the last of those logs before it; the quote token is valued
at its feed's answer then (a feed after the constituents' in `feeds`, or a constituent's own).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from index_vault.common.units import WAD
from index_vault.dashboard.model import v3_price

DAY = 86_400


@dataclass(frozen=True)
class Feed:
    """How one constituent is priced: its aggregator, the answer's decimals, and for a routed feed the position
    of the quote asset in the basket (its price multiplies the answer)."""

    aggregator: str
    decimals: int
    token_decimals: int
    heartbeat: int
    quote: int | None = None


@dataclass(frozen=True)
class Change:
    """One change, ordered by time then chain order: `kind` "supply" (delta shares), "holding" (delta of
    constituent `index`), "answer" (a feed round of `aggregator`) or "pool" (the index pool's `sqrtPriceX96`)."""

    block: int
    log_index: int
    timestamp: int
    kind: str
    value: int
    index: int = -1
    aggregator: str = ""
    updated_at: int = 0  # an answer's own round time (its log's `updatedAt`)


@dataclass(frozen=True)
class Point:
    """NAV per share (USD, 18 decimals) at `timestamp`, or None and why."""

    timestamp: int
    nav_per_share: int | None
    note: str = ""
    dex_price: int | None = None  # the index token's pool price in USD (18 decimals), None before the pool


@dataclass(frozen=True)
class Dex:
    """The index token's pool: whether the index token is its token0, and the quote token's position in the
    feeds and its decimals."""

    index_is_0: bool
    quote: int
    quote_decimals: int


def sample_times(head_timestamp: int, days: int, first_timestamp: int) -> list[int]:
    """One sample a day back from the head, `days` of them at most, none before `first_timestamp`."""
    return [t for t in (head_timestamp - k * DAY for k in range(days, -1, -1)) if t >= first_timestamp]


def _price(i: int, feeds: Sequence[Feed], answers: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """(USD price with 18 decimals, oldest round time) of constituent `i`, or None without an answer."""
    feed = feeds[i]
    if feed.aggregator not in answers:
        return None
    answer, updated = answers[feed.aggregator]
    price = answer * 10 ** (18 - feed.decimals) if feed.decimals <= 18 else answer // 10 ** (feed.decimals - 18)
    if feed.quote is not None:
        quoted = _price(feed.quote, feeds, answers)
        if quoted is None:
            return None
        price, updated = price * quoted[0] // WAD, min(updated, quoted[1])
    return price, updated


def dex_price(sqrt_price_x96: int | None, dex: Dex, feeds: Sequence[Feed], answers: dict) -> int | None:
    """The index token's pool price in USD (18 decimals) at `sqrt_price_x96`, its quote at the feeds' answers."""
    if sqrt_price_x96 is None:
        return None
    quoted = _price(dex.quote, feeds, answers)
    if quoted is None:
        return None
    return v3_price(sqrt_price_x96, dex.index_is_0, 18, dex.quote_decimals) * quoted[0] // WAD


def nav_history(
    changes: Sequence[Change], feeds: Sequence[Feed], samples: Sequence[int], dex: Dex | None = None
) -> list[Point]:
    """NAV per share at each of `samples` (ascending timestamps) from `changes` (see the module doc), and the
    index token's pool price where `dex` says which pool. `feeds` may hold more feeds than constituents (the
    quote's): those hold nothing."""
    ordered = sorted(changes, key=lambda c: (c.timestamp, c.block, c.log_index))
    supply, holdings = 0, [0] * len(feeds)
    answers: dict[str, tuple[int, int]] = {}
    sqrt_price: int | None = None
    points, at = [], 0
    for sample in samples:
        while at < len(ordered) and ordered[at].timestamp <= sample:
            change = ordered[at]
            if change.kind == "supply":
                supply += change.value
            elif change.kind == "holding":
                holdings[change.index] += change.value
            elif change.kind == "pool":
                sqrt_price = change.value
            else:
                answers[change.aggregator] = (change.value, change.updated_at or change.timestamp)
            at += 1
        point = _point(sample, supply, holdings, feeds, answers)
        if dex is not None:
            point = Point(point.timestamp, point.nav_per_share, point.note, dex_price(sqrt_price, dex, feeds, answers))
        points.append(point)
    return points


def _point(sample: int, supply: int, holdings: list[int], feeds: Sequence[Feed], answers: dict) -> Point:
    if supply <= 0:
        return Point(sample, None, "no shares yet")
    value, stale = 0, []
    for i, (holding, feed) in enumerate(zip(holdings, feeds, strict=True)):
        priced = _price(i, feeds, answers)
        if priced is None:
            if holding:
                return Point(sample, None, "a constituent had no price yet")
            continue
        price, updated = priced
        if holding and sample - updated > feed.heartbeat:  # a feed that values nothing (the pool's quote) aside
            stale.append(i)
        value += holding * price // 10**feed.token_decimals
    note = f"{len(stale)} feed(s) older than their heartbeat" if stale else ""
    return Point(sample, value * WAD // supply, note)
