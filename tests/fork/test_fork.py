"""The index vault on a fork of the market chain's real tokens, feeds and pools (and of mainnet, given an RPC).

Run: `ape test tests/fork --network ethereum:market-fork:foundry` (see README.md). `test_mainnet_fork.py` runs
the same tests over mainnet's contracts, given ETH_RPC_URL and `--network ethereum:mainnet-fork:foundry`.
"""

from fractions import Fraction
from types import SimpleNamespace

import pytest
from ape import accounts as ape_accounts
from ape import networks
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from web3 import Web3

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.common.units import parse_units
from index_vault.keeper.routes import v2_route, v3_route
from index_vault.market.chain.uniswap_v3 import advance_time, swap_exact_input
from index_vault.oracle.chain.local import FeedSettings, feed_params
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters, keeper_trade
from index_vault.vault.chain.deploy import deploy_vault
from index_vault.vault.spec import BasketSpec, Constituent
from tests.fork.conftest import ForkMarket

WAD = 10**18
ETHER = 10**18
# Basket order, token symbol, decimals and units per share (about $53 a share at 2022-06-01 prices).
BASKET = [
    ("ETH", "WETH", 18, "0.01"),
    ("BTC", "WBTC", 8, "0.0005"),
    ("LINK", "LINK", 18, "1"),
    ("USDC", "USDC", 6, "10"),
]
SHARES = 100 * WAD  # minted in kind in each test
FUNDED_SHARES = 2 * SHARES  # what the user is given of each constituent
DEPOSIT_USDC = 100 * 10**6
NAV_TOLERANCE = Fraction(1, 100)
pytestmark = pytest.mark.fork
ERC20_BALANCE_ABI = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


@pytest.fixture(scope="module")
def fork_market(market_chain: ForkMarket) -> ForkMarket:
    """The chain under the fork: here the market chain (`test_mainnet_fork.py` overrides it with mainnet)."""
    return market_chain


@pytest.fixture(scope="module")
def deployer(accounts) -> AccountAPI:
    networks.provider.set_balance(accounts[0].address, 1_000 * ETHER)
    return accounts[0]


@pytest.fixture(scope="module")
def user(accounts) -> AccountAPI:
    networks.provider.set_balance(accounts[1].address, 1_000 * ETHER)
    return accounts[1]


@pytest.fixture(scope="module")
def router(fork_market: ForkMarket, deployer, project) -> ContractInstance:
    """An OracleRouter over the chain's Chainlink feeds and Uniswap V3 pools, its TWAP window filled."""
    settings = FeedSettings()
    router = project.OracleRouter.deploy(deployer, sender=deployer)
    for asset, *_ in BASKET:
        params = feed_params(fork_market.feeds[asset], fork_market.pools[asset], fork_market.prices[asset], settings)
        router.set_feed(fork_market.tokens[asset], params, sender=deployer)
    advance_time(settings.twap_window + 60)
    return router


@pytest.fixture(scope="module")
def deployed(fork_market: ForkMarket, router, deployer):
    """The index vault over the chain's WETH, WBTC, LINK and USDC (USDC its ERC-4626 asset), and its Rebalancer."""
    constituents = tuple(
        Constituent(symbol, symbol, decimals, parse_units(units, decimals), address=fork_market.tokens[asset])
        for asset, symbol, decimals, units in BASKET
    )
    spec = BasketSpec("Fork Index", "FORK", constituents, base_asset="USDC")
    return deploy_vault(spec, deployer, local=False, oracle=router.address, echo=lambda _: None)


@pytest.fixture(scope="module")
def vault(deployed) -> ContractInstance:
    return deployed.vault


@pytest.fixture(scope="module")
def lens(deployer, project) -> ContractInstance:
    """The stateless VaultLens: the vault's in-kind previews and units per share."""
    return project.VaultLens.deploy(sender=deployer)


def _fund(market: ForkMarket, user: AccountAPI, asset: str, amount: int) -> None:
    """Gives `user` `amount` of `asset`: WETH by wrapping ether; others from a whale, or bought with WETH."""
    weth = npm_container("WETH9").at(market.tokens["ETH"])
    if asset == "ETH":
        weth.deposit(value=amount, sender=user)
    elif market.whales:
        erc20_at(market.tokens[asset]).transfer(user.address, amount, sender=ape_accounts[market.whales[asset]])
    else:
        usd = Fraction(amount, 10 ** erc20_at(market.tokens[asset]).decimals()) * Fraction(market.prices[asset])
        weth_in = int(usd * Fraction(11, 10) / Fraction(market.prices["ETH"]) * ETHER)
        weth.deposit(value=weth_in, sender=user)
        uni = SimpleNamespace(swap_router=npm_container("SwapRouter").at(market.swap_router))
        swap_exact_input(uni, weth, market.tokens[asset], market.swap_fees[asset], weth_in, user, amount_out_min=amount)


@pytest.fixture(scope="module")
def funded_user(fork_market: ForkMarket, vault, lens, user) -> AccountAPI:
    """The user, holding the constituents of FUNDED_SHARES plus DEPOSIT_USDC, the vault approved for all."""
    for (asset, *_), units in zip(BASKET, lens.units_per_share(vault), strict=True):
        extra = DEPOSIT_USDC if asset == "USDC" else 0
        _fund(fork_market, user, asset, -(-units * FUNDED_SHARES // WAD) + extra)
        erc20_at(fork_market.tokens[asset]).approve(vault.address, 2**256 - 1, sender=user)
    return user


def _mint(vault: ContractInstance, lens: ContractInstance, user: AccountAPI, shares: int = SHARES) -> list[int]:
    amounts = list(lens.preview_mint_in_kind(vault, shares))
    vault.mint_in_kind(shares, user.address, amounts, sender=user)
    return amounts


def _balances(market: ForkMarket, holder: str) -> list[int]:
    return [erc20_at(market.tokens[asset]).balanceOf(holder) for asset, *_ in BASKET]


def _usd(market: ForkMarket, amounts: list[int]) -> Fraction:
    """The USD value of basket-ordered amounts at the reference prices."""
    priced = zip(BASKET, amounts, strict=True)
    return sum((Fraction(a, 10**dec) * Fraction(market.prices[asset]) for (asset, _, dec, _), a in priced), Fraction(0))


def test_address_book__fork_of_the_chain__tokens_feeds_and_pools_are_live_and_fund_a_user(
    fork_market: ForkMarket, vault, lens, funded_user
):
    symbols = {asset: erc20_at(fork_market.tokens[asset]).symbol() for asset, *_ in BASKET}
    assert symbols == {asset: symbol for asset, symbol, *_ in BASKET}
    assert {asset: erc20_at(fork_market.tokens[asset]).decimals() for asset, *_ in BASKET} == {
        asset: decimals for asset, _, decimals, _ in BASKET
    }
    for address in [*fork_market.feeds.values(), *fork_market.pools.values()]:
        assert networks.provider.get_code(address), address
    for asset, pool in fork_market.pools.items():
        pair = npm_container("UniswapV3Pool").at(pool)
        assert fork_market.tokens[asset] in (pair.token0(), pair.token1()), asset
    funded = _balances(fork_market, funded_user.address)
    wanted = [-(-units * FUNDED_SHARES // WAD) for units in lens.units_per_share(vault)]
    assert all(have >= want for have, want in zip(funded, wanted, strict=True)), (funded, wanted)


def test_mint_in_kind__100_shares__pulls_the_units_and_total_value_matches_the_days_prices(
    fork_market: ForkMarket, vault, lens, funded_user
):
    before = _balances(fork_market, funded_user.address)
    amounts = _mint(vault, lens, funded_user)
    assert amounts == [-(-units * SHARES // WAD) for units in lens.units_per_share(vault)]
    assert [b - a for b, a in zip(before, _balances(fork_market, funded_user.address), strict=True)] == amounts
    assert list(vault.holdings()) == amounts
    expected = _usd(fork_market, amounts)
    total = Fraction(vault.total_value(), WAD)
    assert abs(total - expected) <= expected * NAV_TOLERANCE, (float(total), float(expected))
    assert expected > 40 * SHARES // WAD  # about $53 a share: the prices are real, not placeholders


def test_redeem_in_kind__all_user_shares__pays_back_the_basket_pro_rata(
    fork_market: ForkMarket, vault, lens, funded_user
):
    _mint(vault, lens, funded_user)
    shares = vault.balanceOf(funded_user.address)
    assert 0 < shares < SHARES  # the first mint locks a few shares for good
    expected = list(lens.preview_redeem_in_kind(vault, shares))
    before = _balances(fork_market, funded_user.address)
    vault.redeem_in_kind(shares, funded_user.address, expected, sender=funded_user)
    paid = [a - b for a, b in zip(_balances(fork_market, funded_user.address), before, strict=True)]
    assert paid == expected
    assert vault.balanceOf(funded_user.address) == 0
    assert all(h * SHARES <= (SHARES - shares) * (p + h) + SHARES for h, p in zip(vault.holdings(), paid, strict=True))


def test_deposit__usdc_at_nav__mints_the_shares_the_deposit_is_worth(fork_market: ForkMarket, vault, lens, funded_user):
    _mint(vault, lens, funded_user)
    fair = Fraction(DEPOSIT_USDC, 10**6) * Fraction(fork_market.prices["USDC"]) * WAD * WAD / vault.value_per_share()
    preview = vault.previewDeposit(DEPOSIT_USDC)
    shares_before, usdc_before = vault.balanceOf(funded_user.address), vault.holdings()[-1]
    vault.deposit(DEPOSIT_USDC, funded_user.address, sender=funded_user)
    minted = vault.balanceOf(funded_user.address) - shares_before
    assert minted == preview
    assert fair * (1 - 2 * NAV_TOLERANCE) <= minted <= fair  # conservative: never more than NAV gives
    assert vault.holdings()[-1] - usdc_before == DEPOSIT_USDC


def test_fork__vault_and_balances_written__are_absent_from_the_upstream(
    fork_market: ForkMarket, vault, lens, funded_user
):
    _mint(vault, lens, funded_user)
    upstream = Web3(Web3.HTTPProvider(fork_market.upstream, request_kwargs={"timeout": 30}))
    assert networks.provider.get_code(vault.address)
    assert upstream.eth.get_code(Web3.to_checksum_address(vault.address)) == b""
    weth = upstream.eth.contract(address=Web3.to_checksum_address(fork_market.tokens["ETH"]), abi=ERC20_BALANCE_ABI)
    assert erc20_at(fork_market.tokens["ETH"]).balanceOf(vault.address) > 0
    assert weth.functions.balanceOf(Web3.to_checksum_address(vault.address)).call() == 0
    assert upstream.eth.block_number < networks.provider.get_block("latest").number


# ETH underweight (40% wanted, about 36% held), LINK overweight (10% wanted, about 15% held)
TARGETS = [40 * 10**16, 30 * 10**16, 10 * 10**16, 20 * 10**16]


def test_keeper_trade__link_to_weth_through_uniswap_v3_then_v2__bounded_by_the_oracle(
    fork_market: ForkMarket, deployed, funded_user, deployer, accounts, lens
):
    vault, rebalancer = deployed.vault, deployed.rebalancer
    if vault.totalSupply() == 0:
        _mint(vault, lens, funded_user)
    keeper = accounts[2]
    networks.provider.set_balance(keeper.address, 10 * ETHER)
    rebalancer.set_target_weights(TARGETS, sender=deployer)
    vault.grantRole(vault.KEEPER_ROLE(), keeper, sender=deployer)
    adapters = deploy_adapters(deployer, v3_swap_router=fork_market.swap_router, v2_router=fork_market.v2_router)
    allow_adapters(rebalancer, adapters, deployer)
    rebalancer.start_rebalance(sender=keeper)  # the snapshot the trades are judged by
    link, weth = fork_market.tokens["LINK"], fork_market.tokens["ETH"]
    amount = vault.holdings()[2] // 50  # 2% of the LINK held: about 0.3% of NAV
    before = list(vault.holdings())

    v3 = keeper_trade(
        rebalancer, keeper, link, weth, amount, adapters["uniswap-v3"], v3_route([link, weth], [3000]), 100
    )
    advance_time(rebalancer.limits().cooldown)
    v2 = keeper_trade(rebalancer, keeper, link, weth, amount, adapters["uniswap-v2"], v2_route([link, weth]), 100)

    after = list(vault.holdings())
    assert after[2] == before[2] - 2 * amount
    assert after[0] == before[0] + v3.amount_out + v2.amount_out
    assert (after[1], after[3]) == (before[1], before[3])
    for result in (v3, v2):
        assert result.shortfall * 100 <= result.oracle_out  # within the 1% bound the Rebalancer enforces
