"""Buying and selling an index vault's shares for one token through the zap (`ape run vault buy|sell`).

A buy mints an exact number of shares: each constituent's need (the vault's in-kind preview) is bought with the
token on its Uniswap V3 pool of `fee` against the token, at the exact input QuoterV2 asks for that output now plus
the slippage allowed (without a quoter: its oracle value grossed up by the pool's fee and the slippage,
`plan_mint`); the constituent that is the token is paid directly. The zap is approved for exactly the most the buy
spends, and gives back what it did not spend. A sale redeems in kind and sells each constituent for the token,
for at least the oracle value less the pools' fee and the slippage (`plan_redeem_min_out`).

A buy's legs are exact-input swaps: what they buy beyond the mint's need comes back to the buyer as constituents,
so its cost is the token spent less the oracle value of those constituents. Beside a buy, `deposit_comparison`
says what the same value in the base asset buys through ERC-4626 at NAV, and what each costs over NAV (the value of
the shares at the vault's NAV per share).
"""

from collections.abc import Callable
from dataclasses import replace

from ape import project
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.vault.chain.client import VaultClient, VaultError
from index_vault.vault.zap import (
    POOL_FEE_BPS,
    ZapTrade,
    plan_mint,
    quoted_mint,
    sell_min_out,
    zap_legs,
    zap_trade,
)


def _nothing() -> None:
    pass


class ZapClient:
    """A vault's zap, from one account's side (module doc)."""

    def __init__(self, client: VaultClient, zap: ContractInstance, adapter: str, quoter: str | None, fee: int = 3000):
        self.client, self.zap, self.adapter, self.fee = client, zap, adapter, fee
        self.vault = client.vault
        self.quoter = npm_container("QuoterV2").at(quoter) if quoter else None
        self.assets = [t.address for t in client.tokens]
        self.oracle = self.vault.oracle()

    def _price(self, token: str) -> int:
        return project.OracleRouter.at(self.oracle).price(token)

    def _index(self, token: str) -> int | None:
        return next((i for i, a in enumerate(self.assets) if a.lower() == token.lower()), None)

    def buy_legs(self, token: str, shares: int, slippage_bps: int) -> tuple[list[tuple], int]:
        """The zap's legs buying `shares` with `token`, and the most the buy spends (module doc)."""
        need = self.client.preview_mint(shares)
        at = self._index(token)
        if self.quoter is None:
            prices = [self._price(a) for a in self.assets]
            decimals = erc20_at(token).decimals()
            plan = plan_mint(need, [t.decimals() for t in self.client.tokens], prices, at, decimals,
                             self._price(token), POOL_FEE_BPS, slippage_bps)  # fmt: skip
        else:
            quotes = [
                0 if i == at or not amount else
                self.quoter.quoteExactOutputSingle.call((token, a, amount, self.fee, 0)).amountIn
                for i, (a, amount) in enumerate(zip(self.assets, need, strict=True))
            ]  # fmt: skip
            plan = quoted_mint(need, quotes, at, slippage_bps)
        return zap_legs(self.adapter, self.assets, token, self.fee, plan.amounts_in), plan.max_in

    def sell_legs(self, token: str, shares: int, slippage_bps: int) -> tuple[list[tuple], int]:
        """The zap's legs selling `shares` for `token`, and the least the sale accepts (module doc)."""
        paid = self.client.preview_redeem(shares)
        prices = [self._price(a) for a in self.assets]
        decimals = [t.decimals() for t in self.client.tokens]
        token_decimals, token_price = erc20_at(token).decimals(), self._price(token)
        at = self._index(token)
        min_out = sell_min_out(paid, decimals, prices, at, token_decimals, token_price, self.fee, slippage_bps)
        return zap_legs(self.adapter, self.assets, token, self.fee), min_out

    def _value(self, token: str, amount: int) -> int:
        """USD (18 decimals) of `amount` of `token` at the oracle."""
        return amount * self._price(token) // 10 ** erc20_at(token).decimals()

    def _trade(self, amount: int, shares: int, token: str, handed_back: int = 0) -> ZapTrade:
        """`zap_trade` at the vault's NAV per share now, less `handed_back` (USD) of constituents returned."""
        trade = zap_trade(amount, shares, self.vault.value_per_share(), self._price(token), erc20_at(token).decimals())
        return replace(trade, token_value=trade.token_value - handed_back)

    def _holdings(self, account: AccountAPI, skip: str) -> list[int]:
        return [
            0 if a.lower() == skip.lower() else t.balanceOf(account)
            for a, t in zip(self.assets, self.client.tokens, strict=True)
        ]

    def buy(
        self,
        account: AccountAPI,
        token: str,
        shares: int,
        slippage_bps: int = 50,
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> ZapTrade:
        """Mints `shares` paying `token` through the zap; returns what it spent."""
        if shares <= 0:
            raise VaultError("shares must be positive")
        legs, max_in = self.buy_legs(token, shares, slippage_bps)
        held = erc20_at(token).balanceOf(account)
        if held < max_in:
            raise VaultError(f"{account.address} holds {held} base units of the token, the buy may spend {max_in}")
        echo(f"buy {self.client.describe_shares(shares)} through the zap, spending at most {max_in} base units")
        confirm()
        erc20_at(token).approve(self.zap, max_in, sender=account)
        before = self._holdings(account, token)
        receipt = self.client.last_receipt = self.zap.mint(
            self.vault, shares, token, max_in, legs, account, sender=account
        )
        (event,) = self.zap.ZapMinted.from_receipt(receipt)
        back = [b - a for a, b in zip(before, self._holdings(account, token), strict=True)]
        handed_back = sum(self._value(a, x) for a, x in zip(self.assets, back, strict=True) if x)
        return self._trade(event.spent, shares, token, handed_back)

    def sell(
        self,
        account: AccountAPI,
        token: str,
        shares: int,
        slippage_bps: int = 50,
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> ZapTrade:
        """Redeems `shares` to `token` through the zap; returns what it received."""
        if shares <= 0 or self.vault.balanceOf(account) < shares:
            raise VaultError(f"{account.address} holds {self.client.describe_shares(self.vault.balanceOf(account))}")
        legs, min_out = self.sell_legs(token, shares, slippage_bps)
        echo(f"sell {self.client.describe_shares(shares)} through the zap for at least {min_out} base units")
        confirm()
        self.vault.approve(self.zap, shares, sender=account)
        receipt = self.zap.redeem(self.vault, shares, token, min_out, legs, account, sender=account)
        self.client.last_receipt = receipt
        (event,) = self.zap.ZapRedeemed.from_receipt(receipt)
        return self._trade(event.received, shares, token)

    def deposit_comparison(self, usd: int) -> ZapTrade:
        """What `usd` (18 decimals) of the base asset buys through ERC-4626 at NAV now (`previewDeposit`)."""
        base = self.client.tokens[self.client.base_index()].address
        amount = usd * 10 ** erc20_at(base).decimals() // self._price(base)
        return self._trade(amount, self.vault.previewDeposit(amount), base)
