"""How transactions are sent, pure part: retries with backoff for transient RPC failures, EIP-1559 fee caps.

- `RetryPolicy`: exponential backoff with a cap for transient RPC failures (`transient_error` tells them
  from the rest: connection failures, timeouts, HTTP 429 and 5xx; never a revert).
- `fee_caps`: the EIP-1559 fees to send with under a gas price cap, or None (wait).

`index_vault.chain.tx.TxSender` applies them.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

GWEI = 10**9

T = TypeVar("T")

# --- retries ----------------------------------------------------------------------------------------

# Exception class names (anywhere in the MRO, or in the `__cause__`/`__context__` chain) that mean "the
# RPC did not answer", whichever library raised them: requests, urllib3, web3, Ape, the standard library.
TRANSIENT_NAMES = frozenset(
    {
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "Timeout",
        "TimeoutError",
        "ChunkedEncodingError",
        "ProtocolError",
        "RemoteDisconnected",
        "ProviderNotConnectedError",
        "RPCTimeoutError",
    }
)
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_MESSAGES = ("header not found", "too many requests", "rate limit", "timeout", "temporarily unavailable")


def transient_error(exc: BaseException) -> bool:
    """Whether `exc` is an RPC failure worth retrying: no answer, a timeout, HTTP 429/5xx, a rate limit.

    A revert, a bad argument or any answer the node gave about the call itself is not: retrying cannot
    change it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in TRANSIENT_NAMES for cls in type(current).__mro__):
            return True
        response = getattr(current, "response", None)
        if getattr(response, "status_code", None) in TRANSIENT_HTTP:
            return True
        if type(current).__name__ in ("Web3RPCError", "RPCError", "ProviderError"):
            text = str(current).lower()
            if any(m in text for m in TRANSIENT_MESSAGES):
                return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap: attempt `k` (0-based) that fails waits `min(cap, base * factor**k)`
    seconds before the next; after `attempts` tries the last error is raised."""

    attempts: int = 6
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("attempts >= 1, base_delay >= 0, factor >= 1, max_delay >= 0")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the failed attempt number `attempt` (0-based)."""
        if attempt < 0:
            raise ValueError("attempt must be non-negative")
        # compare in the log domain first: factor**attempt overflows a float long before the cap matters
        if self.base_delay == 0:
            return 0.0
        value = self.base_delay
        for _ in range(attempt):
            value *= self.factor
            if value >= self.max_delay:
                return self.max_delay
        return min(value, self.max_delay)

    def delays(self) -> Iterator[float]:
        """The waits between tries: `attempts - 1` of them."""
        return (self.delay(k) for k in range(self.attempts - 1))

    def run(
        self,
        fn: Callable[[], T],
        *,
        sleep: Callable[[float], None] = time.sleep,
        is_transient: Callable[[BaseException], bool] = transient_error,
        on_retry: Callable[[int, float, BaseException], None] | None = None,
    ) -> T:
        """Calls `fn` until it returns, retrying transient errors with backoff; other errors pass at once.

        `on_retry(attempt, delay, error)` is told of each retry before its wait.
        """
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as exc:
                if not is_transient(exc) or attempt == self.attempts - 1:
                    raise
                wait = self.delay(attempt)
                if on_retry is not None:
                    on_retry(attempt + 1, wait, exc)
                sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


# --- gas ---------------------------------------------------------------------------------------------


def fee_caps(base_fee: int, priority_fee: int, max_gas_price: int | None) -> tuple[int, int] | None:
    """(max_fee_per_gas, max_priority_fee_per_gas) for a transaction sent now, or None when even the next
    block's price (base fee + tip) is above the cap: then the keeper waits instead of sending.

    Without a cap, max fee is twice the base fee plus the tip (six full blocks of headroom). With one,
    the max fee never exceeds it, so the keeper never pays more than the cap per gas.
    """
    if base_fee < 0 or priority_fee < 0:
        raise ValueError("fees are non-negative")
    if max_gas_price is not None and base_fee + priority_fee > max_gas_price:
        return None
    max_fee = 2 * base_fee + priority_fee
    if max_gas_price is not None:
        max_fee = min(max_fee, max_gas_price)
    return max_fee, priority_fee
