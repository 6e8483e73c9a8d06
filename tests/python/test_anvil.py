"""Our own anvil processes: a free port, a clean stop, nothing left on disk."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from index_vault.common.anvil import AnvilError, start_anvil, stop_anvil

BLOCKS = 768  # more than anvil keeps in memory (500), so older states would go to disk

pytestmark = pytest.mark.skipif(shutil.which("anvil") is None, reason="anvil is not on PATH (run through make)")


def test_start_anvil__no_port_given__listens_on_a_free_port_until_stopped(tmp_path):
    proc, port = start_anvil([], tmp_path / "anvil.log")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        code = stop_anvil(proc)

    assert port > 0 and port != 8545
    assert code is not None and proc.poll() is not None


def test_start_anvil__bad_arguments__raises_with_its_log(tmp_path):
    with pytest.raises(AnvilError, match="anvil did not start"):
        start_anvil(["--no-such-flag"], tmp_path / "anvil.log")


def _mine(port: int, blocks: int) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": [hex(blocks)]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert "error" not in json.loads(response.read())


def _files_under(home: Path) -> list[Path]:
    return [path for path in home.rglob("*") if path.is_file()]


def test_start_anvil__many_blocks_then_stopped__leaves_no_state_on_disk(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    proc, port = start_anvil([], tmp_path / "anvil.log", env={"HOME": str(home)})
    try:
        _mine(port, BLOCKS)
    finally:
        stop_anvil(proc)

    assert _files_under(home) == []


def test_anvil_on_path__many_blocks_then_stopped__leaves_no_state_on_disk(tmp_path):
    """The anvil Ape starts (the one on PATH, a wrapper from `make setup`) keeps no history on disk either."""
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "anvil.log"
    with log.open("w") as handle:
        proc = subprocess.Popen(
            ["anvil", "--port", "0"], stdout=handle, stderr=handle, env={**os.environ, "HOME": str(home)}
        )
    try:
        deadline = time.monotonic() + 30
        while not (listening := [w for w in log.read_text().split() if w.startswith("127.0.0.1:")]):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        _mine(int(listening[0].split(":")[1]), BLOCKS)
    finally:
        stop_anvil(proc)

    assert _files_under(home) == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the process's arguments from /proc")
def test_anvil_on_path__ape_foundrys_arguments__runs_without_steps_tracing_or_disk_history(tmp_path):
    """ape-foundry always passes `--steps-tracing` (every step of every transaction kept in memory: the demo's
    anvil grew to 12 GB); the wrapper `make setup` puts on PATH drops it and keeps no history on disk."""
    log = tmp_path / "anvil.log"
    with log.open("w") as handle:
        proc = subprocess.Popen(["anvil", "--port", "0", "--steps-tracing"], stdout=handle, stderr=handle)
    try:
        deadline = time.monotonic() + 30
        while "Listening on" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
    finally:
        stop_anvil(proc)

    assert b"--steps-tracing" not in argv
    assert argv[argv.index(b"--max-persisted-states") + 1] == b"0"
