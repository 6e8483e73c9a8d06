"""The Governor and the roles on a chain: deployment, handing admin roles over, proposals, who holds a role."""

from collections.abc import Callable
from dataclasses import dataclass

from ape import chain, project
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from eth_utils import function_signature_to_4byte_selector, keccak

DAY = 86_400

# The roles of a vault (and its rebalancer and router, which have the admin role), by the names people use.
ROLES = {
    "admin": b"\x00" * 32,
    "manager": keccak(text="MANAGER_ROLE"),
    "keeper": keccak(text="KEEPER_ROLE"),
    "guardian": keccak(text="GUARDIAN_ROLE"),
    "fee-manager": keccak(text="FEE_MANAGER_ROLE"),
}

# Functions a vault or router administrator calls, by selector, to describe pending proposals.
KNOWN_CALLS = {
    function_signature_to_4byte_selector(sig): sig
    for sig in (
        "set_fees(uint256,uint256,uint256,uint256,uint256)",
        "set_rebalancer(address)",
        "set_target_weights(uint256[])",
        "add_constituent(address)",
        "remove_constituent(address)",
        "set_flow_cap(uint256,uint256)",
        "set_oracle(address)",
        "unpause()",
        "set_feed(address,(address,uint32,uint32,address,uint256,uint256,address,uint32,uint256,uint256,uint256))",
        "remove_feed(address)",
        "grantRole(bytes32,address)",
        "revokeRole(bytes32,address)",
        "set_delay(uint256)",
    )
}


@dataclass(frozen=True)
class PendingCall:
    """A pending proposal, described for people."""

    id: int
    target: str
    function: str
    data: bytes
    eta: int
    expires: int
    proposer: str


def deploy_governor(
    deployer: AccountAPI, proposers: list[str], guardians: list[str], delay: int = 2 * DAY
) -> ContractInstance:
    """Deploys a Governor; the deployer keeps no role in it."""
    return project.Governor.deploy(proposers, guardians, delay, sender=deployer)


def hand_over(
    governor: str, contracts: list[ContractInstance], admin: AccountAPI, echo: Callable[[str], None] = print
) -> None:
    """Grants `DEFAULT_ADMIN_ROLE` of each contract to the Governor, then renounces the admin's own."""
    for contract in contracts:
        role = contract.DEFAULT_ADMIN_ROLE()
        contract.grantRole(role, governor, sender=admin)
        contract.renounceRole(role, admin, sender=admin)
        echo(f"  admin of {contract.address} handed to the governor {governor}")


def pending_calls(governor: ContractInstance) -> list[PendingCall]:
    """The Governor's pending proposals, with their function named where it is known."""
    calls = []
    for p in governor.pending():
        data = bytes(p.data)
        calls.append(
            PendingCall(
                id=p.id,
                target=p.target,
                function=KNOWN_CALLS.get(data[:4], "0x" + data[:4].hex()),
                data=data,
                eta=p.eta,
                expires=p.expires,
                proposer=p.proposer,
            )
        )
    return calls


def role_name(role: bytes) -> str:
    """A role's name as `ROLES` has it, else its hex."""
    return next((name for name, value in ROLES.items() if value == bytes(role)), "0x" + bytes(role).hex())


def role_holders(contract: ContractInstance, role: bytes, start_block: int = 0) -> list[str]:
    """Who holds `role` of `contract` now: every account its `RoleGranted` events name since `start_block`
    that still has it (`hasRole` decides; the events only say whom to ask)."""
    head = chain.blocks.height
    granted = contract.RoleGranted.range(start_block, head + 1, search_topics={"role": role})
    candidates = dict.fromkeys(str(log.account) for log in granted)
    return [account for account in candidates if contract.hasRole(role, account)]


def admin_refusal(contract: ContractInstance, governor: str, what: str, start_block: int = 0) -> str | None:
    """Why a proposal of the Governor on `contract` could never execute (the Governor does not hold its admin
    role, and who does), or None when it does."""
    role = ROLES["admin"]
    if contract.hasRole(role, governor):
        return None
    holders = role_holders(contract, role, start_block)
    held = ", ".join(holders) if holders else f"no account granted it since block {start_block}"
    return (
        f"the Governor {governor} is not the admin of {what} {contract.address} (the admin is {held}): a proposal "
        "could never execute; hand the role over first (`ape run deploy --governor`, or `ape run vault grant admin`)"
    )
