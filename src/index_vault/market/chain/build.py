"""A local market from real bytecode, priced from real history (see `index_vault.market.model` for the plan and rules).

`build_market` deploys canonical-weth's WETH9, an OpenZeppelin ERC-20 (`StandardTokenMock`, open mint) for
every other token, a Chainlink feed (MockV3Aggregator behind an EACAggregatorProxy) per asset, Uniswap V3
with a 0.3% full-range pool of every asset against USDC and against WETH, Uniswap V2 (factory and Router02)
with a pair of the same two tokens and the same amounts beside every V3 pool, and funds a whale per token.
`advance_market` moves the market to another day: feeds get the day's answers, every V3 pool is arbitraged to
the day's price by one exact-input swap through the SwapRouter and every V2 pair by one through Router02, each
sized with exact integer maths.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from ape import accounts, chain, networks
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from ape.utils.testing import generate_dev_accounts

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.market.chain.mover import GAS_MONEY, MarketMover, check_landed
from index_vault.market.chain.uniswap_v2 import (
    UniswapV2,
    add_liquidity_v2,
    deploy_uniswap_v2,
    pair_price_of,
    reserves,
    swap_exact_input_v2,
)
from index_vault.market.chain.uniswap_v3 import (
    UniswapV3,
    add_liquidity,
    create_pool,
    deploy_uniswap_v3,
    deploy_weth,
    price_from_sqrt_price_x96,
    sqrt_price_x96,
    swap_exact_input,
    swap_to_price,
)
from index_vault.market.model import (
    FEED_DECIMALS,
    POOL_FEE,
    AddressBook,
    MarketDataError,
    MarketPlan,
    Panel,
    feed_price,
    plan_market,
    read_address_book,
)
from index_vault.market.uniswap_v2_math import raw_price, swap_to_price_v2
from index_vault.oracle.chain.feeds import deploy_price_feed

__all__ = [
    "AddressBook",
    "advance_market",
    "arbitrage_pair_v2",
    "arbitrage_pool",
    "build_market",
    "read_address_book",
    "swap_to_price",
]

WHALE_FIRST = 10  # whales are test accounts 10, 11, ...: clear of accounts 0-9 that scripts and tests use

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _ensure_ether(account: AccountAPI | str, amount: int) -> None:
    """Adds `amount` + gas money to `account`'s ether (`anvil_setBalance`) when it holds less (local chains)."""
    address = getattr(account, "address", account)
    balance = networks.provider.get_balance(address)
    if balance < amount + GAS_MONEY // 2:
        networks.provider.set_balance(address, balance + amount + GAS_MONEY)


def _give(token: ContractInstance, is_weth: bool, to: AccountAPI, amount: int, deployer: AccountAPI) -> None:
    """Gives `to` `amount` of `token`: WETH by wrapping `to`'s own (topped-up) ether, others by an open mint."""
    if amount <= 0:
        return
    if is_weth:
        _ensure_ether(to, amount)
        token.deposit(value=amount, sender=to)
    else:
        token.mint(to.address, amount, sender=deployer)


def whale_account(index: int) -> AccountAPI:
    """The `index`-th whale: the test mnemonic's account `WHALE_FIRST + index`, signing like any test account.

    Derived directly (Ape generates accounts past its configured number only in order), so the same
    whale has the same address in every session and on every chain built from the mnemonic.
    """
    container = accounts.test_accounts.containers["test"]
    number = WHALE_FIRST + index
    (generated,) = generate_dev_accounts(container.mnemonic, 1, hd_path=container.hd_path, start_index=number)
    return container.init_test_account(number, generated.address, generated.private_key)


def _build_v3(uni, plan: MarketPlan, tokens: dict[str, ContractInstance], deployer: AccountAPI, echo: Echo) -> dict:
    """Each planned V3 pool at the day's price, with its one position; returns their addresses by key."""
    pools: dict[str, str] = {}
    for pool in plan.pools:
        token_a, token_b = tokens[pool.asset], tokens[pool.quote]
        contract = create_pool(uni, token_a, token_b, POOL_FEE, pool.price, deployer)
        add_liquidity(
            uni,
            contract,
            pool.amount_asset,
            pool.amount_quote,
            deployer,
            token_a=token_a,
            range_factor=pool.range_factor,
        )
        pools[pool.key] = contract.address
        span = f"over x/{pool.range_factor:g}..x{pool.range_factor:g}" if pool.range_factor else "full range"
        echo(f"pool {pool.key}: {contract.address} at {pool.price:.8g}, ${pool.depth_usd:,} per side, {span}")
    return pools


def _build_v2(
    v2, plan: MarketPlan, tokens: dict[str, ContractInstance], amounts: dict[str, int], deployer: AccountAPI, echo: Echo
) -> dict:
    """Each planned V2 pair with its reserves (Router02 approved once per token, for exactly `amounts`)."""
    for asset, amount in amounts.items():
        tokens[asset].approve(v2.router.address, amount, sender=deployer)
    pairs: dict[str, str] = {}
    for pool in plan.pools:
        v2_asset, v2_quote = pool.v2_amounts
        added = add_liquidity_v2(
            v2, tokens[pool.asset], tokens[pool.quote], v2_asset, v2_quote, deployer, approve=False
        )
        pairs[pool.key] = added.pair.address
        depth = pool.v2_depth_usd if pool.v2_depth_usd is not None else pool.depth_usd
        echo(f"v2 pair {pool.key}: {added.pair.address} at {pool.price:.8g}, ${depth:,} per side")
    return pairs


def build_market(plan: MarketPlan, deployer: AccountAPI, echo: Echo = _quiet) -> AddressBook:
    """Deploys the market `plan` describes on the connected local chain; returns its address book."""
    weth = deploy_weth(deployer)
    tokens: dict[str, ContractInstance] = {}
    for asset, meta in plan.tokens.items():
        if asset == "ETH":
            tokens[asset] = weth
        else:
            tokens[asset] = npm_container("StandardTokenMock").deploy(
                deployer.address, 0, meta.name, meta.symbol, meta.decimals, sender=deployer
            )
    echo(f"tokens: {', '.join(f'{m.symbol} {tokens[a].address}' for a, m in plan.tokens.items())}")

    feeds = {
        asset: deploy_price_feed(deployer, feed_price(price), FEED_DECIMALS, description=f"{asset} / USD")
        for asset, price in plan.prices.items()
    }
    uni = deploy_uniswap_v3(deployer, weth)
    echo(f"uniswap v3: factory {uni.factory.address}, router {uni.swap_router.address}")

    v2 = deploy_uniswap_v2(deployer, weth)
    echo(f"uniswap v2: factory {v2.factory.address}, router02 {v2.router.address}")

    per_v3: dict[str, int] = defaultdict(int)
    per_v2: dict[str, int] = defaultdict(int)
    for pool in plan.pools:
        per_v3[pool.asset] += pool.amount_asset
        per_v3[pool.quote] += pool.amount_quote
        v2_asset, v2_quote = pool.v2_amounts
        per_v2[pool.asset] += v2_asset
        per_v2[pool.quote] += v2_quote
    for asset in per_v3:
        _give(tokens[asset], asset == "ETH", deployer, per_v3[asset] + per_v2[asset], deployer)

    pools = _build_v3(uni, plan, tokens, deployer, echo)
    v2_pairs = _build_v2(v2, plan, tokens, per_v2, deployer, echo)

    whales: dict[str, str] = {}
    for index, (asset, balance) in enumerate(plan.whale_balances.items()):
        whale = whale_account(index)
        _ensure_ether(whale, 0)
        _give(tokens[asset], asset == "ETH", whale, balance, deployer)
        whales[asset] = whale.address

    return AddressBook(
        chain_id=chain.chain_id,
        date=plan.date,
        assets=list(plan.assets),
        tokens={
            asset: {"address": tokens[asset].address, "symbol": m.symbol, "name": m.name, "decimals": m.decimals}
            for asset, m in plan.tokens.items()
        },
        feeds={asset: feed.address for asset, feed in feeds.items()},
        pools=pools,
        uniswap={
            "factory": uni.factory.address,
            "position_manager": uni.position_manager.address,
            "swap_router": uni.swap_router.address,
            "quoter_v2": uni.quoter_v2.address,
            "weth": weth.address,
        },
        whales=whales,
        uniswap_v2={"factory": v2.factory.address, "router": v2.router.address},
        v2_pairs=v2_pairs,
    )


def uniswap_from_book(book: AddressBook) -> UniswapV3:
    """The Uniswap V3 deployment an address book records."""
    u = book.uniswap
    return UniswapV3(
        factory=npm_container("UniswapV3Factory").at(u["factory"]),
        position_manager=npm_container("NonfungiblePositionManager").at(u["position_manager"]),
        swap_router=npm_container("SwapRouter").at(u["swap_router"]),
        quoter_v2=npm_container("QuoterV2").at(u["quoter_v2"]),
        weth=u["weth"],
    )


def arbitrage_pool(
    uni: UniswapV3,
    pool: ContractInstance,
    token_a: ContractInstance,
    token_b: ContractInstance,
    price_b_per_a: Decimal,
    trader: AccountAPI,
    weth_address: str,
) -> Fraction:
    """Swaps `pool` to `price_b_per_a` whole token_b per token_a with one exactInput swap; returns the new price.

    The trader is given the input (minted, or wrapped for WETH) and the swap's price limit is the target;
    raises unless the pool lands within 0.5% of it.
    """
    a_is_token0 = pool.token0() == token_a.address
    decimals_a, decimals_b = token_a.decimals(), token_b.decimals()
    target = sqrt_price_x96(price_b_per_a, decimals_a, decimals_b, a_is_token0)
    zero_for_one, amount_in = swap_to_price(pool.slot0().sqrtPriceX96, target, pool.liquidity(), pool.fee())
    if amount_in:
        token0, token1 = (token_a, token_b) if a_is_token0 else (token_b, token_a)
        token_in, token_out = (token0, token1) if zero_for_one else (token1, token0)
        _give(token_in, token_in.address == weth_address, trader, amount_in, trader)
        swap_exact_input(uni, token_in, token_out, pool.fee(), amount_in, trader, sqrt_price_limit_x96=target)
    landed = price_from_sqrt_price_x96(pool.slot0().sqrtPriceX96, decimals_a, decimals_b, a_is_token0)
    return check_landed(f"pool {pool.address}", landed, price_b_per_a)


def arbitrage_pair_v2(
    v2: UniswapV2,
    pair: ContractInstance,
    token_a: ContractInstance,
    token_b: ContractInstance,
    price_b_per_a: Decimal,
    trader: AccountAPI,
) -> Fraction:
    """Swaps V2 `pair` to `price_b_per_a` whole token_b per token_a with one exact-input swap through Router02.

    The input is sized exactly from the reserves (`swap_to_price_v2`) and the swap must pay exactly the output
    the sizing computed (its `amountOutMin`). The trader is given the input (minted, or wrapped for WETH);
    raises unless the pair lands within 0.5% of the target. Returns the new price.
    """
    decimals_a, decimals_b = token_a.decimals(), token_b.decimals()
    reserve_a, reserve_b = reserves(pair, token_a)
    swap = swap_to_price_v2(reserve_a, reserve_b, raw_price(price_b_per_a, decimals_a, decimals_b))
    if swap.amount_in:
        token_in, token_out = (token_a, token_b) if swap.a_in else (token_b, token_a)
        _give(token_in, token_in.address == v2.weth, trader, swap.amount_in, trader)
        swap_exact_input_v2(v2, [token_in, token_out], swap.amount_in, trader, amount_out_min=swap.amount_out)
    return check_landed(f"V2 pair {pair.address}", pair_price_of(pair, token_a, token_b), price_b_per_a)


def advance_market(
    book: AddressBook,
    day: str,
    deployer: AccountAPI,
    panel: Panel | None = None,
    echo: Echo = _quiet,
    mover: MarketMover | None = None,
) -> AddressBook:
    """Moves the market to `day`: feeds to its prices, pools arbitraged to them, then one block mined.

    Returns the book with the new date (the caller writes it). The deployer mints (or wraps) what it swaps.
    V2 pairs are arbitraged when the book has them (books built before V2 have none). The transactions go
    out through `mover` (a `MarketMover` for this book and deployer; a new one when not given).
    """
    if book.chain_id != chain.chain_id:
        raise MarketDataError(f"the address book is for chain {book.chain_id}, connected to {chain.chain_id}")
    plan = plan_market(day, book.assets, panel)
    if set(plan.tokens) != set(book.tokens):
        raise MarketDataError(f"the book's tokens {sorted(book.tokens)} differ from the plan's {sorted(plan.tokens)}")
    landed = (mover or MarketMover(book, deployer)).move(plan)
    for key, price in landed.items():
        echo(f"{key}: {float(price):.8g} (target {plan.pool(key.split()[1]).price:.8g})")
    chain.mine()
    return replace(book, date=plan.date, chain_id=chain.chain_id)


def token_at(book: AddressBook, asset: str) -> ContractInstance:
    """The ERC-20 of `asset` in a book, through the standard ABI."""
    return erc20_at(book.tokens[asset]["address"])
