"""The fleet's processes for the tests and the benchmark: silverback's client and workers, each in its own
process group, with a log file, stopped by PID.

`silverback_env` is the environment every process of one deployment shares: silverback's broker and result
backend (`index_vault.fleet.broker`) on one Redis with the deployment's own queue, and the fleet's settings.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BROKER = "index_vault.fleet.broker:FleetBroker"
RESULTS = "index_vault.fleet.broker:FleetResultBackend"


def silverback_env(redis_url: str, queue: str, fleet: Mapping[str, str], *, bot_name: str = "fleet") -> dict[str, str]:
    """Silverback's and the fleet's variables for a deployment whose queue (and key namespace) is `queue`."""
    return {
        "SILVERBACK_BOT_NAME": bot_name,
        "SILVERBACK_BROKER_CLASS": BROKER,
        "SILVERBACK_BROKER_KWARGS": json.dumps({"url": redis_url, "queue_name": queue}),
        "SILVERBACK_RESULT_BACKEND_CLASS": RESULTS,
        "SILVERBACK_RESULT_BACKEND_KWARGS": json.dumps({"redis_url": redis_url, "result_ex_time": 600}),
        **fleet,
    }


@dataclass
class Proc:
    """A started process and its log."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, at once, to the process group (a worker dying mid-round)."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, grace: float = 20.0) -> None:
        """SIGINT (silverback's graceful stop), then SIGKILL after `grace` seconds."""
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGINT)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()


def spawn(name: str, args: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> Proc:
    """Starts `args` in a new process group, its output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        popen = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Proc(name, popen, log)


def worker_args(network: str, threads: int = 1) -> list[str]:
    return ["silverback", "worker", "fleet", "--network", network, "-w", str(threads)]


def client_args(network: str) -> list[str]:
    return ["silverback", "run", "fleet", "--network", network, "-x", "1000"]


def wait_for(predicate, timeout: float, interval: float = 0.2, tick=None) -> bool:
    """Polls `predicate()` (calling `tick()` between polls) until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick is not None:
            tick()
        time.sleep(interval)
    return bool(predicate())
