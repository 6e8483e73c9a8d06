"""The index token's pools: a Uniswap V2 pair of the vault's shares against a quote token, seeded at NAV."""

from fractions import Fraction

from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import erc20_at
from index_vault.common.units import WAD
from index_vault.market.chain.uniswap_v2 import UniswapV2, add_liquidity_v2


def nav_in_quote(vault: ContractInstance, oracle: ContractInstance, quote: str) -> Fraction:
    """NAV per share base unit in the quote token's base units (the vault's oracle prices both)."""
    decimals = erc20_at(quote).decimals()
    return Fraction(vault.value_per_share() * 10**decimals, oracle.price(quote) * WAD)


def seed_index_pair(
    v2: UniswapV2, vault: ContractInstance, oracle: ContractInstance, quote: str, shares: int, owner: AccountAPI
) -> ContractInstance:
    """Adds `shares` of the vault and their NAV in `quote` (both held by `owner`) to the pair of the two, created
    if needed: a new pair opens at NAV. Returns the pair."""
    amount = int(shares * nav_in_quote(vault, oracle, quote))
    if amount <= 0:
        raise ValueError("the index pair needs a positive NAV")
    return add_liquidity_v2(v2, vault, quote, shares, amount, owner).pair
