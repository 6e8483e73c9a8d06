"""Deploying a basket spec: test tokens on local chains, the vault, the manifest."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ape import networks, project
from ape.api import AccountAPI
from ape.contracts import ContractInstance

from index_vault.chain.contracts import erc20_at, npm_container
from index_vault.oracle.chain.bundles import bundle_configs
from index_vault.oracle.chain.local import LocalMarket, build_local_market
from index_vault.vault.basket import WAD
from index_vault.vault.chain.adapters import allow_adapters, deploy_adapters
from index_vault.vault.chain.governance import ROLES
from index_vault.vault.spec import BasketSpec

TEST_TOKEN = "StandardTokenMock"


class DeployError(RuntimeError):
    """A spec that cannot be deployed on this network, with the reason."""


@dataclass
class Deployed:
    """A vault, its constituents in basket order, and (local chains) the market built for its oracle."""

    vault: ContractInstance
    tokens: list[ContractInstance]
    oracle: ContractInstance
    nav_feed: ContractInstance
    rebalancer: ContractInstance | None = None
    market: LocalMarket | None = None
    adapters: dict[str, ContractInstance] = field(default_factory=dict)  # allowlisted on the rebalancer


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
    spec: BasketSpec,
    deployer: AccountAPI,
    *,
    local: bool,
    oracle: str | None = None,
    admin: str | None = None,
    roles: dict[str, str] | None = None,
    echo: Callable[[str], None] = print,
    after_vault: Callable[[ContractInstance, ContractInstance], None] | None = None,
) -> Deployed:
    """Deploys the vault of `spec` priced by the OracleRouter at `oracle`.

    On a local chain without `oracle`, test tokens (where the spec names none), Chainlink feeds,
    Uniswap V3 pools and a configured router are deployed first (see `build_local_market`).
    `after_vault(vault, router)` runs between the vault and its NAV feed, so that a caller can record
    the vault before anything else can fail. The router's configurations of the constituents are bundled
    (`bundle_configs`) unless they already are. `roles` grants the vault's roles by name (`ROLES`: keeper,
    manager, guardian, fee-manager) before the admin role is handed to `admin`.
    """
    tokens = resolve_tokens(spec, deployer, local=local, echo=echo)
    router, market = resolve_oracle(spec, tokens, deployer, local=local, oracle=oracle, echo=echo)
    args = vault_constructor_args(spec, [t.address for t in tokens], router.address, deployer.address)
    vault = project.IndexVault.deploy(*args, sender=deployer)
    echo(f"  vault {spec.symbol} at {vault.address} (ERC-4626 over {spec.base_asset})")
    if after_vault:
        after_vault(vault, router)
    bundle_configs(router, [t.address for t in tokens], deployer, echo=echo)
    rebalancer = deploy_rebalancer(spec, vault, deployer, echo=echo)
    adapters = {}
    if market:
        adapters = deploy_adapters(deployer, v3_swap_router=market.uniswap.swap_router.address)
        allow_adapters(rebalancer, adapters, deployer)
        echo(f"  DEX adapters allowed: {', '.join(f'{k} at {a.address}' for k, a in adapters.items())}")
    nav_feed = project.NavFeed.deploy(vault, sender=deployer)
    echo(f"  NAV feed {spec.symbol} / USD at {nav_feed.address}")
    for name, account in (roles or {}).items():
        vault.grantRole(ROLES[name], account, sender=deployer)
        echo(f"  {name} role granted to {account}")
    if admin and admin != deployer.address:
        hand_admin_over(vault, rebalancer, admin, deployer, echo=echo)
    return Deployed(
        vault=vault,
        tokens=tokens,
        oracle=router,
        nav_feed=nav_feed,
        rebalancer=rebalancer,
        market=market,
        adapters=adapters,
    )


def resolve_oracle(
    spec: BasketSpec,
    tokens: Sequence[ContractInstance],
    deployer: AccountAPI,
    *,
    local: bool,
    oracle: str | None,
    echo: Callable[[str], None] = print,
) -> tuple[ContractInstance, LocalMarket | None]:
    """The OracleRouter at `oracle`; without one, on a local chain, a local market built for the spec."""
    if oracle is not None:
        return project.OracleRouter.at(oracle), None
    if not local:
        raise DeployError("pass --oracle ADDRESS: a configured OracleRouter for every constituent")
    market = build_local_market(spec, tokens, deployer, echo=echo)
    return market.router, market


def deploy_rebalancer(
    spec: BasketSpec, vault: ContractInstance, deployer: AccountAPI, echo: Callable[[str], None] = print
) -> ContractInstance:
    """Deploys the vault's Rebalancer (admin: the deployer), names it on the vault and sets the spec's targets."""
    rebalancer = project.Rebalancer.deploy(vault, deployer, sender=deployer)
    vault.set_rebalancer(rebalancer, sender=deployer)
    echo(f"  rebalancer at {rebalancer.address}")
    if spec.weights:
        rebalancer.set_target_weights(spec.weights, sender=deployer)
        echo(f"  target weights set: {', '.join(f'{c.symbol} {c.weight / 10**16:g}%' for c in spec.constituents)}")
    return rebalancer


def hand_admin_over(
    vault: ContractInstance,
    rebalancer: ContractInstance,
    admin: str,
    deployer: AccountAPI,
    echo: Callable[[str], None] = print,
) -> None:
    """Gives `admin` the vault's admin, guardian and fee-recipient place and the rebalancer's admin role;
    the deployer keeps none of them."""
    vault.grantRole(vault.FEE_MANAGER_ROLE(), deployer, sender=deployer)
    vault.set_fee_recipient(admin, sender=deployer)
    vault.renounceRole(vault.FEE_MANAGER_ROLE(), deployer, sender=deployer)
    for contract, roles in ((vault, ("GUARDIAN_ROLE", "DEFAULT_ADMIN_ROLE")), (rebalancer, ("DEFAULT_ADMIN_ROLE",))):
        for name in roles:
            role = getattr(contract, name)()
            contract.grantRole(role, admin, sender=deployer)
            contract.renounceRole(role, deployer, sender=deployer)
    echo(f"  admin, guardian and fee recipient handed to {admin}")


def vault_constructor_args(spec: BasketSpec, tokens: Sequence[str], oracle: str, admin: str) -> list:
    """The IndexVault constructor's arguments for `spec` over deployed `tokens`."""
    base = tokens[[c.symbol for c in spec.constituents].index(spec.base_asset)]
    return [spec.name, spec.symbol, list(tokens), spec.units, base, oracle, admin]


def estimate_vault_gas(spec: BasketSpec, deployer: AccountAPI, oracle: str, admin: str) -> int:
    """Gas to deploy the vault of a spec whose constituents all have addresses (live networks)."""
    args = vault_constructor_args(spec, [c.address for c in spec.constituents], oracle, admin)
    txn = project.IndexVault.constructor.serialize_transaction(*args, sender=deployer)
    return networks.provider.estimate_gas_cost(txn)


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
