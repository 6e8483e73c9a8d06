"""Permissionless index creation through the scripts: deploy a VaultFactory, create the demo index from its spec
file in one transaction, list the registry, and use the vault."""

import json
import re

from ape import accounts
from eth_utils import keccak

from index_vault.vault.spec import load_spec
from tests.integration.conftest import DEMO_SPEC

ADDRESS = r"(0x[0-9a-fA-F]{40})"
ROLES = ["DEFAULT_ADMIN_ROLE", "MANAGER_ROLE", "KEEPER_ROLE", "GUARDIAN_ROLE", "FEE_MANAGER_ROLE"]


def test_factory__deploy_create_list__one_transaction_roles_as_asked_registry_and_manifest(
    run_script, project, tmp_path
):
    own_manifests = {"INDEX_VAULT_DEPLOYMENTS": str(tmp_path)}  # leave the session's manifest alone
    owner, creator, keeper = accounts.test_accounts[0], accounts.test_accounts[1], accounts.test_accounts[2]

    out = run_script("factory", "deploy", "--account", "TEST::0", env=own_manifests).stdout
    factory = project.VaultFactory.at(re.search(rf"factory at {ADDRESS}", out).group(1))
    assert factory.owner() == owner.address and factory.code_version() == 1
    assert factory.vault_code_hash() == keccak(project.IndexVault.contract_type.deployment_bytecode.to_bytes())
    assert "already deployed" in run_script("factory", "deploy", env=own_manifests).stdout

    out = run_script(
        "factory", "create", str(DEMO_SPEC), "--account", "TEST::1", "--keeper", keeper.address, env=own_manifests
    ).stdout
    assert "one transaction: IndexVault, Rebalancer (target weights set), NavFeed" in out
    gas = int(re.search(r"one transaction, ([\d,]+) gas", out).group(1).replace(",", ""))
    print(f"\ncreate_vault through `ape run factory create` (5 constituents, anvil receipt): {gas:,} gas")
    vault = project.IndexVault.at(re.search(rf"vault TOP5 at {ADDRESS}", out).group(1))
    rebalancer = project.Rebalancer.at(factory.rebalancer_of(vault))
    nav_feed = project.NavFeed.at(factory.nav_feed_of(vault))

    spec = load_spec(DEMO_SPEC)
    assert (vault.name(), vault.symbol(), len(vault.assets())) == (spec.name, spec.symbol, len(spec.constituents))
    assert vault.rebalancer() == rebalancer.address and rebalancer.target_weights() == spec.weights
    assert vault.fee_recipient() == creator.address
    assert nav_feed.vault() == vault.address and nav_feed.latestRoundData()[1] > 0
    expected = {"DEFAULT_ADMIN_ROLE": creator, "GUARDIAN_ROLE": creator, "KEEPER_ROLE": keeper}
    for name in ROLES:
        role = getattr(vault, name)()
        for account in (owner.address, creator.address, keeper.address, factory.address):
            holder = expected.get(name)
            assert vault.hasRole(role, account) == (holder is not None and account == holder.address), (name, account)
            assert rebalancer.hasRole(role, account) == (name == "DEFAULT_ADMIN_ROLE" and account == creator.address)

    (manifest_path,) = (tmp_path / "local").glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["factory"] == factory.address
    assert manifest["vaults"]["TOP5"] == vault.address
    assert (manifest["rebalancers"]["TOP5"], manifest["nav_feeds"]["TOP5"]) == (rebalancer.address, nav_feed.address)
    assert manifest["records"]["TOP5:IndexVault"]["factory"] == factory.address
    assert manifest["records"]["TOP5:IndexVault"]["args"][-1] == factory.address  # the factory was the first admin
    assert {"factory:chunk0", "factory:chunk1", "factory:VaultFactory"} <= set(manifest["records"])

    out = run_script("factory", "list", env=own_manifests).stdout
    assert "1 vaults, code version 1" in out
    (row,) = [line for line in out.splitlines() if vault.address in line]
    assert "TOP5" in row and max(len(line) for line in out.splitlines()) <= 100
    out = run_script("factory", "list", "--full", env=own_manifests).stdout
    (row,) = [line for line in out.splitlines() if vault.address in line]
    assert "TOP5" in row and creator.address in row and rebalancer.address in row

    # the vault is an ordinary index: the vault script mints from a funded test account
    assert "minted 2 TOP5" in run_script("vault", "mint", "2", "--account", "TEST::2", env=own_manifests).stdout
    assert vault.balanceOf(keeper) == 2 * 10**18 - vault.LOCKED_SHARES()

    again = run_script("factory", "create", str(DEMO_SPEC), env=own_manifests, check=False)
    assert again.returncode != 0 and "--replace" in again.stdout + again.stderr
