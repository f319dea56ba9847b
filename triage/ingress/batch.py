"""Group commit: messages that finish DATA while a commit is running share the next one.

Each message is still answered ``250`` only after the transaction holding it has committed
(ingress.md §4); what changes is that one commit (one fsync of SQLite's WAL, one round trip and
WAL flush on PostgreSQL) covers every message that arrived meanwhile, as Postfix's cleanup
processes fsync their queue files in parallel. Nothing waits on a timer: at low load each
batch holds one message and costs what a single insert did; under load, batches grow by
themselves. Writers run in threads (the event loop keeps serving): one at a time on SQLite
(one writer anyway), a few at once on PostgreSQL, where concurrent commits overlap.
A batch holds at most ``max_messages`` messages and ``max_bytes`` of mail (at least one), so a
few large spooled messages are read back into memory at a time, not all of them.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Final, Protocol

from triage.ingress.store import NewInbound

MAX_MESSAGES: Final = 64
MAX_BYTES: Final = 8 * 1024 * 1024


class BatchStore(Protocol):
    def insert_many(self, messages: list[NewInbound]) -> list[int | Exception]: ...


@dataclass
class _Pending:
    message: NewInbound
    size: int
    done: asyncio.Future[int]


def _retrieve(future: asyncio.Future[int]) -> None:
    if not future.cancelled():
        future.exception()


class BatchWriter:
    """``await writer.store(message)``: the row id once committed, or the error raised."""

    def __init__(
        self,
        store: BatchStore,
        *,
        writers: int = 1,
        max_messages: int = MAX_MESSAGES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._store = store
        self._writers = writers
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._queue: collections.deque[_Pending] = collections.deque()
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # for tests and the bench: how many transactions were used

    async def store(self, message: NewInbound, size: int) -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(message, size, done))
        if len(self._running) < self._writers:
            task = asyncio.create_task(self._drain(), name="ingress-group-commit")
            self._running.add(task)
        try:
            return await asyncio.shield(done)  # a client that goes away does not cancel the others
        except asyncio.CancelledError:
            done.add_done_callback(_retrieve)  # its outcome is nobody's now: no "never retrieved"
            raise

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            # Leave the running set in the same step as the last look at the queue. A done
            # callback would run a step later: a message queued in between would find this
            # writer still counted, start none, and wait for its session's timeout (421).
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)

    async def _drain_queue(self) -> None:
        while self._queue:
            batch = self._take()
            try:
                results = await asyncio.to_thread(self._store.insert_many, [each.message for each in batch])
            except Exception as error:  # insert_many reports per message; this is a safety net
                results = [error] * len(batch)
            self.batches += 1
            for pending, result in zip(batch, results, strict=True):
                if pending.done.done():
                    continue
                if isinstance(result, Exception):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)

    def _take(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        total = batch[0].size
        while (
            self._queue and len(batch) < self._max_messages and total + self._queue[0].size <= self._max_bytes
        ):
            pending = self._queue.popleft()
            total += pending.size
            batch.append(pending)
        return batch
