"""The Governor on a chain: deployment, handing a vault's and its router's admin role over, proposals."""

from collections.abc import Callable
from dataclasses import dataclass

from ape import project
from ape.api import AccountAPI
from ape.contracts import ContractInstance
from eth_utils import function_signature_to_4byte_selector

DAY = 86_400

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
