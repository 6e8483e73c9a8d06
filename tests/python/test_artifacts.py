"""The npm build loader across the JSON layouts met in the wild."""

import json

import pytest
from eth_utils import keccak

from index_vault.common.artifacts import ArtifactError, load_artifact, parse_artifact
from index_vault.market.init_codes import V2_PAIR_INIT_CODE_HASH, V3_POOL_INIT_CODE_HASH

ABI = [{"type": "function", "name": "f", "inputs": [], "outputs": []}]


@pytest.mark.parametrize(
    "data",
    [
        {"contractName": "X", "abi": ABI, "bytecode": "0x6001"},  # hardhat / truffle
        {"abi": ABI, "bytecode": "6001"},  # waffle without 0x
        {"abi": ABI, "evm": {"bytecode": {"object": "6001"}}},  # solc standard JSON
        {"compilerOutput": {"abi": ABI, "evm": {"bytecode": {"object": "0x6001"}}}},  # chainlink v0.6
        {"abi": ABI, "bytecode": {"object": "0x6001"}},  # foundry
    ],
    ids=["hardhat", "waffle", "solc", "chainlink", "foundry"],
)
def test_parse_artifact__known_layout__returns_abi_and_0x_bytecode(data):
    artifact = parse_artifact(data, "X")

    assert artifact.abi == ABI
    assert artifact.bytecode == "0x6001"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"abi": ABI, "bytecode": "0x"}, "no creation bytecode"),
        ({"abi": ABI, "bytecode": "0x60__Lib__"}, "libraries linked"),
        ({"bytecode": "0x6001"}, "no ABI"),
    ],
)
def test_parse_artifact__unusable_build__raises_with_reason(data, reason):
    with pytest.raises(ArtifactError, match=reason):
        parse_artifact(data, "X")


def test_load_artifact__missing_known_build__says_to_run_setup(tmp_path):
    with pytest.raises(ArtifactError, match="make setup"):
        load_artifact("WETH9", root=tmp_path)


def test_load_artifact__path__loads_file(tmp_path):
    path = tmp_path / "Thing.json"
    path.write_text(json.dumps({"abi": ABI, "bytecode": "0x6001"}))

    assert load_artifact(path).name == "Thing"


def test_load_artifact__test_token_build__is_an_erc20_with_decimals_and_mint():
    artifact = load_artifact("StandardTokenMock")

    constructor = next(e for e in artifact.abi if e["type"] == "constructor")
    assert [i["type"] for i in constructor["inputs"]] == ["address", "uint256", "string", "string", "uint8"]
    assert any(e.get("name") == "mint" for e in artifact.abi)


@pytest.mark.parametrize(
    ("build", "expected"), [("UniswapV3Pool", V3_POOL_INIT_CODE_HASH), ("UniswapV2Pair", V2_PAIR_INIT_CODE_HASH)]
)
def test_init_code_hash__npm_build__is_the_hash_the_adapters_derive_addresses_with(build, expected):
    assert "0x" + keccak(hexstr=load_artifact(build).bytecode).hex().removeprefix("0x") == expected
