"""Planning a zap, pure (no chain): what to pass `Zap.mint` and `Zap.redeem` so that they fill and stay within the
caller's bounds.

A mint sells, for each constituent, enough of the token paid to buy what the in-kind mint takes (the lens's exact
preview): its value at the oracle price, grossed up by the pool's fee and a slippage margin, in the token's units at
its price, rounded up. The constituent that is the token itself is not swapped: its need is paid directly. The
margin comes back to the caller (as the constituent bought beyond the need), so it costs only what the pools charge
on it. `max_in` is the sum: the most the mint can spend. A redemption's `min_out` is the value of what the vault
pays out, less the pools' fee and the slippage allowed, in the token's units, rounded down.

With a quoter (Uniswap's QuoterV2), a mint's legs are sized by its exact-output quotes instead
(`quoted_mint`): each constituent's quoted input plus the slippage, rounded up. `zap_legs` builds the legs the
zap takes (adapter, amount, V3 path) from either; `ZapTrade` says what a buy or sale cost against NAV. The CLI
(`index_vault.vault.chain.zapping`) and the dashboard's wallet actions both plan with these.

Amounts are base units; prices USD per whole token with 18 decimals (the oracle's); fees and margins bps.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from index_vault.keeper.routes import v3_route

BPS = 10_000
WAD = 10**18
POOL_FEE_BPS = 30  # the constituents' pools' fee (0.3%) when no quoter sizes a mint's legs


@dataclass(frozen=True)
class ZapTrade:
    """What a buy spent (or a sale received) of the token, for how many shares, and their value at NAV (USD)."""

    amount: int
    shares: int
    nav_value: int  # USD, 18 decimals
    token_value: int  # the net USD value paid (a buy: the token less the constituents handed back) or received

    @property
    def premium(self) -> float:
        """What was paid over NAV (a buy), or received under it (negative, a sale)."""
        return self.token_value / self.nav_value - 1 if self.nav_value else 0.0


def zap_trade(amount: int, shares: int, nav_per_share: int, token_price: int, token_decimals: int) -> ZapTrade:
    """`amount` of a token (at `token_price`) against `shares` at `nav_per_share` (USD, 18 decimals)."""
    return ZapTrade(amount, shares, shares * nav_per_share // WAD, amount * token_price // 10**token_decimals)


@dataclass(frozen=True)
class MintPlan:
    """Per constituent, the token sold for it (0 for the token itself), and the most the mint spends."""

    amounts_in: tuple[int, ...]
    max_in: int


def _check(amounts: Sequence[int], decimals: Sequence[int], prices: Sequence[int], token_price: int, fee_bps: int):
    """Raises `ValueError` unless there is one amount, decimals and price per constituent, every price is
    positive and the fee within [0, 10000) bps."""
    if len(amounts) != len(decimals) or len(amounts) != len(prices):
        raise ValueError("zap: one need, decimals and price per constituent")
    if token_price <= 0 or any(p <= 0 for p in prices) or not 0 <= fee_bps < BPS:
        raise ValueError("zap: prices must be positive and the fee within [0, 10000) bps")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def plan_mint(
    need: Sequence[int],
    decimals: Sequence[int],
    prices: Sequence[int],
    token: int | None,
    token_decimals: int,
    token_price: int,
    fee_bps: int,
    margin_bps: int,
) -> MintPlan:
    """The legs' amounts for a mint taking `need` (base units, basket order), paying the token at position `token`
    of the basket (None: a token outside it) with `token_decimals` at `token_price` (module doc)."""
    _check(need, decimals, prices, token_price, fee_bps)
    if margin_bps < 0:
        raise ValueError("zap: the margin must be non-negative")
    amounts, total = [], 0
    for i, (amount, dec, price) in enumerate(zip(need, decimals, prices, strict=True)):
        if i == token:
            amounts.append(0)
            total += amount
            continue
        # value (USD) x (1 + margin) / (1 - fee), in the token's base units: one division, rounded up
        spend = _ceil_div(
            amount * price * (BPS + margin_bps) * 10**token_decimals, 10**dec * (BPS - fee_bps) * token_price
        )
        amounts.append(spend if amount else 0)
        total += amounts[-1]
    return MintPlan(tuple(amounts), total)


def plan_redeem_min_out(
    amounts: Sequence[int],
    decimals: Sequence[int],
    prices: Sequence[int],
    token: int | None,
    token_decimals: int,
    token_price: int,
    fee_bps: int,
    slippage_bps: int,
) -> int:
    """The least of the token a redemption paying `amounts` (base units, basket order) should accept: each
    constituent's value less the pool's fee (none for the token itself) and `slippage_bps` (module doc)."""
    _check(amounts, decimals, prices, token_price, fee_bps)
    if not 0 <= slippage_bps < BPS:
        raise ValueError("zap: the slippage within [0, 10000) bps")
    value = 0  # USD, 18 decimals, times BPS
    for i, (amount, dec, price) in enumerate(zip(amounts, decimals, prices, strict=True)):
        kept = BPS if i == token else BPS - fee_bps
        value += amount * price * kept // 10**dec
    return value * (BPS - slippage_bps) * 10**token_decimals // (BPS * BPS * token_price)


def quoted_mint(need: Sequence[int], quoted_in: Sequence[int], token: int | None, slippage_bps: int) -> MintPlan:
    """The legs' amounts for a mint taking `need`, from the quoter's exact-output quotes `quoted_in` (the token
    each need costs now; any value where the need is 0 or at the token's own position): each quote plus
    `slippage_bps`, rounded up; the token itself paid directly (module doc)."""
    if len(need) != len(quoted_in):
        raise ValueError("zap: one need and one quote per constituent")
    if slippage_bps < 0:
        raise ValueError("zap: the slippage must be non-negative")
    amounts = [
        0 if i == token or not amount else _ceil_div(quote * (BPS + slippage_bps), BPS)
        for i, (amount, quote) in enumerate(zip(need, quoted_in, strict=True))
    ]
    return MintPlan(tuple(amounts), sum(amounts) + (need[token] if token is not None else 0))


def quoted_cost(need: Sequence[int], quoted: Sequence[int], token: int | None) -> int:
    """What a mint taking `need` costs in the token at the quotes (no slippage), or what a redemption paying
    `need` brings at the quoter's exact-input quotes `quoted`: the quotes of the non-zero needs, plus the token's
    own position paid or received directly."""
    return sum(
        amount if i == token else quote if amount else 0
        for i, (amount, quote) in enumerate(zip(need, quoted, strict=True))
    )


def zap_legs(
    adapter: str, assets: Sequence[str], token: str, fee: int, amounts: Sequence[int] | None = None
) -> list[tuple[str, int, bytes]]:
    """The zap's legs, one per constituent in basket order: a mint's (`amounts` of the token sold for each
    constituent through the V3 pools of `fee`) or, without amounts, a redemption's (each constituent sold for the
    token); the token's own leg has no path."""
    buying = amounts is not None
    legs = []
    for i, a in enumerate(assets):
        own = a.lower() == token.lower()
        path = b"" if own else v3_route([token, a] if buying else [a, token], [fee])
        legs.append((adapter, amounts[i] if buying else 0, path))
    return legs


def sell_min_out(
    paid: Sequence[int],
    decimals: Sequence[int],
    prices: Sequence[int],
    token: int | None,
    token_decimals: int,
    token_price: int,
    fee_ppm: int,
    slippage_bps: int,
) -> int:
    """The least a zap sale of what the vault pays (`paid`) accepts, the pools' fee tier given in ppm as V3 has
    it (`plan_redeem_min_out`)."""
    return plan_redeem_min_out(paid, decimals, prices, token, token_decimals, token_price, fee_ppm // 100, slippage_bps)
