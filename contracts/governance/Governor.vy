# pragma version ~=0.4.3
# pragma optimize gas
"""
@title Governor
@custom:contract-name Governor
@license GNU Affero General Public License v3.0 only
@notice A timelock with expiry and a guardian, meant to hold the admin role
        of index vaults and oracle routers, so that every change of fees,
        oracle configuration or roles is visible before it happens:

        - a `PROPOSER_ROLE` holder proposes a call (target, calldata);
        - after `delay` (never under `MIN_DELAY`) anyone executes it, until
          `GRACE_PERIOD` later the proposal expires;
        - a `GUARDIAN_ROLE` holder (or the proposer) cancels it at any time
          before execution;
        - `pending` lists what is coming and when, with the calldata.

        The Governor administers itself: its delay and its roles change only
        through its own proposals. Pausing is not timelocked: guardians hold
        the vault's `GUARDIAN_ROLE` directly.
"""


from snekmate.auth import access_control

from ..lib import code_store

initializes: access_control

exports: (
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.supportsInterface,
)


# ---------------------------------------------------------------------------
#                                  CONSTANTS
# ---------------------------------------------------------------------------


# @dev Who may propose.
PROPOSER_ROLE: public(constant(bytes32)) = keccak256("PROPOSER_ROLE")

# @dev Who may cancel any proposal.
GUARDIAN_ROLE: public(constant(bytes32)) = keccak256("GUARDIAN_ROLE")

# @dev The shortest delay any configuration may set (one day).
MIN_DELAY: public(constant(uint256)) = 86400

# @dev The longest delay (thirty days): past that, proposals are unusable.
MAX_DELAY: public(constant(uint256)) = 30 * 86400

# @dev How long an executable proposal stays executable (fourteen days).
GRACE_PERIOD: public(constant(uint256)) = 14 * 86400

# @dev The most proposals pending at once.
MAX_PENDING: public(constant(uint256)) = 64

# @dev The longest description kept in the proposal's event.
_MAX_DESCRIPTION: constant(uint256) = 256

# @dev Proposal states.
PENDING: public(constant(uint8)) = 1
EXECUTED: public(constant(uint8)) = 2
CANCELLED: public(constant(uint8)) = 3


# ---------------------------------------------------------------------------
#                                   STRUCTS
# ---------------------------------------------------------------------------


struct Proposal:
    target: address  # the contract called
    data_pointer: address  # the data contract holding the calldata (see `code_store`)
    eta: uint256  # the earliest execution time
    expires: uint256  # executable strictly before this time
    proposer: address  # who proposed it
    state: uint8  # PENDING, EXECUTED or CANCELLED


struct PendingProposal:
    id: uint256
    target: address
    data: Bytes[code_store.MAX_SIZE]
    eta: uint256
    expires: uint256
    proposer: address


# ---------------------------------------------------------------------------
#                                   STORAGE
# ---------------------------------------------------------------------------


# @dev Every proposal ever made, by id (ids start at 1).
proposals: public(HashMap[uint256, Proposal])

# @dev The number of proposals made, hence the last id.
proposal_count: public(uint256)

# @dev The seconds between a proposal and its earliest execution.
delay: public(uint256)

# @dev Ids of proposals neither executed nor cancelled (expired ones are
# pruned when room is needed).
_open_ids: DynArray[uint256, MAX_PENDING]


# ---------------------------------------------------------------------------
#                                    EVENTS
# ---------------------------------------------------------------------------


event ProposalCreated:
    id: indexed(uint256)
    proposer: indexed(address)
    target: indexed(address)
    data: Bytes[code_store.MAX_SIZE]
    eta: uint256
    expires: uint256
    description: String[_MAX_DESCRIPTION]


event ProposalExecuted:
    id: indexed(uint256)
    executor: indexed(address)


event ProposalCancelled:
    id: indexed(uint256)
    canceller: indexed(address)


event DelayChanged:
    old_delay: uint256
    new_delay: uint256


# ---------------------------------------------------------------------------
#                                 CONSTRUCTOR
# ---------------------------------------------------------------------------


@deploy
def __init__(
    proposers: DynArray[address, 8], guardians: DynArray[address, 8], delay_: uint256
):
    """
    @dev Sets the first proposers and guardians and the delay. The Governor
         is its own admin: the deployer keeps no role.
    @param proposers Accounts that may propose.
    @param guardians Accounts that may cancel.
    @param delay_ Seconds between proposal and execution, `MIN_DELAY` to `MAX_DELAY`.
    """
    assert delay_ >= MIN_DELAY and delay_ <= MAX_DELAY, "governor: delay out of range"
    assert len(proposers) != 0, "governor: no proposer"
    access_control.__init__()
    access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, self)
    access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    for proposer: address in proposers:
        assert proposer != empty(address), "governor: zero proposer"
        access_control._grant_role(PROPOSER_ROLE, proposer)
    for guardian: address in guardians:
        assert guardian != empty(address), "governor: zero guardian"
        access_control._grant_role(GUARDIAN_ROLE, guardian)
    self.delay = delay_
    log DelayChanged(old_delay=0, new_delay=delay_)


# ---------------------------------------------------------------------------
#                                  PROPOSALS
# ---------------------------------------------------------------------------


@external
def propose(target: address, data: Bytes[code_store.MAX_SIZE], description: String[_MAX_DESCRIPTION]) -> uint256:
    """
    @dev Proposes `target.call(data)`, executable after `delay`.
    @param target The contract to call (the Governor itself for its delay and roles).
    @param data The calldata.
    @param description What the change is and why, for the event.
    @return uint256 The proposal id.
    """
    access_control._check_role(PROPOSER_ROLE, msg.sender)
    assert target.is_contract, "governor: target is not a contract"
    assert len(data) >= 4, "governor: no function selector"
    if len(self._open_ids) == MAX_PENDING:
        self._prune_expired()
    assert len(self._open_ids) < MAX_PENDING, "governor: too many pending proposals"
    id: uint256 = self.proposal_count + 1
    self.proposal_count = id
    eta: uint256 = block.timestamp + self.delay
    self.proposals[id] = Proposal(
        target=target,
        data_pointer=code_store._write(data),
        eta=eta,
        expires=eta + GRACE_PERIOD,
        proposer=msg.sender,
        state=PENDING,
    )
    self._open_ids.append(id)
    log ProposalCreated(
        id=id, proposer=msg.sender, target=target, data=data, eta=eta, expires=eta + GRACE_PERIOD, description=description
    )
    return id


@external
@nonreentrant
def execute(id: uint256) -> Bytes[code_store.MAX_SIZE]:
    """
    @dev Executes a pending proposal whose delay has passed and which has not
         expired. Anyone may call it; the call's revert is bubbled up.
    @param id The proposal.
    @return Bytes What the call returned.
    """
    proposal: Proposal = self.proposals[id]
    assert proposal.state == PENDING, "governor: not pending"
    assert block.timestamp >= proposal.eta, "governor: too early"
    assert block.timestamp < proposal.expires, "governor: expired"
    self.proposals[id].state = EXECUTED
    self._close(id)
    log ProposalExecuted(id=id, executor=msg.sender)
    return raw_call(proposal.target, code_store._read(proposal.data_pointer), max_outsize=code_store.MAX_SIZE)


@external
def cancel(id: uint256):
    """
    @dev Cancels a pending proposal; a guardian's or the proposer's right.
    @param id The proposal.
    """
    proposal: Proposal = self.proposals[id]
    assert proposal.state == PENDING, "governor: not pending"
    if msg.sender != proposal.proposer:
        access_control._check_role(GUARDIAN_ROLE, msg.sender)
    self.proposals[id].state = CANCELLED
    self._close(id)
    log ProposalCancelled(id=id, canceller=msg.sender)


@external
def set_delay(delay_: uint256):
    """
    @dev Changes the delay; only through a proposal of this Governor.
    @param delay_ Seconds, `MIN_DELAY` to `MAX_DELAY`.
    """
    assert msg.sender == self, "governor: only through a proposal"
    assert delay_ >= MIN_DELAY and delay_ <= MAX_DELAY, "governor: delay out of range"
    log DelayChanged(old_delay=self.delay, new_delay=delay_)
    self.delay = delay_


# ---------------------------------------------------------------------------
#                                    VIEWS
# ---------------------------------------------------------------------------


@external
@view
def pending() -> DynArray[PendingProposal, MAX_PENDING]:
    """
    @dev Every proposal that can still be executed (now or later), with its
         calldata and timing.
    @return DynArray The proposals, in no particular order.
    """
    result: DynArray[PendingProposal, MAX_PENDING] = []
    for id: uint256 in self._open_ids:
        proposal: Proposal = self.proposals[id]
        if block.timestamp < proposal.expires:
            result.append(
                PendingProposal(
                    id=id,
                    target=proposal.target,
                    data=code_store._read(proposal.data_pointer),
                    eta=proposal.eta,
                    expires=proposal.expires,
                    proposer=proposal.proposer,
                )
            )
    return result


@external
@view
def proposal_data(id: uint256) -> Bytes[code_store.MAX_SIZE]:
    """
    @dev The calldata of a proposal.
    @param id The proposal.
    @return Bytes Its calldata.
    """
    pointer: address = self.proposals[id].data_pointer
    assert pointer != empty(address), "governor: no such proposal"
    return code_store._read(pointer)


# ---------------------------------------------------------------------------
#                              INTERNAL FUNCTIONS
# ---------------------------------------------------------------------------


@internal
def _close(id: uint256):
    """
    @dev Removes `id` from the open list (order is not kept).
    @param id A listed proposal.
    """
    n: uint256 = len(self._open_ids)
    for i: uint256 in range(n, bound=MAX_PENDING):
        if self._open_ids[i] == id:
            self._open_ids[i] = self._open_ids[n - 1]
            self._open_ids.pop()
            return


@internal
def _prune_expired():
    """
    @dev Drops expired proposals from the open list.
    """
    kept: DynArray[uint256, MAX_PENDING] = []
    for id: uint256 in self._open_ids:
        if block.timestamp < self.proposals[id].expires:
            kept.append(id)
    self._open_ids = kept
