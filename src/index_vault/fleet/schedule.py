"""Which vaults a block dispatches a round for: pure, so every worker decides alike.

A vault's round comes every `every` blocks, at the blocks whose number matches the vault's offset (its address
modulo `every`): a fleet of many vaults spreads its rounds over the blocks instead of all on one. A vault whose
round is queued or running is skipped (the coordination store says which); so a slow round never piles up rounds
of the same vault in the queue.
"""

from collections.abc import Iterable


def offset(vault: str, every: int) -> int:
    """The vault's slot among `every` blocks."""
    return int(vault, 16) % every


def due(vault: str, block: int, every: int) -> bool:
    """Whether `block` is one of the vault's round blocks."""
    return every <= 1 or block % every == offset(vault, every)


def dispatch(vaults: Iterable[str], block: int, every: int, busy: Iterable[str] = ()) -> list[str]:
    """The vaults `block` dispatches, in the order given: due and not `busy` (queued or running)."""
    skip = {v.lower() for v in busy}
    return [v for v in vaults if due(v, block, every) and v.lower() not in skip]


def log_pages(start: int, end: int, page: int) -> list[tuple[int, int]]:
    """The (from, to) block ranges, inclusive, of an `eth_getLogs` scan from `start` to `end` in `page`s."""
    if page < 1:
        raise ValueError("a page holds at least one block")
    return [(lo, min(lo + page - 1, end)) for lo in range(start, end + 1, page)]
