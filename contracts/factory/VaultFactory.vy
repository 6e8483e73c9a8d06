# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Vault Factory
@custom:contract-name VaultFactory
@license GNU Affero General Public License v3.0 only
@notice Permissionless index creation: anyone deploys an index vault, its
        Rebalancer and its NAV feed in one transaction, with the roles they
        ask for, and the factory lists every vault it made.

        - Code. The vault's init code (about 30 kB) is larger than any
          contract may be (24,576 bytes, EIP-170), so it cannot be an
          EIP-5202 blueprint: it lives in two data contracts ("chunks"),
          each `0xFE` (INVALID: it can never run, as a blueprint's preamble)
          followed by exactly `CHUNK_SIZE` bytes: the first `CHUNK_SIZE`
          bytes of the init code, then the rest padded with zeros.
          `create_vault` concatenates them in memory, cuts the padding off
          and `raw_create`s the vault (init code up to `MAX_INIT_CODE`
          bytes; EIP-3860 caps it, constructor arguments included, at
          49,152). The Rebalancer and the NavFeed fit in a contract: they
          are standard EIP-5202 blueprints.
        - Oracle. One OracleRouter prices many vaults: the creator names an
          existing, configured router; the factory deploys none.
        - Roles. The factory is the vault's and the rebalancer's admin only
          within `create_vault`: it sets the target weights, names the
          rebalancer, sets the fee recipient, grants the roles asked for and
          renounces every role it held, all before the transaction ends.
          Afterwards neither the factory nor its owner holds any role
          anywhere, and nothing in the factory can call a vault.
        - Owner. Snekmate `ownable`: the owner may only replace the code used
          for vaults created later (`set_code`, which bumps `code_version`
          and logs `CodeChanged` with the init code's hash), and may
          renounce that power for good. Every vault records the code version
          it was made with.
        - Registry. `vault_count`, `vaults(i)`, `vaults_page`, `is_vault`,
          `rebalancer_of`, `nav_feed_of`, `creator_of`, `code_version_of`;
          `VaultCreated` tells indexers. Being listed says which code made a
          vault, never that its constituents or its oracle are sound.
"""


from snekmate.auth import ownable
from snekmate.auth.interfaces import IAccessControl

from ..interfaces import IIndexVault
from ..interfaces import IRebalancer
from ..lib import constants

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    ownable.renounce_ownership,
)


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev The most constituents a vault holds.
MAX_ASSETS: public(constant(uint256)) = constants.MAX_ASSETS

# @dev The longest constituent list passed on to the vault, which refuses
# more than `MAX_ASSETS` with its own reason.
MAX_INPUT: public(constant(uint256)) = constants.MAX_INPUT

# @dev The code bytes each chunk holds after its leading `0xFE`: a chunk is
# as large as a contract may be (EIP-170: 24,576 bytes).
CHUNK_SIZE: public(constant(uint256)) = 24_575

# @dev The longest vault init code two chunks hold (EIP-3860 allows 49,152
# bytes, the constructor arguments included).
MAX_INIT_CODE: public(constant(uint256)) = 2 * CHUNK_SIZE

# @dev The most vaults `vaults_page` returns at once.
MAX_PAGE: public(constant(uint256)) = 100

# @dev The first byte of every chunk: INVALID, so a chunk cannot run.
_CHUNK_PREFIX: constant(Bytes[1]) = b"\xfe"

# @dev The EIP-5202 preamble of a blueprint (version 0, no data section).
_BLUEPRINT_PREAMBLE: constant(Bytes[3]) = b"\xfe\x71\x00"


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


struct Roles:
    admin: address  # DEFAULT_ADMIN_ROLE of the vault and of its rebalancer; required
    guardian: address  # the vault's GUARDIAN_ROLE (pauses); zero: nobody
    manager: address  # the vault's MANAGER_ROLE; zero: nobody
    keeper: address  # the vault's KEEPER_ROLE; zero: nobody
    fee_manager: address  # the vault's FEE_MANAGER_ROLE (names the fee recipient); zero: nobody
    fee_recipient: address  # where the vault's fees go; zero: the admin


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event VaultCreated:
    vault: indexed(address)
    creator: indexed(address)
    admin: indexed(address)
    rebalancer: address
    nav_feed: address
    oracle: address
    code_version: uint256
    index: uint256


event CodeChanged:
    code_version: indexed(uint256)
    vault_chunks: address[2]
    vault_init_code_size: uint256
    vault_code_hash: bytes32
    rebalancer_blueprint: address
    nav_feed_blueprint: address


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev The two data contracts holding the vault's init code, in order.
vault_chunks: public(address[2])

# @dev The length of the vault's init code (the chunks without padding).
vault_init_code_size: public(uint256)

# @dev keccak256 of the vault's init code, to check against a build.
vault_code_hash: public(bytes32)

# @dev The EIP-5202 blueprint of the Rebalancer.
rebalancer_blueprint: public(address)

# @dev The EIP-5202 blueprint of the NavFeed.
nav_feed_blueprint: public(address)

# @dev Bumped by every `set_code`; the first code is version 1.
code_version: public(uint256)

# @dev The number of vaults created.
vault_count: public(uint256)

# @dev The vaults created, by index from 0, in creation order.
vaults: public(HashMap[uint256, address])

# @dev The Rebalancer of each vault created here; zero for any other address.
rebalancer_of: public(HashMap[address, address])

# @dev The NavFeed of each vault created here.
nav_feed_of: public(HashMap[address, address])

# @dev Who called `create_vault` for each vault.
creator_of: public(HashMap[address, address])

# @dev The `code_version` each vault was created with.
code_version_of: public(HashMap[address, uint256])


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(
    vault_chunks_: address[2],
    vault_init_code_size_: uint256,
    rebalancer_blueprint_: address,
    nav_feed_blueprint_: address,
):
    """
    @dev Sets the first code (version 1); the deployer is the owner.
    @param vault_chunks_ The data contracts holding the vault's init code.
    @param vault_init_code_size_ Its length in bytes.
    @param rebalancer_blueprint_ The Rebalancer's EIP-5202 blueprint.
    @param nav_feed_blueprint_ The NavFeed's EIP-5202 blueprint.
    """
    ownable.__init__()
    self._set_code(vault_chunks_, vault_init_code_size_, rebalancer_blueprint_, nav_feed_blueprint_)


# ---------------------------------------------------------------------------
#                                   CREATION
# ---------------------------------------------------------------------------


@external
@nonreentrant
def create_vault(
    name: String[25],
    symbol: String[5],
    assets: DynArray[address, MAX_INPUT],
    units: DynArray[uint256, MAX_INPUT],
    base_asset: address,
    oracle: address,
    target_weights: DynArray[uint256, MAX_ASSETS],
    roles: Roles,
) -> (address, address, address):
    """
    @dev Deploys an index vault, its Rebalancer (named on the vault) and its
         NavFeed, gives out the roles in `roles` and lists the vault. The
         factory holds every role it needs only within this call and none
         afterwards. The vault's constructor checks the basket and reverts
         with its own reason (`basket: ...`, `vault: ...`).
    @param name The token name (also the EIP-712 domain name).
    @param symbol The token symbol.
    @param assets The constituents, in basket order (1 to `MAX_ASSETS`).
    @param units Each constituent's amount per 10**18 shares at the first
           mint, in its own decimals; each at least the vault's `MIN_UNIT`.
    @param base_asset The ERC-4626 asset, one of the constituents.
    @param oracle An existing OracleRouter configured for every constituent
           (one router prices many vaults; the factory deploys none).
    @param target_weights The rebalancer's target weights (1e18 fixed point,
           one per constituent, summing to 10**18), or empty to leave them
           to the admin.
    @param roles Who holds what; see `Roles` (zero means nobody, except the
           fee recipient, which defaults to the admin).
    @return address The vault.
    @return address Its Rebalancer.
    @return address Its NavFeed.
    """
    assert roles.admin != empty(address), "factory: zero admin"
    assert self not in [
        roles.admin, roles.guardian, roles.manager, roles.keeper, roles.fee_manager, roles.fee_recipient
    ], "factory: factory cannot hold a role"

    # The factory is the vault's first admin, guardian and fee recipient.
    # The init code as `_vault_init_code` assembles it, spelt out (see there).
    tail: Bytes[CHUNK_SIZE] = slice(self.vault_chunks[1].code, 1, CHUNK_SIZE)
    vault: address = raw_create(
        concat(
            slice(self.vault_chunks[0].code, 1, CHUNK_SIZE),
            slice(tail, 0, self.vault_init_code_size - CHUNK_SIZE),
        ),
        name,
        symbol,
        assets,
        units,
        base_asset,
        oracle,
        self,
    )
    rebalancer: address = create_from_blueprint(self.rebalancer_blueprint, vault, self)
    if len(target_weights) != 0:
        extcall IRebalancer(rebalancer).set_target_weights(target_weights)
    extcall IIndexVault(vault).set_rebalancer(rebalancer)

    fee_recipient: address = roles.fee_recipient
    if fee_recipient == empty(address):
        fee_recipient = roles.admin
    extcall IAccessControl(vault).grantRole(constants.FEE_MANAGER_ROLE, self)
    extcall IIndexVault(vault).set_fee_recipient(fee_recipient)
    extcall IAccessControl(vault).renounceRole(constants.FEE_MANAGER_ROLE, self)

    self._grant(vault, constants.GUARDIAN_ROLE, roles.guardian)
    self._grant(vault, constants.MANAGER_ROLE, roles.manager)
    self._grant(vault, constants.KEEPER_ROLE, roles.keeper)
    self._grant(vault, constants.FEE_MANAGER_ROLE, roles.fee_manager)
    self._grant(vault, constants.DEFAULT_ADMIN_ROLE, roles.admin)
    self._grant(rebalancer, constants.DEFAULT_ADMIN_ROLE, roles.admin)
    extcall IAccessControl(vault).renounceRole(constants.GUARDIAN_ROLE, self)
    extcall IAccessControl(vault).renounceRole(constants.DEFAULT_ADMIN_ROLE, self)
    extcall IAccessControl(rebalancer).renounceRole(constants.DEFAULT_ADMIN_ROLE, self)

    nav_feed: address = create_from_blueprint(self.nav_feed_blueprint, vault)

    index: uint256 = self.vault_count
    version: uint256 = self.code_version
    self.vaults[index] = vault
    self.vault_count = index + 1
    self.rebalancer_of[vault] = rebalancer
    self.nav_feed_of[vault] = nav_feed
    self.creator_of[vault] = msg.sender
    self.code_version_of[vault] = version
    log VaultCreated(
        vault=vault,
        creator=msg.sender,
        admin=roles.admin,
        rebalancer=rebalancer,
        nav_feed=nav_feed,
        oracle=oracle,
        code_version=version,
        index=index,
    )
    return vault, rebalancer, nav_feed


# ---------------------------------------------------------------------------
#                                    OWNER
# ---------------------------------------------------------------------------


@external
def set_code(
    vault_chunks_: address[2],
    vault_init_code_size_: uint256,
    rebalancer_blueprint_: address,
    nav_feed_blueprint_: address,
):
    """
    @dev Replaces the code used for vaults created from now on and bumps
         `code_version`; vaults already created are untouched (nothing here
         can reach them). The owner's.
    @param vault_chunks_ The data contracts holding the vault's init code.
    @param vault_init_code_size_ Its length in bytes.
    @param rebalancer_blueprint_ The Rebalancer's EIP-5202 blueprint.
    @param nav_feed_blueprint_ The NavFeed's EIP-5202 blueprint.
    """
    ownable._check_owner()
    self._set_code(vault_chunks_, vault_init_code_size_, rebalancer_blueprint_, nav_feed_blueprint_)


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def is_vault(vault: address) -> bool:
    """
    @dev Whether `vault` was created by this factory.
    @param vault Any address.
    @return bool True for a vault listed here.
    """
    return self.rebalancer_of[vault] != empty(address)


@external
@view
def vaults_page(start: uint256, count: uint256) -> DynArray[address, MAX_PAGE]:
    """
    @dev Up to `count` vaults from index `start`, in creation order; at
         most `MAX_PAGE`, and fewer at the end of the list.
    @param start The first index.
    @param count How many.
    @return DynArray The vaults.
    """
    result: DynArray[address, MAX_PAGE] = []
    total: uint256 = self.vault_count
    for i: uint256 in range(start, start + min(count, MAX_PAGE), bound=MAX_PAGE):
        if i >= total:
            break
        result.append(self.vaults[i])
    return result


@external
@view
def vault_init_code() -> Bytes[MAX_INIT_CODE]:
    """
    @dev The vault's init code as `create_vault` assembles it (without the
         constructor arguments), to compare with a build.
    @return Bytes The init code.
    """
    return self._vault_init_code()


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _set_code(
    vault_chunks_: address[2],
    vault_init_code_size_: uint256,
    rebalancer_blueprint_: address,
    nav_feed_blueprint_: address,
):
    """
    @dev Checks and stores the code for future vaults, then logs it.
    @param vault_chunks_ Two chunks: `0xFE` and `CHUNK_SIZE` bytes each.
    @param vault_init_code_size_ The init code's length: more than
           `CHUNK_SIZE` (the first chunk is all code), at most
           `MAX_INIT_CODE`.
    @param rebalancer_blueprint_ An EIP-5202 blueprint.
    @param nav_feed_blueprint_ An EIP-5202 blueprint.
    """
    assert vault_init_code_size_ > CHUNK_SIZE, "factory: init code size out of range"
    assert vault_init_code_size_ <= MAX_INIT_CODE, "factory: init code size out of range"
    for chunk: address in vault_chunks_:
        assert chunk.codesize == CHUNK_SIZE + 1, "factory: chunk is not CHUNK_SIZE + 1 bytes"
        assert slice(chunk.code, 0, 1) == _CHUNK_PREFIX, "factory: chunk does not start with 0xFE"
    for blueprint: address in [rebalancer_blueprint_, nav_feed_blueprint_]:
        assert blueprint.codesize > 3, "factory: not an EIP-5202 blueprint"
        assert slice(blueprint.code, 0, 3) == _BLUEPRINT_PREAMBLE, "factory: not an EIP-5202 blueprint"

    self.vault_chunks = vault_chunks_
    self.vault_init_code_size = vault_init_code_size_
    self.rebalancer_blueprint = rebalancer_blueprint_
    self.nav_feed_blueprint = nav_feed_blueprint_
    code_hash: bytes32 = keccak256(self._vault_init_code())
    self.vault_code_hash = code_hash
    version: uint256 = self.code_version + 1
    self.code_version = version
    log CodeChanged(
        code_version=version,
        vault_chunks=vault_chunks_,
        vault_init_code_size=vault_init_code_size_,
        vault_code_hash=code_hash,
        rebalancer_blueprint=rebalancer_blueprint_,
        nav_feed_blueprint=nav_feed_blueprint_,
    )


@internal
@view
def _vault_init_code() -> Bytes[MAX_INIT_CODE]:
    """
    @dev The vault's init code: the chunks' bytes after their `0xFE`,
         concatenated, the second cut to the init code's length (Vyper reads
         code only in slices of constant length, hence the padding).
         `create_vault` spells the same expression out, which spares it a
         49 kB return buffer (memory costs quadratically).
    @return Bytes The init code.
    """
    tail: Bytes[CHUNK_SIZE] = slice(self.vault_chunks[1].code, 1, CHUNK_SIZE)
    return concat(
        slice(self.vault_chunks[0].code, 1, CHUNK_SIZE),
        slice(tail, 0, self.vault_init_code_size - CHUNK_SIZE),
    )


@internal
def _grant(target: address, role: bytes32, account: address):
    """
    @dev Grants `role` on `target` to `account`, unless `account` is zero.
    @param target The vault or the rebalancer.
    @param role The role.
    @param account Who gets it.
    """
    if account != empty(address):
        extcall IAccessControl(target).grantRole(role, account)
