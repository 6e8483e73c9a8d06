"""The index token's pools: a Uniswap V2 pair and a Uniswap V3 pool (one full-range position) of the vault's shares
against a quote token, each seeded at NAV."""

from decimal import Decimal
from fractions import Fraction

from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import erc20_at
from index_vault.common.units import WAD
from index_vault.market.chain.uniswap_v2 import UniswapV2, add_liquidity_v2
from index_vault.market.chain.uniswap_v3 import UniswapV3, add_liquidity, create_pool

INDEX_POOL_FEE = 500  # the index token's V3 pool: 0.05%, as stable-ish pairs trade


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


def seed_index_pool(
    uni: UniswapV3,
    vault: ContractInstance,
    oracle: ContractInstance,
    quote: str,
    shares: int,
    owner: AccountAPI,
    fee: int = INDEX_POOL_FEE,
) -> ContractInstance:
    """Creates the V3 pool of the vault's shares and `quote` at `fee`, opened at NAV, and adds a full-range position
    of `shares` and their NAV in `quote` (both held by `owner`). Returns the pool."""
    nav = nav_in_quote(vault, oracle, quote)
    amount = int(shares * nav)
    if amount <= 0:
        raise ValueError("the index pool needs a positive NAV")
    decimals = erc20_at(quote).decimals()
    price = nav * 10**18 / 10**decimals  # whole quote tokens per whole share
    pool = create_pool(uni, vault, erc20_at(quote), fee, Decimal(price.numerator) / Decimal(price.denominator), owner)
    add_liquidity(uni, pool, shares, amount, owner, token_a=vault)
    return pool
