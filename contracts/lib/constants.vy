# pragma version ~=0.4.3
"""
@title Shared Constants
@custom:contract-name constants
@license GNU Affero General Public License v3.0 only
@notice The bounds and identifiers every contract of the system agrees on,
        defined once: the ABI bounds of constituent lists, fixed-point ones
        and the vault's role identifiers. A contract that exposes one reads
        it from here (`MAX_ASSETS: public(constant(uint256)) =
        constants.MAX_ASSETS`), so two contracts cannot disagree on it.
"""


# @dev The most constituents a basket may hold. Every in-kind mint and
# redemption touches each of them, so the bound is also a gas bound: 50
# constituents mint and redeem in well under 5M gas.
MAX_ASSETS: constant(uint256) = 50


# @dev The longest constituent list a constructor decodes, so that a list
# longer than `MAX_ASSETS` gets a reason instead of a bare ABI revert.
MAX_INPUT: constant(uint256) = 2 * MAX_ASSETS


# @dev The longest route a DEX adapter takes (a Uniswap V3 path of up to
# ten hops).
MAX_ROUTE: constant(uint256) = 256


# @dev The longest payload a Uniswap V2 flash swap carries back: one zap leg
# per constituent, ABI-encoded as a dynamic array (its offset and length, an
# offset per leg, then each leg's adapter, amount, route offset, route length
# and route).
MAX_FLASH_DATA: constant(uint256) = 64 + MAX_ASSETS * (5 * 32 + MAX_ROUTE)


# @dev Fixed-point one: weights sum to exactly this, units are amounts per
# `WAD` shares, USD values carry 18 decimals.
WAD: constant(uint256) = 10**18


# @dev One in basis points.
BPS: constant(uint256) = 10_000


# @dev The vault's roles (snekmate `access_control`; its admin role is
# zero). `DEFAULT_ADMIN_ROLE` configures the oracle, fees, flow caps and the
# rebalancer, and lifts a pause; `GUARDIAN_ROLE` pauses; `FEE_MANAGER_ROLE`
# names the fee recipient; `KEEPER_ROLE` trades through the rebalancer and
# opens auctions; `MANAGER_ROLE` is for whoever proposes target weights to
# the Governor.
DEFAULT_ADMIN_ROLE: constant(bytes32) = empty(bytes32)
MANAGER_ROLE: constant(bytes32) = keccak256("MANAGER_ROLE")
KEEPER_ROLE: constant(bytes32) = keccak256("KEEPER_ROLE")
GUARDIAN_ROLE: constant(bytes32) = keccak256("GUARDIAN_ROLE")
FEE_MANAGER_ROLE: constant(bytes32) = keccak256("FEE_MANAGER_ROLE")
