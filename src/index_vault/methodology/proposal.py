"""Target-weight proposals (`index-vault weights --out FILE`, read by `index_vault.methodology.weights.read_proposal`)
matched to a vault's basket for `ape run vault propose-targets`.

Asset symbols are matched to the vault's constituents by token symbol; the market data's `ETH` and `BTC`
also match the wrapped tokens `WETH` and `WBTC`. Every constituent must be named once, and nothing else.
"""

from collections.abc import Sequence

WRAPPED = {"ETH": "WETH", "BTC": "WBTC"}


class ProposalError(ValueError):
    """A proposal that does not fit the vault's basket, with the reason."""


def weights_for_basket(assets: Sequence[str], weights: Sequence[int], basket: Sequence[str]) -> list[int]:
    """The proposal's weights in the order of `basket` (the vault's token symbols)."""
    wanted = [b.upper() for b in basket]
    by_symbol = {}
    for asset, weight in zip(assets, weights, strict=True):
        symbol = asset.upper()
        if symbol in WRAPPED and WRAPPED[symbol] in wanted:
            symbol = WRAPPED[symbol]
        by_symbol[symbol] = weight
    missing = [b for b in wanted if b not in by_symbol]
    extra = sorted(set(by_symbol) - set(wanted))
    if missing or extra:
        raise ProposalError(
            f"the proposal does not match the basket: missing {', '.join(missing) or '-'}, "
            f"not constituents {', '.join(extra) or '-'} (add or remove constituents first)"
        )
    return [by_symbol[b] for b in wanted]
