"""Sending transactions from one account: nonces, a gas price cap, rebroadcast, receipts, restart safety.

`TxSender` is what the keeper, the auction filler and the market mover send through. Every RPC goes through
plain web3, retried with backoff on transient failures (`index_vault.common.sending.RetryPolicy`): a revert
comes back at once as `ContractLogicError` with its reason, never through Ape's enriched errors (which trace
the whole call tree of oracle-heavy calls and take a minute). `send`:

1. takes the next nonce only while nothing of the account is in flight (`eth_getTransactionCount` "pending"
   above "latest" ends in `Wait`), so a bot killed between send and receipt and restarted never sends a
   second transaction while its first may still land;
2. estimates the gas and refuses to send above the gas price cap (`Wait`);
3. signs, asks `before_broadcast(what)` (a fleet worker's lease fence: it raises `Wait` once the worker may no
   longer send for this account), and broadcasts the signed bytes, retrying a transport error with the very same
   bytes (so it lands at most once: "already known" and a "nonce too low" for this very transaction count as sent);
4. polls for the receipt until `receipt_timeout`, then ends in `Wait` (the next call sees it in flight).

`LocalSender` is the fast path of local chains (the market mover): the trader's key signs locally at a fixed
gas limit and price, nonces are counted here, and the node is asked through raw JSON-RPC (one
`eth_sendRawTransaction` and one receipt read a transaction).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ape import networks
from ape.api import AccountAPI
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from index_vault.common.sending import GWEI, RetryPolicy, fee_caps


class SignerError(RuntimeError):
    """The account did not sign: nothing can be sent."""


class Reverted(Exception):  # noqa: N818 - what happened, not an error of the sender
    """A simulated call that would revert, with the contract's reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Wait(Exception):  # noqa: N818 - control flow: the caller waits and reads the chain again
    """Nothing is sent now, and why: `kind` is "pending", "gas", "nonce" or "receipt" here."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def revert_reason(exc: ContractLogicError) -> str:
    text = str(exc.message or exc)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted") or "reverted (no reason)"


def hex_str(value: Any) -> str:
    """A hash as 0x-prefixed hex, whether bytes or text."""
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(frozen=True)
class GasPolicy:
    """How a `TxSender` prices and waits: gas prices in wei, times in seconds."""

    max_gas_price: int | None = None  # refuse to send above this (wait instead)
    priority_fee: int | None = None  # None: the node's eth_maxPriorityFeePerGas
    gas_multiplier: float = 1.25  # gas limit over the estimate
    receipt_timeout: float = 180.0  # then `Wait`: the next send sees the transaction in flight
    poll_interval: float = 1.0


def _nothing(*_args: Any, **_fields: Any) -> None:
    return None


class TxSender:
    """Transactions of one account through plain web3 (see the module doc).

    `log(kind, **fields)` is told of retries and of every broadcast; `on_retry()`, `on_sent(what)` and
    `on_receipt(gas_used, gas_price)` let a caller count them; `before_broadcast(what)` may veto a broadcast by
    raising (`Wait`). `sleep` and `clock` are injectable for tests.
    """

    def __init__(
        self,
        account: AccountAPI,
        *,
        web3=None,
        gas: GasPolicy | None = None,
        retry: RetryPolicy | None = None,
        log: Callable[..., Any] = _nothing,
        on_retry: Callable[[], None] = _nothing,
        on_sent: Callable[[str], None] = _nothing,
        on_receipt: Callable[[int, int], None] = _nothing,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.account = account
        self.address = to_checksum_address(account.address)
        self.w3 = web3 or networks.provider.web3
        self.gas = gas or GasPolicy()
        self.retry = retry or RetryPolicy()
        self.log, self.on_retry, self.on_sent, self.on_receipt = log, on_retry, on_sent, on_receipt
        self.before_broadcast: Callable[[str], None] = _nothing
        self.sleep, self.clock = sleep, clock

    # --- reading -----------------------------------------------------------------------------------------

    def read(self, fn: Callable[[], Any], what: str = "read") -> Any:
        """`fn()` retried with backoff on transient RPC errors."""

        def on_retry(attempt: int, delay: float, exc: BaseException) -> None:
            self.on_retry()
            self.log("retry", what=what, attempt=attempt, delay=round(delay, 3), error=short_error(exc))

        return self.retry.run(fn, sleep=self.sleep, on_retry=on_retry)

    def call(self, fn, block: int | str = "latest") -> Any:
        """A contract view at `block`, retried."""
        return self.read(lambda: fn.call(block_identifier=block), fn.fn_name)

    def head(self) -> dict:
        return self.read(lambda: self.w3.eth.get_block("latest"), "block")

    def nonces(self) -> tuple[int, int]:
        """The account's (latest, pending) transaction counts."""
        latest = self.read(lambda: self.w3.eth.get_transaction_count(self.address, "latest"), "nonce")
        pending = self.read(lambda: self.w3.eth.get_transaction_count(self.address, "pending"), "nonce")
        return latest, pending

    def next_nonce(self) -> int:
        """The next nonce; `Wait` while transactions of the account are in flight."""
        latest, pending = self.nonces()
        if pending > latest:
            raise Wait(
                "pending",
                f"{pending - latest} transaction(s) of {self.address} in flight (nonce {latest}..{pending - 1}): "
                "waiting for them to be mined before planning again",
            )
        return latest

    def priority_fee(self) -> int:
        if self.gas.priority_fee is not None:
            return self.gas.priority_fee
        return self.read(lambda: self.w3.eth.max_priority_fee, "priority fee")

    # --- sending -----------------------------------------------------------------------------------------

    def tx(self, contract, fn_name: str, args: Sequence) -> dict:
        """A call of `contract.fn_name(*args)` from this account, as a transaction dict."""
        return {"from": self.address, "to": contract.address, "data": contract.encode_abi(fn_name, args=list(args))}

    def simulate(self, tx: dict) -> bytes:
        """A plain eth_call of `tx` at the latest block; raises `Reverted` with the reason."""
        try:
            return self.read(lambda: self.w3.eth.call(tx, "latest"), "simulate")
        except ContractLogicError as exc:
            raise Reverted(revert_reason(exc)) from None

    def send(self, tx: dict, what: str, value: int = 0, **fields: Any) -> dict:
        """Signs, broadcasts and waits for the receipt of `tx` (see the module doc); returns the receipt."""
        nonce = self.next_nonce()
        gas_limit, max_fee, tip = self.gas_terms(tx)
        raw = self.sign(tx, nonce, gas_limit, max_fee, tip, value, what)
        tx_hash = "0x" + keccak(raw).hex()
        self.before_broadcast(what)
        self.broadcast(raw, tx_hash, nonce)
        self.on_sent(what)
        self.log("sent", what=what, tx=tx_hash, nonce=nonce, gas_limit=gas_limit, max_fee_gwei=max_fee / GWEI, **fields)
        receipt = self.await_receipt(tx_hash, nonce)
        self.on_receipt(receipt["gasUsed"], receipt.get("effectiveGasPrice", max_fee))
        return receipt

    def gas_terms(self, tx: dict) -> tuple[int, int, int]:
        """(gas limit, max fee, tip): the estimate with headroom under the block's limit, fees under the cap."""
        try:
            estimate = self.read(lambda: self.w3.eth.estimate_gas(tx, "latest"), "estimate gas")
        except ContractLogicError as exc:
            raise Reverted(revert_reason(exc)) from None
        head = self.head()
        base_fee, tip = head.get("baseFeePerGas", 0) or 0, self.priority_fee()
        caps = fee_caps(base_fee, tip, self.gas.max_gas_price)
        if caps is None:
            raise Wait(
                "gas",
                f"gas price {(base_fee + tip) / GWEI:.3f} gwei above the cap {self.gas.max_gas_price / GWEI:.3f} gwei",
            )
        max_fee, tip = caps
        return min(int(estimate * self.gas.gas_multiplier), head["gasLimit"]), max_fee, tip

    def sign(self, tx: dict, nonce: int, gas_limit: int, max_fee: int, tip: int, value: int, what: str) -> bytes:
        """The signed EIP-1559 transaction's bytes (the account signs: a keystore, a hardware wallet...)."""
        txn = networks.provider.network.ecosystem.create_transaction(
            chain_id=self.read(lambda: self.w3.eth.chain_id, "chain id"),
            receiver=tx["to"],
            data=tx["data"],
            value=value,
            gas_limit=gas_limit,
            max_fee=max_fee,
            max_priority_fee=tip,
            nonce=nonce,
            type=2,
            sender=self.address,
        )
        signed = self.account.sign_transaction(txn)
        if signed is None:
            raise SignerError(f"{self.address} did not sign the {what}")
        return bytes(signed.serialize_transaction())

    def push(self, raw: bytes) -> None:
        """One eth_sendRawTransaction."""
        self.w3.eth.send_raw_transaction(raw)

    def broadcast(self, raw: bytes, tx_hash: str, nonce: int) -> None:
        """Sends the signed bytes; a retry after a transport error resends the same bytes (lands at most once)."""

        def push() -> None:
            try:
                self.push(raw)
            except Web3RPCError as exc:
                text = str(exc).lower()
                if "already known" in text or "already imported" in text:
                    return  # an earlier try reached the node
                if "replacement transaction underpriced" in text or "replacement fee too low" in text:
                    raise Wait("nonce", f"another transaction with nonce {nonce} is in flight: re-reading") from None
                if "nonce too low" in text:
                    if self.known(tx_hash):
                        return
                    raise Wait("nonce", f"nonce {nonce} was taken by another transaction: re-reading") from None
                raise

        self.read(push, "broadcast")

    def known(self, tx_hash: str) -> bool:
        try:
            self.read(lambda: self.w3.eth.get_transaction(tx_hash), "transaction")
        except TransactionNotFound:
            return False
        return True

    def receipt(self, tx_hash: str) -> dict | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def await_receipt(self, tx_hash: str, nonce: int) -> dict:
        """Polls for the receipt until `receipt_timeout`; then `Wait` (the next send sees the transaction in
        flight and waits for it, never sending another)."""
        deadline = self.clock() + self.gas.receipt_timeout
        wait = min(0.05, self.gas.poll_interval)  # a fast chain mines at once: look again soon, then back off
        while True:
            receipt = self.read(lambda: self.receipt(tx_hash), "receipt")
            if receipt is not None:
                return receipt
            if self.clock() >= deadline:
                latest, _ = self.nonces()
                if latest > nonce and not self.known(tx_hash):
                    raise Wait("nonce", f"nonce {nonce} was used by another transaction; {tx_hash} dropped")
                raise Wait(
                    "receipt", f"{tx_hash} not mined after {self.gas.receipt_timeout:g} s (full blocks or a low fee)"
                )
            self.sleep(wait)
            wait = min(wait * 2, self.gas.poll_interval)


class LocalSender(TxSender):
    """The fast path on a local chain (see the module doc): `sync()` before a batch, then `send` many.

    Receipts are the node's raw JSON (hex strings); a reverted one raises `RuntimeError` with the reason.
    """

    GAS_LIMIT = 1_000_000  # every transaction of the market mover needs far less; the node charges what is used

    def __init__(self, account: AccountAPI, *, web3=None, gas_limit: int = GAS_LIMIT):
        super().__init__(account, web3=web3, gas=GasPolicy(receipt_timeout=600.0, poll_interval=0.01))
        self.key = account.private_key
        self.chain_id = self.w3.eth.chain_id
        self.gas_limit = gas_limit
        self.nonce = 0
        self.gas_price = 0

    def rpc(self, method: str, params: list):
        """One JSON-RPC request, straight to the node (no web3 middleware: a third of the round trips)."""
        response = self.w3.provider.make_request(method, params)
        if "error" in response:
            raise Web3RPCError(f"{method}: {response['error']}")
        return response["result"]

    def sync(self) -> None:
        """Reads the account's pending nonce (others may have sent) and prices gas at twice the node's."""
        self.gas_price = 2 * int(self.rpc("eth_gasPrice", []), 16) + 1
        self.nonce = int(self.rpc("eth_getTransactionCount", [self.address, "pending"]), 16)

    def next_nonce(self) -> int:
        return self.nonce

    def gas_terms(self, tx: dict) -> tuple[int, int, int]:
        return self.gas_limit, self.gas_price, 0

    def sign(self, tx: dict, nonce: int, gas_limit: int, max_fee: int, tip: int, value: int, what: str) -> bytes:
        legacy = {"to": tx["to"], "data": tx["data"], "nonce": nonce, "gas": gas_limit, "gasPrice": max_fee}
        signed = self.w3.eth.account.sign_transaction({**legacy, "chainId": self.chain_id, "value": value}, self.key)
        return bytes(signed.raw_transaction)

    def push(self, raw: bytes) -> None:
        self.rpc("eth_sendRawTransaction", ["0x" + raw.hex()])

    def receipt(self, tx_hash: str) -> dict | None:
        return self.rpc("eth_getTransactionReceipt", [tx_hash])

    def send(self, tx: dict, what: str, value: int = 0, **fields: Any) -> dict:
        receipt = super().send(tx, what, value, **fields)
        self.nonce += 1
        if int(receipt["status"], 16) != 1:
            block = int(receipt["blockNumber"], 16)
            raise RuntimeError(f"{what} reverted (tx {receipt['transactionHash']}): {self.reason(tx, value, block)}")
        return receipt

    def reason(self, tx: dict, value: int, block: int) -> str:
        """Why `tx` reverted: the same call replayed on the state before its block."""
        call = {"from": self.address, "to": tx["to"], "data": tx["data"], "value": hex(value)}
        response = self.w3.provider.make_request("eth_call", [call, hex(block - 1)])
        error = response.get("error") or {}
        return str(error.get("message") or "no reason given")
