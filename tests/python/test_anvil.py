"""Our own anvil processes: a free port, a clean stop."""

import shutil
import socket

import pytest

from index_vault.common.anvil import AnvilError, start_anvil, stop_anvil

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
