"""Contract sizes and the module naming rule, checked in `make test`.

Every production contract (a CapitalCase file outside contracts/mocks and contracts/bench) is compiled and its
runtime bytecode must stay under `SIZE_LIMIT`, with margin under EIP-170's 24,576 bytes, and the factory's blueprints
(creation code behind EIP-5202's preamble) under EIP-170 itself; the sizes are printed at the
end of the run (`pytest tests/static -p no:ape_test`, or `python -m tests.static.test_contract_sizes` for the table
alone). Modules (lowercase files) are never compiled alone: ape-config.yaml's one exclude pattern must match exactly
the modules, and every module must be imported by something.
"""

import re
from pathlib import Path

import boa
import pytest
import yaml

from tests.baskets import CONTRACTS, ROOT

EIP170 = 24_576
SIZE_LIMIT = 24_000
TEST_ONLY = {"mocks", "bench"}

SOURCES = sorted(CONTRACTS.rglob("*.vy"))
PRODUCTION = [p for p in SOURCES if p.name[0].isupper() and not TEST_ONLY & set(p.relative_to(CONTRACTS).parts)]
MODULES = [p for p in SOURCES if p.name[0].islower()]


def runtime_size(contract: Path) -> int:
    """Bytes of `contract`'s deployed (runtime) code."""
    return len(boa.load_partial(str(contract)).compiler_data.bytecode_runtime)


def size_table(sizes: dict[str, int]) -> str:
    """The sizes as a table: bytes, share of EIP-170, room left under `SIZE_LIMIT`."""
    lines = [f"{'contract':<34} {'runtime bytes':>13} {'of EIP-170':>10} {'room':>7}"]
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        lines.append(f"{name:<34} {size:>13,} {size / EIP170:>10.1%} {SIZE_LIMIT - size:>7,}")
    return "\n".join(lines)


@pytest.mark.parametrize("contract", PRODUCTION, ids=lambda p: str(p.relative_to(CONTRACTS)))
def test_runtime_size__production_contract__under_limit(contract: Path, record_property):
    size = runtime_size(contract)
    record_property("runtime_bytes", (str(contract.relative_to(CONTRACTS)), size))
    assert size <= SIZE_LIMIT, f"{contract.name}: {size:,} runtime bytes, over {SIZE_LIMIT:,} (EIP-170: {EIP170:,})"


# The contracts the factory keeps as EIP-5202 blueprints: their whole creation code, behind the 3-byte preamble, is
# a contract's code, so it meets EIP-170 itself (the vault's is split in chunks instead).
BLUEPRINTS = ("rebalancer/Rebalancer.vy", "feed/NavFeed.vy")
BLUEPRINT_PREAMBLE = 3


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_blueprint_size__factory_blueprint__creation_code_fits_eip170(name: str):
    creation = len(boa.load_partial(str(CONTRACTS / name)).compiler_data.bytecode)
    size = BLUEPRINT_PREAMBLE + creation
    print(f"\n{name}: blueprint {size:,} bytes of {EIP170:,} (room {EIP170 - size:,})")
    assert size <= EIP170, f"{name}: a {size:,}-byte blueprint is over EIP-170's {EIP170:,}: the factory cannot hold it"


def test_compile_exclude__ape_config__matches_exactly_the_modules():
    config = yaml.safe_load((ROOT / "ape-config.yaml").read_text())
    (pattern,) = config["compile"]["exclude"]
    assert pattern.startswith('r"') and pattern.endswith('"'), 'one regex exclude (Ape reads r"..." as a regex)'
    regex = re.compile(pattern[2:-1])
    for source in SOURCES:
        is_module = source.name[0].islower()
        relative = str(source.relative_to(CONTRACTS))
        # Ape matches the pattern against the file name, the path and the source id (re.match)
        excluded = any(regex.match(option) for option in (source.name, str(source), relative))
        assert excluded == is_module, f"{relative}: module={is_module} but excluded={excluded}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(CONTRACTS)))
def test_module__any__imported_by_a_contract_or_module(module: Path):
    stem = module.stem
    importers = [
        p
        for p in SOURCES + sorted(CONTRACTS.rglob("*.vyi"))
        if p != module and re.search(rf"\bimport {stem}\b", p.read_text())
    ]
    assert importers, f"{module.relative_to(CONTRACTS)} is imported by nothing"


if __name__ == "__main__":
    print(size_table({str(p.relative_to(CONTRACTS)): runtime_size(p) for p in PRODUCTION}))
