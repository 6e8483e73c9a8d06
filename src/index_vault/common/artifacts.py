"""One loader for the contract builds published on npm, whatever their JSON layout.

Layouts met: Hardhat (`abi`, `bytecode` string), Truffle (`abi`, `bytecode`), Waffle and solc
standard JSON (`abi`, `evm.bytecode.object`), and Chainlink's old builds
(`compilerOutput.abi`, `compilerOutput.evm.bytecode.object`).
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

# Builds the tooling deploys, by contract name: (folder under the project root, path inside it).
# `node_modules` comes from `npm ci`; `.cache/npm-pack` from `npm pack` (see the Makefile).
SET_V2 = ".cache/npm-pack/@setprotocol/set-protocol-v2@0.1.16/package/artifacts/contracts"
KNOWN_BUILDS: dict[str, str] = {
    # An OpenZeppelin ERC20 (v3) with decimals and an open `mint`: the local test token.
    "StandardTokenMock": f"{SET_V2}/mocks/StandardTokenMock.sol/StandardTokenMock.json",
    "StandardTokenWithFeeMock": f"{SET_V2}/mocks/StandardTokenWithFeeMock.sol/StandardTokenWithFeeMock.json",
    # Set Protocol V2's issuance path, the benchmark's peer: the controller, the factory of SetTokens, the
    # SetToken itself (its ABI, for the tokens the factory creates) and the BasicIssuanceModule.
    "Controller": f"{SET_V2}/protocol/Controller.sol/Controller.json",
    "SetTokenCreator": f"{SET_V2}/protocol/SetTokenCreator.sol/SetTokenCreator.json",
    "SetToken": f"{SET_V2}/protocol/SetToken.sol/SetToken.json",
    "BasicIssuanceModule": f"{SET_V2}/protocol/modules/BasicIssuanceModule.sol/BasicIssuanceModule.json",
    "ERC20PresetMinterPauser": "node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetMinterPauser.json",
    "WETH9": "node_modules/canonical-weth/build/contracts/WETH9.json",
    # Uniswap V3: v3-core 1.0.1 and v3-periphery 1.4.4 (whose POOL_INIT_CODE_HASH matches this pool build).
    "UniswapV3Factory": "node_modules/@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": "node_modules/@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "NonfungiblePositionManager": (
        "node_modules/@uniswap/v3-periphery/artifacts/contracts/"
        "NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
    ),
    "SwapRouter": "node_modules/@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": "node_modules/@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    # Uniswap V2: v2-core 1.0.1 and v2-periphery 1.1.0-beta.0 (whose pair init code hash, 0x96e8ac42...845f,
    # is keccak256 of this pair build's creation code: the router finds the factory's pairs).
    "UniswapV2Factory": "node_modules/@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "node_modules/@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "node_modules/@uniswap/v2-periphery/build/UniswapV2Router02.json",
    # Chainlink 0.1.9 (old layout): the mock aggregator and the proxy that real feeds sit behind.
    "MockV3Aggregator": ".cache/npm-pack/@chainlink/contracts@0.1.9/package/abi/v0.6/MockV3Aggregator.json",
    "EACAggregatorProxy": ".cache/npm-pack/@chainlink/contracts@0.1.9/package/abi/v0.6/EACAggregatorProxy.json",
}


class ArtifactError(LookupError):
    """A build that is missing or has no deployable bytecode."""


@dataclass(frozen=True)
class Artifact:
    """A deployable contract: its name, ABI and creation bytecode (0x-prefixed hex)."""

    name: str
    abi: list[dict]
    bytecode: str


def project_root() -> Path:
    """The project folder: `INDEX_VAULT_ROOT`, else the checkout this package lives in."""
    if env := os.environ.get("INDEX_VAULT_ROOT"):
        return Path(env).resolve()
    return Path(__file__).resolve().parents[3]


def parse_artifact(data: dict, name: str) -> Artifact:
    """Extracts ABI and creation bytecode from any of the supported layouts."""
    source = data.get("compilerOutput", data)
    abi = source.get("abi")
    bytecode = source.get("bytecode")
    if isinstance(bytecode, dict):
        bytecode = bytecode.get("object")
    if bytecode is None:
        bytecode = source.get("evm", {}).get("bytecode", {}).get("object")
    if not isinstance(abi, list):
        raise ArtifactError(f"{name}: the build has no ABI")
    if not isinstance(bytecode, str) or bytecode in ("", "0x"):
        raise ArtifactError(f"{name}: the build has no creation bytecode (an interface or abstract contract?)")
    if "__" in bytecode:
        raise ArtifactError(f"{name}: the bytecode needs libraries linked")
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return Artifact(name=data.get("contractName", name), abi=abi, bytecode=bytecode)


def load_artifact(name_or_path: str | Path, root: Path | None = None) -> Artifact:
    """Loads a known build by contract name, or any build file by path."""
    root = root or project_root()
    relative = KNOWN_BUILDS.get(str(name_or_path))
    path = root / relative if relative else Path(name_or_path)
    if not path.is_file():
        hint = " (run `make setup`)" if relative else ""
        raise ArtifactError(f"{name_or_path}: no build at {path}{hint}")
    return parse_artifact(json.loads(path.read_text()), path.stem)
