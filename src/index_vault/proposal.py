"""Target-weight proposal files: what `index-vault weights --out FILE` writes and `ape run vault propose-targets`
reads.

JSON: `{"date": "YYYY-MM-DD", "method": "capped-market-cap", "assets": ["ETH", "BTC", ...],
"weights": [<int>, ...]}` with one weight per asset (1e18 fixed point, as integers or decimal strings) summing
to exactly 10**18. Asset symbols are matched to the vault's constituents by token symbol; the market data's
`ETH` and `BTC` also match the wrapped tokens `WETH` and `WBTC`.
"""

import json
from dataclasses import dataclass
from pathlib import Path

WAD = 10**18
WRAPPED = {"ETH": "WETH", "BTC": "WBTC"}


class ProposalError(ValueError):
    """A proposal file that cannot become the vault's target weights, with the reason."""


@dataclass(frozen=True)
class TargetProposal:
    """Target weights by asset symbol."""

    date: str
    method: str
    assets: tuple[str, ...]
    weights: tuple[int, ...]

    def weights_for(self, basket: list[str]) -> list[int]:
        """The weights in the order of `basket` (the vault's token symbols); every constituent must be named once."""
        by_symbol = {}
        for asset, weight in zip(self.assets, self.weights, strict=True):
            symbol = asset.upper()
            if symbol in WRAPPED and WRAPPED[symbol] in [b.upper() for b in basket]:
                symbol = WRAPPED[symbol]
            by_symbol[symbol] = weight
        wanted = [b.upper() for b in basket]
        missing = [b for b in wanted if b not in by_symbol]
        extra = sorted(set(by_symbol) - set(wanted))
        if missing or extra:
            raise ProposalError(
                f"the proposal does not match the basket: missing {', '.join(missing) or '-'}, "
                f"not constituents {', '.join(extra) or '-'} (add or remove constituents first)"
            )
        return [by_symbol[b] for b in wanted]


def load_proposal(path: str | Path) -> TargetProposal:
    """Reads and checks a proposal file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProposalError(f"cannot read {path}: {exc}") from exc
    try:
        assets = tuple(str(a) for a in data["assets"])
        weights = tuple(int(w) for w in data["weights"])
        proposal = TargetProposal(str(data.get("date", "")), str(data.get("method", "")), assets, weights)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProposalError(f"{path} is not a proposal file: {exc}") from exc
    if len(assets) != len(weights) or not assets:
        raise ProposalError(f"{path}: one weight per asset, at least one asset")
    if len({a.upper() for a in assets}) != len(assets):
        raise ProposalError(f"{path}: an asset is named twice")
    if any(w < 0 for w in weights) or sum(weights) != WAD:
        raise ProposalError(
            f"{path}: weights must be non-negative and sum to exactly 10**18 (they sum to {sum(weights)})"
        )
    return proposal
