"""The Rebalancer on a chain: DEX adapters, and keeper trades priced from the vault's oracle."""

from dataclasses import dataclass

from ape import project
from ape.api import AccountAPI, ReceiptAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import erc20_at
from index_vault.common.units import BPS


@dataclass(frozen=True)
class TradeResult:
    """A keeper trade as the Rebalancer logged it."""

    amount_in: int
    amount_out: int
    oracle_out: int
    shortfall: int
    receipt: ReceiptAPI


def deploy_adapters(
    deployer: AccountAPI, *, v3_swap_router: str | None = None, v2_router: str | None = None
) -> dict[str, ContractInstance]:
    """Deploys an adapter per DEX router given: {"uniswap-v3": ..., "uniswap-v2": ...}."""
    adapters = {}
    if v3_swap_router:
        adapters["uniswap-v3"] = project.UniswapV3Adapter.deploy(v3_swap_router, sender=deployer)
    if v2_router:
        adapters["uniswap-v2"] = project.UniswapV2Adapter.deploy(v2_router, sender=deployer)
    return adapters


def allow_adapters(rebalancer: ContractInstance, adapters: dict[str, ContractInstance], admin: AccountAPI) -> None:
    """Puts every adapter on the rebalancer's allowlist (the rebalancer's admin only)."""
    for adapter in adapters.values():
        rebalancer.set_adapter(adapter, True, sender=admin)


def oracle_out(rebalancer: ContractInstance, sell: str, buy: str, amount_in: int) -> int:
    """What the vault's oracle says `amount_in` of `sell` is worth in `buy`, as the Rebalancer computes it."""
    vault = project.IndexVault.at(rebalancer.vault())
    router = project.OracleRouter.at(vault.oracle())
    sell_unit, buy_unit = 10 ** erc20_at(sell).decimals(), 10 ** erc20_at(buy).decimals()
    value = amount_in * router.price(sell) // sell_unit
    return value * buy_unit // router.price(buy)


def keeper_trade(
    rebalancer: ContractInstance,
    keeper: AccountAPI,
    sell: str,
    buy: str,
    amount_in: int,
    adapter: ContractInstance,
    route: bytes = b"",
    slippage_bps: int = 50,
) -> TradeResult:
    """Sends one keeper trade with the minimum out set `slippage_bps` under the oracle's value."""
    if not 0 <= slippage_bps <= BPS:
        raise ValueError(f"slippage_bps must be within 0..{BPS}")
    # rounded up, as the Rebalancer rounds its floor
    min_out = -(-oracle_out(rebalancer, sell, buy, amount_in) * (BPS - slippage_bps) // BPS)
    receipt = rebalancer.trade(sell, buy, amount_in, min_out, adapter, route, sender=keeper)
    (event,) = rebalancer.TradeExecuted.from_receipt(receipt)
    return TradeResult(event.amount_in, event.amount_out, event.oracle_out, event.shortfall, receipt)
