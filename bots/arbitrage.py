"""A silverback bot over the arbitrageur (`index_vault.arbitrage.chain`): one round every few new blocks.

    SILVERBACK_SIGNER_ALIAS=arb ARBITRAGE_VAULT=TOP5 silverback run arbitrage --network ethereum:mainnet:node

The round is `ape run arbitrage run`'s: wait for in-flight transactions, read the index pool and the NAV, plan the
cycle that brings the pool back inside the band, simulate it with eth_call, send, wait for the receipt. The bot
keeps no state of its own between rounds (the chain is the state), so a restart never sends a cycle twice.
Without a signer (`SILVERBACK_SIGNER_ALIAS`) or with `ARBITRAGE_DRY_RUN=1` it only plans and simulates. The
manifest names the index pool, the zap and the arbitrage contract (`ape run arbitrage setup`).

Settings (environment):
    ARBITRAGE_VAULT          the vault's address or its symbol in the manifest (default: the manifest's only vault)
    ARBITRAGE_BAND_BPS       the band around NAV (default 50)
    ARBITRAGE_MIN_PROFIT     the least profit of a cycle, in the quote token's base units (default 0)
    ARBITRAGE_FEE            the V3 fee tier of the constituents' pools against the quote token (default 3000)
    ARBITRAGE_EVERY_BLOCKS   blocks between rounds (default 1)
    ARBITRAGE_DRY_RUN        plan and simulate only
"""

import os

from ape import chain
from silverback import SilverbackBot

from index_vault.arbitrage.chain.arbitrageur import Arbitrageur
from index_vault.arbitrage.chain.build import ArbitrageOptions, build_arbitrageur

bot = SilverbackBot()


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _arbitrageur() -> Arbitrageur:
    """The arbitrageur the environment describes, signing with the bot's signer."""
    signer = bot.signer
    dry_run = os.environ.get("ARBITRAGE_DRY_RUN", "").strip().lower() in ("1", "true", "yes", "on") or signer is None
    if signer is None:
        from ape import accounts

        signer = accounts.test_accounts[0] if chain.provider.network.is_local else None
    if signer is None:
        raise RuntimeError("a dry run needs an account to simulate from: set SILVERBACK_SIGNER_ALIAS")
    options = ArbitrageOptions(
        vault=os.environ.get("ARBITRAGE_VAULT") or None,
        band_bps=_setting("ARBITRAGE_BAND_BPS", 50),
        min_profit=_setting("ARBITRAGE_MIN_PROFIT", 0),
        fee=_setting("ARBITRAGE_FEE", 3000),
    )
    return build_arbitrageur(options, signer, dry_run=dry_run)


@bot.on_startup()
def startup(startup_state):
    bot.state.arbitrageur = _arbitrageur()
    bot.state.last_round_block = -1
    bot.state.cycles = 0
    bot.state.errors = 0
    venue = bot.state.arbitrageur.venue
    print(f"arbitrageur of {venue.vault} on {venue.pair} (dry run: {bot.state.arbitrageur.dry_run})", flush=True)


@bot.on_(chain.blocks)
def on_block(block):
    arbitrageur: Arbitrageur = bot.state.arbitrageur
    if block.number - bot.state.last_round_block < max(_setting("ARBITRAGE_EVERY_BLOCKS", 1), 1):
        return None
    bot.state.last_round_block = block.number
    try:
        outcome = arbitrageur.run_round()
    except Exception as exc:  # an unattended bot logs and goes on with the next block
        bot.state.errors += 1
        print(f"error at block {block.number}: {type(exc).__name__}: {exc}"[:300], flush=True)
        return {"errors": bot.state.errors}
    print(f"block {block.number}: {outcome.status}: {outcome.reason}", flush=True)
    bot.state.cycles += outcome.status == "mined"
    # numbers only: silverback records them as metrics
    return {
        "cycles": bot.state.cycles,
        "mined": outcome.status == "mined",
        "profit": outcome.profit if outcome.status == "mined" else 0,
        "gas": outcome.gas_used,
        "premium_bps": int(float(outcome.price / outcome.nav - 1) * 10_000) if outcome.nav else 0,
    }


@bot.on_shutdown()
def shutdown():
    print(f"arbitrageur stopped: {getattr(bot.state, 'cycles', 0)} cycles", flush=True)
