"""The market chain as an upstream to fork: built once (`ape run market build --dump`), cached, served by anvil.

The state and address book are cached under `.cache/market/<date>_<assets>/`; a missing or incomplete cache
entry is rebuilt into a temporary directory and moved into place, so an interrupted build never leaves a
half-written state behind. Delete the folder to rebuild.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "market"
STATE, BOOK = "state.json", "address_book.json"
BUILD_SECONDS, START_SECONDS, STOP_SECONDS = 300, 30, 15


def cache_dir(day: str, assets: list[str]) -> Path:
    """Where the market of `assets` on `day` is cached."""
    return CACHE / f"{day}_{'-'.join(a.upper() for a in assets)}"


def _ape() -> str:
    beside = Path(sys.executable).parent / "ape"
    return str(beside) if beside.is_file() else (shutil.which("ape") or "ape")


def built_market(day: str, assets: list[str]) -> Path:
    """The cache folder holding `state.json` and `address_book.json`, building them first if absent."""
    folder = cache_dir(day, assets)
    if (folder / STATE).is_file() and (folder / BOOK).is_file():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".build-") as tmp:
        out = Path(tmp) / "market"
        command = [_ape(), "run", "market", "build", "--date", day, "--assets", ",".join(assets)]
        command += ["--out", str(out), "--dump", str(out / STATE)]
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS, check=False)
        if proc.returncode != 0 or not (out / STATE).is_file():
            raise RuntimeError(f"market build failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        shutil.rmtree(folder, ignore_errors=True)
        out.rename(folder)
    return folder


def start_anvil(state: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Starts `anvil --load-state STATE --port 0`; returns the process and its RPC URL."""
    with log.open("w") as handle:
        proc = subprocess.Popen(
            ["anvil", "--load-state", str(state), "--port", "0"], stdout=handle, stderr=handle, env=os.environ
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if match := re.search(r"Listening on [\d.]+:(\d+)", log.read_text()):
            return proc, f"http://127.0.0.1:{match.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop_anvil(proc)
    raise RuntimeError(f"anvil did not start:\n{log.read_text()}")


def stop_anvil(proc: subprocess.Popen) -> None:
    """Stops the anvil process `proc` (SIGTERM, then SIGKILL if it hangs)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
