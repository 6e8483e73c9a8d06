# pragma version ~=0.4.3
"""
@title Fees
@custom:contract-name fees
@license GNU Affero General Public License v3.0 only
@notice The index vault's fees, all paid in shares to one fee recipient:

        - A streaming management fee. Its rate is a per-second growth of the
          share supply (`RAY` fixed point), compounded per second with
          `_rpow`: over `t` seconds the supply `S` grows by
          `floor(S * (rpow(RAY + rate, t) - RAY) / RAY)` shares minted to the
          recipient, so holders keep `RAY / rpow(RAY + rate, t)` of the
          vault. The fee is settled (`_accrue`) before every mint, redemption
          and fee change, so a new holder never pays for time before they
          held and a rate change never applies to the past. The hard cap
          (`MAX_MANAGEMENT_FEE_ANNUAL_BPS`, 10%) bounds what holders lose
          over a year of 365 days.
        - In-kind mint and redeem fees in basis points (hard cap
          `MAX_IN_KIND_FEE_BPS`): the minter pays for the fee shares on top
          of the shares received; the redeemer hands the fee shares to the
          recipient instead of burning them.
        - NAV-path entry and exit fees in basis points (hard cap
          `MAX_NAV_FEE_BPS`), which cover the oracle's error and stay in the
          vault for the holders (see `nav`).

        The whole schedule changes at once (`_set_fees`), through the
        vault's admin, that is the Governor's timelock.

        The fee multiplier (the high bits of `_accrual`) is the product, over every
        settlement, of the supply before it over the supply after it: the
        share of the vault the holders of one share keep. The undiluted
        supply `totalSupply * multiplier / RAY` moves with mints and
        redemptions and not with the fee, so that units per undiluted share
        stay put while the fee dilutes shares (the rebalancer's unit targets
        are per undiluted share; Set Protocol's position multiplier works the
        same way).

        Every rounding favours the holders: fee shares from the stream are
        rounded down, in-kind fee shares are rounded up.
"""


from snekmate.tokens import erc20
from snekmate.utils import math

from ..lib import constants
from . import in_kind_math

uses: erc20


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev Fixed-point one of the management fee rate (27 decimals).
RAY: constant(uint256) = 10**27


# @dev The year the annual cap is measured over (365 days).
YEAR: constant(uint256) = 365 * 86400


# @dev The highest annual management fee: holders keep at least 90% of the
# vault over a year.
MAX_MANAGEMENT_FEE_ANNUAL_BPS: constant(uint256) = 1_000


# @dev The highest in-kind mint or redeem fee (1%).
MAX_IN_KIND_FEE_BPS: constant(uint256) = 100


# @dev The highest entry or exit fee of the NAV path (5%).
MAX_NAV_FEE_BPS: constant(uint256) = 500


# @dev The longest stretch one settlement compounds; a vault left untouched
# longer simply earns no fee for the excess. It bounds `_rpow` so that a
# settlement, which runs before every in-kind redemption, can never
# overflow: at the cap, 100 years grow the supply about 37,600-fold.
MAX_ACCRUAL_PERIOD: constant(uint256) = 100 * YEAR


# @dev The layout of `_fee_schedule`: the rate in the low 128 bits, then
# the in-kind mint and redeem fees in basis points, 16 bits each.
_RATE_MASK: constant(uint256) = 2**128 - 1
_BPS_MASK: constant(uint256) = 2**16 - 1
_MINT_SHIFT: constant(uint256) = 128
_REDEEM_SHIFT: constant(uint256) = 144


# @dev The layout of `_accrual`: the last settlement's time in the low 64
# bits, the fee multiplier (`RAY` fixed point, at most `RAY`) above them.
_TIME_MASK: constant(uint256) = 2**64 - 1
_MULTIPLIER_SHIFT: constant(uint256) = 64


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The account every fee is paid to, in shares; never the zero address.
fee_recipient: public(address)

# @dev Per-second growth of the supply paid as management fee (`RAY` fixed
# point, 0 for none).
management_fee_rate: public(uint256)

# @dev The management fee's settlement, packed in one slot so that a mint or
# a redemption settles it with one write: when it was last settled (only
# kept current while a rate is set) in bits 0-63, and the fee multiplier
# (`RAY` fixed point, `RAY` before any fee, never above it) from bit 64 on.
_accrual: uint256

# @dev Fee on in-kind mints, in basis points of the shares created.
mint_fee_bps: public(uint256)

# @dev Fee on in-kind redemptions, in basis points of the shares redeemed.
redeem_fee_bps: public(uint256)

# @dev Fee on NAV-priced entries (deposit, mint), in basis points.
entry_fee_bps: public(uint256)

# @dev Fee on NAV-priced exits (withdraw, redeem), in basis points.
exit_fee_bps: public(uint256)

# @dev What the in-kind flows read of the schedule, packed in one slot: a
# mint or a redemption then pays one cold SLOAD for the rate and its fee
# instead of two (2,100 gas). The rate in bits 0-127, then the in-kind mint
# and redeem fees, 16 bits each (`_*_SHIFT`). Every field fits: `_set_fees`
# refuses a rate above about RAY // YEAR (far below 2**128) and fees above
# 100 bps. Only `_set_fees` writes it, together with the variables above.
# (The NAV flows read `entry_fee_bps` and `exit_fee_bps` themselves.)
_fee_schedule: uint256


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event ManagementFeeAccrued:
    recipient: indexed(address)
    shares: uint256
    elapsed: uint256  # seconds charged, at most MAX_ACCRUAL_PERIOD


event FeesChanged:
    management_fee_rate: uint256
    mint_fee_bps: uint256
    redeem_fee_bps: uint256
    entry_fee_bps: uint256
    exit_fee_bps: uint256


event FeeRecipientChanged:
    recipient: indexed(address)


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(recipient: address):
    """
    @dev Sets the fee recipient; every fee starts at zero.
    @param recipient The account fees are paid to.
    """
    self._accrual = RAY << _MULTIPLIER_SHIFT
    self._set_recipient(recipient)


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def last_fee_accrual() -> uint256:
    """
    @dev When the management fee was last settled (only kept current while a
         rate is set).
    @return uint256 A timestamp.
    """
    return self._accrual & _TIME_MASK


@external
@view
def fee_multiplier() -> uint256:
    """
    @dev The share of the vault one share's holder has kept through every
         management fee settled so far (`RAY` fixed point, 10**27 before
         any fee).
    @return uint256 The multiplier.
    """
    return self._accrual >> _MULTIPLIER_SHIFT


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
@view
def _rate() -> uint256:
    """
    @dev The management fee's per-second rate, from the packed schedule.
    @return uint256 `RAY` fixed point.
    """
    return self._fee_schedule & _RATE_MASK


@internal
@view
def _fee_bps(position: uint256) -> uint256:
    """
    @dev One basis-point fee of the packed schedule.
    @param position Its shift (`_MINT_SHIFT` or `_REDEEM_SHIFT`).
    @return uint256 Basis points.
    """
    return (self._fee_schedule >> position) & _BPS_MASK


@internal
def _accrue():
    """
    @dev Settles the management fee up to now by minting its shares to the
         recipient. Cannot revert: the elapsed time is capped and the
         recipient is never zero.
    """
    rate: uint256 = self._rate()
    if rate == 0:
        return
    packed: uint256 = self._accrual
    # the time charged: a settlement charges at most `MAX_ACCRUAL_PERIOD`
    elapsed: uint256 = min(block.timestamp - (packed & _TIME_MASK), MAX_ACCRUAL_PERIOD)
    multiplier: uint256 = packed >> _MULTIPLIER_SHIFT
    shares: uint256 = self._pending(rate, packed)
    if shares != 0:
        supply: uint256 = erc20.totalSupply
        # supply != 0: the fee is a share of the supply, so shares != 0 needs one
        multiplier = math._mul_div(multiplier, supply, supply + shares, False)
        recipient: address = self.fee_recipient
        erc20._mint(recipient, shares)
        log ManagementFeeAccrued(recipient=recipient, shares=shares, elapsed=elapsed)
    self._accrual = block.timestamp | multiplier << _MULTIPLIER_SHIFT


@internal
@view
def _pending(rate: uint256, packed: uint256) -> uint256:
    """
    @dev The management fee shares due now at `rate`, rounded down.
    @param rate The per-second rate (`RAY` fixed point).
    @param packed `_accrual`, as read by the caller.
    @return uint256 Shares.
    """
    elapsed: uint256 = min(block.timestamp - (packed & _TIME_MASK), MAX_ACCRUAL_PERIOD)
    if elapsed == 0:
        return 0
    growth: uint256 = self._rpow(RAY + rate, elapsed)
    return math._mul_div(erc20.totalSupply, growth - RAY, RAY, False)


@internal
@view
def _supply_after_accrual() -> uint256:
    """
    @dev The share supply once the management fee due now is settled: what
         previews price against.
    @return uint256 Shares.
    """
    rate: uint256 = self._rate()
    if rate == 0:
        return erc20.totalSupply
    return erc20.totalSupply + self._pending(rate, self._accrual)


@internal
@view
def _undiluted_supply() -> uint256:
    """
    @dev The share supply scaled back by every management fee settled: it
         moves with mints and redemptions, not with the fee (see the
         notice). Unsettled fee shares are in neither factor.
    @return uint256 Undiluted shares.
    """
    return math._mul_div(erc20.totalSupply, self._accrual >> _MULTIPLIER_SHIFT, RAY, False)


@internal
def _set_fees(rate: uint256, mint_fee_bps_: uint256, redeem_fee_bps_: uint256, entry_fee_bps_: uint256, exit_fee_bps_: uint256):
    """
    @dev Settles the management fee at the old rate, then sets the whole
         fee schedule.
    @param rate The management fee's per-second rate (`RAY` fixed point, 0
           for none); its annual fee at most `MAX_MANAGEMENT_FEE_ANNUAL_BPS`.
    @param mint_fee_bps_ In-kind mint fee, at most `MAX_IN_KIND_FEE_BPS`.
    @param redeem_fee_bps_ In-kind redeem fee, at most `MAX_IN_KIND_FEE_BPS`.
    @param entry_fee_bps_ NAV entry fee, at most `MAX_NAV_FEE_BPS`.
    @param exit_fee_bps_ NAV exit fee, at most `MAX_NAV_FEE_BPS`.
    """
    # Holders keep RAY / rpow(RAY + rate, YEAR) of the vault over a year.
    # The power is taken of the rate clamped just above RAY // YEAR (an
    # annual growth of about e, far above the cap), so it cannot overflow
    # and a larger rate still fails the cap.
    growth: uint256 = self._rpow(RAY + min(rate, RAY // YEAR + 1), YEAR)
    assert (
        growth * (constants.BPS - MAX_MANAGEMENT_FEE_ANNUAL_BPS) <= RAY * constants.BPS
        and max(mint_fee_bps_, redeem_fee_bps_) <= MAX_IN_KIND_FEE_BPS
        and max(entry_fee_bps_, exit_fee_bps_) <= MAX_NAV_FEE_BPS
    ), "fees: fee above cap"
    self._accrue()
    self.management_fee_rate = rate
    self._accrual = block.timestamp | (self._accrual >> _MULTIPLIER_SHIFT) << _MULTIPLIER_SHIFT
    self.mint_fee_bps = mint_fee_bps_
    self.redeem_fee_bps = redeem_fee_bps_
    self.entry_fee_bps = entry_fee_bps_
    self.exit_fee_bps = exit_fee_bps_
    self._fee_schedule = rate | mint_fee_bps_ << _MINT_SHIFT | redeem_fee_bps_ << _REDEEM_SHIFT
    log FeesChanged(
        management_fee_rate=rate,
        mint_fee_bps=mint_fee_bps_,
        redeem_fee_bps=redeem_fee_bps_,
        entry_fee_bps=entry_fee_bps_,
        exit_fee_bps=exit_fee_bps_,
    )


@internal
def _set_recipient(recipient: address):
    """
    @dev Settles what is due to the old recipient, then changes it.
    @param recipient The new recipient, not the zero address.
    """
    assert recipient != empty(address), "fees: zero recipient"
    assert recipient != self, "fees: the vault as recipient"
    self._accrue()
    self.fee_recipient = recipient
    log FeeRecipientChanged(recipient=recipient)


@internal
@view
def _mint_fee(shares: uint256) -> uint256:
    """
    @dev Fee shares a minter pays for on top of `shares`, so that the fee is
         `mint_fee_bps` of all shares created; rounded up.
    @param shares The shares the receiver gets.
    @return uint256 Fee shares.
    """
    return in_kind_math._fee_on_top(shares, self._fee_bps(_MINT_SHIFT))


@internal
@view
def _redeem_fee(shares: uint256) -> uint256:
    """
    @dev Fee shares kept back from a redemption of `shares`; rounded up.
    @param shares The shares redeemed.
    @return uint256 Fee shares.
    """
    return in_kind_math._fee_within(shares, self._fee_bps(_REDEEM_SHIFT))


@internal
@pure
def _rpow(x: uint256, n: uint256) -> uint256:
    """
    @dev `x ** n` in `RAY` fixed point by squaring, each product rounded
         down. With `x` at most the capped rate and `n` at most
         `MAX_ACCRUAL_PERIOD`, no product exceeds about 10**63.
    @param x The base (`RAY` fixed point).
    @param n The exponent, below 2**40.
    @return uint256 The power (`RAY` fixed point).
    """
    z: uint256 = RAY
    base: uint256 = x
    e: uint256 = n
    for _: uint256 in range(40):
        if e & 1 == 1:
            z = z * base // RAY
        e >>= 1
        if e == 0:
            break
        base = base * base // RAY
    return z
