"""Using a deployed vault from an account: status, mint and redeem in kind."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ape import chain, project
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from ape.exceptions import ContractLogicError

from index_vault.chain.contracts import erc20_at
from index_vault.common.report import ConstituentStatus, FeeStatus, VaultStatus, format_amounts
from index_vault.common.units import WAD, format_units
from index_vault.vault.basket import mint_amounts, redeem_amounts, with_slippage
from index_vault.vault.fees import annual_bps_from_rate, mint_fee_shares, redeem_fee_shares


class VaultError(RuntimeError):
    """A request the vault would refuse, caught before sending."""


def _nothing() -> None:
    return None


@dataclass
class VaultClient:
    """One vault and its constituents' tokens."""

    vault: ContractInstance

    def __post_init__(self) -> None:
        self.last_receipt = None  # the receipt of the last mint or redeem sent
        self.tokens = [erc20_at(a) for a in self.vault.assets()]
        self.symbols = [t.symbol() for t in self.tokens]
        self.decimals = [t.decimals() for t in self.tokens]

    def describe(self, amounts: Sequence[int]) -> str:
        """Amounts in basket order as readable text."""
        return format_amounts(self.symbols, self.decimals, list(amounts))

    def status(self, account: AccountAPI | str | None = None) -> VaultStatus:
        """Supply, holdings, units per share, prices and NAV; for `account`, its balance and claim."""
        owner = str(account.address if hasattr(account, "address") else account) if account else None
        supply = self.vault.totalSupply()
        balance = self.vault.balanceOf(owner) if owner else 0
        claim = self.preview_redeem(balance) if balance else [0] * len(self.tokens)
        router = project.OracleRouter.at(self.vault.oracle())
        now = chain.blocks.head.timestamp
        prices = [router.price_data(t.address) for t in self.tokens]
        targets = self.target_weights() or [None] * len(self.tokens)
        constituents = tuple(
            ConstituentStatus(
                symbol=s,
                address=t.address,
                decimals=d,
                holding=h,
                units_per_share=u,
                claim=c,
                price=p.price if p.status == 0 else 0,
                price_age=now - p.updated_at if p.updated_at else None,
                price_status="ok" if p.status == 0 else router.status_reason(p.status).removeprefix("oracle: "),
                target=w,
            )
            for s, t, d, h, u, c, p, w in zip(
                self.symbols,
                self.tokens,
                self.decimals,
                self.vault.holdings(),
                self.units_per_share(),
                claim,
                prices,
                targets,
                strict=True,
            )
        )
        nav = per_share = None
        nav_error = ""
        try:
            nav, per_share = self.vault.total_value(), self.vault.value_per_share()
        except ContractLogicError as exc:
            nav_error = str(exc.message)
        return VaultStatus(
            address=self.vault.address,
            name=self.vault.name(),
            symbol=self.vault.symbol(),
            supply=supply,
            account=owner,
            balance=balance,
            constituents=constituents,
            nav=nav,
            value_per_share=per_share,
            nav_error=nav_error,
            base_asset=self.symbols[self.base_index()],
            fees=self.fee_status(),
        )

    # The in-kind previews, units per share and target weights are the VaultLens's views
    # (contracts/periphery/VaultLens.vy); the client computes them with the same maths from the vault's own
    # reads, so it needs no lens deployed on the chain it talks to.

    def _in_kind_state(self) -> tuple[list[int], int]:
        """The holdings and the supply after the management fee due: what the in-kind flows price from."""
        return list(self.vault.holdings()), self.vault.totalSupply() + self.vault.pending_management_fee()

    def _initial_units(self) -> list[int]:
        return [self.vault.initial_units(i) for i in range(len(self.tokens))]

    def preview_mint(self, shares: int) -> list[int]:
        """Exactly what `mint_in_kind(shares, ...)` pulls now, the mint fee and the management fee due included."""
        holdings, supply = self._in_kind_state()
        gross = shares + mint_fee_shares(shares, self.vault.mint_fee_bps())
        return mint_amounts(gross, supply, holdings, self._initial_units() if supply == 0 else [])

    def preview_redeem(self, shares: int) -> list[int]:
        """Exactly what `redeem_in_kind(shares, ...)` pays now, the redeem fee and the management fee due included."""
        holdings, supply = self._in_kind_state()
        if shares > supply:
            raise VaultError(
                f"cannot redeem {format_units(shares, 18)} shares: the supply is {format_units(supply, 18)}"
            )
        return redeem_amounts(shares - redeem_fee_shares(shares, self.vault.redeem_fee_bps()), supply, holdings)

    def units_per_share(self) -> list[int]:
        """What one share holds of each constituent once the management fee due is settled (rounded down)."""
        holdings, supply = self._in_kind_state()
        if supply == 0:
            return self._initial_units()
        return [holding * WAD // supply for holding in holdings]

    def target_weights(self) -> list[int]:
        """The target weights the vault's rebalancer keeps; empty until set or while it names none."""
        rebalancer = self.vault.rebalancer()
        if int(rebalancer, 16) == 0:
            return []
        return list(project.Rebalancer.at(rebalancer).target_weights())

    def fee_status(self) -> FeeStatus:
        """The fee schedule, the management fee pending and what the recipient holds."""
        v = self.vault
        recipient = v.fee_recipient()
        return FeeStatus(
            recipient=recipient,
            management_annual_bps=annual_bps_from_rate(v.management_fee_rate()),
            pending_shares=v.pending_management_fee(),
            recipient_balance=v.balanceOf(recipient),
            mint_bps=v.mint_fee_bps(),
            redeem_bps=v.redeem_fee_bps(),
            entry_bps=v.entry_fee_bps(),
            exit_bps=v.exit_fee_bps(),
        )

    def mint(
        self,
        account: AccountAPI,
        shares: int,
        slippage_bps: int = 50,
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> list[int]:
        """Approves what is needed and mints `shares`; returns the amounts paid. `confirm()` is called once,
        after the plan is shown and before the first transaction."""
        if shares <= 0:
            raise VaultError("shares must be positive")
        if self.vault.totalSupply() == 0 and shares <= self.vault.LOCKED_SHARES():
            raise VaultError(f"the first mint must exceed {format_units(self.vault.LOCKED_SHARES(), 18)} shares")
        preview = self.preview_mint(shares)
        max_in = with_slippage(preview, slippage_bps, up=True)
        short = [
            f"{self.describe_one(i, have)} of {self.describe_one(i, amount)}"
            for i, (token, amount) in enumerate(zip(self.tokens, max_in, strict=True))
            if (have := token.balanceOf(account)) < amount
        ]
        if short:
            raise VaultError(f"{account.address} holds too little: {'; '.join(short)} needed at most")
        approvals = self._approvals(account, max_in)
        echo(f"mint {format_units(shares, 18)} {self.vault.symbol()} for at most: {self.describe(max_in)}")
        if approvals:
            echo(f"  first approving the vault for {', '.join(self.symbols[i] for i in approvals)}")
        confirm()
        self._approve(account, max_in)
        receipt = self.last_receipt = self.vault.mint_in_kind(shares, account, max_in, sender=account)
        (event,) = self.vault.MintedInKind.from_receipt(receipt)
        return list(event.amounts)

    def redeem(
        self,
        account: AccountAPI,
        shares: int,
        slippage_bps: int = 50,
        skip: Sequence[str] = (),
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> list[int]:
        """Redeems `shares` in kind, leaving the constituents in `skip` (symbols or addresses): their share is
        forfeited to the other holders. `confirm()` is called once, after the plan, before sending."""
        if shares <= 0:
            raise VaultError("shares must be positive")
        balance = self.vault.balanceOf(account)
        symbol = self.vault.symbol()
        if shares > balance:
            raise VaultError(
                f"{account.address} holds {self.describe_shares(balance)}, cannot redeem {self.describe_shares(shares)}"
            )
        skipped = [self._resolve(s) for s in skip]
        preview = self.preview_redeem(shares)
        min_out = with_slippage(preview, slippage_bps, up=False)
        for i in skipped:
            min_out[i] = 0
        echo(f"redeem {format_units(shares, 18)} {symbol} for at least: {self.describe(min_out)}")
        for i in skipped:
            echo(
                f"  warning: skipping {self.symbols[i]} forfeits {self.describe_one(i, preview[i])} to the other "
                "holders: it is not paid later"
            )
        confirm()
        if skipped:
            receipt = self.vault.redeem_in_kind_skipping(
                shares, account, min_out, [self.tokens[i].address for i in skipped], sender=account
            )
        else:
            receipt = self.vault.redeem_in_kind(shares, account, min_out, sender=account)
        self.last_receipt = receipt
        (event,) = self.vault.RedeemedInKind.from_receipt(receipt)
        return list(event.amounts)

    def deposit(
        self,
        account: AccountAPI,
        assets: int,
        slippage_bps: int = 50,
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> tuple[int, int]:
        """Buys shares with at most `assets` of the base asset at NAV; returns (assets paid, shares).

        ERC-4626 `deposit` has no minimum out, so this calls `mint` for the shares that
        `assets` less the slippage buys now, with an approval of exactly `assets`: the vault can
        never take more, and a price that moved further makes the transaction revert.
        """
        base = self.base_index()
        if assets <= 0:
            raise VaultError("assets must be positive")
        limit = self.vault.maxDeposit(account)
        if assets > limit:
            raise VaultError(f"the vault takes at most {self.describe_one(base, limit)} now: {self.nav_path_limit()}")
        have = self.tokens[base].balanceOf(account)
        if have < assets:
            raise VaultError(
                f"{account.address} holds {self.describe_one(base, have)}, not {self.describe_one(base, assets)}"
            )
        shares = self.vault.previewDeposit(assets * (10_000 - slippage_bps) // 10_000)
        if shares == 0:
            raise VaultError("that amount buys no shares")
        echo(f"deposit at most {self.describe_one(base, assets)} for {self.describe_shares(shares)} at NAV")
        confirm()
        self._approve(account, [assets if i == base else 0 for i in range(len(self.tokens))], exact=True)
        receipt = self.last_receipt = self.vault.mint(shares, account, sender=account)
        (event,) = self.vault.Deposit.from_receipt(receipt)
        return event.assets, event.shares

    def redeem_at_nav(
        self,
        account: AccountAPI,
        shares: int,
        echo: Callable[[str], None] = print,
        confirm: Callable[[], None] = _nothing,
    ) -> tuple[int, int]:
        """Sells `shares` for the base asset at NAV (ERC-4626 `redeem`); returns (assets, shares)."""
        base = self.base_index()
        symbol = self.vault.symbol()
        if shares <= 0:
            raise VaultError("shares must be positive")
        balance = self.vault.balanceOf(account)
        if shares > balance:
            raise VaultError(
                f"{account.address} holds {self.describe_shares(balance)}, cannot redeem {self.describe_shares(shares)}"
            )
        limit = self.vault.maxRedeem(account)
        if shares > limit:
            raise VaultError(
                f"at most {format_units(limit, 18)} {symbol} can be redeemed at NAV now: {self.nav_path_limit()}"
            )
        echo(f"redeem {self.describe_shares(shares)} for {self.describe_one(base, self.vault.previewRedeem(shares))}")
        confirm()
        receipt = self.last_receipt = self.vault.redeem(shares, account, account, sender=account)
        (event,) = self.vault.Withdraw.from_receipt(receipt)
        return event.assets, event.shares

    def describe_shares(self, shares: int) -> str:
        """An amount of the index's shares as readable text."""
        return f"{format_units(shares, 18)} {self.vault.symbol()}"

    def describe_one(self, index: int, amount: int) -> str:
        """An amount of one constituent as readable text."""
        return format_amounts([self.symbols[index]], [self.decimals[index]], [amount])

    def base_index(self) -> int:
        """The position of the ERC-4626 base asset in basket order."""
        return [t.address for t in self.tokens].index(self.vault.asset())

    def nav_path_limit(self) -> str:
        """Why the NAV path (ERC-4626) takes or pays less than asked now, in words: a pause, no shares yet,
        unusable prices (which, and why), else the flow cap or the base asset held."""
        vault = self.vault
        if vault.paused():
            return "the vault is paused (its guardian paused it; its admin lifts the pause)"
        if vault.totalSupply() == 0:
            return "no shares yet: the first shares are minted in kind (`ape run vault mint`)"
        router = project.OracleRouter.at(vault.oracle())
        now = chain.blocks.head.timestamp
        unusable = []
        for token, symbol in zip(self.tokens, self.symbols, strict=True):
            price = router.price_data(token.address)
            if price.status != 0:
                reason = router.status_reason(price.status).removeprefix("oracle: ")
                age = f", updated {(now - price.updated_at) / 3600:.1f} h ago" if price.updated_at else ""
                unusable.append(f"{symbol} ({reason}{age})")
        if unusable:
            return (
                f"the NAV path is halted: prices unusable for {', '.join(unusable)} "
                "(on a local chain `ape run market refresh` posts fresh prices)"
            )
        period = vault.flow_period()
        return (
            f"the flow cap ({vault.flow_cap_bps() / 100:g}% of NAV per {period / 3600:g} h) or the base asset the "
            "vault holds; the cap refills as the period rolls"
        )

    def _approvals(self, account: AccountAPI, amounts: Sequence[int], exact: bool = False) -> list[int]:
        """The positions whose allowance `_approve` must change."""
        needed = []
        for i, (token, amount) in enumerate(zip(self.tokens, amounts, strict=True)):
            current = token.allowance(account, self.vault)
            if not (amount == 0 or current == amount or (current > amount and not exact)):
                needed.append(i)
        return needed

    def _approve(self, account: AccountAPI, amounts: Sequence[int], exact: bool = False) -> None:
        """Allows the vault at least `amounts` (mint_in_kind bounds the pull itself by max_amounts_in), or
        exactly `amounts` where the allowance is the only bound (`exact`, for NAV-priced mints)."""
        for i in self._approvals(account, amounts, exact):
            token = self.tokens[i]
            if token.allowance(account, self.vault) != 0:  # USDT-style tokens refuse to change a non-zero one
                token.approve(self.vault, 0, sender=account)
            token.approve(self.vault, amounts[i], sender=account)

    def _resolve(self, name: str) -> int:
        for i, (token, symbol) in enumerate(zip(self.tokens, self.symbols, strict=True)):
            if name.lower() in (symbol.lower(), token.address.lower()):
                return i
        raise VaultError(f"{name} is not a constituent (constituents: {', '.join(self.symbols)})")
