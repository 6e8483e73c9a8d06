"""The Rebalancer on a chain: DEX adapters, and keeper trades priced from the rebalance's snapshot."""

from dataclasses import dataclass

from ape import Contract, project
from ape.api import AccountAPI, ReceiptAPI
from ape.contracts import ContractInstance

from index_vault.common.units import BPS
from index_vault.market.init_codes import V2_PAIR_INIT_CODE_HASH, V3_POOL_INIT_CODE_HASH

_FACTORY_ABI = [
    {"type": "function", "name": "factory", "stateMutability": "view", "inputs": [], "outputs": [{"type": "address"}]}
]


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
    """Deploys an adapter per DEX router given: {"uniswap-v3": ..., "uniswap-v2": ...}, and with both a
    `SplitAdapter` over the two ("split": one trade on both venues at once). An adapter trades on the pools
    (pairs) of the router's factory, with no router in between; it derives their addresses from the canonical
    Uniswap init code hashes (`market.init_codes`), so a fork whose factory deploys other code (a Sushi-style
    router) would get an adapter whose every swap reverts."""
    adapters = {}
    if v3_swap_router:
        factory = _factory_of(v3_swap_router)
        adapters["uniswap-v3"] = project.UniswapV3Adapter.deploy(factory, V3_POOL_INIT_CODE_HASH, sender=deployer)
    if v2_router:
        factory = _factory_of(v2_router)
        adapters["uniswap-v2"] = project.UniswapV2Adapter.deploy(factory, V2_PAIR_INIT_CODE_HASH, sender=deployer)
    if v3_swap_router and v2_router:
        adapters["split"] = project.SplitAdapter.deploy(adapters["uniswap-v2"], adapters["uniswap-v3"], sender=deployer)
    return adapters


def _factory_of(router: str) -> str:
    """The factory a Uniswap router (V3 SwapRouter or V2 Router02) trades through."""
    return Contract(router, abi=_FACTORY_ABI).factory()


def allow_adapters(rebalancer: ContractInstance, adapters: dict[str, ContractInstance], admin: AccountAPI) -> None:
    """Puts every adapter on the rebalancer's allowlist (the rebalancer's admin only)."""
    for adapter in adapters.values():
        rebalancer.set_adapter(adapter, True, sender=admin)


def oracle_out(rebalancer: ContractInstance, sell: str, buy: str, amount_in: int) -> int:
    """What the rebalance's snapshot says `amount_in` of `sell` is worth in `buy`, as the Rebalancer computes it
    (0 when either asset has no current snapshot)."""
    s, b = rebalancer.snapshot(sell), rebalancer.snapshot(buy)
    if not s.price or not b.price:
        return 0
    value = amount_in * s.price // 10**s.decimals
    return value * 10**b.decimals // b.price


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
