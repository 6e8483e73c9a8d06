"""Static analysis in `make test`: vyper-guard over every production contract, against the checked-in triage.

Every finding must have an entry in docs/static-analysis/vyper-guard-triage.yaml (matched on contract and title)
saying why it is a false positive or safe here; every entry must still match a finding, so a fixed finding's entry
is removed. Mocks (contracts/mocks) are test doubles and are not analysed.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.baskets import CONTRACTS, ROOT

TRIAGE = ROOT / "docs" / "static-analysis" / "vyper-guard-triage.yaml"
PRODUCTION = sorted(p for p in CONTRACTS.rglob("*.vy") if "mocks" not in p.parts)
VERDICTS = {"false-positive", "accepted", "bench", "fixed"}


def _triage() -> dict[str, set[str]]:
    entries = yaml.safe_load(TRIAGE.read_text())
    by_contract: dict[str, set[str]] = {}
    for entry in entries:
        assert entry["verdict"] in VERDICTS and entry["why"].strip(), entry
        by_contract.setdefault(entry["contract"], set()).add(entry["title"])
    return by_contract


def _findings(contract: Path, tmp_path: Path) -> list[dict]:
    guard = shutil.which("vyper-guard")
    if guard is None:
        pytest.fail("vyper-guard is not installed: `make setup` installs it (the test extra)")
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [guard, "analyze", str(contract), "-f", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.is_file(), f"vyper-guard wrote no report for {contract} (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    return json.loads(out.read_text())["findings"]


@pytest.mark.parametrize("contract", PRODUCTION, ids=lambda p: str(p.relative_to(CONTRACTS)))
def test_vyper_guard__every_finding__is_triaged(contract, tmp_path):
    name = str(contract.relative_to(ROOT))
    triaged = _triage().get(name, set())

    findings = _findings(contract, tmp_path)

    titles = {f["title"] for f in findings}
    untriaged = sorted(
        f"{f['severity']} {f['detector']} line {f['line_number']}: {f['title']}"
        for f in findings
        if f["title"] not in triaged
    )
    assert not untriaged, f"{name}: findings without a triage entry in {TRIAGE.name}:\n" + "\n".join(untriaged)
    stale = sorted(triaged - titles)
    assert not stale, f"{name}: triage entries no finding matches any more (remove them):\n" + "\n".join(stale)


def test_triage__every_entry__names_a_production_contract():
    names = {str(p.relative_to(ROOT)) for p in PRODUCTION}

    assert set(_triage()) <= names
