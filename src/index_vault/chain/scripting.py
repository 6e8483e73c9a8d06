"""Helpers shared by the Ape scripts: accounts, confirmation, manifests."""

import os
from pathlib import Path

import click
from ape import accounts, chain, networks
from ape.api import AccountAPI

from index_vault.vault.manifest import Deployment, manifest_path, read_manifest, write_manifest


def is_local() -> bool:
    """Whether the connected network is a throw-away local chain (or a fork of one)."""
    network = networks.provider.network
    return network.is_local or network.name.endswith("-fork")


def pick_account(account: AccountAPI | None) -> AccountAPI:
    """The `--account` given; on local chains the first test account by default.

    A keyfile account whose passphrase is in `APE_ACCOUNTS_<alias>_PASSPHRASE` is unlocked once
    here (Ape still asks to confirm each transaction); otherwise Ape prompts for the passphrase.
    """
    if account is not None:
        alias = getattr(account, "alias", None)
        if alias and os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE") and hasattr(account, "unlock"):
            account.unlock()
        return account
    if is_local():
        return accounts.test_accounts[0]
    raise click.UsageError("pass --account ALIAS on a live network (see `ape accounts list`)")


def unattended(account: AccountAPI) -> AccountAPI:
    """`account`, set to sign without asking when `APE_ACCOUNTS_<alias>_PASSPHRASE` holds its passphrase."""
    alias = getattr(account, "alias", None)
    if alias and hasattr(account, "set_autosign") and (secret := os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE")):
        account.set_autosign(True, passphrase=secret)
    return account


def confirm_live(action: str, yes: bool) -> None:
    """Asks before sending transactions on a live network, unless `--yes`."""
    if is_local() or yes:
        return
    network = networks.provider.network
    click.confirm(f"{action} on {network.ecosystem.name}:{network.name} (chain {chain.chain_id})?", abort=True)


def current_manifest_path() -> Path:
    """The manifest of the connected network."""
    network = networks.provider.network
    return manifest_path(network.ecosystem.name, network.name, chain.chain_id)


def load_deployment() -> Deployment:
    """The connected network's manifest, or an empty one (also when it belongs to a vanished local chain)."""
    network = networks.provider.network
    genesis = chain.blocks[0].hash.hex() if is_local() else None
    found = read_manifest(current_manifest_path())
    if found and found.genesis == genesis:
        return found
    return Deployment(network=f"{network.ecosystem.name}:{network.name}", chain_id=chain.chain_id, genesis=genesis)


def save_deployment(deployment: Deployment) -> Path:
    """Writes the connected network's manifest; returns its path."""
    path = current_manifest_path()
    write_manifest(path, deployment)
    return path


def resolve_vault_address(vault: str | None) -> str:
    """`--vault` as given (address or symbol in the manifest), else the manifest's only vault."""
    deployment = load_deployment()
    if vault and vault.startswith("0x"):
        return vault
    if vault:
        if vault not in deployment.vaults:
            known = ", ".join(deployment.vaults) or "none"
            raise click.UsageError(f"no vault {vault!r} in {current_manifest_path()} (known: {known})")
        return deployment.vaults[vault]
    if len(deployment.vaults) == 1:
        return next(iter(deployment.vaults.values()))
    if not deployment.vaults:
        raise click.UsageError(f"no vault deployed on this network ({current_manifest_path()}); pass --vault ADDRESS")
    raise click.UsageError(f"several vaults here, pick one with --vault: {', '.join(deployment.vaults)}")
