"""The dashboard's backend on a chain: the server's `Backend` over a node's JSON-RPC endpoint."""

from ape import project
from eth_utils import is_address, to_checksum_address

from index_vault.chain.contracts import ERC20_ABI, abi_of
from index_vault.dashboard.chain.actions import ActionError, prepare, replay
from index_vault.dashboard.chain.history import read_history
from index_vault.dashboard.chain.reads import Sources, VaultReader
from index_vault.dashboard.chain.rpc import Abi, Rpc, RpcError
from index_vault.dashboard.chain.zap_actions import ZAP_ACTIONS, prepare_zap
from index_vault.dashboard.model import build_view
from index_vault.dashboard.server import UserError

PAGE = 100  # VaultFactory.MAX_PAGE


class ChainBackend:
    """Reads for the page through `rpc`: the manifest's vaults (`known`, symbol -> address) and the factory's."""

    def __init__(self, rpc: Rpc, known: dict[str, str], sources: Sources, factory: str | None = None):
        self.rpc, self.sources, self.factory = rpc, sources, factory
        self.known = {s: to_checksum_address(a) for s, a in known.items()}
        self.readers: dict[str, VaultReader] = {}

    def reader(self, vault: str) -> VaultReader:
        if not is_address(vault):
            raise UserError(f"{vault!r} is not an address")
        address = to_checksum_address(vault)
        if address not in self.readers:
            self.readers[address] = VaultReader(self.rpc, address, self.sources)
        return self.readers[address]

    def vaults(self) -> list[dict]:
        """The manifest's vaults, then the factory's registry (first `PAGE`), each once."""
        listed = [{"address": a, "symbol": s, "source": "manifest"} for s, a in self.known.items()]
        if self.factory:
            factory = Abi(abi_of(project.VaultFactory.contract_type))
            (count,) = self.rpc.calls_at([factory.call(self.factory, "vault_count")])
            if count:
                (page,) = self.rpc.calls_at([factory.call(self.factory, "vaults_page", 0, min(count, PAGE))])
                symbols = self.rpc.calls_at([Abi(ERC20_ABI).call(a, "symbol") for a in page])
                seen = {v["address"] for v in listed}
                listed += [
                    {"address": to_checksum_address(a), "symbol": s, "source": "factory"}
                    for a, s in zip(page, symbols, strict=True)
                    if to_checksum_address(a) not in seen
                ]
        return listed

    def view(self, vault: str, account: str | None) -> dict:
        if account and not is_address(account):
            raise UserError(f"{account!r} is not an address")
        return build_view(self.reader(vault).read_view(account))

    def history(self, vault: str, days: int) -> dict:
        return read_history(self.reader(vault), days)

    def prepare(self, vault: str, body: dict) -> dict:
        try:
            if body.get("action") in ZAP_ACTIONS:
                return prepare_zap(self.reader(vault), body)
            return prepare(self.reader(vault), body)
        except ActionError as exc:
            raise UserError(str(exc)) from exc

    def replay(self, vault: str, tx_hash: str) -> dict:
        return {"reason": replay(self.reader(vault), tx_hash)}

    def stats(self) -> dict:
        return {"calls": self.rpc.calls, "round_trips": self.rpc.round_trips}


def error_words(exc: BaseException) -> str | None:
    """A chain error in words for the page (a revert's reason), or None."""
    if isinstance(exc, RpcError):
        return f"the chain refuses it: {exc.reason}" if exc.reason else f"the node answered: {exc}"
    return None
