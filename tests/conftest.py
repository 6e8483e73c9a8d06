"""Fixtures for the titanoboa tests (unit, fuzz, stateful): factories of tokens and vaults."""

from collections.abc import Callable

import boa
import pytest

from tests.baskets import CONTRACTS, MAX_UINT, THREE_ASSETS


@pytest.fixture(scope="session")
def token_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockToken.vy"))


@pytest.fixture(scope="session")
def vault_deployer():
    return boa.load_partial(str(CONTRACTS / "vault" / "IndexVault.vy"))


@pytest.fixture(scope="session")
def reentrant_deployer():
    return boa.load_partial(str(CONTRACTS / "mocks" / "MockReentrant.vy"))


@pytest.fixture
def deployer() -> str:
    return boa.env.eoa


@pytest.fixture
def alice() -> str:
    return boa.env.generate_address("alice")


@pytest.fixture
def bob() -> str:
    return boa.env.generate_address("bob")


@pytest.fixture
def make_token(token_deployer) -> Callable:
    """Deploys a mock token: `make_token("USDC", 6)`."""

    def make(symbol: str = "TKN", decimals: int = 18):
        return token_deployer.deploy(f"Mock {symbol}", symbol, decimals)

    return make


@pytest.fixture
def make_vault(vault_deployer, make_token) -> Callable:
    """Deploys a vault over new mock tokens: `make_vault([("WETH", 18, units), ...])`.

    Returns the vault and its tokens, in basket order.
    """

    def make(assets=THREE_ASSETS, name: str = "Test Index", symbol: str = "TIDX"):
        tokens = [make_token(sym, dec) for sym, dec, _ in assets]
        vault = vault_deployer.deploy(name, symbol, [t.address for t in tokens], [u for _, _, u in assets])
        return vault, tokens

    return make


@pytest.fixture
def fund() -> Callable:
    """Mints `amount` of each token to `owner` and approves the vault for all of it."""

    def fund(vault, tokens, owner: str, amount: int = 10**30) -> None:
        for token in tokens:
            token.mint(owner, amount)
            with boa.env.prank(owner):
                token.approve(vault.address, MAX_UINT)

    return fund


@pytest.fixture
def minted(make_vault, fund, alice) -> Callable:
    """A vault in steady state: alice minted `shares` (after the locked ones) and holds them."""

    def make(shares: int = 10 * 10**18, assets=THREE_ASSETS):
        vault, tokens = make_vault(assets)
        fund(vault, tokens, alice)
        with boa.env.prank(alice):
            vault.mint_in_kind(shares, alice, [MAX_UINT] * len(tokens))
        return vault, tokens

    return make
