"""Real Uniswap V3 on a local chain: factory, position manager, router and quoter from the npm builds.

Prices are exact: a pool starts at the sqrtPriceX96 of a Decimal price computed with integer square
roots, and reads back as a Fraction. Amounts that meet the chain are integers in base units.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import isqrt

from ape import chain
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from ape.types import AddressType
from eth_utils import to_checksum_address

from index_vault.chain.contracts import erc20_at, npm_container

# TickMath's bounds (v3-core libraries/TickMath.sol).
MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 2**96
Q192 = 2**192

# The position manager's token descriptor is only called by `tokenURI`. The real one
# (NonfungibleTokenPositionDescriptor) needs the NFTDescriptor library linked, which the loader
# refuses; nothing here reads token URIs, so the zero address stands in (`tokenURI` then reverts).
NO_TOKEN_DESCRIPTOR = "0x0000000000000000000000000000000000000000"

# Transactions here expire this long after the latest block unless a deadline is given.
DEADLINE_SECONDS = 3600

Token = ContractInstance | AddressType | str


@dataclass(frozen=True)
class UniswapV3:
    """A Uniswap V3 deployment: the contracts an oracle or a test talks to."""

    factory: ContractInstance
    position_manager: ContractInstance
    swap_router: ContractInstance
    quoter_v2: ContractInstance
    weth: AddressType


@dataclass(frozen=True)
class Position:
    """A position minted by the NonfungiblePositionManager, amounts in token_a/token_b order."""

    token_id: int
    liquidity: int
    amount_a: int
    amount_b: int


def _address(item: Token | AccountAPI) -> AddressType:
    """The checksummed address of a contract, an account or an address string."""
    return to_checksum_address(getattr(item, "address", item))


def _sorts_before(a: Token, b: Token) -> bool:
    return int(_address(a), 16) < int(_address(b), 16)


def _deadline(deadline: int | None) -> int:
    return deadline if deadline is not None else chain.blocks.head.timestamp + DEADLINE_SECONDS


def deploy_weth(deployer: AccountAPI) -> ContractInstance:
    """Deploys canonical-weth's WETH9."""
    return npm_container("WETH9").deploy(sender=deployer)


def deploy_uniswap_v3(deployer: AccountAPI, weth: Token) -> UniswapV3:
    """Deploys UniswapV3Factory, NonfungiblePositionManager, SwapRouter and QuoterV2 around `weth`."""
    weth_address = _address(weth)
    factory = npm_container("UniswapV3Factory").deploy(sender=deployer)
    position_manager = npm_container("NonfungiblePositionManager").deploy(
        factory.address, weth_address, NO_TOKEN_DESCRIPTOR, sender=deployer
    )
    swap_router = npm_container("SwapRouter").deploy(factory.address, weth_address, sender=deployer)
    quoter_v2 = npm_container("QuoterV2").deploy(factory.address, weth_address, sender=deployer)
    return UniswapV3(factory, position_manager, swap_router, quoter_v2, weth_address)


def _exact(price: Decimal | str | int) -> Fraction:
    if isinstance(price, bool | float):
        raise ValueError(f"price must be a Decimal, str or int, not {type(price).__name__}: {price!r}")
    value = Fraction(price if isinstance(price, Decimal) else Decimal(str(price).strip()))
    if value <= 0:
        raise ValueError(f"price must be positive: {price}")
    return value


def sqrt_price_x96(price_b_per_a: Decimal | str | int, decimals_a: int, decimals_b: int, a_is_token0: bool) -> int:
    """The pool's sqrtPriceX96 (floor) for `price_b_per_a` whole token_b per whole token_a; exact integer math."""
    price = _exact(price_b_per_a)
    raw = price * Fraction(10**decimals_b, 10**decimals_a)  # token_b base units per token_a base unit
    if not a_is_token0:
        raw = 1 / raw  # a pool's price is always token1 per token0
    root = isqrt(raw.numerator * Q192 // raw.denominator)  # isqrt(floor(x)) == floor(sqrt(x))
    if not MIN_SQRT_RATIO <= root < MAX_SQRT_RATIO:
        raise ValueError(f"price {price_b_per_a} is outside the range a Uniswap V3 pool can hold")
    return root


def price_from_sqrt_price_x96(sqrt_price: int, decimals_a: int, decimals_b: int, a_is_token0: bool) -> Fraction:
    """Whole token_b per whole token_a at `sqrt_price` (the inverse of `sqrt_price_x96`, exact)."""
    raw = Fraction(sqrt_price * sqrt_price, Q192)
    if not a_is_token0:
        raw = 1 / raw
    return raw * Fraction(10**decimals_a, 10**decimals_b)


def pool_at(address: AddressType | str) -> ContractInstance:
    """The Uniswap V3 pool at `address`, with v3-core's pool ABI."""
    return npm_container("UniswapV3Pool").at(address)


def pool_price(pool: ContractInstance, token_a: Token, token_b: Token) -> Fraction:
    """The pool's current price (slot0) as whole token_b per whole token_a."""
    a_is_token0 = _check_pair(pool, token_a, token_b)
    return price_from_sqrt_price_x96(
        pool.slot0().sqrtPriceX96,
        erc20_at(_address(token_a)).decimals(),
        erc20_at(_address(token_b)).decimals(),
        a_is_token0,
    )


def _check_pair(pool: ContractInstance, token_a: Token, token_b: Token | None = None) -> bool:
    """Whether token_a is the pool's token0; raises unless the tokens are the pool's pair."""
    token0, token1 = pool.token0(), pool.token1()
    a, b = _address(token_a), _address(token_b) if token_b is not None else None
    if a == token0 and b in (None, token1):
        return True
    if a == token1 and b in (None, token0):
        return False
    raise ValueError(f"{a}{'/' + b if b else ''} is not the pair of pool {pool.address} ({token0}/{token1})")


def full_range_ticks(tick_spacing: int) -> tuple[int, int]:
    """The lowest and highest ticks usable at `tick_spacing` (multiples of it within TickMath's bounds)."""
    top = MAX_TICK // tick_spacing * tick_spacing
    return -top, top


def range_ticks(pool: ContractInstance, range_factor: float) -> tuple[int, int]:
    """The ticks of a position over [P/k, P*k] around the pool's current price (k = `range_factor`), widened to
    the tick spacing; the full range when k is 0."""
    spacing = pool.tickSpacing()
    if not range_factor:
        return full_range_ticks(spacing)
    if range_factor <= 1:
        raise ValueError(f"a range factor must be above 1 (or 0 for the full range): {range_factor}")
    tick = pool.slot0().tick
    half = math.ceil(math.log(range_factor) / math.log(1.0001))
    low, high = full_range_ticks(spacing)
    lower = max(low, (tick - half) // spacing * spacing)
    upper = min(high, -((-(tick + half)) // spacing) * spacing)
    return lower, upper


def create_pool(
    uni: UniswapV3,
    token_a: Token,
    token_b: Token,
    fee: int,
    price_b_per_a: Decimal | str,
    deployer: AccountAPI,
    cardinality: int = 100,
) -> ContractInstance:
    """Creates and initialises the token_a/token_b pool at `price_b_per_a` whole token_b per whole token_a.

    Raises the observation cardinality to `cardinality` (it takes effect at the pool's next observation),
    enough slots for a 30-minute TWAP under test traffic.
    """
    a, b = _address(token_a), _address(token_b)
    if a == b:
        raise ValueError("a pool needs two different tokens")
    if uni.factory.feeAmountTickSpacing(fee) == 0:
        raise ValueError(f"fee tier {fee} is not enabled on the factory")
    a_is_token0 = _sorts_before(a, b)
    root = sqrt_price_x96(price_b_per_a, erc20_at(a).decimals(), erc20_at(b).decimals(), a_is_token0)
    uni.factory.createPool(a, b, fee, sender=deployer)
    pool = pool_at(uni.factory.getPool(a, b, fee))
    pool.initialize(root, sender=deployer)
    if cardinality > 1:
        pool.increaseObservationCardinalityNext(cardinality, sender=deployer)
    return pool


def add_liquidity(
    uni: UniswapV3,
    pool: ContractInstance,
    amount_a: int,
    amount_b: int,
    owner: AccountAPI,
    *,
    token_a: Token,
    amount_a_min: int = 0,
    amount_b_min: int = 0,
    recipient: AccountAPI | AddressType | None = None,
    deadline: int | None = None,
    range_factor: float = 0,
) -> Position:
    """Mints a position of at most `amount_a` token_a and `amount_b` of the pool's other token, over the full
    range or, with `range_factor` k, over [P/k, P*k] around the current price (`range_ticks`).

    The tokens must already be held by `owner`. The manager is approved for exactly the amounts the mint
    takes (found by simulating it first), so no allowance is left behind. The NFT goes to `recipient`
    (default: `owner`).
    """
    a_is_token0 = _check_pair(pool, token_a)
    token0, token1 = pool.token0(), pool.token1()
    amount0, amount1 = (amount_a, amount_b) if a_is_token0 else (amount_b, amount_a)
    min0, min1 = (amount_a_min, amount_b_min) if a_is_token0 else (amount_b_min, amount_a_min)
    tokens = (erc20_at(token0), erc20_at(token1))
    for token, amount in zip(tokens, (amount0, amount1), strict=True):
        if amount <= 0:
            raise ValueError("a position around the price needs a positive amount of both tokens")
        if (held := token.balanceOf(owner)) < amount:
            raise ValueError(f"{owner.address} holds {held} of {token.address}, needs {amount}")
    lower, upper = range_ticks(pool, range_factor)
    to = _address(recipient) if recipient is not None else owner.address
    params = (token0, token1, pool.fee(), lower, upper, amount0, amount1, min0, min1, to, _deadline(deadline))
    manager = uni.position_manager

    for token, amount in zip(tokens, (amount0, amount1), strict=True):
        token.approve(manager.address, amount, sender=owner)
    used = manager.mint.call(params, sender=owner)
    for token, desired, needed in zip(tokens, (amount0, amount1), (used.amount0, used.amount1), strict=True):
        if needed != desired:
            token.approve(manager.address, needed, sender=owner)
    receipt = manager.mint(params, sender=owner)

    (event,) = receipt.decode_logs(manager.IncreaseLiquidity)
    taken_a, taken_b = (event.amount0, event.amount1) if a_is_token0 else (event.amount1, event.amount0)
    return Position(token_id=event.tokenId, liquidity=event.liquidity, amount_a=taken_a, amount_b=taken_b)


def advance_time(seconds: int) -> int:
    """Mines one block `seconds` after the latest block; returns its timestamp.

    The timestamp is exact (`evm_setNextBlockTimestamp` + `anvil_mine` through Ape's `chain.mine`), not
    relative to the wall clock as `evm_increaseTime` is, so a TWAP window fills exactly.
    """
    if seconds < 1:
        raise ValueError(f"seconds must be positive: {seconds}")
    timestamp = chain.blocks.head.timestamp + seconds
    chain.mine(timestamp=timestamp)
    return chain.blocks.head.timestamp


def quote_exact_input(uni: UniswapV3, token_in: Token, token_out: Token, fee: int, amount_in: int) -> int:
    """QuoterV2's amount out for an exactInputSingle swap of `amount_in` (a call; nothing is sent)."""
    quote = uni.quoter_v2.quoteExactInputSingle.call((_address(token_in), _address(token_out), amount_in, fee, 0))
    return quote.amountOut


def swap_exact_input(
    uni: UniswapV3,
    token_in: Token,
    token_out: Token,
    fee: int,
    amount_in: int,
    sender: AccountAPI,
    *,
    amount_out_min: int = 0,
    sqrt_price_limit_x96: int = 0,
    deadline: int | None = None,
) -> int:
    """Swaps `amount_in` of token_in for token_out through SwapRouter.exactInputSingle; returns the amount out.

    The router is approved for exactly `amount_in`; the output goes to `sender`.
    """
    if amount_in <= 0:
        raise ValueError(f"amount_in must be positive: {amount_in}")
    token_in_address, token_out_address = _address(token_in), _address(token_out)
    out = erc20_at(token_out_address)
    erc20_at(token_in_address).approve(uni.swap_router.address, amount_in, sender=sender)
    before = out.balanceOf(sender)
    params = (
        token_in_address,
        token_out_address,
        fee,
        sender.address,
        _deadline(deadline),
        amount_in,
        amount_out_min,
        sqrt_price_limit_x96,
    )
    uni.swap_router.exactInputSingle(params, sender=sender)
    return out.balanceOf(sender) - before


FEE_DENOMINATOR = 1_000_000  # pool fees are in hundredths of a bip


def swap_to_price(sqrt_price: int, target: int, liquidity: int, fee: int) -> tuple[bool, int]:
    """(zero_for_one, amount_in) that moves a full-range pool from `sqrt_price` to `target` (both Q64.96).

    With one full-range position the active liquidity `L` is constant, so the input before fee is
    `L * (sqrtP - target) / (sqrtP * target)` of token0 (price falls) or `L * (target - sqrtP)` of token1
    (price rises), in Q96 units, rounded up as the pool rounds; the fee is grossed up as SwapMath does.
    """
    if liquidity <= 0:
        raise ValueError("the pool has no liquidity")
    if target == sqrt_price:
        return True, 0
    zero_for_one = target < sqrt_price
    if zero_for_one:
        numerator = liquidity * Q96 * (sqrt_price - target)
        net = -(-numerator // (sqrt_price * target))
    else:
        net = -(-liquidity * (target - sqrt_price) // Q96)
    fee_amount = -(-net * fee // (FEE_DENOMINATOR - fee))
    return zero_for_one, net + fee_amount + 1  # one unit more: the price limit stops the swap exactly at target
