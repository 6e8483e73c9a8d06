"""A throw-away `redis-server` (Debian's) on a free port of 127.0.0.1, for the tests and the benchmark.

`RedisServer.start()` asks the kernel for a free port, starts the server on it without persistence, and waits
until it answers; a port taken meanwhile by another process is retried with another. `stop()` ends the server
by its PID. `restart()` stops it and starts a new, empty server on the same port (a broker restart).
"""

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server process; `url` once started."""

    def __init__(self, workdir: Path, host: str = "127.0.0.1", binary: str | None = None):
        self.workdir, self.host = Path(workdir), host
        self.binary = binary or shutil.which("redis-server")
        if self.binary is None:
            raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _spawn(self, port: int) -> bool:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"redis-{port}.log", "ab")  # noqa: SIM115 - the server owns it until it exits
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(port), "--bind", self.host, "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # the port was taken: another try
            try:
                with socket.create_connection((self.host, port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        self.port = port
                        return True
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on {self.host}:{port}")

    def start(self, port: int | None = None, attempts: int = 5) -> "RedisServer":
        """Starts the server (on `port`, else a free one); returns self."""
        for _ in range(attempts):
            if self._spawn(port or free_port(self.host)):
                return self
            if port:
                break
        raise RuntimeError(f"redis-server could not start (see {self.workdir})")

    def stop(self) -> None:
        """Ends the server by its PID (SIGTERM, then SIGKILL) and waits for it."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self) -> None:
        """A new, empty server on the same port (what a broker restart without persistence looks like)."""
        port = self.port
        self.stop()
        self.start(port=port)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
