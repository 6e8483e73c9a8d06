"""Deploying a basket spec: test tokens on local chains, the vault, the manifest."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ape import project
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.basket import WAD
from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.spec import BasketSpec

TEST_TOKEN = "StandardTokenMock"


class DeployError(RuntimeError):
    """A spec that cannot be deployed on this network, with the reason."""


@dataclass
class Deployed:
    """A vault and its constituents, in basket order."""

    vault: ContractInstance
    tokens: list[ContractInstance]


def resolve_tokens(
    spec: BasketSpec, deployer: AccountAPI, *, local: bool, echo: Callable[[str], None] = print
) -> list[ContractInstance]:
    """The constituents' tokens: those the spec names, checked; test tokens for the rest on local chains."""
    tokens = []
    for c in spec.constituents:
        if c.address:
            token = erc20_at(c.address)
            decimals = token.decimals()
            if decimals != c.decimals:
                raise DeployError(f"{c.symbol} at {c.address} has {decimals} decimals, the spec says {c.decimals}")
        elif local:
            token = npm_container(TEST_TOKEN).deploy(deployer, 0, c.name, c.symbol, c.decimals, sender=deployer)
            echo(f"  test token {c.symbol:<6} ({c.decimals} decimals) at {token.address}")
        else:
            raise DeployError(f"{c.symbol} has no address: on a live network every constituent needs one")
        tokens.append(token)
    return tokens


def deploy_vault(
    spec: BasketSpec, deployer: AccountAPI, *, local: bool, echo: Callable[[str], None] = print
) -> Deployed:
    """Deploys the vault of `spec` (and test tokens where a local spec names none)."""
    tokens = resolve_tokens(spec, deployer, local=local, echo=echo)
    vault = project.IndexVault.deploy(spec.name, spec.symbol, [t.address for t in tokens], spec.units, sender=deployer)
    echo(f"  vault {spec.symbol} at {vault.address}")
    return Deployed(vault=vault, tokens=tokens)


def fund_test_accounts(
    spec: BasketSpec,
    tokens: Sequence[ContractInstance],
    accounts: Sequence[AccountAPI],
    shares: int,
    sender: AccountAPI,
) -> None:
    """Mints each account enough test tokens to mint `shares` index shares at the starting units."""
    for c, token in zip(spec.constituents, tokens, strict=True):
        amount = -(-c.units * shares // WAD)
        for account in accounts:
            token.mint(account, amount, sender=sender)
