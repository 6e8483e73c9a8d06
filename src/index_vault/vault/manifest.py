"""Deployment manifests: where a network's vaults and tokens live.

Live networks write `deployments/<ecosystem>-<network>.json` (commit it); local chains, which
vanish with their process, write under `.cache/deployments/` keyed by chain id, and remember
their genesis block so that a manifest of a chain that is gone is never trusted.
`INDEX_VAULT_DEPLOYMENTS` moves both folders (the tests use it).
"""

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index_vault.common.artifacts import project_root

LOCAL_NETWORKS = {"local"}


@dataclass
class Deployment:
    """What `ape run deploy` left on one network."""

    network: str
    chain_id: int
    vaults: dict[str, str] = field(default_factory=dict)  # symbol -> address
    oracles: dict[str, str] = field(default_factory=dict)  # vault symbol -> its OracleRouter
    nav_feeds: dict[str, str] = field(default_factory=dict)  # vault symbol -> its NavFeed
    rebalancers: dict[str, str] = field(default_factory=dict)  # vault symbol -> its Rebalancer
    adapters: dict[str, str] = field(default_factory=dict)  # DEX name ("uniswap-v3", ...) -> adapter address
    quoters: dict[str, str] = field(default_factory=dict)  # DEX name -> its quoter ("uniswap-v3": QuoterV2)
    tokens: dict[str, str] = field(default_factory=dict)  # symbol -> address (test tokens on local chains)
    genesis: str | None = None  # hash of block 0, to tell one local chain from the next
    records: dict[str, dict] = field(default_factory=dict)  # "<symbol>:<contract>" -> how it was deployed
    factory: str | None = None  # the VaultFactory of `ape run factory` (absent from older manifests)
    governor: str | None = None  # the Governor of `ape run governance deploy` (absent from older manifests)
    # the secondary market of `ape run arbitrage setup` (absent from older manifests)
    zaps: dict[str, str] = field(default_factory=dict)  # vault symbol -> the Zap its holders and arbitrage use
    index_pools: dict[str, str] = field(default_factory=dict)  # vault symbol -> its index token's V3 pool
    arbitrage: str | None = None  # the IndexArbitrage contract (one a chain, for every vault)
    uniswap: dict[str, str] = field(default_factory=dict)  # a local market's Uniswap V3 (factory, position_manager...)


def deployment_record(address: str, tx_hash: str | None, block: int | None, args: list) -> dict:
    """What a manifest keeps about one deployed contract: enough to verify and to reproduce it."""
    return {
        "address": address,
        "tx_hash": tx_hash,
        "block": block,
        "args": [
            a if isinstance(a, int | str | bool) else [str(x) for x in a] if isinstance(a, list) else str(a)
            for a in args
        ],
        "commit": current_commit(),
    }


def _jsonable(value: object) -> object:
    """Constructor arguments as JSON: numbers, strings and booleans as they are, lists element-wise,
    anything else (addresses, contract instances) as its string form."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def current_commit() -> str | None:
    """The git commit of the project checkout, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def manifest_path(ecosystem: str, network: str, chain_id: int, root: Path | None = None) -> Path:
    """Where the manifest of a network lives."""
    if env := os.environ.get("INDEX_VAULT_DEPLOYMENTS"):
        base = Path(env)
        local_base = base / "local"
    else:
        root = root or project_root()
        base, local_base = root / "deployments", root / ".cache" / "deployments"
    if network in LOCAL_NETWORKS or network.endswith("-fork"):
        return local_base / f"{ecosystem}-{network}-{chain_id}.json"
    return base / f"{ecosystem}-{network}.json"


def read_manifest(path: Path) -> Deployment | None:
    """The manifest at `path`, or None when there is none."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Deployment(**data)


def write_manifest(path: Path, deployment: Deployment) -> None:
    """Writes the manifest atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
