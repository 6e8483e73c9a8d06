"""A silverback bot over the keeper (`index_vault.keeper.chain`): one keeper round every few new blocks.

    SILVERBACK_SIGNER_ALIAS=keeper KEEPER_VAULT=0x... silverback run rebalancer --network ethereum:mainnet:node

The round is the same as `ape run keeper run`'s: wait for in-flight transactions, read the chain, plan,
simulate each trade with eth_call, send under the gas price cap, wait for the receipt, read again. The bot
keeps no state of its own between rounds (the chain is the state), so a restart never double-trades.
Without a signer (`SILVERBACK_SIGNER_ALIAS`) or with `KEEPER_DRY_RUN=1` it only plans and simulates.

Settings (environment):
    KEEPER_VAULT          the vault's address or its symbol in the manifest (default: the manifest's only vault)
    KEEPER_ADAPTER        an allowlisted UniswapV3Adapter (default: the manifest's "uniswap-v3")
    KEEPER_V2_ADAPTER     an allowlisted UniswapV2Adapter (default: the manifest's "uniswap-v2", if any)
    KEEPER_SPLIT_ADAPTER  an allowlisted SplitAdapter over the two (default: the manifest's "split", if any)
    KEEPER_QUOTER         a Uniswap V3 QuoterV2 (default: the manifest's; none: expected out = oracle less fees)
    KEEPER_SWAP_ROUTER    a Uniswap V3 SwapRouter (an auction filler resells its lots through it)
    KEEPER_EVERY_BLOCKS   blocks between rounds (default 1)
    KEEPER_MAX_GAS_GWEI   gas price cap (default: none)
    KEEPER_BAND_BPS, KEEPER_MIN_TRADE_USD, KEEPER_SLIPPAGE_BPS, KEEPER_FILL_AUCTIONS, KEEPER_DRY_RUN,
    KEEPER_LOG_FORMAT (text|json)
"""

import os

from ape import chain
from silverback import SilverbackBot

from index_vault.common.sending import GWEI
from index_vault.keeper.chain.build import KeeperOptions, build_keeper
from index_vault.keeper.chain.keeper import Keeper

bot = SilverbackBot()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _number(name: str, default: float | None) -> float | None:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _keeper() -> Keeper:
    """The keeper the environment describes, signing with the bot's signer."""
    signer = bot.signer
    dry_run = _flag("KEEPER_DRY_RUN") or signer is None
    if signer is None:
        from ape import accounts

        signer = accounts.test_accounts[0] if chain.provider.network.is_local else None
    if signer is None:
        raise RuntimeError("a dry run needs an account to simulate from: set SILVERBACK_SIGNER_ALIAS")
    slippage, gas_cap = _number("KEEPER_SLIPPAGE_BPS", None), _number("KEEPER_MAX_GAS_GWEI", None)
    options = KeeperOptions(
        vault=os.environ.get("KEEPER_VAULT") or None,
        adapter=os.environ.get("KEEPER_ADAPTER") or None,
        v2_adapter=os.environ.get("KEEPER_V2_ADAPTER") or None,
        split_adapter=os.environ.get("KEEPER_SPLIT_ADAPTER") or None,
        quoter=os.environ.get("KEEPER_QUOTER") or None,
        swap_router=os.environ.get("KEEPER_SWAP_ROUTER") or None,
        band_bps=int(_number("KEEPER_BAND_BPS", 100)),
        min_trade_usd=_number("KEEPER_MIN_TRADE_USD", 100),
        slippage_bps=int(slippage) if slippage is not None else None,
        log_format=os.environ.get("KEEPER_LOG_FORMAT", "text"),
    )
    max_gas_price = int(gas_cap * GWEI) if gas_cap is not None else None
    return build_keeper(
        options, signer, max_gas_price=max_gas_price, dry_run=dry_run, fill_auctions=_flag("KEEPER_FILL_AUCTIONS")
    )


@bot.on_startup()
def startup(startup_state):
    bot.state.keeper = _keeper()
    bot.state.last_round_block = -1
    keeper = bot.state.keeper
    keeper.log("start", vault=keeper.vault.address, keeper=keeper.address, dry_run=keeper.config.dry_run)


@bot.on_(chain.blocks)
def on_block(block):
    keeper: Keeper = bot.state.keeper
    every = max(int(_number("KEEPER_EVERY_BLOCKS", 1)), 1)
    if block.number - bot.state.last_round_block < every:
        return None
    bot.state.last_round_block = block.number
    try:
        result = keeper.run_round()
    except Exception as exc:  # an unattended bot logs and goes on with the next block
        keeper.metrics.errors += 1
        keeper.log("error", block=block.number, error=f"{type(exc).__name__}: {exc}"[:200])
        return {"errors": keeper.metrics.errors}
    # numbers only: silverback records them as metrics
    gas = result.gas()
    return {
        "trades": len(result.trades),
        "starts": len(result.starts),
        "refreshes": len(result.refreshes),
        "fills": len(result.fills),
        "gas_start": gas["start"],
        "gas_refresh": gas["refresh"],
        "gas_trade": gas["trade"],
        "gas_total": gas["total"],
        "waiting": result.status == "waiting",
    }


@bot.on_shutdown()
def shutdown():
    keeper = getattr(bot.state, "keeper", None)
    if keeper is not None:
        keeper.log_summary()
