"""Wallet actions, prepared on the server and signed in the wallet: the unsigned transactions (to, data, value)
of a mint or redemption in kind, of an ERC-4626 deposit or redemption, and of a zap buy or sale
(`index_vault.dashboard.chain.zap_actions`).

The page never builds calldata: it asks `prepare` for the next steps and sends each through the wallet's
`eth_sendTransaction` (the wallet asks its user). The amounts are the client's (`VaultClient`): exact previews
from the vault's own reads (fees and the management fee due included) with the slippage bound, approvals of
exactly what the bound needs (a non-zero allowance set to zero first, for USDT-style tokens). A step list holds
either the approvals still missing (`final` false: the page sends them, then asks again) or the action itself,
after an `eth_call` from the account has shown it goes through; when it would revert, the contract's reason
comes back instead (`error`), and nothing is to be signed.
"""

from eth_utils import to_checksum_address

from index_vault.common.units import format_units, parse_units
from index_vault.dashboard.chain.reads import VaultReader
from index_vault.dashboard.chain.rpc import Call, RpcError
from index_vault.vault.basket import mint_amounts, redeem_amounts, with_slippage
from index_vault.vault.fees import mint_fee_shares, redeem_fee_shares

ACTIONS = ("mint", "redeem", "deposit", "redeem-nav", "zap-buy", "zap-sell")
GAS_MARGIN_PCT, GAS_EXTRA = 130, 50_000  # the action's gas limit over its estimate


class ActionError(ValueError):
    """A request the page made that cannot be prepared, in words."""


def _tx(to: str, data: str, label: str) -> dict:
    return {"to": to, "data": data, "value": "0x0", "label": label}


def amount(text: str, decimals: int, what: str) -> int:
    try:
        amount = parse_units(str(text), decimals)
    except ValueError as exc:
        raise ActionError(f"{what}: {exc}") from exc
    if amount <= 0:
        raise ActionError(f"{what} must be positive")
    return amount


def checked(reader: VaultReader, body: dict) -> tuple[str, str, int]:
    """The request's action, account and slippage (bps), checked; the vault's tokens learnt."""
    action, account = body.get("action"), body.get("account")
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if not isinstance(account, str) or len(account) != 42:
        raise ActionError("connect a wallet first: no account")
    try:
        slippage = int(body.get("slippage_bps", 50))
    except (TypeError, ValueError) as exc:
        raise ActionError("slippage must be a whole number of bps") from exc
    if not 0 <= slippage < 10_000:
        raise ActionError("slippage must be 0 to 9999 bps")
    head = reader.head()
    assets = reader.assets or tuple(reader.rpc.calls_at([reader.v("assets")], head["number"])[0])
    reader._learn(tuple(to_checksum_address(a) for a in assets), head["number"])
    return action, account, slippage


def prepare(reader: VaultReader, body: dict) -> dict:
    """The next transactions of `body["action"]` for `body["account"]` (see the module doc); the zap's are
    `index_vault.dashboard.chain.zap_actions.prepare_zap`'s."""
    action, account, slippage = checked(reader, body)
    if action.startswith("zap-"):
        raise ActionError(f"{action} is prepared by the zap's actions")
    if action == "mint":
        return _mint(reader, account, amount(body.get("amount"), 18, "shares"), slippage)
    if action == "redeem":
        return _redeem(reader, account, amount(body.get("amount"), 18, "shares"), slippage)
    if action == "deposit":
        return _deposit(reader, account, body.get("amount"), slippage)
    return _redeem_nav(reader, account, amount(body.get("amount"), 18, "shares"))


def _state(reader: VaultReader, account: str, extra: list[Call] = ()) -> list:
    v, assets = reader.v, reader.assets
    calls = [v("holdings"), v("totalSupply"), v("pending_management_fee"), v("mint_fee_bps"), v("redeem_fee_bps")]
    calls += [v("balanceOf", account)]
    calls += [reader.erc20.call(a, "balanceOf", account) for a in assets]
    calls += [reader.erc20.call(a, "allowance", account, reader.address) for a in assets]
    return reader.rpc.calls_at([*calls, *extra], "latest")


def _approvals(reader: VaultReader, allowances: list[int], amounts: list[int], exact: bool) -> list[dict]:
    """Approvals that make each allowance cover `amounts` (exactly `amounts` where `exact`)."""
    steps = []
    for token, current, amount in zip(reader.assets, allowances, amounts, strict=True):
        if amount == 0 or current == amount or (current > amount and not exact):
            continue
        symbol, decimals = reader.meta[token]
        if current:
            steps.append(
                _tx(token, reader.erc20.encode("approve", reader.address, 0), f"reset {symbol} allowance to 0")
            )
        text = f"approve {format_units(amount, decimals)} {symbol}"
        steps.append(_tx(token, reader.erc20.encode("approve", reader.address, amount), text))
    return steps


def mint_need(shares: int, mint_bps: int, supply: int, holdings: list[int], initial_units: list[int]) -> list[int]:
    """What `mint_in_kind(shares)` pulls of each constituent: the mint fee included, `supply` with the
    management fee due, the initial units while there are no shares."""
    return mint_amounts(
        shares + mint_fee_shares(shares, mint_bps), supply, holdings, initial_units if not supply else []
    )


def _final(
    reader: VaultReader, account: str, data: str, label: str, plan: dict, to: str | None = None, who: str = "the vault"
) -> dict:
    """The action's transaction (to the vault, or `to`) once an eth_call from `account` goes through; else the
    contract's reason.

    Its gas limit is set here, the estimate plus a margin: a NAV-priced call reaches the oracle by a call that
    may fail without reverting, so the least gas an estimate finds can take the other path and revert.
    """
    call = {"from": account, "to": to or reader.address, "data": data}
    result, gas = reader.rpc.batch([("eth_call", [call, "latest"]), ("eth_estimateGas", [call, "latest"])])
    for answer in (result, gas):
        if isinstance(answer, RpcError):
            return {**plan, "error": f"{who} refuses it: {answer.reason or answer}", "steps": [], "final": True}
    tx = {**_tx(call["to"], data, label), "gas": hex(int(gas, 16) * GAS_MARGIN_PCT // 100 + GAS_EXTRA)}
    return {**plan, "steps": [tx], "final": True}


def _describe(reader: VaultReader, amounts: list[int]) -> list[str]:
    return [
        f"{format_units(a, reader.meta[t][1])} {reader.meta[t][0]}" for t, a in zip(reader.assets, amounts, strict=True)
    ]


def _mint(reader: VaultReader, account: str, shares: int, slippage: int) -> dict:
    n = len(reader.assets)
    initial = [reader.v("initial_units", i) for i in range(n)]
    out = _state(reader, account, initial)
    holdings, supply, pending, mint_bps = out[0], out[1], out[2], out[3]
    balances, allowances = out[6 : 6 + n], out[6 + n : 6 + 2 * n]
    preview = mint_need(shares, mint_bps, supply + pending, list(holdings), out[6 + 2 * n :])
    max_in = with_slippage(preview, slippage, up=True)
    plan = {"action": "mint", "preview": _describe(reader, preview), "bound": _describe(reader, max_in)}
    short = [
        f"{d} (holds {h})"
        for d, h, b, m in zip(_describe(reader, max_in), _describe(reader, balances), balances, max_in, strict=True)
        if b < m
    ]
    if short:
        return {**plan, "error": f"the account holds too little: {'; '.join(short)}", "steps": [], "final": True}
    if steps := _approvals(reader, allowances, max_in, exact=False):
        return {**plan, "steps": steps, "final": False}
    data = reader.vault.encode("mint_in_kind", shares, account, max_in)
    return _final(reader, account, data, f"mint {format_units(shares, 18)} shares in kind", plan)


def _redeem(reader: VaultReader, account: str, shares: int, slippage: int) -> dict:
    out = _state(reader, account)
    holdings, supply, pending, redeem_bps = out[0], out[1], out[2], out[4]
    total = supply + pending
    net = shares - redeem_fee_shares(shares, redeem_bps)
    preview = redeem_amounts(net, total, list(holdings)) if shares <= total else [0] * len(holdings)
    min_out = with_slippage(preview, slippage, up=False)
    plan = {"action": "redeem", "preview": _describe(reader, preview), "bound": _describe(reader, min_out)}
    data = reader.vault.encode("redeem_in_kind", shares, account, min_out)
    return _final(reader, account, data, f"redeem {format_units(shares, 18)} shares in kind", plan)


def _deposit(reader: VaultReader, account: str, amount_text, slippage: int) -> dict:
    (base,) = reader.rpc.calls_at([reader.v("asset")], "latest")
    index = [a.lower() for a in reader.assets].index(base.lower())
    symbol, decimals = reader.meta[reader.assets[index]]
    assets = amount(amount_text, decimals, symbol)
    n = len(reader.assets)
    out = _state(reader, account, [reader.v("previewDeposit", assets * (10_000 - slippage) // 10_000)])
    balance, allowance, shares = out[6 + index], out[6 + n + index], out[-1]
    if isinstance(shares, RpcError):
        return {"action": "deposit", "error": f"the vault refuses it: {shares.reason}", "steps": [], "final": True}
    plan = {
        "action": "deposit",
        "preview": [f"{format_units(shares, 18)} shares"],
        "bound": [f"{amount_text} {symbol}"],
    }
    if balance < assets:
        held = format_units(balance, decimals)
        return {**plan, "error": f"the account holds {held} {symbol}, not {amount_text}", "steps": [], "final": True}
    amounts = [assets if i == index else 0 for i in range(n)]
    allowances = [allowance if i == index else 0 for i in range(n)]
    if steps := _approvals(reader, allowances, amounts, exact=True):
        return {**plan, "steps": steps, "final": False}
    data = reader.vault.encode("mint", shares, account)  # ERC-4626 mint: at most the approved assets
    return _final(reader, account, data, f"deposit at most {amount_text} {symbol} at NAV", plan)


def _redeem_nav(reader: VaultReader, account: str, shares: int) -> dict:
    (assets,) = reader.rpc.calls_at([reader.v("previewRedeem", shares)], "latest")
    (base,) = reader.rpc.calls_at([reader.v("asset")], "latest")
    symbol, decimals = reader.meta[to_checksum_address(base)]
    preview = [f"{format_units(assets, decimals)} {symbol}"] if not isinstance(assets, RpcError) else []
    data = reader.vault.encode("redeem", shares, account, account)
    plan = {"action": "redeem-nav", "preview": preview, "bound": []}
    return _final(reader, account, data, f"redeem {format_units(shares, 18)} shares at NAV", plan)


def replay(reader: VaultReader, tx_hash: str) -> str:
    """Why a mined transaction reverted: its call replayed at the block before it, else the receipt's status."""
    tx, receipt = reader.rpc.batch([("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash])])
    if not isinstance(receipt, dict) or not isinstance(tx, dict):
        return "no such transaction"
    if int(receipt["status"], 16) == 1:
        return "it succeeded"
    call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"]}
    (result,) = reader.rpc.batch([("eth_call", [call, hex(int(receipt["blockNumber"], 16) - 1)])])
    if isinstance(result, RpcError):
        return result.reason or str(result)
    return f"it succeeds when replayed: it likely ran out of gas ({int(receipt['gasUsed'], 16):,} used)"
