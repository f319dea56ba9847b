"""Ids known before the INSERT (triage/db/ids.py): the ones SQLite or PostgreSQL would give."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.engine import SQLITE_BEGIN, make_engine, session_factory
from triage.db.ids import next_id
from triage.db.models import Case, CaseEvent, CaseStatus, OutboundMessage

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _case(session: Session, reference: str, case_id: int | None) -> Case:
    case = Case(
        id=case_id,
        reference=reference,
        mailbox="secure_login",
        status=CaseStatus.NEEDS_INFO,
        sender="member@example.jp",
        language="ja",
        created_at=NOW,
        updated_at=NOW,
        reason="",
        missing=[],
        invalid=[],
    )
    session.add(case)
    return case


def _begin(session: Session, dialect: str) -> None:
    if dialect == "sqlite":
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


def test_ids_are_the_ones_the_database_gives_next_and_rows_written_with_them_keep_them(
    migrated_db_url: str,
) -> None:
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    dialect = engine.dialect.name
    with sessions() as session:
        _begin(session, dialect)
        _case(session, "AAAA-1B", None)
        session.flush()  # the database's own id
        first = session.scalar(sa.select(Case.id).where(Case.reference == "AAAA-1B"))
        assert first is not None
        wanted = next_id(session, Case, early=True)
        assert wanted == first + 1
        again = next_id(session, Case, early=True)
        assert again == first + 2  # counted on, without writing the first one yet
        _case(session, "BBBB-2C", again)
        _case(session, "CCCC-3D", wanted)
        session.commit()
    with sessions() as session:
        rows = session.execute(sa.select(Case.reference, Case.id)).all()
        got = dict(rows)
        assert got == {"AAAA-1B": first, "CCCC-3D": first + 1, "BBBB-2C": first + 2}
    engine.dispose()


def test_sqlite_counts_past_the_autoincrement_high_water_mark_and_only_under_the_write_lock(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    with sessions() as session:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        session.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbound_messages', 41)"))
        session.commit()
    with sessions() as session:
        assert next_id(session, OutboundMessage, early=True) is None  # a deferred transaction
    with sessions() as session:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        # a reply id is never reused on SQLite, even after the rows are gone (AUTOINCREMENT)
        assert next_id(session, OutboundMessage, early=True) == 42
        assert next_id(session, CaseEvent) == 1  # a plain rowid table: max(id) + 1
        assert next_id(session, CaseEvent) == 2
    engine.dispose()


def test_postgresql_leaves_ids_not_wanted_early_to_the_insert(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    with sessions() as session:
        _begin(session, engine.dialect.name)
        got = next_id(session, CaseEvent)
        if engine.dialect.name == "postgresql":
            assert got is None  # batched INSERT … RETURNING gives it, without a gap
        else:
            assert got == 1
    engine.dispose()
