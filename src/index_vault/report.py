"""Plain-text reports of vault state for the command line (no chain needed)."""

from dataclasses import dataclass

from index_vault.units import format_units


@dataclass(frozen=True)
class ConstituentStatus:
    """One constituent as the vault holds it."""

    symbol: str
    address: str
    decimals: int
    holding: int
    units_per_share: int
    claim: int  # what the viewing account would receive by redeeming everything


@dataclass(frozen=True)
class VaultStatus:
    """A snapshot of one vault, read from the chain."""

    address: str
    name: str
    symbol: str
    supply: int
    account: str | None
    balance: int
    constituents: tuple[ConstituentStatus, ...]


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A fixed-width text table; columns in `right` are right-aligned."""
    right = right or set()
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def format_status(status: VaultStatus) -> str:
    """The `ape run vault status` report."""
    head = [
        f"{status.name} ({status.symbol}) at {status.address}",
        f"supply         {format_units(status.supply, 18)} shares",
    ]
    if status.account:
        head.append(f"your balance   {format_units(status.balance, 18)} shares ({status.account})")
    rows = [
        [
            c.symbol,
            format_units(c.holding, c.decimals),
            format_units(c.units_per_share, c.decimals),
            format_units(c.claim, c.decimals),
            c.address,
        ]
        for c in status.constituents
    ]
    body = table(["asset", "holdings", "per share", "your claim", "address"], rows, right={1, 2, 3})
    return "\n".join(head) + "\n\n" + body


def format_amounts(symbols: list[str], decimals: list[int], amounts: list[int]) -> str:
    """`1.5 WETH, 0.02 WBTC, ...` for one line of output."""
    return ", ".join(f"{format_units(a, d)} {s}" for s, d, a in zip(symbols, decimals, amounts, strict=True))
