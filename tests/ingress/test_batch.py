"""Group commit: messages waiting together share one transaction; a bad one fails alone."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa
from smtpkit import rows
from sqlalchemy.engine import make_url

from triage.db.engine import make_engine, session_factory
from triage.ingress.batch import BatchWriter
from triage.ingress.store import DatabaseUnavailable, InboundStore, NewInbound


def message(n: int, raw: bytes | None = None) -> NewInbound:
    body = raw if raw is not None else f"Subject: {n}\r\n\r\nbody {n}\r\n".encode()
    return NewInbound(body, f"m{n}@example.jp", ["secure_jo1@example.jp"], "127.0.0.1:25", "h", False)


def unreadable() -> bytes:
    raise OSError("the spool file went away")


def test_messages_waiting_together_share_one_commit(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        writer = BatchWriter(InboundStore(session_factory(engine)))

        async def deliver_all() -> list[int | BaseException]:
            return await asyncio.gather(
                *(writer.store(message(n), 30) for n in range(10)), return_exceptions=True
            )

        ids = asyncio.run(deliver_all())
    finally:
        engine.dispose()
    assert writer.batches == 1
    stored = rows(migrated_db_url)
    assert [row.id for row in stored] == ids
    assert [row.mail_from for row in stored] == [f"m{n}@example.jp" for n in range(10)]


def test_one_bad_message_fails_alone(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        writer = BatchWriter(InboundStore(session_factory(engine)))
        batch = [message(0), NewInbound(unreadable, "bad@example.jp", [], "p", None, False), message(2)]

        async def deliver_all() -> list[int | BaseException]:
            return await asyncio.gather(*(writer.store(each, 30) for each in batch), return_exceptions=True)

        first, failed, third = asyncio.run(deliver_all())
    finally:
        engine.dispose()
    assert isinstance(failed, OSError)
    assert [row.id for row in rows(sqlite_url)] == [first, third]


def test_a_locked_database_fails_the_whole_batch_at_once(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, sqlite_busy_timeout_ms=200)
    path = make_url(sqlite_url).database
    assert path
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        results = InboundStore(session_factory(engine)).insert_many([message(n) for n in range(5)])
    finally:
        blocker.rollback()
        blocker.close()
        engine.dispose()
    assert all(isinstance(result, DatabaseUnavailable) for result in results)
    assert len({id(result) for result in results}) == 1  # one attempt, not five busy timeouts
    assert rows(sqlite_url) == []


def test_a_batch_is_bounded_in_bytes(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        writer = BatchWriter(InboundStore(session_factory(engine)), max_bytes=100)

        async def deliver_all() -> list[int | BaseException]:
            return await asyncio.gather(
                *(writer.store(message(n), 60) for n in range(4)), return_exceptions=True
            )

        asyncio.run(deliver_all())
    finally:
        engine.dispose()
    assert writer.batches == 4  # 60 + 60 > 100: one message per transaction
    with sa.create_engine(sqlite_url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM inbound_messages")).scalar() == 4


@pytest.mark.parametrize("size", [0, 1])
def test_the_in_memory_path_of_the_handler_takes_plain_bytes(size: int) -> None:
    from triage.ingress.handler import _in_memory

    received = _in_memory(b"x" * size or None)
    assert (received.read(), received.on_disk) == (b"x" * size, False)


def test_a_message_arriving_as_the_last_commit_ends_gets_a_writer_of_its_own(sqlite_url: str) -> None:
    """A session finishing DATA in the loop step right after the writer's last commit must not
    be queued behind a writer that has already ended (it waited for its 421 timeout once)."""
    engine = make_engine(sqlite_url)
    real = InboundStore(session_factory(engine))
    late: list[asyncio.Task[int]] = []

    class ThenOneMore:
        """The real store; as its first commit ends, another message arrives just after the
        writer wakes up to hand out the results (two loop steps later)."""

        def __init__(self, loop: asyncio.AbstractEventLoop, writer: list[BatchWriter]) -> None:
            self.loop, self.writer, self.calls = loop, writer, 0

        def insert_many(self, messages: list[NewInbound]) -> list[int | Exception]:
            self.calls += 1
            results = real.insert_many(messages)
            if self.calls == 1:  # scheduled before the thread's result: it lands one step after

                def arrive() -> None:
                    late.append(asyncio.ensure_future(self.writer[0].store(message(1), 30)))

                self.loop.call_soon_threadsafe(lambda: self.loop.call_soon(arrive))
            return results

    async def scenario() -> tuple[int, int]:
        holder: list[BatchWriter] = []
        writer = BatchWriter(ThenOneMore(asyncio.get_running_loop(), holder))
        holder.append(writer)
        first = await writer.store(message(0), 30)
        while not late:
            await asyncio.sleep(0)
        second = await asyncio.wait_for(late[0], timeout=5)
        return first, second

    try:
        first, second = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert [row.id for row in rows(sqlite_url)] == [first, second]
