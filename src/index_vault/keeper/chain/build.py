"""One way to build the keeper, for `ape run keeper` and the silverback bot alike.

`KeeperOptions` is what both are given (script options, or the bot's environment); `build_keeper` finds the
vault (an address, a symbol of this network's manifest, or the manifest's only vault) and its rebalancer,
takes the adapters and the quoter from the options or the manifest, and makes the `KeeperConfig`.
"""

from dataclasses import dataclass
from typing import Any

from ape.api import AccountAPI

from index_vault.chain.contracts import vault_at
from index_vault.chain.scripting import load_deployment, resolve_vault_address
from index_vault.common.units import BPS, WAD
from index_vault.keeper.chain.config import KeeperConfig, KeeperError
from index_vault.keeper.chain.keeper import Keeper
from index_vault.keeper.policy import EventLog

ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class KeeperOptions:
    """The keeper's settings as people give them: basis points, USD, addresses or nothing (the manifest's)."""

    vault: str | None = None
    adapter: str | None = None  # an allowlisted UniswapV3Adapter; default: the manifest's "uniswap-v3"
    v2_adapter: str | None = None  # an allowlisted UniswapV2Adapter; default: the manifest's "uniswap-v2", if any
    quoter: str | None = None  # a Uniswap V3 QuoterV2; default: the manifest's
    hubs: tuple[str, ...] = ()
    band_bps: int = 100
    min_trade_usd: float = 100.0
    slippage_bps: int | None = None
    log_format: str = "text"
    swap_router: str | None = None  # a Uniswap V3 SwapRouter: an auction filler resells its lots through it
    split_adapter: str | None = None  # an allowlisted SplitAdapter; default: the manifest's "split", if any

    def config(self, **more: Any) -> KeeperConfig:
        """The `KeeperConfig` of these options, with `more` of its fields (gas cap, dry run...)."""
        return KeeperConfig(
            band=self.band_bps * WAD // BPS,
            min_trade_usd=max(int(self.min_trade_usd * WAD), 1),
            slippage_bps=self.slippage_bps,
            **more,
        )


def build_keeper(options: KeeperOptions, account: AccountAPI, **config: Any) -> Keeper:
    """The keeper of `options`' vault, sending from `account`; `config` are more `KeeperConfig` fields.

    Raises `KeeperError` when the vault has no rebalancer or no V3 adapter is known.
    """
    vault = vault_at(resolve_vault_address(options.vault))
    rebalancer = vault.rebalancer()
    if rebalancer == ZERO:
        raise KeeperError(f"the vault at {vault.address} has no rebalancer")
    deployment = load_deployment()
    adapter = options.adapter or deployment.adapters.get("uniswap-v3")
    if not adapter:
        raise KeeperError("no UniswapV3Adapter: the manifest records no uniswap-v3 adapter; name one")
    return Keeper(
        rebalancer,
        account,
        adapter=adapter,
        v2_adapter=options.v2_adapter or deployment.adapters.get("uniswap-v2"),
        split_adapter=options.split_adapter or deployment.adapters.get("split"),
        quoter=options.quoter or deployment.quoters.get("uniswap-v3"),
        swap_router=options.swap_router,
        hubs=options.hubs,
        config=options.config(**config),
        log=EventLog(options.log_format),
    )
