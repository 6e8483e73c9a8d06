"""Contract containers: the project's Vyper contracts and the audited npm builds."""

from functools import cache

from ape import project
from ape.contracts import ContractContainer, ContractInstance
from eth_utils import to_checksum_address
from ethpm_types import ContractType

from index_vault.common.artifacts import load_artifact

# The ERC-20 surface the tooling reads from any constituent, wherever it was deployed.
ERC20_ABI = [
    {"type": "function", "name": n, "stateMutability": "view", "inputs": [], "outputs": [{"name": "", "type": t}]}
    for n, t in (("name", "string"), ("symbol", "string"), ("decimals", "uint8"), ("totalSupply", "uint256"))
] + [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "transfer",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
]


@cache
def npm_container(name: str) -> ContractContainer:
    """A deployable container for a known npm build (see `index_vault.common.artifacts.KNOWN_BUILDS`)."""
    artifact = load_artifact(name)
    contract_type = ContractType.model_validate(
        {"contractName": artifact.name, "abi": artifact.abi, "deploymentBytecode": {"bytecode": artifact.bytecode}}
    )
    return ContractContainer(contract_type)


@cache
def erc20_type() -> ContractType:
    """The standard ERC-20 ABI as a contract type (for Ape instances and plain web3 contracts alike)."""
    return ContractType.model_validate({"contractName": "ERC20", "abi": ERC20_ABI})


def erc20_at(address: str) -> ContractInstance:
    """Any ERC-20 token at `address`, read through the standard ABI."""
    return ContractInstance(address, erc20_type())


def vault_at(address: str) -> ContractInstance:
    """The index vault at `address`."""
    return project.IndexVault.at(address)


def abi_of(contract_type: ContractType) -> list[dict]:
    """A contract type's ABI as plain JSON dicts (what web3 takes)."""
    return [a.model_dump(mode="json", by_alias=True, exclude_none=True) for a in contract_type.abi]


def web3_contract(w3, address: str, contract_type: ContractType):
    """A plain web3 contract at `address` (no Ape on its calls: reverts come back at once with their reason)."""
    return w3.eth.contract(address=to_checksum_address(address), abi=abi_of(contract_type))


def npm_type(name: str) -> ContractType:
    """The contract type of an npm build (`npm_container`)."""
    return npm_container(name).contract_type
