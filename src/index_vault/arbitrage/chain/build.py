"""One way to build the arbitrageur, for `ape run arbitrage` and the silverback bot alike.

`ArbitrageOptions` is what both are given (script options, or the bot's environment); `build_arbitrageur` finds the
vault (an address, a symbol of this network's manifest, or the manifest's only vault) and, from the manifest, its
index token's V3 pool, its zap and the arbitrage contract (`ape run arbitrage setup` records them), the V3 adapter
its rebalancer allows and the QuoterV2; each constituent's leg is the one-hop V3 pool of `fee` against the pool's
quote token, which must exist.
"""

from dataclasses import dataclass

from ape.api import AccountAPI

from index_vault.arbitrage.chain.arbitrageur import Arbitrageur, ArbitrageVenue, venue_legs
from index_vault.arbitrage.planner import ArbitrageSettings
from index_vault.chain.contracts import npm_type, vault_at, web3_contract
from index_vault.chain.scripting import load_deployment, resolve_vault_address
from index_vault.keeper.routes import v3_route

ZERO = "0x" + "00" * 20


class ArbitrageError(RuntimeError):
    """The arbitrageur cannot be built: what is missing, in words."""


@dataclass(frozen=True)
class ArbitrageOptions:
    """The arbitrageur's settings as people give them: basis points, base units of the quote token, addresses or
    nothing (the manifest's)."""

    vault: str | None = None
    band_bps: int = 50
    mint_cost_bps: int = 35
    redeem_cost_bps: int = 35
    min_profit: int = 0  # quote base units
    fee: int = 3000  # the V3 fee tier of each constituent's pool against the quote token

    def settings(self) -> ArbitrageSettings:
        return ArbitrageSettings(self.band_bps, self.mint_cost_bps, self.redeem_cost_bps, self.min_profit)


def build_arbitrageur(options: ArbitrageOptions, account: AccountAPI, dry_run: bool = False) -> Arbitrageur:
    """The arbitrageur of `options`' vault, sending from `account`; `ArbitrageError` says what is missing."""
    vault = vault_at(resolve_vault_address(options.vault))
    deployment = load_deployment()
    symbol = next((s for s, a in deployment.vaults.items() if a.lower() == vault.address.lower()), None)
    pool, zap = deployment.index_pools.get(symbol or ""), deployment.zaps.get(symbol or "")
    if not (pool and zap and deployment.arbitrage):
        raise ArbitrageError(
            f"the manifest records no index pool, zap and arbitrage contract for {symbol or vault.address}: "
            "run `ape run arbitrage setup` first"
        )
    adapter = deployment.adapters.get("uniswap-v3")
    quoter = deployment.quoters.get("uniswap-v3")
    if not adapter or not quoter:
        raise ArbitrageError("the manifest records no uniswap-v3 adapter and quoter")
    w3 = vault.provider.web3
    index_pool = web3_contract(w3, pool, npm_type("UniswapV3Pool")).functions
    token0, token1 = index_pool.token0().call(), index_pool.token1().call()
    quote = token1 if token0.lower() == vault.address.lower() else token0
    factory = web3_contract(w3, web3_contract(w3, quoter, npm_type("QuoterV2")).functions.factory().call(),
                            npm_type("UniswapV3Factory")).functions  # fmt: skip
    assets = list(vault.assets())
    missing = [
        a for a in assets if a.lower() != quote.lower() and factory.getPool(quote, a, options.fee).call() == ZERO
    ]
    if missing:
        raise ArbitrageError(f"no V3 pool of fee {options.fee} between the quote token and {', '.join(missing)}")
    legs = venue_legs(
        assets,
        quote,
        adapter,
        lambda a: v3_route([quote, a], [options.fee]),
        lambda a: v3_route([a, quote], [options.fee]),
        fee=options.fee,
    )
    venue = ArbitrageVenue(vault.address, pool, True, zap, deployment.arbitrage, quote, legs, quoter=quoter)
    return Arbitrageur(venue, account, options.settings(), dry_run=dry_run)
