"""Plain-text reports of vault state for the command line (no chain needed)."""

from dataclasses import dataclass

from index_vault.common.units import format_units


@dataclass(frozen=True)
class ConstituentStatus:
    """One constituent as the vault holds it."""

    symbol: str
    address: str
    decimals: int
    holding: int
    units_per_share: int
    claim: int  # what the viewing account would receive by redeeming everything
    price: int = 0  # the oracle's USD price (18 decimals), 0 when unusable
    price_age: int | None = None  # seconds since the feed's round
    price_status: str = ""  # "ok" or why the price is unusable
    target: int | None = None  # target weight (1e18 fixed point), None before targets are set


@dataclass(frozen=True)
class FeeStatus:
    """A vault's fee schedule and what its management fee has paid and will pay."""

    recipient: str
    management_annual_bps: float  # what holders lose over a year at the current rate
    pending_shares: int  # management fee due now, minted at the next settlement
    recipient_balance: int  # shares the recipient holds (what fees paid it, unless it moved them)
    mint_bps: int
    redeem_bps: int
    entry_bps: int
    exit_bps: int


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
    nav: int | None = None  # total value (USD, 18 decimals); None while a price is unusable
    value_per_share: int | None = None
    nav_error: str = ""  # the oracle's reason when the NAV is unusable
    base_asset: str = ""
    fees: FeeStatus | None = None


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
    if status.nav is not None:
        per_share = format_units(status.value_per_share or 0, 18, 4)
        head.append(f"NAV            ${format_units(status.nav, 18, 2)} (${per_share} per share)")
    else:
        head.append(f"NAV            unusable: {status.nav_error}")
    if status.base_asset:
        head.append(f"ERC-4626 asset {status.base_asset}")
    if status.fees:
        f = status.fees
        head.append(
            f"fees           management {f.management_annual_bps / 100:.2f}%/yr, in kind mint {f.mint_bps} / redeem "
            f"{f.redeem_bps} bps, NAV entry {f.entry_bps} / exit {f.exit_bps} bps"
        )
        head.append(
            f"fee recipient  {f.recipient}: holds {format_units(f.recipient_balance, 18)} shares, "
            f"{format_units(f.pending_shares, 18)} pending"
        )
    if status.account:
        head.append(f"your balance   {format_units(status.balance, 18)} shares ({status.account})")
    rows = [
        [
            c.symbol,
            format_units(c.holding, c.decimals),
            format_units(c.units_per_share, c.decimals),
            format_units(c.claim, c.decimals),
            f"{c.target / 10**16:.2f}%" if c.target is not None else "-",
            f"${format_units(c.price, 18, 4)}" if c.price else "-",
            _age(c.price_age),
            c.price_status,
            c.address,
        ]
        for c in status.constituents
    ]
    headers = ["asset", "holdings", "per share", "your claim", "target", "price", "age", "status", "address"]
    body = table(headers, rows, right={1, 2, 3, 4, 5, 6})
    return "\n".join(head) + "\n\n" + body


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def format_amounts(symbols: list[str], decimals: list[int], amounts: list[int]) -> str:
    """`1.5 WETH, 0.02 WBTC, ...` for one line of output."""
    return ", ".join(f"{format_units(a, d)} {s}" for s, d, a in zip(symbols, decimals, amounts, strict=True))
