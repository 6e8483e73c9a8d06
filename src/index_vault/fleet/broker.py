"""taskiq-redis's list-queue broker and result backend, riding out a Redis restart.

Silverback's client dies when kicking a task or polling a result raises (the error ends its task group), and a
worker's receiver dies when its queue read raises a Redis error taskiq-redis does not catch. These subclasses wait
and try again instead, with backoff up to `retry_max_delay` seconds, logging each failure once per outage; so a
broker restart costs the rounds queued in it (the next block dispatches them again) and nothing else.

A result the restart lost would be polled for ever: after `lost_after` seconds of not being ready it is reported
ready, as `{"result_lost": 1}` (a metric, not an error, so the client does not count it towards its halt).

Configure silverback with them:

    SILVERBACK_BROKER_CLASS=index_vault.fleet.broker:FleetBroker
    SILVERBACK_BROKER_KWARGS='{"url": "redis://HOST:6379/0", "queue_name": "fleet-mainnet"}'
    SILVERBACK_RESULT_BACKEND_CLASS=index_vault.fleet.broker:FleetResultBackend
    SILVERBACK_RESULT_BACKEND_KWARGS='{"redis_url": "redis://HOST:6379/0", "result_ex_time": 600}'
"""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq.message import BrokerMessage
from taskiq.result import TaskiqResult
from taskiq_redis import ListQueueBroker, RedisAsyncResultBackend

logger = logging.getLogger("index_vault.fleet.broker")
T = TypeVar("T")
DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


async def retrying(what: str, fn: Callable[[], Awaitable[T]], max_delay: float, give_up: float | None = None) -> T:
    """`await fn()` until it does not raise a connection error, backing off to `max_delay`; raises the last
    error after `give_up` seconds (never, by default)."""
    delay, start, told = 0.1, time.monotonic(), False
    while True:
        try:
            result = await fn()
        except DOWN as exc:
            if give_up is not None and time.monotonic() - start > give_up:
                raise
            if not told:
                logger.warning("Redis unreachable (%s: %s): retrying", what, exc)
                told = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if told:
            logger.warning("Redis reachable again (%s) after %.1f s", what, time.monotonic() - start)
        return result


class FleetBroker(ListQueueBroker):
    """`ListQueueBroker` whose kicks and queue reads wait for Redis to come back."""

    def __init__(self, url: str, *, retry_max_delay: float = 5.0, **kwargs: Any):
        super().__init__(url, **kwargs)
        self.retry_max_delay = retry_max_delay

    async def kick(self, message: BrokerMessage) -> None:
        parent = super()
        await retrying("kick", lambda: parent.kick(message), self.retry_max_delay)

    async def listen(self) -> AsyncGenerator[bytes, None]:
        delay = 0.1
        while True:
            try:
                async for message in super().listen():
                    delay = 0.1
                    yield message
            except DOWN as exc:
                logger.warning("Redis unreachable (listen: %s): retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_delay)


class FleetResultBackend(RedisAsyncResultBackend):
    """`RedisAsyncResultBackend` that waits for Redis to come back, and gives up on a result lost with it."""

    def __init__(self, redis_url: str, *, retry_max_delay: float = 5.0, lost_after: float = 300.0, **kwargs: Any):
        super().__init__(redis_url, **kwargs)
        self.retry_max_delay, self.lost_after = retry_max_delay, lost_after
        self._asked: dict[str, float] = {}  # task id -> when first polled

    async def set_result(self, task_id: str, result: TaskiqResult) -> None:
        parent = super()
        await retrying("set result", lambda: parent.set_result(task_id, result), self.retry_max_delay, give_up=60)

    async def is_result_ready(self, task_id: str) -> bool:
        parent = super()
        ready = await retrying("result ready", lambda: parent.is_result_ready(task_id), self.retry_max_delay)
        first = self._asked.setdefault(task_id, time.monotonic())
        return ready or time.monotonic() - first > self.lost_after

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult:
        self._asked.pop(task_id, None)
        parent = super()
        if not await retrying("result ready", lambda: parent.is_result_ready(task_id), self.retry_max_delay):
            logger.warning("the result of task %s was lost (a broker restart?)", task_id)
            return TaskiqResult(is_err=False, return_value={"result_lost": 1}, execution_time=0.0, log=None)
        return await retrying("get result", lambda: parent.get_result(task_id, with_logs), self.retry_max_delay)
