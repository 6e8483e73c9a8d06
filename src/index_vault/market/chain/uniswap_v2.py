"""Real Uniswap V2 on a local chain: v2-core's factory and pairs, v2-periphery's Router02, from the npm builds.

Router02 finds a pair by CREATE2 from the init code hash compiled into it (UniswapV2Library.pairFor), so it
works only with the factory whose pair bytecode has that hash: v2-periphery 1.1.0-beta.0 with v2-core 1.0.1
does. Prices read back exact from the reserves (`index_vault.market.uniswap_v2_math`); amounts are integer base units.
"""

from dataclasses import dataclass
from fractions import Fraction

from ape import chain
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from ape.types import AddressType
from eth_utils import to_checksum_address

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.market.chain.uniswap_v3 import DEADLINE_SECONDS, Token
from index_vault.market.model import AddressBook, MarketDataError, pair_key
from index_vault.market.uniswap_v2_math import pair_price

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class UniswapV2:
    """A Uniswap V2 deployment: the factory and the router that trades through its pairs."""

    factory: ContractInstance
    router: ContractInstance
    weth: AddressType


@dataclass(frozen=True)
class Liquidity:
    """What an `addLiquidity` took, in token_a/token_b order, and the LP tokens it minted."""

    pair: ContractInstance
    amount_a: int
    amount_b: int
    liquidity: int


def _address(item: Token | AccountAPI) -> AddressType:
    return to_checksum_address(getattr(item, "address", item))


def _deadline(deadline: int | None) -> int:
    return deadline if deadline is not None else chain.blocks.head.timestamp + DEADLINE_SECONDS


def deploy_uniswap_v2(deployer: AccountAPI, weth: Token) -> UniswapV2:
    """Deploys UniswapV2Factory (no fee recipient; `deployer` may set one) and UniswapV2Router02 around `weth`."""
    weth_address = _address(weth)
    factory = npm_container("UniswapV2Factory").deploy(deployer.address, sender=deployer)
    router = npm_container("UniswapV2Router02").deploy(factory.address, weth_address, sender=deployer)
    return UniswapV2(factory, router, weth_address)


def pair_at(address: AddressType | str) -> ContractInstance:
    """The Uniswap V2 pair at `address`, with v2-core's pair ABI."""
    return npm_container("UniswapV2Pair").at(address)


def get_pair(v2: UniswapV2, token_a: Token, token_b: Token) -> ContractInstance:
    """The factory's pair of `token_a` and `token_b`; raises `LookupError` if it has none."""
    address = v2.factory.getPair(_address(token_a), _address(token_b))
    if address == ZERO_ADDRESS:
        raise LookupError(f"no Uniswap V2 pair of {_address(token_a)} and {_address(token_b)}")
    return pair_at(address)


def reserves(pair: ContractInstance, token_a: Token) -> tuple[int, int]:
    """The pair's reserves as (token_a's, the other token's); raises unless token_a is one of the pair."""
    a = _address(token_a)
    reserve0, reserve1, _ = pair.getReserves()
    if a == pair.token0():
        return reserve0, reserve1
    if a == pair.token1():
        return reserve1, reserve0
    raise ValueError(f"{a} is not a token of pair {pair.address}")


def pair_price_of(pair: ContractInstance, token_a: Token, token_b: Token) -> Fraction:
    """The pair's price (its reserves' ratio) as whole token_b per whole token_a, exact."""
    a, b = _address(token_a), _address(token_b)
    if {a, b} != {pair.token0(), pair.token1()}:
        raise ValueError(f"{a}/{b} is not the pair {pair.address}")
    reserve_a, reserve_b = reserves(pair, a)
    return pair_price(reserve_a, reserve_b, erc20_at(a).decimals(), erc20_at(b).decimals())


def add_liquidity_v2(
    v2: UniswapV2,
    token_a: Token,
    token_b: Token,
    amount_a: int,
    amount_b: int,
    owner: AccountAPI,
    *,
    amount_a_min: int = 0,
    amount_b_min: int = 0,
    approve: bool = True,
    recipient: AccountAPI | AddressType | None = None,
    deadline: int | None = None,
) -> Liquidity:
    """Adds at most `amount_a` and `amount_b` through Router02.addLiquidity (which creates the pair if needed).

    The tokens must be held by `owner`. The router is approved for exactly the amounts the call takes (found
    by simulating it first; `approve=False` when the caller has approved already). The LP tokens go to
    `recipient` (default: `owner`). Into a new pair the amounts go as given: they set its price.
    """
    a, b = _address(token_a), _address(token_b)
    if a == b:
        raise ValueError("a pair needs two different tokens")
    if amount_a <= 0 or amount_b <= 0:
        raise ValueError("liquidity needs a positive amount of both tokens")
    for token, amount in ((a, amount_a), (b, amount_b)):
        if (held := erc20_at(token).balanceOf(owner)) < amount:
            raise ValueError(f"{owner.address} holds {held} of {token}, needs {amount}")
    to = _address(recipient) if recipient is not None else owner.address
    args = (a, b, amount_a, amount_b, amount_a_min, amount_b_min, to, _deadline(deadline))
    router = v2.router
    if approve:
        for token, amount in ((a, amount_a), (b, amount_b)):
            erc20_at(token).approve(router.address, amount, sender=owner)
        used = router.addLiquidity.call(*args, sender=owner)
        for token, desired, needed in ((a, amount_a, used.amountA), (b, amount_b, used.amountB)):
            if needed != desired:
                erc20_at(token).approve(router.address, needed, sender=owner)
    pair_address = v2.factory.getPair(a, b)  # before the call: a new pair is created by it
    receipt = router.addLiquidity(*args, sender=owner)
    pair = pair_at(pair_address if pair_address != ZERO_ADDRESS else v2.factory.getPair(a, b))
    (event,) = receipt.decode_logs(pair.Mint)
    a_is_token0 = a == pair.token0()
    taken_a, taken_b = (event.amount0, event.amount1) if a_is_token0 else (event.amount1, event.amount0)
    minted = [log for log in receipt.decode_logs(pair.Transfer) if log.contract_address == pair.address]
    (transfer,) = [log for log in minted if log.to == to]  # a new pair also mints MINIMUM_LIQUIDITY to 0x0
    return Liquidity(pair=pair, amount_a=taken_a, amount_b=taken_b, liquidity=transfer.value)


def quote_exact_input_v2(v2: UniswapV2, path: list[Token], amount_in: int) -> int:
    """Router02.getAmountsOut's amount out for `amount_in` along `path` (token addresses; a call)."""
    return v2.router.getAmountsOut(amount_in, [_address(t) for t in path])[-1]


def swap_exact_input_v2(
    v2: UniswapV2,
    path: list[Token],
    amount_in: int,
    sender: AccountAPI,
    *,
    amount_out_min: int = 0,
    recipient: AccountAPI | AddressType | None = None,
    deadline: int | None = None,
) -> int:
    """Swaps `amount_in` of path[0] for path[-1] through Router02.swapExactTokensForTokens; returns the output.

    The router is approved for exactly `amount_in`; the output goes to `recipient` (default: `sender`).
    """
    if amount_in <= 0:
        raise ValueError(f"amount_in must be positive: {amount_in}")
    if len(path) < 2:
        raise ValueError("a path needs at least two tokens")
    addresses = [_address(t) for t in path]
    to = _address(recipient) if recipient is not None else sender.address
    out = erc20_at(addresses[-1])
    erc20_at(addresses[0]).approve(v2.router.address, amount_in, sender=sender)
    before = out.balanceOf(to)
    v2.router.swapExactTokensForTokens(amount_in, amount_out_min, addresses, to, _deadline(deadline), sender=sender)
    return out.balanceOf(to) - before


def uniswap_v2_from_book(book: AddressBook) -> UniswapV2:
    """The Uniswap V2 deployment an address book records; `MarketDataError` for a book without one."""
    if not book.uniswap_v2:
        raise MarketDataError("the address book records no Uniswap V2 (built before V2 was added?)")
    return UniswapV2(
        factory=npm_container("UniswapV2Factory").at(book.uniswap_v2["factory"]),
        router=npm_container("UniswapV2Router02").at(book.uniswap_v2["router"]),
        weth=to_checksum_address(book.uniswap["weth"]),
    )


def v2_pair(book: AddressBook, asset: str, quote: str) -> ContractInstance:
    """The V2 pair of `asset` against `quote` ("LINK", "USDC") that a book records."""
    key = pair_key(asset, quote)
    if key not in book.v2_pairs:
        raise MarketDataError(f"no V2 pair {key} in the book ({', '.join(book.v2_pairs) or 'none'})")
    return pair_at(book.v2_pairs[key])


def v2_price(book: AddressBook, asset: str, quote: str) -> Fraction:
    """Whole `quote` per whole `asset` in the book's V2 pair of the two (by index symbol), exact."""
    return pair_price_of(v2_pair(book, asset, quote), book.tokens[asset]["address"], book.tokens[quote]["address"])
