"""InboundStore on SQLite and PostgreSQL: one committed row, hashes, flags, safe errors."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundMessage, InboundStatus
from triage.errors import StoreUnavailable
from triage.ingress.store import InboundStore, has_bare_line_ends

RAW = b"Subject: x\r\n\r\nsecret body\r\n"


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        (b"a\r\nb\r\n", False),
        (b"", False),
        (b"a\nb\r\n", True),
        (b"a\rb\r\n", True),
        (b"a\r\n\rb", True),
        (b"a\r", True),
        (b"\n", True),
    ],
)
def test_bare_line_ends(raw: bytes, flag: bool) -> None:
    assert has_bare_line_ends(raw) is flag


def test_insert_commits_one_row(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        store = InboundStore(session_factory(engine))
        raw = RAW + b"bare\nline\r\n"
        row_id = store.insert(raw, "a@example.com", ["secure_jo1@example.jp"], "127.0.0.1:25", "h", True)
        second = store.insert(RAW, "", ["secure_jo1@example.jp"], "127.0.0.1:26", None, False)
        assert second > row_id
        with session_factory(engine)() as session:
            row = session.get_one(InboundMessage, row_id)
        assert row.raw == raw
        assert row.size == len(raw)
        assert row.sha256 == hashlib.sha256(raw).hexdigest()
        assert row.has_bare_line_ends is True
        assert row.smtp_utf8 is True
        assert row.status is InboundStatus.PENDING
        assert row.received_at.tzinfo == dt.UTC
        assert abs(row.received_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    finally:
        engine.dispose()


def test_failures_are_store_unavailable_without_data(db_url: str) -> None:
    # Not migrated: the table is missing, a real database error.
    engine = make_engine(db_url)
    try:
        store = InboundStore(session_factory(engine))
        with pytest.raises(StoreUnavailable) as caught:
            store.insert(RAW, "member@example.com", ["secure_jo1@example.jp"], "127.0.0.1:25", "h", False)
        text = str(caught.value)
        assert text.startswith("database error ")
        assert "example" not in text and "secret" not in text
        with engine.connect() as connection:
            assert "inbound_messages" not in sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_naive_clock_is_refused_not_stored(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        store = InboundStore(session_factory(engine), now=lambda: dt.datetime(2026, 1, 1))
        with pytest.raises(StoreUnavailable):
            store.insert(RAW, "", ["secure_jo1@example.jp"], "127.0.0.1:25", None, False)
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0
    finally:
        engine.dispose()
