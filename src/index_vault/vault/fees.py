"""A Python model of the vault's fees, to the wei.

It mirrors `contracts/vault/fees.vy` and the fee steps of `contracts/vault/IndexVault.vy`: the
streaming management fee (a per-second supply growth in `RAY` fixed point, compounded with the
contract's `_rpow` and settled before every mint, redemption and fee change), and the in-kind mint
and redeem fees in basis points. Fee shares from the stream round down, in-kind fee shares round
up. The stateful tests run `FeeModel` beside the contract; `rate_from_annual_bps` turns a
governance proposal's annual fee into the rate `set_fees` takes.
"""

from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from index_vault.common.units import BPS
from index_vault.vault.basket import LOCKED_SHARES, ceil_div

RAY = 10**27
YEAR = 365 * 86400
MAX_MANAGEMENT_FEE_ANNUAL_BPS = 1_000
MAX_IN_KIND_FEE_BPS = 100
MAX_NAV_FEE_BPS = 500
MAX_ACCRUAL_PERIOD = 100 * YEAR
# The rate the cap check clamps to before taking the annual power (an annual growth of about e).
CAP_CHECK_RATE_CLAMP = RAY // YEAR + 1

_UINT256_MAX = 2**256 - 1
_RPOW_ROUNDS = 40


def _mul(a: int, b: int) -> int:
    """A uint256 product: raises where the contract would revert on overflow."""
    product = a * b
    if product > _UINT256_MAX:
        raise OverflowError("uint256 overflow in rpow")
    return product


def rpow(x: int, n: int) -> int:
    """`x ** n` in `RAY` fixed point exactly as the contract's `_rpow`: by squaring, each product
    rounded down, over at most 40 bits of `n`."""
    if x < 0 or n < 0:
        raise ValueError("rpow takes non-negative operands")
    z, base, e = RAY, x, n
    for _ in range(_RPOW_ROUNDS):
        if e & 1:
            z = _mul(z, base) // RAY
        e >>= 1
        if e == 0:
            break
        base = _mul(base, base) // RAY
    return z


def pending_fee_shares(supply: int, rate: int, elapsed: int) -> int:
    """Management fee shares due on `supply` after `elapsed` seconds at `rate`, rounded down
    (the elapsed time capped at `MAX_ACCRUAL_PERIOD`)."""
    elapsed = min(elapsed, MAX_ACCRUAL_PERIOD)
    if rate == 0 or elapsed == 0:
        return 0
    return supply * (rpow(RAY + rate, elapsed) - RAY) // RAY


def management_rate_within_cap(rate: int) -> bool:
    """The contract's cap check: holders keep at least 90% of the vault over `YEAR`."""
    growth = rpow(RAY + min(rate, CAP_CHECK_RATE_CLAMP), YEAR)
    return growth * (BPS - MAX_MANAGEMENT_FEE_ANNUAL_BPS) <= RAY * BPS


def check_fees(rate: int, mint_bps: int, redeem_bps: int, entry_bps: int = 0, exit_bps: int = 0) -> None:
    """Raises `ValueError` where `set_fees` reverts with "fees: fee above cap"."""
    if (
        not management_rate_within_cap(rate)
        or max(mint_bps, redeem_bps) > MAX_IN_KIND_FEE_BPS
        or max(entry_bps, exit_bps) > MAX_NAV_FEE_BPS
    ):
        raise ValueError("fees: fee above cap")


def _keeps(rate: int, bps: int) -> bool:
    """Whether holders keep at least `(10000 - bps) / 10000` of the vault over `YEAR` at `rate`."""
    return rpow(RAY + rate, YEAR) * (BPS - bps) <= RAY * BPS


def rate_from_annual_bps(bps: int) -> int:
    """The largest per-second rate at which holders keep `1 - bps / 10000` of the vault over
    `YEAR`, in the contract's own arithmetic: `rpow(RAY + r, YEAR) * (10000 - bps) <= RAY * 10000`.
    """
    if not 0 <= bps < BPS:
        raise ValueError("annual fee must be within 0..9999 bps")
    with localcontext() as ctx:
        ctx.prec = 80
        growth = Decimal(BPS) / Decimal(BPS - bps)
        guess = int((growth.ln() / YEAR).exp() * RAY) - RAY
    # `rpow` is non-decreasing in its base: bracket the answer around the guess, then bisect.
    low, step = max(guess, 0), 1
    while low > 0 and not _keeps(low, bps):
        low, step = max(low - step, 0), step * 2
    high, step = low + 1, 1
    while _keeps(high, bps):
        low, high, step = high, high + step, step * 2
    while high - low > 1:  # invariant: _keeps(low) and not _keeps(high)
        mid = (low + high) // 2
        low, high = (mid, high) if _keeps(mid, bps) else (low, mid)
    return low


def annual_bps_from_rate(rate: int) -> float:
    """The annual management fee in basis points at `rate`: what holders lose over `YEAR` (for
    display; the contract's rounding included)."""
    return BPS * (1 - RAY / rpow(RAY + rate, YEAR))


def mint_fee_shares(shares: int, bps: int) -> int:
    """Fee shares a minter pays for on top of `shares`: `bps` of all shares created, rounded up."""
    if bps == 0:
        return 0
    return ceil_div(shares * bps, BPS - bps)


def redeem_fee_shares(shares: int, bps: int) -> int:
    """Fee shares kept back from a redemption of `shares`, rounded up."""
    if bps == 0:
        return 0
    return ceil_div(shares * bps, BPS)


@dataclass
class FeeModel:
    """The vault's share ledger as its fees move it: supply, balances and the fee schedule.

    Every method taking `now` settles the management fee first, as the contract does.
    """

    recipient: str
    supply: int = 0
    rate: int = 0
    last_accrual: int = 0
    mint_fee_bps: int = 0
    redeem_fee_bps: int = 0
    balances: dict[str, int] = field(default_factory=dict)

    @property
    def recipient_balance(self) -> int:
        """The current fee recipient's shares."""
        return self.balances.get(self.recipient, 0)

    def _credit(self, account: str, shares: int) -> None:
        self.balances[account] = self.balances.get(account, 0) + shares

    def _debit(self, account: str, shares: int) -> None:
        if self.balances.get(account, 0) < shares:
            raise ValueError("amount exceeds balance")
        self.balances[account] -= shares

    def pending(self, now: int) -> int:
        """Management fee shares the next settlement would mint at `now`."""
        if now < self.last_accrual:
            raise ValueError("time runs backwards")
        return pending_fee_shares(self.supply, self.rate, now - self.last_accrual)

    def supply_after_accrual(self, now: int) -> int:
        """The supply previews price against at `now`."""
        return self.supply + self.pending(now)

    def accrue(self, now: int) -> int:
        """Settles the management fee as `_accrue`; returns the shares minted to the recipient."""
        if self.rate == 0:
            return 0
        shares = self.pending(now)
        self.last_accrual = now
        self._credit(self.recipient, shares)
        self.supply += shares
        return shares

    def set_fees(self, now: int, rate: int, mint_bps: int = 0, redeem_bps: int = 0) -> None:
        """`set_fees`: checks the caps, settles at the old rate, then sets the schedule."""
        check_fees(rate, mint_bps, redeem_bps)
        self.accrue(now)
        self.rate, self.mint_fee_bps, self.redeem_fee_bps = rate, mint_bps, redeem_bps
        self.last_accrual = now

    def set_recipient(self, now: int, recipient: str) -> None:
        """`set_fee_recipient`: settles to the old recipient, then changes it."""
        self.accrue(now)
        self.recipient = recipient

    def mint(self, now: int, shares: int, receiver: str) -> tuple[int, int]:
        """An in-kind mint of `shares` to `receiver`; returns (shares paid for, fee shares). The
        first mint locks `LOCKED_SHARES` of `shares` at the dead address."""
        self.accrue(now)
        fee = mint_fee_shares(shares, self.mint_fee_bps)
        minted = shares
        if self.supply == 0:
            if shares <= LOCKED_SHARES:
                raise ValueError("first mint too small")
            self._credit("dead", LOCKED_SHARES)
            minted = shares - LOCKED_SHARES
        self._credit(receiver, minted)
        self._credit(self.recipient, fee)
        self.supply += shares + fee
        return shares + fee, fee

    def redeem(self, now: int, shares: int, owner: str) -> tuple[int, int, int]:
        """An in-kind redemption of `owner`'s `shares`; returns (net shares burnt, fee shares,
        supply the payout is priced against)."""
        self.accrue(now)
        supply = self.supply
        fee = redeem_fee_shares(shares, self.redeem_fee_bps)
        self._debit(owner, shares)
        self._credit(self.recipient, fee)
        self.supply -= shares - fee
        return shares - fee, fee, supply

    def transfer(self, sender: str, receiver: str, shares: int) -> None:
        """An ERC-20 transfer of shares (no settlement)."""
        self._debit(sender, shares)
        self._credit(receiver, shares)
