"""The market chain as an upstream to fork: built once (`ape run market build --dump`), cached, served by anvil.

The state and address book are cached under `.cache/market/v<layout>/<date>_<assets>/`; a missing or incomplete cache
entry is rebuilt into a temporary directory and moved into place, so an interrupted build never leaves a
half-written state behind. Delete the folder to rebuild.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from index_vault.common.anvil import start_anvil

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "market"
STATE, BOOK = "state.json", "address_book.json"
BUILD_SECONDS, START_SECONDS, STOP_SECONDS = 300, 30, 15


# Bumped whenever `build_market` deploys something new, so that an older cached chain is never served.
MARKET_LAYOUT = 2  # 2: Uniswap V2 factory, Router02 and pairs beside the V3 pools


def cache_dir(day: str, assets: list[str]) -> Path:
    """Where the market of `assets` on `day` is cached (per market layout)."""
    return CACHE / f"v{MARKET_LAYOUT}" / f"{day}_{'-'.join(a.upper() for a in assets)}"


def _ape() -> str:
    beside = Path(sys.executable).parent / "ape"
    return str(beside) if beside.is_file() else (shutil.which("ape") or "ape")


def built_market(day: str, assets: list[str]) -> Path:
    """The cache folder holding `state.json` and `address_book.json`, building them first if absent."""
    folder = cache_dir(day, assets)
    if (folder / STATE).is_file() and (folder / BOOK).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".build-") as tmp:
        out = Path(tmp) / "market"
        command = [_ape(), "run", "market", "build", "--date", day, "--assets", ",".join(assets)]
        command += ["--out", str(out), "--dump", str(out / STATE)]
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS, check=False)
        if proc.returncode != 0 or not (out / STATE).is_file():
            raise RuntimeError(f"market build failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        shutil.rmtree(folder, ignore_errors=True)
        out.rename(folder)
    return folder


def start_upstream(state: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Serves a dumped market chain with `anvil --load-state`; returns the process and its RPC URL."""
    proc, port = start_anvil(["--load-state", str(state)], log, timeout=START_SECONDS)
    return proc, f"http://127.0.0.1:{port}"
