"""Starting and stopping an anvil process of our own, on a free port (no chain library needed)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

START_SECONDS = 30
STOP_SECONDS = 60
# anvil moves old block states to ~/.foundry/anvil/tmp (up to 3,600 of them, megabytes each) and leaves
# them there when stopped; ours keep their history in memory only.
NO_DISK_HISTORY = ["--max-persisted-states", "0"]


class AnvilError(RuntimeError):
    """anvil did not start; the message carries its log."""


def start_anvil(
    args: list[str], log: Path, timeout: float = START_SECONDS, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int]:
    """Runs `anvil --port 0 ARGS` (no state history on disk), logging to `log`; returns the process and
    the port it bound. `env` adds to this process's environment.

    The port is read from anvil's "Listening on" line, so the operating system picks a free one.
    """
    command = ["anvil", "--port", "0", *NO_DISK_HISTORY, *args]
    with log.open("w") as handle:
        proc = subprocess.Popen(command, stdout=handle, stderr=handle, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if match := re.search(r"Listening on [\d.]+:(\d+)", log.read_text()):
            return proc, int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop_anvil(proc)
    raise AnvilError(f"anvil did not start:\n{log.read_text()}")


def stop_anvil(proc: subprocess.Popen, timeout: float = STOP_SECONDS) -> int | None:
    """Stops anvil with SIGINT (it writes `--dump-state` on the way out), killing it if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
