"""Governor: a timelock with expiry and a guardian, administering vaults and oracle routers."""

import boa
import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

from tests.baskets import CONTRACTS, MAX_UINT
from tests.lens import lens

DAY = 86400
DELAY = 2 * DAY
GRACE = 14 * DAY


SET_FEES = "set_fees(uint256,uint256,uint256,uint256,uint256)"


def call(signature: str, types: list[str], args: list) -> bytes:
    return selector(signature) + encode(types, args)


@pytest.fixture(scope="session")
def governor_deployer():
    return boa.load_partial(str(CONTRACTS / "governance" / "Governor.vy"))


@pytest.fixture
def proposer():
    return boa.env.generate_address("proposer")


@pytest.fixture
def guardian():
    return boa.env.generate_address("guardian")


@pytest.fixture
def governed(governor_deployer, make_vault, proposer, guardian, deployer):
    """A vault whose DEFAULT_ADMIN_ROLE the Governor holds (handed over by the deployer)."""
    governor = governor_deployer.deploy([proposer], [guardian], DELAY)
    vault, _ = make_vault()
    admin_role = vault.DEFAULT_ADMIN_ROLE()
    vault.grantRole(admin_role, governor.address)
    vault.renounceRole(admin_role, deployer)
    return governor, vault


def _propose_fees(governor, vault, proposer, entry=10, exit_=20):
    data = call(SET_FEES, ["uint256"] * 5, [0, 0, 0, entry, exit_])
    with boa.env.prank(proposer):
        return governor.propose(vault.address, data, "NAV fees to 0.1% / 0.2%")


def test_execute__after_delay__applies_change_for_anyone(governed, proposer, bob):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)
    boa.env.time_travel(seconds=DELAY)

    with boa.env.prank(bob):  # anyone executes
        governor.execute(id_)

    assert (vault.entry_fee_bps(), vault.exit_fee_bps()) == (10, 20)
    assert governor.proposals(id_).state == governor.EXECUTED()


def test_execute__too_early__reverts(governed, proposer):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)
    boa.env.time_travel(seconds=DELAY - 1)

    with boa.reverts("governor: too early"):
        governor.execute(id_)


def test_execute__expired__reverts(governed, proposer):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)
    boa.env.time_travel(seconds=DELAY + GRACE)

    with boa.reverts("governor: expired"):
        governor.execute(id_)
    assert governor.pending() == []


def test_execute__cancelled_by_guardian__reverts(governed, proposer, guardian):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)
    with boa.env.prank(guardian):
        governor.cancel(id_)
    boa.env.time_travel(seconds=DELAY)

    with boa.reverts("governor: not pending"):
        governor.execute(id_)
    assert vault.entry_fee_bps() == 0


def test_execute__twice__reverts(governed, proposer):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)
    boa.env.time_travel(seconds=DELAY)
    governor.execute(id_)

    with boa.reverts("governor: not pending"):
        governor.execute(id_)


def test_execute__target_reverts__bubbles_reason_and_stays_pending(governed, proposer):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer, entry=10_000)  # above the vault's cap
    boa.env.time_travel(seconds=DELAY)

    with boa.reverts("fees: fee above cap"):
        governor.execute(id_)
    assert governor.proposals(id_).state == governor.PENDING()


def test_pending__open_proposals__shows_calldata_and_timing(governed, proposer):
    governor, vault = governed
    now = boa.env.evm.patch.timestamp
    id_ = _propose_fees(governor, vault, proposer)

    (pending,) = governor.pending()

    assert pending.id == id_
    assert pending.target == vault.address
    assert pending.data[:4] == selector(SET_FEES)
    assert (pending.eta, pending.expires) == (now + DELAY, now + DELAY + GRACE)


@pytest.mark.parametrize("who", ["guardian", "bob", "deployer"])
def test_propose__not_a_proposer__reverts(governed, guardian, bob, deployer, who):
    governor, vault = governed
    caller = {"guardian": guardian, "bob": bob, "deployer": deployer}[who]

    with boa.env.prank(caller), boa.reverts("access_control: account is missing role"):
        governor.propose(vault.address, b"\x00\x00\x00\x00", "")


def test_cancel__outsider__reverts(governed, proposer, bob):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)

    with boa.env.prank(bob), boa.reverts("access_control: account is missing role"):
        governor.cancel(id_)


def test_cancel__by_proposer__works(governed, proposer):
    governor, vault = governed
    id_ = _propose_fees(governor, vault, proposer)

    with boa.env.prank(proposer):
        governor.cancel(id_)

    assert governor.proposals(id_).state == governor.CANCELLED()


def test_set_delay__direct_call__reverts_and_through_proposal_works(governed, proposer):
    governor, _ = governed
    with boa.reverts("governor: only through a proposal"):
        governor.set_delay(3 * DAY)

    with boa.env.prank(proposer):
        id_ = governor.propose(governor.address, call("set_delay(uint256)", ["uint256"], [3 * DAY]), "slower")
    boa.env.time_travel(seconds=DELAY)
    governor.execute(id_)

    assert governor.delay() == 3 * DAY


def test_init__delay_below_floor__reverts(governor_deployer, proposer):
    with boa.reverts("governor: delay out of range"):
        governor_deployer.deploy([proposer], [], DAY - 1)


def test_init__deployer__keeps_no_role(governor_deployer, proposer, deployer):
    governor = governor_deployer.deploy([proposer], [], DELAY)

    assert not governor.hasRole(governor.DEFAULT_ADMIN_ROLE(), deployer)
    assert governor.hasRole(governor.DEFAULT_ADMIN_ROLE(), governor.address)
    with boa.reverts("access_control: account is missing role"):
        governor.grantRole(governor.PROPOSER_ROLE(), deployer)


def test_vault_admin_functions__after_handover__only_through_governor(governed, deployer):
    _, vault = governed

    with boa.env.prank(deployer), boa.reverts("access_control: account is missing role"):
        vault.set_fees(0, 0, 0, 1, 1)


def test_guardian_pause__vault_guardian__immediate_and_in_kind_redemption_unaffected(
    governed, token_deployer, fund, alice
):
    _, vault = governed
    tokens = [token_deployer.at(a) for a in vault.assets()]
    fund(vault, tokens, alice)
    with boa.env.prank(alice):
        vault.mint_in_kind(10**18, alice, [MAX_UINT] * 3)
    vault.pause()  # the deployer kept the vault's GUARDIAN_ROLE: pausing is not timelocked

    with boa.env.prank(alice):
        vault.redeem_in_kind(10**17, alice, [0, 0, 0])
    with boa.reverts("access_control: account is missing role"):
        vault.unpause()  # unpausing is the admin's: the Governor's, through a proposal


def test_execute__target_weights_proposal_to_rebalancer__changes_targets_after_delay(
    governor_deployer, make_vault, make_rebalancer, proposer, guardian, deployer
):
    governor = governor_deployer.deploy([proposer], [guardian], DELAY)
    vault, _ = make_vault()
    rebalancer = make_rebalancer(vault, admin=governor.address)
    weights = [6 * 10**17, 3 * 10**17, 10**17]
    data = call("set_target_weights(uint256[])", ["uint256[]"], [weights])
    with boa.env.prank(proposer):
        id_ = governor.propose(rebalancer.address, data, "reweight")

    assert lens().target_weights(vault) == []  # nothing changes before the delay
    with boa.reverts("governor: too early"):
        governor.execute(id_)
    boa.env.time_travel(seconds=DELAY)
    governor.execute(id_)

    assert lens().target_weights(vault) == weights
    assert not rebalancer.hasRole(rebalancer.DEFAULT_ADMIN_ROLE(), deployer)
