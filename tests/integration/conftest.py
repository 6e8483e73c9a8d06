"""Fixtures for the Ape integration tests: the scripts run as a user runs them, against the
anvil that `ape test` started (reached through `APE_FOUNDRY_HOST`)."""

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from ape import networks
from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "specs" / "demo-top5.yaml"
NETWORK = "ethereum:local:foundry"


@pytest.fixture(scope="session")
def deployments_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="session")
def run_script(deployments_dir) -> Callable:
    """Runs `ape run <args> --network ethereum:local:foundry` (or `network`) on this session's chain; a
    variable given as None in `env` is unset."""

    def run(*args: str, input: str | None = None, env: dict | None = None, check: bool = True, network: str = NETWORK):
        full_env = {
            **os.environ,
            "APE_FOUNDRY_HOST": networks.provider.uri,
            "INDEX_VAULT_DEPLOYMENTS": str(deployments_dir),
            **(env or {}),
        }
        full_env = {name: value for name, value in full_env.items() if value is not None}  # None: unset
        proc = subprocess.run(
            ["ape", "run", *args, "--network", network],
            cwd=ROOT,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"ape run {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def deployed(run_script, deployments_dir) -> dict:
    """The demo basket deployed once by `ape run deploy`; returns the manifest."""
    run_script("deploy", str(DEMO_SPEC))
    (manifest,) = (deployments_dir / "local").glob("*.json")
    return json.loads(manifest.read_text())


@pytest.fixture
def keyfile_account(accounts) -> Callable:
    """Writes an Ape keyfile account (as `ape accounts import` does) and funds it with ether."""
    created: list[Path] = []

    def make(alias: str, passphrase: str):
        account = Account.create()
        folder = Path(os.environ["APE_DATA_FOLDER"]) / "accounts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{alias}.json"
        path.write_text(json.dumps(Account.encrypt(account.key, passphrase)))
        created.append(path)
        accounts[0].transfer(account.address, 10**18)
        return account

    yield make
    for path in created:
        path.unlink(missing_ok=True)
