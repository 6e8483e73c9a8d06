"""The gas benchmark's report, pure part: the project's gas targets checked on the measured rows, the
tables and `gas.md`. `index_vault.bench.chain` measures the rows.
"""

import json
from collections.abc import Callable
from pathlib import Path

from index_vault.common.report import table

# The gas targets: (op, the basket size it applies at or None for every N, label, the gas limit from a row)
TARGETS: list[tuple[str, int | None, str, Callable[[dict], float]]] = [
    ("mint_in_kind", None, "<= 0.7 x Set issue", lambda r: 0.7 * r["peer_gas"]),
    ("mint_in_kind", None, "<= 1.25 x floor + 40,000", lambda r: 1.25 * r["floor_gas"] + 40_000),
    ("redeem_in_kind", None, "<= 0.7 x Set redeem", lambda r: 0.7 * r["peer_gas"]),
    ("keeper_trade", None, "<= 1.5 x bare swap", lambda r: 1.5 * r["peer_gas"]),
    ("auction_fill", None, "<= 1.6 x bare swap", lambda r: 1.6 * r["peer_gas"]),
    *(
        (op, n, f"<= 1.15 x its swaps + {flow}", lambda r: 1.15 * r["peer_gas"])
        for op, flow in (("zap_mint", "mint_in_kind"), ("zap_redeem", "redeem_in_kind"))
        for n in (10, 50)
    ),
    ("rebalance_start", 10, "<= 1,000,000", lambda r: 1_000_000),
    ("erc4626_deposit", 50, "<= 2,400,000", lambda r: 2_400_000),
    ("erc4626_redeem", 50, "<= 2,400,000", lambda r: 2_400_000),
]

# `total_value`'s gas per constituent, between the smallest and the largest NAV-priced basket measured
SLOPE_OP, SLOPE_LIMIT = "total_value", 45_000


def check_targets(rows: list[dict]) -> list[dict]:
    """Puts each target's check on its row ({target, limit, met}); returns the checks with their op and N (the
    slope check's N is the larger basket's, its gas the measured slope)."""
    checks = []
    for row in rows:
        for op, n, label, limit_of in TARGETS:
            if row["op"] != op or n not in (None, row["n_assets"]):
                continue
            limit = int(limit_of(row))
            check = {"target": label, "limit": limit, "met": row["gas"] <= limit}
            row.setdefault("targets", []).append(check)
            checks.append({"op": op, "n_assets": row["n_assets"], "gas": row["gas"], **check})
    valued = sorted((r for r in rows if r["op"] == SLOPE_OP), key=lambda r: r["n_assets"])
    if len(valued) >= 2 and valued[-1]["n_assets"] > valued[0]["n_assets"]:
        low, high = valued[0], valued[-1]
        slope = (high["gas"] - low["gas"]) // (high["n_assets"] - low["n_assets"])
        label = f"<= {SLOPE_LIMIT:,} / constituent (N {low['n_assets']}..{high['n_assets']})"
        checks.append(
            {
                "op": f"{SLOPE_OP}_slope",
                "n_assets": high["n_assets"],
                "gas": slope,
                "target": label,
                "limit": SLOPE_LIMIT,
                "met": slope <= SLOPE_LIMIT,
            }
        )
    return checks


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}"


def tables(rows: list[dict], checks: list[dict]) -> tuple[str, str]:
    main = table(
        ["op", "N", "gas", "peer", "peer gas", "gas / peer", "floor gas", "gas / floor"],
        [
            [
                r["op"],
                str(r["n_assets"]),
                f"{r['gas']:,}",
                r.get("peer", ""),
                f"{r['peer_gas']:,}" if "peer_gas" in r else "",
                _ratio(r["gas"], r["peer_gas"]) if "peer_gas" in r else "",
                f"{r['floor_gas']:,}" if "floor_gas" in r else "",
                _ratio(r["gas"], r["floor_gas"]) if "floor_gas" in r else "",
            ]
            for r in rows
        ],
        right={1, 2, 4, 5, 6, 7},
    )
    targets = table(
        ["op", "N", "target", "gas", "limit", "gas / limit", "met"],
        [
            [
                c["op"],
                str(c["n_assets"]),
                c["target"],
                f"{c['gas']:,}",
                f"{c['limit']:,}",
                _ratio(c["gas"], c["limit"]),
                "yes" if c["met"] else f"no, over by {c['gas'] - c['limit']:,}",
            ]
            for c in checks
        ],
        right={1, 3, 4, 5},
    )
    return main, targets


def unbounded_note(rows: list[dict]) -> str:
    """How the unbounded in-kind mint stands against the 0.7 x Set target (checked on the bounded one)."""
    unbounded = [r for r in rows if r["op"] == "mint_in_kind_unbounded"]
    if not unbounded:
        return ""
    ratios = [r["gas"] / r["peer_gas"] for r in unbounded]
    over = [f"N = {r['n_assets']} by {r['gas'] - int(0.7 * r['peer_gas']):,}" for r in unbounded]
    missed = [o for r, o in zip(unbounded, over, strict=True) if r["gas"] > int(0.7 * r["peer_gas"])]
    verdict = f"missed at {', '.join(missed)} gas" if missed else "met at every N"
    return (
        f"Not checked above: mint_in_kind_unbounded is {min(ratios):.3f}..{max(ratios):.3f} x Set's issue, so "
        f"unbounded the 0.7 x target would be {verdict}."
    )


def markdown(main: str, targets: str, checks: list[dict], note: str) -> str:
    met = sum(c["met"] for c in checks)
    return (
        "Gas on anvil 1.7.1 (Prague), one run (`make bench`), steady state (not first mints), block timestamps "
        "fixed.\n\n"
        "- Peers: Set Protocol V2 0.1.16's BasicIssuanceModule `issue` / `redeem` (the npm build) over the same "
        "OpenZeppelin tokens, units and holder; the bare Uniswap V3 `SwapRouter.exactInput` of the keeper "
        "trade's pair and amount (beside the keeper trade and the auction fill).\n"
        "- Floor: one transaction that only moves the same N tokens by `transferFrom`.\n"
        "- `mint_in_kind` / `redeem_in_kind` pass the bounds the project's client sends (`ape run vault "
        "mint|redeem`: the previews plus / less 50 bps); the `_unbounded` rows pass `max_amounts_in` all "
        "2**256 - 1 and `min_amounts_out` all 0 (the calldata differs: 16 gas a non-zero byte, 4 a zero).\n"
        "- NAV-priced rows (ERC-4626, `total_value`, rebalance start and refresh, keeper trade, auction fill, "
        "factory) run on a local market with the real oracle (a Chainlink feed and a Uniswap V3 TWAP read per "
        "constituent); `total_value` is a transaction calling the view; a refresh re-prices the trade's seller, "
        "USDC.\n\n```\n" + main + f"\n```\n\nThe gas targets ({met} of {len(checks)} met; gas / limit at most 1 meets "
        "the target):\n\n```\n" + targets + "\n```\n" + (f"\n{note}\n" if note else "")
    )


def write_results(rows: list[dict], folder: Path) -> str:
    """Checks the targets on `rows`, writes `gas.json` and `gas.md` to `folder`; returns the text to print."""
    checks = check_targets(rows)
    main, targets = tables(rows, checks)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gas.json").write_text(json.dumps(rows, indent=2) + "\n")
    note = unbounded_note(rows)
    (folder / "gas.md").write_text(markdown(main, targets, checks, note))
    return f"{main}\n\n{targets}\n\n{note}"
