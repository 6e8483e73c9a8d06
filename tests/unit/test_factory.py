"""VaultFactory: permissionless creation of a vault, its rebalancer and its NAV feed in one transaction, the
registry, and what its owner can (only future code) and cannot (anything on a created vault) do."""

import json

import boa
import pytest
from eth_utils import keccak

from index_vault.vault.basket import MIN_UNIT
from index_vault.vault.manifest import read_manifest
from tests.baskets import CONTRACTS, MAX_UINT
from tests.lens import lens

WAD = 10**18
SHARE = 10**18
ZERO = "0x" + "00" * 20
MISSING_ROLE = "access_control: account is missing role"
ROLE_NAMES = ["DEFAULT_ADMIN_ROLE", "MANAGER_ROLE", "KEEPER_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE"]
CHUNK_SIZE = 24_575  # VaultFactory.CHUNK_SIZE
BAD_CHUNK_SIZE = "factory: chunk is not CHUNK_SIZE + 1 bytes"
BAD_CHUNK_PREFIX = "factory: chunk does not start with 0xFE"


# ---------------------------------------------------------------------------
# The chunk layout, spelt out independently of index_vault.vault.chain.factory (which imports Ape).
# ---------------------------------------------------------------------------


def _data_contract(runtime: bytes) -> str:
    """Deploys `runtime` as a contract's code (PUSH2 len, RETURNDATASIZE, DUP2, PUSH1 10, RETURNDATASIZE,
    CODECOPY, RETURN: the EIP-5202 loader)."""
    initcode = b"\x61" + len(runtime).to_bytes(2, "big") + bytes.fromhex("3d81600a3d39f3") + runtime
    address, _ = boa.env.deploy_code(bytecode=initcode)
    return str(address)


def _deploy_chunks(init_code: bytes) -> list[str]:
    """Two chunks: 0xFE, then CHUNK_SIZE bytes of the init code, the second padded with zeros."""
    head, tail = init_code[:CHUNK_SIZE], init_code[CHUNK_SIZE:].ljust(CHUNK_SIZE, b"\x00")
    return [_data_contract(b"\xfe" + head), _data_contract(b"\xfe" + tail)]


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def factory_deployer():
    return boa.load_partial(str(CONTRACTS / "factory" / "VaultFactory.vy"))


@pytest.fixture(scope="session")
def navfeed_deployer():
    return boa.load_partial(str(CONTRACTS / "feed" / "NavFeed.vy"))


@pytest.fixture(scope="session")
def vault_init_code(vault_deployer) -> bytes:
    return bytes(vault_deployer.compiler_data.bytecode)


@pytest.fixture
def owner() -> str:
    return boa.env.eoa


@pytest.fixture
def creator() -> str:
    return boa.env.generate_address("creator")


@pytest.fixture
def people() -> dict[str, str]:
    """A distinct holder for each role the creator can ask for."""
    return {name: boa.env.generate_address(name) for name in ROLE_FIELDS}


ROLE_FIELDS = ["admin", "guardian", "manager", "keeper", "fee_manager", "fee_recipient"]


@pytest.fixture
def code(vault_init_code, rebalancer_deployer, navfeed_deployer) -> dict:
    """The factory's constructor arguments: the vault's chunks and the two blueprints."""
    return {
        "chunks": _deploy_chunks(vault_init_code),
        "size": len(vault_init_code),
        "rebalancer": rebalancer_deployer.deploy_as_blueprint().address,
        "nav_feed": navfeed_deployer.deploy_as_blueprint().address,
    }


@pytest.fixture
def factory(factory_deployer, code, owner):
    with boa.env.prank(owner):
        return factory_deployer.deploy(code["chunks"], code["size"], code["rebalancer"], code["nav_feed"])


@pytest.fixture
def basket(make_token, make_oracle) -> tuple:
    """`basket(n)`: n mock tokens (6, 8 and 18 decimals in turn), their units, equal weights, a mock router."""

    def make(n: int):
        decimals = [(18, 10**16), (8, 50_000), (6, 30 * 10**6)]
        tokens = [make_token(f"T{i}", decimals[i % 3][0]) for i in range(n)]
        units = [decimals[i % 3][1] for i in range(n)]
        weights = [WAD // n] * n
        weights[0] += WAD - sum(weights)
        return tokens, units, weights, make_oracle(tokens)

    return make


def _roles(people: dict[str, str], **overrides) -> tuple:
    return tuple(overrides.get(name, people.get(name, ZERO)) for name in ROLE_FIELDS)


def _create(factory, creator, tokens, units, oracle, weights, roles, name="Factory Index", symbol="FIDX"):
    addresses = [t.address for t in tokens]
    with boa.env.prank(creator):
        return factory.create_vault(name, symbol, addresses, units, addresses[0], oracle.address, weights, roles)


def _events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


# ---------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 10, 50])
def test_create_vault__n_constituents__vault_rebalancer_feed_roles_registry_and_event(
    factory, basket, creator, people, owner, vault_deployer, rebalancer_deployer, navfeed_deployer, n
):
    tokens, units, weights, oracle = basket(n)

    vault_address, rebalancer_address, feed_address = _create(
        factory, creator, tokens, units, oracle, weights, _roles(people)
    )
    (event,) = _events(factory, "VaultCreated")
    if n == 10:
        print(f"\ncreate_vault, 10 constituents: {factory._computation.get_gas_used():,} gas (execution)")

    vault = vault_deployer.at(vault_address)
    rebalancer = rebalancer_deployer.at(rebalancer_address)
    feed = navfeed_deployer.at(feed_address)
    assert (vault.name(), vault.symbol()) == ("Factory Index", "FIDX")
    assert vault.assets() == [t.address for t in tokens]
    assert [vault.initial_units(i) for i in range(n)] == units
    assert (vault.asset(), vault.oracle()) == (tokens[0].address, oracle.address)
    assert vault.rebalancer() == rebalancer.address and rebalancer.vault() == vault.address
    assert lens().target_weights(vault) == weights
    assert vault.fee_recipient() == people["fee_recipient"]
    assert (feed.vault(), feed.description()) == (vault.address, "FIDX / USD")

    # registry and event
    assert factory.vault_count() == 1 and factory.vaults(0) == vault.address
    assert factory.is_vault(vault.address) and not factory.is_vault(rebalancer.address)
    assert factory.rebalancer_of(vault.address) == rebalancer.address
    assert factory.nav_feed_of(vault.address) == feed.address
    assert factory.creator_of(vault.address) == creator
    assert factory.code_version_of(vault.address) == 1
    assert factory.vaults_page(0, 10) == [vault.address]
    assert (event.vault, event.rebalancer, event.nav_feed) == (vault.address, rebalancer.address, feed.address)
    assert (event.creator, event.admin, event.oracle) == (creator, people["admin"], oracle.address)
    assert (event.code_version, event.index) == (1, 0)

    # roles exactly as asked; the factory, its owner and the creator hold none
    expected = {
        "DEFAULT_ADMIN_ROLE": people["admin"],
        "MANAGER_ROLE": people["manager"],
        "KEEPER_ROLE": people["keeper"],
        "GUARDIAN_ROLE": people["guardian"],
        "FEE_MANAGER_ROLE": people["fee_manager"],
    }
    accounts = [*people.values(), factory.address, owner, creator]
    for role_name in ROLE_NAMES:
        role = getattr(vault, role_name)()
        for account in accounts:
            assert vault.hasRole(role, account) == (account == expected[role_name]), (role_name, account)
            rebalancer_admin = role_name == "DEFAULT_ADMIN_ROLE" and account == people["admin"]
            assert rebalancer.hasRole(role, account) == rebalancer_admin, (role_name, account)


@pytest.mark.parametrize("n", [2, 10, 50])
def test_create_vault__n_constituents__mint_and_redeem_in_kind_work(
    factory, basket, creator, people, fund, alice, vault_deployer, n
):
    tokens, units, weights, oracle = basket(n)
    vault = vault_deployer.at(_create(factory, creator, tokens, units, oracle, weights, _roles(people))[0])
    fund(vault, tokens, alice)

    with boa.env.prank(alice):
        paid = vault.mint_in_kind(3 * SHARE, alice, [MAX_UINT] * n)
        received = vault.redeem_in_kind(SHARE, alice, [0] * n)

    assert paid == [3 * u for u in units]
    assert received == [u for u in units]
    assert vault.balanceOf(alice) == 2 * SHARE - vault.LOCKED_SHARES()
    assert vault.holdings() == [2 * u for u in units]


def test_create_vault__only_admin__other_roles_nobody_fee_recipient_admin_no_weights(
    factory, basket, creator, people, vault_deployer, rebalancer_deployer
):
    tokens, units, _, oracle = basket(3)
    admin = people["admin"]
    roles = _roles({"admin": admin})

    vault_address, rebalancer_address, _ = _create(factory, creator, tokens, units, oracle, [], roles)

    vault, rebalancer = vault_deployer.at(vault_address), rebalancer_deployer.at(rebalancer_address)
    assert vault.fee_recipient() == admin
    assert lens().target_weights(vault) == [] and not rebalancer.targets_set()
    assert vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), admin)
    assert rebalancer.hasRole(rebalancer.DEFAULT_ADMIN_ROLE(), admin)
    for role_name in ROLE_NAMES[1:]:
        role = getattr(vault, role_name)()
        for account in [admin, factory.address, creator]:
            assert not vault.hasRole(role, account), (role_name, account)
    # the admin can still give out the others, and set the weights
    with boa.env.prank(admin):
        vault.grantRole(vault.GUARDIAN_ROLE(), admin)
        rebalancer.set_target_weights([WAD // 2, WAD // 4, WAD // 4])
    assert lens().target_weights(vault) == [WAD // 2, WAD // 4, WAD // 4]


def test_create_vault__several__registry_lists_them_in_order(factory, basket, creator, people):
    tokens, units, weights, oracle = basket(2)
    created, indices = [], []
    for i in range(3):
        created.append(_create(factory, creator, tokens, units, oracle, weights, _roles(people), symbol=f"V{i}")[0])
        indices += [e.index for e in _events(factory, "VaultCreated")]

    assert factory.vault_count() == 3
    assert [factory.vaults(i) for i in range(3)] == created
    assert factory.vaults_page(0, 2) == created[:2]
    assert factory.vaults_page(1, 100) == created[1:]
    assert factory.vaults_page(3, 5) == []
    assert factory.vaults_page(0, 10**6) == created  # at most MAX_PAGE a call
    assert indices == [0, 1, 2]
    assert factory.vaults(3) == ZERO and not factory.is_vault(ZERO)


def test_create_vault__admin_is_a_role_holder_too__roles_combine(factory, basket, creator, people, vault_deployer):
    tokens, units, weights, oracle = basket(2)
    admin = people["admin"]
    roles = _roles(people, guardian=admin, fee_manager=admin, fee_recipient=admin)

    vault = vault_deployer.at(_create(factory, creator, tokens, units, oracle, weights, roles)[0])

    for role_name in ("DEFAULT_ADMIN_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE"):
        assert vault.hasRole(getattr(vault, role_name)(), admin)
    assert not vault.hasRole(vault.GUARDIAN_ROLE(), factory.address)
    assert vault.fee_recipient() == admin


# ---------------------------------------------------------------------------
# Bad input: the vault's (or the rebalancer's) own reasons; nothing is listed
# ---------------------------------------------------------------------------


def test_create_vault__51_constituents__reverts_with_vault_reason(factory, basket, make_token, creator, people):
    tokens, units, _, oracle = basket(50)
    tokens.append(make_token("T50"))

    with boa.reverts("basket: too many constituents"):
        _create(factory, creator, tokens, [*units, 10**16], oracle, [], _roles(people))
    assert factory.vault_count() == 0


def test_create_vault__unit_below_min_unit__reverts_with_vault_reason(factory, basket, creator, people):
    tokens, units, weights, oracle = basket(3)

    with boa.reverts("basket: unit below minimum"):
        _create(factory, creator, tokens, [*units[:-1], MIN_UNIT - 1], oracle, weights, _roles(people))
    assert factory.vault_count() == 0


@pytest.mark.parametrize(
    ("units_cut", "weights", "reason"),
    [
        (1, [WAD // 2, WAD // 4, WAD // 4], "basket: wrong array length"),
        (0, [WAD // 2, WAD // 2], "rebalancer: one weight per constituent"),
        (0, [WAD // 2, WAD // 4, WAD // 4 + 1], "rebalancer: weights must sum to 10**18"),
    ],
    ids=["units-length", "weights-length", "weights-sum"],
)
def test_create_vault__bad_arrays__reverts_with_reason(factory, basket, creator, people, units_cut, weights, reason):
    tokens, units, _, oracle = basket(3)

    with boa.reverts(reason):
        _create(factory, creator, tokens, units[: len(units) - units_cut], oracle, weights, _roles(people))
    assert factory.vault_count() == 0


def test_create_vault__base_asset_not_listed__reverts_with_vault_reason(factory, basket, make_token, creator, people):
    tokens, units, weights, oracle = basket(2)

    with boa.env.prank(creator), boa.reverts("vault: base asset not a constituent"):
        factory.create_vault(
            "X", "X", [t.address for t in tokens], units, make_token("OUT").address, oracle, weights, _roles(people)
        )


def test_create_vault__zero_admin__reverts(factory, basket, creator, people):
    tokens, units, weights, oracle = basket(2)

    with boa.reverts("factory: zero admin"):
        _create(factory, creator, tokens, units, oracle, weights, _roles(people, admin=ZERO))


@pytest.mark.parametrize("field", ROLE_FIELDS)
def test_create_vault__factory_asked_to_hold_a_role__reverts(factory, basket, creator, people, field):
    tokens, units, weights, oracle = basket(2)

    with boa.reverts("factory: factory cannot hold a role"):
        _create(factory, creator, tokens, units, oracle, weights, _roles(people, **{field: factory.address}))


# ---------------------------------------------------------------------------
# The owner: no power over created vaults; future code only
# ---------------------------------------------------------------------------

# The privileged functions of the vault and the rebalancer (their own tests check each against every role); the
# factory's owner, holding no role, can call none of them, and neither can the factory.
VAULT_PRIVILEGED = {
    "set_fees": lambda v, a: v.set_fees(10**9, 1, 1, 1, 1),
    "set_fee_recipient": lambda v, a: v.set_fee_recipient(a),
    "set_rebalancer": lambda v, a: v.set_rebalancer(a),
    "set_flow_cap": lambda v, a: v.set_flow_cap(100, 86400),
    "set_oracle": lambda v, a: v.set_oracle(v.address),
    "pause": lambda v, a: v.pause(),
    "unpause": lambda v, a: v.unpause(),
    "grantRole": lambda v, a: v.grantRole(v.DEFAULT_ADMIN_ROLE(), a),
    "revokeRole": lambda v, a: v.revokeRole(v.GUARDIAN_ROLE(), a),
    "set_assets_pointer": lambda v, a: v.set_assets_pointer(v.assets_pointer()),
    "rebalance_swap": lambda v, a: v.rebalance_swap(v.assets()[1], v.assets()[0], 1, 0, v.address, b"", False),
}
REBALANCER_PRIVILEGED = {
    "set_target_weights": lambda r, a: r.set_target_weights([WAD, 0]),
    "add_constituent": lambda r, a: r.add_constituent(a),
    "remove_constituent": lambda r, a: r.remove_constituent(a),
    "grantRole": lambda r, a: r.grantRole(r.DEFAULT_ADMIN_ROLE(), a),
    "revokeRole": lambda r, a: r.revokeRole(r.DEFAULT_ADMIN_ROLE(), a),
}


def _mutating(contract) -> set[str]:
    abi = contract.abi
    return {f["name"] for f in abi if f["type"] == "function" and f["stateMutability"] in ("nonpayable", "payable")}


@pytest.mark.parametrize("name", sorted(VAULT_PRIVILEGED))
def test_owner__any_privileged_vault_function__reverts(
    factory, basket, creator, people, owner, fund, alice, vault_deployer, name
):
    tokens, units, weights, oracle = basket(2)
    vault = vault_deployer.at(_create(factory, creator, tokens, units, oracle, weights, _roles(people))[0])
    fund(vault, tokens, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(SHARE, alice, [MAX_UINT] * 2)
    if name == "unpause":
        with boa.env.prank(people["guardian"]):
            vault.pause()

    for caller in (owner, factory.address):
        with boa.env.prank(caller), boa.reverts():
            VAULT_PRIVILEGED[name](vault, caller)


@pytest.mark.parametrize("name", sorted(REBALANCER_PRIVILEGED))
def test_owner__any_privileged_rebalancer_function__reverts(
    factory, basket, creator, people, owner, rebalancer_deployer, name
):
    tokens, units, weights, oracle = basket(2)
    rebalancer = rebalancer_deployer.at(_create(factory, creator, tokens, units, oracle, weights, _roles(people))[1])

    for caller in (owner, factory.address):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            REBALANCER_PRIVILEGED[name](rebalancer, caller)


def test_factory__no_function_takes_a_vault_to_act_on(factory):
    """The factory's whole state-changing surface: creating, its own code and its own ownership."""
    assert _mutating(factory) == {"create_vault", "set_code", "transfer_ownership", "renounce_ownership"}


def test_set_code__owner__only_vaults_created_later_use_it(
    factory, code, basket, creator, people, owner, vault_init_code, rebalancer_deployer, navfeed_deployer
):
    tokens, units, weights, oracle = basket(2)
    before = _create(factory, creator, tokens, units, oracle, weights, _roles(people))[0]
    before_code = boa.env.evm.get_code(boa.util.abi.Address(before))
    new = {
        "chunks": _deploy_chunks(vault_init_code),
        "rebalancer": rebalancer_deployer.deploy_as_blueprint().address,
        "nav_feed": navfeed_deployer.deploy_as_blueprint().address,
    }

    with boa.env.prank(owner):
        factory.set_code(new["chunks"], len(vault_init_code), new["rebalancer"], new["nav_feed"])
    (event,) = _events(factory, "CodeChanged")
    after = _create(factory, creator, tokens, units, oracle, weights, _roles(people), symbol="AFTER")[0]

    assert factory.code_version() == 2
    assert (event.code_version, list(event.vault_chunks), event.vault_init_code_size) == (
        2,
        new["chunks"],
        len(vault_init_code),
    )
    assert event.vault_code_hash == keccak(vault_init_code)
    assert (event.rebalancer_blueprint, event.nav_feed_blueprint) == (new["rebalancer"], new["nav_feed"])
    assert [factory.vault_chunks(i) for i in range(2)] == new["chunks"]
    assert (factory.code_version_of(before), factory.code_version_of(after)) == (1, 2)
    assert boa.env.evm.get_code(boa.util.abi.Address(before)) == before_code


def test_set_code__not_owner__reverts(factory, code, creator, people):
    for caller in (creator, people["admin"]):
        with boa.env.prank(caller), boa.reverts("ownable: caller is not the owner"):
            factory.set_code(code["chunks"], code["size"], code["rebalancer"], code["nav_feed"])
    assert factory.code_version() == 1


def test_renounce_ownership__code_frozen_for_good(factory, code, owner, basket, creator, people):
    with boa.env.prank(owner):
        factory.renounce_ownership()

    assert factory.owner() == ZERO
    with boa.env.prank(owner), boa.reverts("ownable: caller is not the owner"):
        factory.set_code(code["chunks"], code["size"], code["rebalancer"], code["nav_feed"])
    tokens, units, weights, oracle = basket(2)
    _create(factory, creator, tokens, units, oracle, weights, _roles(people))  # creation stays open
    assert factory.vault_count() == 1


# ---------------------------------------------------------------------------
# The code: chunks and blueprints are checked; the assembled init code is the build
# ---------------------------------------------------------------------------


def test_init__assembles_the_vault_build(factory, vault_init_code):
    assert factory.vault_init_code() == vault_init_code
    assert factory.vault_code_hash() == keccak(vault_init_code)
    assert factory.vault_init_code_size() == len(vault_init_code)
    assert factory.owner() == boa.env.eoa and factory.code_version() == 1


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: {**c, "size": 24_575}, "factory: init code size out of range"),
        (lambda c: {**c, "size": 2 * 24_575 + 1}, "factory: init code size out of range"),
        (lambda c: {**c, "chunks": [c["chunks"][0], _data_contract(b"\xfe" * 100)]}, BAD_CHUNK_SIZE),
        (lambda c: {**c, "chunks": [_data_contract(b"\x00" * 24_576), c["chunks"][1]]}, BAD_CHUNK_PREFIX),
        (lambda c: {**c, "rebalancer": c["chunks"][0]}, "factory: not an EIP-5202 blueprint"),
        (lambda c: {**c, "nav_feed": ZERO}, "factory: not an EIP-5202 blueprint"),
    ],
    ids=["size-one-chunk", "size-too-big", "chunk-size", "chunk-prefix", "rebalancer-not-blueprint", "feed-none"],
)
def test_init__bad_code__reverts(factory_deployer, code, mutate, reason):
    bad = mutate(code)

    with boa.reverts(reason):
        factory_deployer.deploy(bad["chunks"], bad["size"], bad["rebalancer"], bad["nav_feed"])


def test_chunks__cannot_run(code):
    for chunk in code["chunks"]:
        assert boa.env.evm.get_code(boa.util.abi.Address(chunk))[:1] == b"\xfe"
        with pytest.raises(Exception):  # noqa: B017 - INVALID halts with no reason
            boa.env.raw_call(chunk, data=b"")


def test_manifest__written_before_the_factory__still_loads(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"network": "ethereum:local", "chain_id": 31337, "vaults": {"TOP5": ZERO}}))

    deployment = read_manifest(path)

    assert deployment.factory is None and deployment.vaults == {"TOP5": ZERO}
