"""Engines: SQLite pragmas on every connection, PostgreSQL durability check, the model round trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundMessage, InboundStatus
from triage.errors import ConfigError


def _pragmas(url: str, sqlite_busy_timeout_ms: int = 5000) -> list[object]:
    engine = make_engine(url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
    try:
        with engine.connect() as connection:
            return [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            ]
    finally:
        engine.dispose()


def test_sqlite_connections_are_wal_full_sync_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert _pragmas(url) == ["wal", 2, 5000, 1]
    assert _pragmas(url, sqlite_busy_timeout_ms=250) == ["wal", 2, 250, 1]


def test_relative_sqlite_path_is_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite:///triage.db")
    try:
        assert engine.url.database == str(tmp_path / "triage.db")
    finally:
        engine.dispose()


def test_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        make_engine("mysql://user@localhost/db")


@pytest.mark.db
@pytest.mark.parametrize("value", ["off", "local"])
def test_postgresql_without_synchronous_commit_is_refused(value: str, postgres_server_url: str) -> None:
    url = make_url(postgres_server_url).update_query_dict({"options": f"-csynchronous_commit={value}"})
    with pytest.raises(ConfigError, match="synchronous_commit"):
        make_engine(url.render_as_string(hide_password=False))


def test_model_round_trip(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    received = dt.datetime(2026, 11, 21, 1, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    raw = bytes(range(256))
    try:
        with sessions.begin() as session:
            first = InboundMessage(
                received_at=received,
                mail_from="",
                mail_options=[],
                rcpt_tos=["secure_jo1@example.jp"],
                peer="127.0.0.1:1",
                helo=None,
                smtp_utf8=False,
                tls=False,
                size=len(raw),
                sha256="0" * 64,
                raw=raw,
                has_bare_line_ends=True,
            )
            session.add(first)
            session.flush()
            second = InboundMessage(
                received_at=received,
                mail_from="a@example.com",
                mail_options=["BODY=8BITMIME"],
                rcpt_tos=["secure_jo1@example.jp", "secure_jo2@example.jp"],
                peer="[::1]:2",
                helo="client",
                smtp_utf8=True,
                tls=False,
                size=0,
                sha256="1" * 64,
                raw=b"",
                has_bare_line_ends=False,
                status=InboundStatus.DUPLICATE,
                duplicate_of=first.id,
            )
            session.add(second)
        with sessions() as session:
            rows = session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
            stored_status = session.execute(sa.text("SELECT status, attempts FROM inbound_messages")).all()
        assert rows[0].received_at == received
        assert rows[0].received_at.tzinfo == dt.UTC
        assert rows[0].raw == raw
        assert rows[0].status is InboundStatus.PENDING
        assert rows[0].attempts == 0
        assert rows[0].lease_until is None
        assert rows[1].rcpt_tos == ["secure_jo1@example.jp", "secure_jo2@example.jp"]
        assert rows[1].duplicate_of == rows[0].id
        assert rows[1].envelope_key() == ("a@example.com", ("secure_jo1@example.jp", "secure_jo2@example.jp"))
        # Enums are stored by value, not by member name.
        assert sorted(stored_status) == [("duplicate", 0), ("pending", 0)]
        # The foreign key is enforced (SQLite too: foreign_keys=ON on every connection).
        with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
            session.execute(sa.update(InboundMessage).values(duplicate_of=999_999))
    finally:
        engine.dispose()


def test_naive_datetimes_are_refused(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        with (
            pytest.raises(sa.exc.StatementError, match="naive datetime"),
            session_factory(engine).begin() as s,
        ):
            s.execute(sa.update(InboundMessage).values(lease_until=dt.datetime(2026, 1, 1)))
    finally:
        engine.dispose()
