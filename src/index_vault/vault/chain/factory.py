"""The VaultFactory on a chain: deploying it, creating an index from a spec through it, listing its vaults.

The vault's init code (about 30 kB) cannot be an EIP-5202 blueprint (a contract holds at most 24,576
bytes), so it goes into two data contracts ("chunks"): each is 0xFE (so it can never run) followed by
exactly `CHUNK_SIZE` bytes, the first `CHUNK_SIZE` bytes of the init code, then the rest padded with zeros.
The factory concatenates them and cuts the padding off. The Rebalancer and the NavFeed are ordinary
EIP-5202 blueprints (`ContractContainer.declare`).
"""

from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field

from ape import chain, networks, project
from ape.api import AccountAPI, ReceiptAPI
from ape.contracts import ContractInstance
from eth_utils import keccak

from index_vault.oracle.chain.bundles import bundle_configs
from index_vault.oracle.chain.local import LocalMarket
from index_vault.vault.chain.deploy import DeployError, resolve_oracle, resolve_tokens, vault_constructor_args
from index_vault.vault.spec import BasketSpec

CHUNK_SIZE = 24_575  # VaultFactory.CHUNK_SIZE: the code after a chunk's 0xFE
CHUNK_PREFIX = b"\xfe"  # INVALID: a chunk cannot run
ZERO_ADDRESS = "0x" + "00" * 20
PAGE = 100  # VaultFactory.MAX_PAGE

# PUSH2 <size> RETURNDATASIZE DUP2 PUSH1 0x0a RETURNDATASIZE CODECOPY RETURN: the creation code that
# makes the <size> bytes after it a contract's code (the EIP-5202 loader).
_LOADER_HEAD = b"\x61"
_LOADER_TAIL = bytes.fromhex("3d81600a3d39f3")


def split_init_code(init_code: bytes) -> list[bytes]:
    """The two chunks' code for `init_code` (longer than `CHUNK_SIZE`, at most twice that)."""
    if not CHUNK_SIZE < len(init_code) <= 2 * CHUNK_SIZE:
        raise ValueError(f"init code of {len(init_code)} bytes: the factory takes {CHUNK_SIZE + 1}..{2 * CHUNK_SIZE}")
    head, tail = init_code[:CHUNK_SIZE], init_code[CHUNK_SIZE:]
    return [CHUNK_PREFIX + head, CHUNK_PREFIX + tail.ljust(CHUNK_SIZE, b"\x00")]


def data_contract_initcode(code: bytes) -> bytes:
    """Creation code whose contract's code is exactly `code`."""
    return _LOADER_HEAD + len(code).to_bytes(2, "big") + _LOADER_TAIL + code


def vault_init_code() -> bytes:
    """The project's IndexVault init code (without constructor arguments)."""
    return project.IndexVault.contract_type.deployment_bytecode.to_bytes()


@dataclass
class FactoryDeployment:
    """What `deploy_factory` deployed, with the receipt of each (for the manifest)."""

    factory: ContractInstance
    chunks: list[str]
    rebalancer_blueprint: str
    nav_feed_blueprint: str
    receipts: dict[str, ReceiptAPI] = field(default_factory=dict)  # "VaultFactory", "chunk0", ... -> receipt


def deploy_data_contract(code: bytes, deployer: AccountAPI) -> ReceiptAPI:
    """Deploys a contract whose code is `code` (a raw creation transaction)."""
    txn = networks.provider.network.ecosystem.create_transaction(data=data_contract_initcode(code))
    receipt = deployer.call(txn)
    if not receipt.contract_address:
        raise DeployError(f"data contract not created (transaction {receipt.txn_hash})")
    return receipt


def deploy_code(deployer: AccountAPI, echo: Callable[[str], None] = print) -> dict[str, ReceiptAPI]:
    """The code a factory uses: the vault's two chunks and the two blueprints, by name."""
    init_code = vault_init_code()
    receipts = {}
    for i, chunk in enumerate(split_init_code(init_code)):
        receipts[f"chunk{i}"] = deploy_data_contract(chunk, deployer)
        echo(f"  vault code chunk {i} at {receipts[f'chunk{i}'].contract_address}")
    for name, container in (("Rebalancer", project.Rebalancer), ("NavFeed", project.NavFeed)):
        receipts[f"{name}Blueprint"] = container.declare(sender=deployer)
        echo(f"  {name} blueprint at {receipts[f'{name}Blueprint'].contract_address}")
    return receipts


def deploy_factory(deployer: AccountAPI, echo: Callable[[str], None] = print) -> FactoryDeployment:
    """Deploys the vault's code chunks, the Rebalancer and NavFeed blueprints, then the factory (owner: the
    deployer, who may only change the code used for vaults created later)."""
    receipts = deploy_code(deployer, echo=echo)
    chunks = [receipts["chunk0"].contract_address, receipts["chunk1"].contract_address]
    rebalancer = receipts["RebalancerBlueprint"].contract_address
    nav_feed = receipts["NavFeedBlueprint"].contract_address
    factory = project.VaultFactory.deploy(chunks, len(vault_init_code()), rebalancer, nav_feed, sender=deployer)
    receipts["VaultFactory"] = chain.provider.get_receipt(factory.txn_hash)
    echo(f"  VaultFactory at {factory.address} (code version {factory.code_version()})")
    if factory.vault_code_hash() != keccak(vault_init_code()):
        raise DeployError("the factory assembles another init code than the build: check the chunks")
    return FactoryDeployment(factory, chunks, rebalancer, nav_feed, receipts)


@dataclass(frozen=True)
class Roles:
    """Who holds what in a created vault (VaultFactory.Roles); zero means nobody, except the fee recipient,
    which the factory defaults to the admin."""

    admin: str
    guardian: str = ZERO_ADDRESS
    manager: str = ZERO_ADDRESS
    keeper: str = ZERO_ADDRESS
    fee_manager: str = ZERO_ADDRESS
    fee_recipient: str = ZERO_ADDRESS

    def as_tuple(self) -> tuple[str, ...]:
        """The struct as the ABI takes it, in field order."""
        return astuple(self)


@dataclass
class Created:
    """A vault created through the factory, and (local chains) the market built for its oracle."""

    vault: ContractInstance
    rebalancer: ContractInstance
    nav_feed: ContractInstance
    tokens: list[ContractInstance]
    oracle: ContractInstance
    receipt: ReceiptAPI
    code_version: int
    market: LocalMarket | None = None


def create_args(spec: BasketSpec, tokens: Sequence[str], oracle: str, roles: Roles, weights: bool = True) -> list:
    """`VaultFactory.create_vault`'s arguments for `spec` over deployed `tokens`."""
    name, symbol, assets, units, base, oracle, _ = vault_constructor_args(spec, tokens, oracle, ZERO_ADDRESS)
    target_weights = (spec.weights or []) if weights else []
    return [name, symbol, assets, units, base, oracle, target_weights, roles.as_tuple()]


def estimate_create_gas(
    spec: BasketSpec, factory: ContractInstance, creator: AccountAPI, oracle: str, roles: Roles
) -> int:
    """Gas of `create_vault` for a spec whose constituents all have addresses (live networks)."""
    args = create_args(spec, [c.address for c in spec.constituents], oracle, roles)
    return factory.create_vault.estimate_gas_cost(*args, sender=creator)


def create_from_spec(
    spec: BasketSpec,
    factory: ContractInstance,
    creator: AccountAPI,
    *,
    local: bool,
    oracle: str | None = None,
    roles: Roles | None = None,
    echo: Callable[[str], None] = print,
) -> Created:
    """Creates the vault of `spec` through `factory`, priced by the OracleRouter at `oracle`.

    As `deploy_vault`: on a local chain without `oracle`, test tokens (where the spec names none), feeds,
    pools and a router (admin: the creator) are deployed first. The vault, its Rebalancer (with the spec's
    target weights) and its NavFeed come in one transaction; `roles` default to the creator as admin. The
    router's configurations of the constituents are then bundled (`bundle_configs`) unless they already are.
    """
    tokens = resolve_tokens(spec, creator, local=local, echo=echo)
    router, market = resolve_oracle(spec, tokens, creator, local=local, oracle=oracle, echo=echo)
    roles = roles or Roles(admin=creator.address)
    args = create_args(spec, [t.address for t in tokens], router.address, roles)
    receipt = factory.create_vault(*args, sender=creator)
    (event,) = factory.VaultCreated.from_receipt(receipt)
    created = Created(
        vault=project.IndexVault.at(event.vault),
        rebalancer=project.Rebalancer.at(event.rebalancer),
        nav_feed=project.NavFeed.at(event.nav_feed),
        tokens=tokens,
        oracle=router,
        receipt=receipt,
        code_version=event.code_version,
        market=market,
    )
    echo(f"  vault {spec.symbol} at {event.vault} (factory index {event.index}, code version {event.code_version})")
    echo(f"  rebalancer at {event.rebalancer}, NAV feed {spec.symbol} / USD at {event.nav_feed}")
    if spec.weights:
        echo(f"  target weights set: {', '.join(f'{c.symbol} {c.weight / 10**16:g}%' for c in spec.constituents)}")
    echo(f"  one transaction, {receipt.gas_used:,} gas")
    bundle_configs(router, [t.address for t in tokens], creator, echo=echo)
    return created


@dataclass(frozen=True)
class ListedVault:
    """One vault of a factory's registry."""

    index: int
    address: str
    name: str
    symbol: str
    constituents: int
    rebalancer: str
    nav_feed: str
    creator: str
    code_version: int


def list_vaults(factory: ContractInstance, start: int = 0, count: int | None = None) -> list[ListedVault]:
    """The factory's vaults from index `start` (all of them by default), in creation order."""
    total = factory.vault_count()
    end = total if count is None else min(total, start + count)
    listed = []
    index = start
    while index < end:
        for address in factory.vaults_page(index, min(PAGE, end - index)):
            vault = project.IndexVault.at(address)
            listed.append(
                ListedVault(
                    index=index,
                    address=address,
                    name=vault.name(),
                    symbol=vault.symbol(),
                    constituents=len(vault.assets()),
                    rebalancer=factory.rebalancer_of(address),
                    nav_feed=factory.nav_feed_of(address),
                    creator=factory.creator_of(address),
                    code_version=factory.code_version_of(address),
                )
            )
            index += 1
    return listed
