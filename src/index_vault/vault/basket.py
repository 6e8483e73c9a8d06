"""A Python model of the vault's in-kind maths, to the wei.

It mirrors `contracts/vault/IndexVault.vy`: the first mint pays the starting units and locks
`LOCKED_SHARES`; later mints pay pro rata to holdings rounded up; redemptions receive pro rata
rounded down. The stateful tests run it beside the contract, and the scripts use it to explain
previews.
"""

from dataclasses import dataclass, field

from index_vault.common.units import WAD

LOCKED_SHARES = 10**16
MIN_UNIT = WAD // LOCKED_SHARES
MAX_ASSETS = 50


def ceil_div(x: int, y: int) -> int:
    """Integer division rounded up (non-negative operands)."""
    return -(-x // y)


def mint_amounts(shares: int, supply: int, holdings: list[int], initial_units: list[int]) -> list[int]:
    """What minting `shares` pays in of each constituent."""
    if supply == 0:
        return [ceil_div(shares * unit, WAD) for unit in initial_units]
    return [ceil_div(shares * holding, supply) for holding in holdings]


def redeem_amounts(shares: int, supply: int, holdings: list[int]) -> list[int]:
    """What redeeming `shares` pays out of each constituent."""
    if shares > supply:
        raise ValueError("shares exceed supply")
    return [shares * holding // supply for holding in holdings]


def with_slippage(amounts: list[int], bps: int, *, up: bool) -> list[int]:
    """Bounds for `max_amounts_in` (up) or `min_amounts_out` (down) around previews."""
    if not 0 <= bps <= 10_000:
        raise ValueError("slippage must be within 0..10000 bps")
    if up:
        return [ceil_div(a * (10_000 + bps), 10_000) for a in amounts]
    return [a * (10_000 - bps) // 10_000 for a in amounts]


@dataclass
class BasketModel:
    """The vault's state as the contract holds it: supply, balances and holdings."""

    initial_units: list[int]
    holdings: list[int] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)
    supply: int = 0

    def __post_init__(self) -> None:
        if not self.holdings:
            self.holdings = [0] * len(self.initial_units)

    def mint(self, shares: int, receiver: str) -> list[int]:
        """Applies an in-kind mint; returns the amounts paid in."""
        if shares == 0:
            raise ValueError("zero shares")
        amounts = mint_amounts(shares, self.supply, self.holdings, self.initial_units)
        minted = shares
        if self.supply == 0:
            if shares <= LOCKED_SHARES:
                raise ValueError("first mint too small")
            self.balances["dead"] = self.balances.get("dead", 0) + LOCKED_SHARES
            minted = shares - LOCKED_SHARES
        self.holdings = [h + a for h, a in zip(self.holdings, amounts, strict=True)]
        self.balances[receiver] = self.balances.get(receiver, 0) + minted
        self.supply += shares
        return amounts

    def redeem(self, shares: int, owner: str, skipped: frozenset[int] = frozenset()) -> list[int]:
        """Applies an in-kind redemption, skipping the constituents at `skipped` indexes."""
        if shares == 0:
            raise ValueError("zero shares")
        if self.balances.get(owner, 0) < shares:
            raise ValueError("burn amount exceeds balance")
        amounts = [0 if i in skipped else a for i, a in enumerate(redeem_amounts(shares, self.supply, self.holdings))]
        self.balances[owner] -= shares
        self.supply -= shares
        self.holdings = [h - a for h, a in zip(self.holdings, amounts, strict=True)]
        return amounts

    def donate(self, index: int, amount: int) -> None:
        """A transfer straight to the vault: every holder's claim rises alike."""
        self.holdings[index] += amount

    def transfer(self, sender: str, receiver: str, shares: int) -> None:
        """An ERC-20 transfer of shares."""
        if self.balances.get(sender, 0) < shares:
            raise ValueError("transfer amount exceeds balance")
        self.balances[sender] = self.balances.get(sender, 0) - shares
        self.balances[receiver] = self.balances.get(receiver, 0) + shares

    def claim(self, owner: str) -> list[int]:
        """What `owner` would receive by redeeming every share now."""
        return redeem_amounts(self.balances.get(owner, 0), self.supply, self.holdings) if self.supply else []
