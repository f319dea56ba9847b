"""A busy SQLite is not an unavailable one (issue 12, row 8).

Another connection holds SQLite's write lock longer than the sender's busy timeout: the sender
says the database is busy (not "unavailable"), keeps trying, and delivers once the lock is gone.
A database that cannot be opened at all is still reported as unavailable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from relaykit import Relay, free_port

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import OutboundMessage, OutboundStatus
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import Sender, SmtpTransport

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def _run_for(sender: Sender, seconds: float, release: sqlite3.Connection | None = None) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        await asyncio.sleep(seconds)
        if release is not None:
            release.rollback()
            await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_a_locked_sqlite_is_busy_not_unavailable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "triage.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    relay = Relay(free_port()).start()
    engine = make_engine(url, sqlite_busy_timeout_ms=100)
    try:
        settings = Settings(our_domain="triage.example", relay=("127.0.0.1", relay.port))
        sessions = session_factory(engine)
        with sessions() as session:
            row = enqueue_reply(
                session,
                reply=RenderedReply(
                    "queued", "ja", "member@example.jp", "secure_jo1@example.jp", "受付", "本文\n"
                ),
                case_id=None,
                inbound_id=None,
                in_reply_to=None,
                references=(),
                settings=settings,
                now=NOW,
            )
            session.commit()
            row_id = row.id
        sender = Sender(sessions, settings, SmtpTransport(settings), clock=FixedClock(NOW), name="busy")
        sender.idle_seconds = 0.05
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held by someone else
        caplog.set_level(logging.DEBUG, logger="triage")
        _run_for(sender, 0.8, release=holder)
        holder.close()
        assert "database unavailable" not in caplog.text
        busy = [r for r in caplog.records if "database busy" in r.getMessage()]
        assert busy, caplog.text
        assert all(r.levelno <= logging.INFO for r in busy)  # quiet: not an error
        with sessions() as session:
            status = session.scalar(sa.select(OutboundMessage.status).where(OutboundMessage.id == row_id))
        assert status is OutboundStatus.SENT
        assert len(relay.handler.received) == 1
    finally:
        engine.dispose()
        relay.stop()


def test_a_database_that_cannot_be_opened_is_unavailable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'triage.db'}"  # its folder does not exist
    engine = make_engine(url)
    try:
        settings = Settings(our_domain="triage.example", relay=("127.0.0.1", free_port()))
        sender = Sender(
            session_factory(engine), settings, SmtpTransport(settings), clock=FixedClock(NOW), name="x"
        )
        sender.idle_seconds = 0.05
        caplog.set_level(logging.INFO, logger="triage")
        _run_for(sender, 0.3)
        unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert unavailable
        assert all(r.levelno == logging.ERROR for r in unavailable)
        assert "database busy" not in caplog.text
    finally:
        engine.dispose()
