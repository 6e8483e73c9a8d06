"""Helpers shared by the Ape scripts: the command class, accounts, one confirmation, addresses, manifests.

- `ScriptCommand` is every script's command: Ape's connected command, quiet unless `-v` is given (a plan,
  progress and a result, not Ape's per-transaction log), saying when the chain is a new one Ape started, and
  ending in one line that says what is wrong (never a traceback) for the errors a user can cause.
- `authorize` asks once per command, with its plan shown, and then lets the account sign that command's
  transactions; `--yes` means unattended.
"""

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from ape import accounts, chain, networks, project
from ape.api import AccountAPI
from ape.cli import ConnectedProviderCommand
from ape.exceptions import ApeException, ConfigError, ContractLogicError, ContractNotFoundError
from ape.logging import LogLevel, logger
from ape_ethereum.trace import Trace
from click.core import ParameterSource
from eth_utils import function_signature_to_4byte_selector, is_checksum_address, is_hex_address, to_checksum_address
from web3.exceptions import ContractLogicError as Web3ContractLogicError

from index_vault.chain.tx import revert_reason
from index_vault.vault.manifest import Deployment, manifest_path, read_manifest, write_manifest


class _AskedFor(logging.Filter):
    """Drops Ape's per-transaction warning that an unlocked keyfile signs: `authorize` unlocked it on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Using cached key for")


def _no_trace(self, *args, **kwargs) -> None:
    return None


class ScriptCommand(ConnectedProviderCommand):
    """A connected Ape command for people (see the module doc)."""

    def invoke(self, ctx: click.Context):
        verbose = ctx.get_parameter_source("verbosity") not in (None, ParameterSource.DEFAULT)
        if not verbose:
            logger.set_level(LogLevel.WARNING)
            logger._logger.addFilter(_AskedFor())
            # Ape's foundry provider prints the call tree of every reverted call, even one the command
            # expects and words itself (a stale price in `vault status`); `-v` keeps the trees.
            Trace.show = _no_trace
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:
            message = user_message(exc)
            if message is None or verbose:
                raise
            raise click.ClickException(message) from None

    def _invoke(self, ctx: click.Context, provider=None):
        if provider is not None:
            warn_new_chain(provider)
        if not project.manifest_path.is_file():
            click.echo("compiling the contracts (the first run of a checkout takes about a minute)...", err=True)
            project.load_contracts()
        return super()._invoke(ctx, provider=provider)


def user_message(exc: BaseException) -> str | None:
    """One line for an error a user caused (a revert, an address, a network's settings), or None (a bug)."""
    if isinstance(exc, ContractLogicError):
        return f"the chain refuses it: {revert_reason(exc)}"
    if isinstance(exc, ContractNotFoundError):
        return f"{exc}: check the address and the network (--network)"
    if isinstance(exc, ConfigError) and "${" in str(exc):
        variable = str(exc).split("${", 1)[1].split("}", 1)[0]
        return f"this network's RPC URL comes from ${variable}, which is not set: export {variable}=https://..."
    if isinstance(exc, ValueError) and "Unknown address value" in str(exc):
        return f"{exc} An address is 0x and 40 hex digits."
    if isinstance(exc, ApeException):
        return f"{type(exc).__name__}: {exc}"
    return None


def would_revert(contract, method: str, *args, sender: AccountAPI) -> str | None:
    """The reason `contract.method(*args)` sent by `sender` would revert now, or None when it would not
    (a plain eth_call: Ape's own simulation prints the call's trace)."""
    data = getattr(contract, method).encode_input(*args)
    try:
        chain.provider.web3.eth.call({"from": sender.address, "to": contract.address, "data": data})
    except Web3ContractLogicError as exc:
        return revert_reason(exc)
    return None


def warn_new_chain(provider) -> None:
    """Says so when `APE_FOUNDRY_HOST` names a node that did not answer and Ape started a new chain there."""
    host = os.environ.get("APE_FOUNDRY_HOST")
    if host and getattr(provider, "process", None) is not None:
        click.echo(
            f"warning: nothing answered at APE_FOUNDRY_HOST={host}, so this is a NEW, empty local chain "
            f"(chain {chain.chain_id}) that ends with this command; is the port right?",
            err=True,
        )


def is_local() -> bool:
    """Whether the connected network is a throw-away local chain (or a fork of one)."""
    network = networks.provider.network
    return network.is_local or network.name.endswith("-fork")


def network_label() -> str:
    """The connected network, for people: `ethereum:sepolia (chain 11155111)`."""
    network = networks.provider.network
    return f"{network.ecosystem.name}:{network.name} (chain {chain.chain_id})"


def pick_account(account: AccountAPI | None) -> AccountAPI:
    """The `--account` given; on local chains the first test account by default."""
    if account is not None:
        return account
    if is_local():
        return accounts.test_accounts[0]
    raise click.UsageError("pass --account ALIAS on a live network (see `ape accounts list`)")


def passphrase_variable(account: AccountAPI) -> str | None:
    """The environment variable Ape reads a keyfile account's passphrase from, or None for other accounts."""
    alias = getattr(account, "alias", None)
    return f"APE_ACCOUNTS_{alias}_PASSPHRASE" if alias and hasattr(account, "set_autosign") else None


@contextmanager
def _ape_log_level(level: LogLevel):
    before = logger.level
    logger.set_level(level)
    try:
        yield
    finally:
        logger.set_level(before)


def authorize(account: AccountAPI, action: str, yes: bool) -> AccountAPI:
    """Asks once (the caller has shown the plan) and lets `account` sign this command's transactions.

    Test accounts of local chains sign without asking. A keyfile account is asked once for the whole
    command, not once per transaction, and then signs by itself for the rest of it; with `--yes` nothing is
    asked: its passphrase must be in `APE_ACCOUNTS_<alias>_PASSPHRASE` (a terminal may type it once).
    Elsewhere (a live network) the command is confirmed once unless `--yes`.
    """
    variable = passphrase_variable(account)
    if not yes and (variable or not is_local()):
        if not sys.stdin.isatty():
            raise click.UsageError("nobody to answer (no terminal): pass --yes to send unattended")
        click.confirm(f"{action}: send from {account.address} on {network_label()}?", abort=True)
    if variable:
        secret = os.environ.get(variable) or None
        if secret is None and not sys.stdin.isatty():
            raise click.UsageError(f"to sign unattended, set {variable} to the passphrase of '{account.alias}'")
        with _ape_log_level(LogLevel.ERROR):  # Ape's "will now sign any transaction" warning: this is asked for
            try:
                account.set_autosign(True, passphrase=secret)
            except ApeException as exc:
                raise click.UsageError(f"cannot unlock '{account.alias}': {exc}") from None
    return account


def unattended(account: AccountAPI) -> AccountAPI:
    """`account`, set to sign without asking when `APE_ACCOUNTS_<alias>_PASSPHRASE` holds its passphrase
    (a bot's account: it has no terminal to ask)."""
    variable = passphrase_variable(account)
    if variable and (secret := os.environ.get(variable)):
        with _ape_log_level(LogLevel.ERROR):
            account.set_autosign(True, passphrase=secret)
    return account


def checked_address(value: str, what: str) -> str:
    """`value` as a checksummed address; a clear error for anything else (a typo, a wrong checksum)."""
    text = value.strip()
    if not is_hex_address(text):
        raise click.BadParameter(f"{value!r} is not an address (0x and 40 hex digits)", param_hint=what)
    if text != text.lower() and text[2:] != text[2:].upper() and not is_checksum_address(text):
        raise click.BadParameter(f"{value} fails its EIP-55 checksum: a character is mistyped", param_hint=what)
    return to_checksum_address(text)


def contract_at(container, value: str, what: str, probe: str):
    """The contract of `container` at `value`, after checking it has code there and answers `probe()` (a view
    only that kind of contract has): a token's or an account's address is refused by name."""
    address = checked_address(value, what)
    if not chain.provider.get_code(address):
        raise click.BadParameter(f"no contract at {address} on {network_label()}", param_hint=what)
    name = container.contract_type.name
    selector = "0x" + function_signature_to_4byte_selector(f"{probe}()").hex()
    try:  # a plain eth_call: Ape would print the call's trace when it reverts
        answer = chain.provider.web3.eth.call({"to": address, "data": selector})
    except Exception:  # a revert, or no such function: not that contract
        answer = b""
    if len(answer) < 32:
        article = "an" if name[0] in "AEIOU" else "a"
        raise click.BadParameter(f"{address} is not {article} {name} (it does not answer {probe}())", param_hint=what)
    return container.at(address)


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
        return checked_address(vault, "--vault")
    if vault:
        if vault not in deployment.vaults:
            known = ", ".join(deployment.vaults) or "none"
            raise click.UsageError(f"no vault {vault!r} in {current_manifest_path()} (known: {known})")
        return deployment.vaults[vault]
    if len(deployment.vaults) == 1:
        return next(iter(deployment.vaults.values()))
    if not deployment.vaults:
        raise click.UsageError(
            f"no vault deployed on {network_label()} ({current_manifest_path()}); pass --vault ADDRESS"
        )
    raise click.UsageError(f"several vaults here, pick one with --vault: {', '.join(deployment.vaults)}")


def deployed_block(address: str) -> int:
    """The block `address` was deployed in, where to start reading its events: the manifest's record, else
    what the node says of its creation, else 0 (a local chain, or a node that cannot say)."""
    for record in load_deployment().records.values():
        if str(record.get("address", "")).lower() == address.lower() and record.get("block") is not None:
            return int(record["block"])
    try:
        return chain.contracts.get_creation_metadata(address).block
    except Exception:  # nodes without trace or otterscan APIs cannot say
        return 0


def resolve_governor_address(governor: str | None) -> str:
    """`--governor` as given, else the Governor of this network's manifest."""
    if governor:
        return checked_address(governor, "--governor")
    recorded = load_deployment().governor
    if not recorded:
        raise click.UsageError(
            f"no Governor in {current_manifest_path()}: pass --governor ADDRESS (or `ape run governance deploy`)"
        )
    return recorded
