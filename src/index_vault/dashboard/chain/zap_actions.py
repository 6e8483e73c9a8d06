"""Zap buys and sales from the page: the unsigned transactions of `Zap.mint` (exact shares for at most `max_in`
of one token) and `Zap.redeem` (shares for at least `min_out` of one token), planned as `ape run vault buy|sell`
plans them (`index_vault.vault.zap`: the legs sized by QuoterV2's exact-output quotes plus the slippage, or
without a quoter by the oracle; a sale's least out from the oracle less the pools' fee and the slippage), from
batched reads instead of the CLI's one call at a time.

A step list is the exact approval of the token (a buy: the zap's `max_in`; a sale: the shares), a non-zero
allowance set to zero first, then, once the allowance is in place, the zap call after an `eth_call` from the
account has shown it goes through (else the contract's reason). Each answer previews the cost against NAV: a
buy's token at the quotes (what it spends without the slippage) and a sale's at the quoter's exact-input quotes
of what the vault pays, valued at the oracle and set against the shares at the vault's NAV per share, signed
as the DEX price is (`premium`).

Round trips: the vault's state, the account's balance and allowance; the quotes and the oracle's prices; then
the simulation and the gas estimate.
"""

from ape import project
from eth_utils import to_checksum_address

from index_vault.chain.contracts import abi_of
from index_vault.common.artifacts import load_artifact
from index_vault.common.units import format_units
from index_vault.dashboard.chain.actions import ActionError, _final, _tx, amount, checked, mint_need
from index_vault.dashboard.chain.reads import VaultReader
from index_vault.dashboard.chain.rpc import Abi, RpcError
from index_vault.dashboard.model import premium
from index_vault.vault.basket import redeem_amounts
from index_vault.vault.fees import redeem_fee_shares
from index_vault.vault.zap import (
    POOL_FEE_BPS,
    plan_mint,
    quoted_cost,
    quoted_mint,
    sell_min_out,
    zap_legs,
    zap_trade,
)

ZAP_ACTIONS = ("zap-buy", "zap-sell")


def prepare_zap(reader: VaultReader, body: dict) -> dict:
    """The next transactions of a zap buy or sale (`body`: action, account, amount of shares, token symbol,
    slippage_bps)."""
    action, account, slippage = checked(reader, body)
    shares = amount(body.get("amount"), 18, "shares")
    zap = zap_buy if action == "zap-buy" else zap_sell
    return zap(reader, account, shares, str(body.get("token", "")), slippage)


def _zap_abi() -> Abi:
    return Abi(abi_of(project.Zap.contract_type))


def _setup(reader: VaultReader, token_symbol: str) -> tuple[str, str, int | None]:
    """The zap and the token (by symbol: a constituent or the pool's quote token) and its basket position."""
    zap, adapter = reader.sources.zaps.get(reader.address), reader.sources.adapter
    if not zap or not adapter:
        raise ActionError("no zap (or no Uniswap V3 adapter) recorded for this vault: buy and sell in kind")
    candidates = [*reader.assets, *([reader.quote] if reader.quote else [])]
    token = next((t for t in candidates if reader.meta[t][0] == token_symbol), None)
    if token is None:
        known = ", ".join(dict.fromkeys(reader.meta[t][0] for t in candidates))
        raise ActionError(f"the zap takes and pays {known}, not {token_symbol!r}")
    return zap, token, reader.assets.index(token) if token in reader.assets else None


def _cost(reader: VaultReader, token: str, amount: int, shares: int, nav_per_share: int, price: int) -> dict:
    """`amount` of `token` against `shares` at NAV: raw figures and the signed text."""
    symbol, decimals = reader.meta[token]
    trade = zap_trade(amount, shares, nav_per_share, price, decimals)
    against = premium(trade.token_value, trade.nav_value) if trade.nav_value else None
    return {
        "amount": str(amount),
        "value": str(trade.token_value),
        "nav_value": str(trade.nav_value),
        "premium": against,
        "text": f"{format_units(amount, decimals)} {symbol}: {against['text'] if against else 'NAV unusable'}",
    }


def _approve(reader: VaultReader, token: str, spender: str, current: int, amount: int, symbol: str) -> list[dict]:
    """Exactly `amount` approved to `spender` (a non-zero allowance set to 0 first), or nothing when it is."""
    if current == amount:
        return []
    steps = []
    if current:
        steps.append(
            _tx(token, reader.erc20.encode("approve", spender, 0), f"reset {symbol} allowance to the zap to 0")
        )
    text = f"approve {format_units(amount, reader.meta[token][1])} {symbol} to the zap"
    return [*steps, _tx(token, reader.erc20.encode("approve", spender, amount), text)]


def _quotes(reader: VaultReader, pairs: list[tuple[str, str, int]], exact_output: bool) -> list[int]:
    """QuoterV2's quotes (exact output: the input needed; exact input: the output given) of `pairs` (token in,
    token out, amount; amount 0: no quote, 0), in one batch; a quote that fails says why."""
    quoter = Abi(load_artifact("QuoterV2").abi)
    name = "quoteExactOutputSingle" if exact_output else "quoteExactInputSingle"
    fee = reader.sources.zap_fee
    wanted = [i for i, (_, _, amount) in enumerate(pairs) if amount]
    calls = [
        quoter.call(reader.sources.quoter, name, (a, b, amount, fee, 0)) for a, b, amount in (pairs[i] for i in wanted)
    ]
    answers = reader.rpc.calls_at(calls, "latest")
    quotes = [0] * len(pairs)
    for i, answer in zip(wanted, answers, strict=True):
        if isinstance(answer, RpcError):
            a, b = (reader.meta[to_checksum_address(t)][0] for t in pairs[i][:2])
            raise ActionError(f"no quote for {a} -> {b} at the {fee / 10_000:g}% tier: {answer.reason or answer}")
        quotes[i] = answer[0]
    return quotes


def _prices(reader: VaultReader, oracle: str, tokens: list[str]) -> list[int]:
    prices = reader.rpc.calls_at([reader.router.call(oracle, "price", t) for t in tokens], "latest")
    for token, price in zip(tokens, prices, strict=True):
        if isinstance(price, RpcError):
            raise ActionError(f"the oracle cannot price {reader.meta[token][0]}: {price.reason or price}")
    return prices


def zap_buy(reader: VaultReader, account: str, shares: int, token_symbol: str, slippage: int) -> dict:
    """The next steps of a zap buy of `shares` paying the token `token_symbol` (module doc)."""
    zap, token, at = _setup(reader, token_symbol)
    v, n = reader.v, len(reader.assets)
    symbol, decimals = reader.meta[token]
    calls = [v("holdings"), v("totalSupply"), v("pending_management_fee"), v("mint_fee_bps"), v("oracle")]
    calls += [v("value_per_share"), reader.erc20.call(token, "balanceOf", account)]
    calls += [reader.erc20.call(token, "allowance", account, zap)] + [v("initial_units", i) for i in range(n)]
    out = reader.rpc.calls_at(calls, "latest")
    holdings, supply, pending, mint_bps, oracle, nav_per_share, balance, allowance = out[:8]
    need = mint_need(shares, mint_bps, supply + pending, list(holdings), list(out[8:]))
    prices = _prices(reader, oracle, [*reader.assets, token])
    if reader.sources.quoter:
        pairs = [(token, a, 0 if i == at else x) for i, (a, x) in enumerate(zip(reader.assets, need, strict=True))]
        quotes = _quotes(reader, pairs, True)
        plan, expected = quoted_mint(need, quotes, at, slippage), quoted_cost(need, quotes, at)
    else:
        decimals_all = [reader.meta[a][1] for a in reader.assets]
        plan = plan_mint(need, decimals_all, prices[:-1], at, decimals, prices[-1], POOL_FEE_BPS, slippage)
        expected = plan_mint(need, decimals_all, prices[:-1], at, decimals, prices[-1], POOL_FEE_BPS, 0).max_in
    per_share = nav_per_share if not isinstance(nav_per_share, RpcError) else 0
    cost = _cost(reader, token, expected, shares, per_share, prices[-1])
    most = f"{format_units(plan.max_in, decimals)} {symbol}"
    result = {"action": "zap-buy", "preview": [f"about {cost['text']}"], "bound": [f"at most {most}"], "cost": cost}
    result["max_in"] = str(plan.max_in)
    if balance < plan.max_in:
        held = f"{format_units(balance, decimals)} {symbol}"
        return {**result, "error": f"the account holds {held}; the buy may spend {most}", "steps": [], "final": True}
    if steps := _approve(reader, token, zap, allowance, plan.max_in, symbol):
        return {**result, "steps": steps, "final": False}
    legs = zap_legs(reader.sources.adapter, reader.assets, token, reader.sources.zap_fee, plan.amounts_in)
    data = _zap_abi().encode("mint", reader.address, shares, token, plan.max_in, legs, account)
    label = f"buy {format_units(shares, 18)} shares with {symbol} through the zap"
    return _final(reader, account, data, label, result, to=zap, who="the zap")


def zap_sell(reader: VaultReader, account: str, shares: int, token_symbol: str, slippage: int) -> dict:
    """The next steps of a zap sale of `shares` for the token `token_symbol` (module doc)."""
    zap, token, at = _setup(reader, token_symbol)
    v = reader.v
    symbol, decimals = reader.meta[token]
    calls = [v("holdings"), v("totalSupply"), v("pending_management_fee"), v("redeem_fee_bps"), v("oracle")]
    calls += [v("value_per_share"), v("balanceOf", account), v("allowance", account, zap)]
    holdings, supply, pending, redeem_bps, oracle, nav_per_share, held, allowance = reader.rpc.calls_at(calls, "latest")
    if held < shares:
        error = f"the account holds {format_units(held, 18)} shares, not {format_units(shares, 18)}"
        return {"action": "zap-sell", "preview": [], "bound": [], "steps": [], "final": True, "error": error}
    paid = redeem_amounts(shares - redeem_fee_shares(shares, redeem_bps), supply + pending, list(holdings))
    prices = _prices(reader, oracle, [*reader.assets, token])
    decimals_all = [reader.meta[a][1] for a in reader.assets]
    min_out = sell_min_out(paid, decimals_all, prices[:-1], at, decimals, prices[-1], reader.sources.zap_fee, slippage)
    if reader.sources.quoter:
        pairs = [(a, token, 0 if i == at else x) for i, (a, x) in enumerate(zip(reader.assets, paid, strict=True))]
        expected = quoted_cost(paid, _quotes(reader, pairs, False), at)
    else:
        expected = sell_min_out(paid, decimals_all, prices[:-1], at, decimals, prices[-1], reader.sources.zap_fee, 0)
    per_share = nav_per_share if not isinstance(nav_per_share, RpcError) else 0
    cost = _cost(reader, token, expected, shares, per_share, prices[-1])
    bound = f"at least {format_units(min_out, decimals)} {symbol}"
    result = {"action": "zap-sell", "preview": [f"about {cost['text']}"], "bound": [bound], "cost": cost}
    result["min_out"] = str(min_out)
    if steps := _approve(reader, reader.address, zap, allowance, shares, reader.meta[reader.address][0]):
        return {**result, "steps": steps, "final": False}
    legs = zap_legs(reader.sources.adapter, reader.assets, token, reader.sources.zap_fee)
    data = _zap_abi().encode("redeem", reader.address, shares, token, min_out, legs, account)
    label = f"sell {format_units(shares, 18)} shares for {symbol} through the zap"
    return _final(reader, account, data, label, result, to=zap, who="the zap")
