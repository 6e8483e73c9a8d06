"""The mainnet addresses the fork tests use, proven offline where a rule allows, and every address checksummed."""

import json
import re
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import is_checksum_address, keccak, to_checksum_address

from index_vault.market.init_codes import V3_POOL_INIT_CODE_HASH

ROOT = Path(__file__).resolve().parents[2]
MAINNET = json.loads((ROOT / "tests" / "fork" / "mainnet.json").read_text())
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")
TEXT_DIRS = ("contracts", "src", "scripts", "bots", "tests", "docs", "specs", "data")
TEXT_SUFFIXES = {".py", ".vy", ".vyi", ".json", ".md", ".yaml", ".yml", ".toml", ".csv"}


def v3_pool_address(factory: str, token_a: str, token_b: str, fee: int) -> str:
    """The Uniswap V3 pool of two tokens and a fee, by CREATE2 from its factory."""
    token0, token1 = sorted((token_a, token_b), key=lambda a: int(a, 16))
    salt = keccak(encode(["address", "address", "uint24"], [token0, token1, fee]))
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + bytes.fromhex(V3_POOL_INIT_CODE_HASH[2:]))
    return to_checksum_address(digest[12:])


@pytest.mark.parametrize("asset", sorted(MAINNET["pools"]))
def test_mainnet_pool__create2_from_factory_tokens_and_fee__is_the_address_the_file_gives(asset):
    a, b, fee = MAINNET["pool_pairs"][asset]
    tokens = MAINNET["tokens"]

    derived = v3_pool_address(MAINNET["uniswap_v3_factory"], tokens[a], tokens[b], fee)

    assert derived == MAINNET["pools"][asset]
    assert asset in (a, b)  # the pool trades the asset it prices


def test_mainnet_pool__another_fee_tier__is_another_address():
    tokens = MAINNET["tokens"]
    assert v3_pool_address(MAINNET["uniswap_v3_factory"], tokens["ETH"], tokens["USDC"], 500) != MAINNET["pools"]["ETH"]


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_mainnet_config__every_address__checksummed():
    addresses = [s for s in _strings(MAINNET) if ADDRESS.fullmatch(s)]
    assert len(addresses) >= 15
    assert [a for a in addresses if not is_checksum_address(a)] == []


def test_repository__every_mixed_case_address__passes_its_eip55_checksum():
    """An address written in mixed case claims a checksum: it must hold (all-lowercase or all-uppercase hex
    claims none, as hashes and test data may be written)."""
    bad = []
    paths = [p for folder in TEXT_DIRS for p in (ROOT / folder).rglob("*")] + list(ROOT.glob("*.md"))
    for path in paths:
        if path.suffix not in TEXT_SUFFIXES or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        for match in ADDRESS.finditer(path.read_text(errors="ignore")):
            hexpart = match.group()[2:]
            if hexpart.lower() != hexpart and hexpart.upper() != hexpart and not is_checksum_address(match.group()):
                bad.append(f"{path.relative_to(ROOT)}: {match.group()}")
    assert bad == []
