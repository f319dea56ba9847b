"""`triage purge` on a seeded database (SQLite and PostgreSQL): past retention, no raw mail and no
personal value is left; every row, the case history and the audit log stay."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from privacykit import KENTA, MIZUHO, SORA, byte_leaks, mail, out_of_office
from sqlalchemy.orm import Session

from triage import crypto
from triage.cli import main
from triage.clock import FixedClock, SystemClock
from triage.config import DEFAULT_RETENTION_DAYS, Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseValue,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
)
from triage.db.staff import AuditEvent
from triage.purge import PURGED_NOTE, PURGED_SENDER, purge
from triage.purgeloop import run_on_schedule
from triage.web import audit

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("plain_environment")]

NOW = SystemClock().now()
TABLES = (Case, CaseValue, CaseEvent, InboundMessage, OutboundMessage, AuditEvent)


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _as_bytes(cell: Any) -> bytes:
    if cell is None:
        return b""
    if isinstance(cell, bytes | memoryview):
        return bytes(cell)
    return (cell if isinstance(cell, str) else json.dumps(cell, ensure_ascii=False, default=str)).encode()


def stored_bytes(url: str) -> bytes:
    """Every cell of every table as the database holds it (raw SQL, below the models)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            # Sorted: PostgreSQL returns rows in no fixed order (a rewritten row moves on disk).
            return b"\n".join(
                cell
                for table in sorted(sa.inspect(engine).get_table_names())
                for row in sorted(
                    tuple(_as_bytes(cell) for cell in row)
                    for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"')
                )
                for cell in row
            )
    finally:
        engine.dispose()


class Seeded:
    """Four mails through `triage ingest`, then moved back in time:

    - case 1 (Mizuho): resolved 100 days ago, its reply sent: past retention (90 days);
    - case 2 (Kenta): needs_info, last activity 95 days ago: past retention (90);
    - case 3 (Sora): resolved 10 days ago: kept;
    - an out-of-office from Kenta received 40 days ago (ignored, no case): past retention (30);
    - the audit log: a reveal and a staff login, which must stay.
    """

    def __init__(self, url: str, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.url = url
        (folder / "1.eml").write_bytes(mail(MIZUHO, "m1@example.jp"))
        (folder / "2.eml").write_bytes(mail(KENTA, "k1@example.jp", birth=False))
        (folder / "3.eml").write_bytes(mail(SORA, "s1@example.jp"))
        (folder / "4.eml").write_bytes(out_of_office(KENTA, "k2@example.jp"))
        assert run(["ingest", str(folder), "--json"]) == 0
        results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [item["decision"] for item in results] == ["queued", "needs_info", "queued", "ignored"]
        self.ignored_id = results[3]["inbound_id"]
        assert run(["case", "show", "1", "--reveal"]) == 0  # a reveal in the history
        capsys.readouterr()
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                self._age(session)
                audit.record(session, now=days_ago(200), actor="aiko", address="127.0.0.1", action="login")
                audit.record(
                    session, now=days_ago(99), actor="aiko", address="127.0.0.1", action="reveal",
                    case_id=1, fields=["phone", "birth_date"],
                )  # fmt: skip
                session.commit()
        finally:
            engine.dispose()

    def _age(self, session: Session) -> None:
        for case_id, status, days in (
            (1, CaseStatus.RESOLVED, 100),
            (2, None, 95),
            (3, CaseStatus.RESOLVED, 10),
        ):
            values: dict[str, Any] = {"updated_at": days_ago(days), "created_at": days_ago(days + 1)}
            if status is not None:
                values["status"] = status
            session.execute(sa.update(Case).where(Case.id == case_id).values(**values))
            session.execute(
                sa.update(InboundMessage)
                .where(InboundMessage.case_id == case_id)
                .values(received_at=days_ago(days + 1))
            )
            session.execute(
                sa.update(OutboundMessage)
                .where(OutboundMessage.case_id == case_id)
                .values(status=OutboundStatus.SENT, sent_at=days_ago(days + 1))
            )
        session.execute(
            sa.update(InboundMessage)
            .where(InboundMessage.id == self.ignored_id)
            .values(received_at=days_ago(40))
        )

    def counts(self) -> dict[str, int]:
        engine = make_engine(self.url)
        try:
            with session_factory(engine)() as session:
                return {
                    model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
                    for model in TABLES
                }
        finally:
            engine.dispose()

    def audit_rows(self) -> list[tuple[Any, ...]]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as connection:
                return [
                    tuple(row) for row in connection.exec_driver_sql("SELECT * FROM audit_events ORDER BY id")
                ]
        finally:
            engine.dispose()


@pytest.fixture
def seeded(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Seeded]:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    folder = tmp_path / "mail"
    folder.mkdir()
    yield Seeded(migrated_db_url, folder, capsys)


def purge_json(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[dict[str, Any], str]:
    assert run(["purge", "--json", *flags]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_purge_leaves_no_raw_mail_or_value_past_retention_and_keeps_rows_and_audit(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    before = seeded.counts()
    audit_before = seeded.audit_rows()
    on_disk = stored_bytes(seeded.url)
    assert byte_leaks(on_disk, MIZUHO.personal()) != []  # the scan sees them while they are there

    dry, _ = purge_json(capsys, "--dry-run")
    assert stored_bytes(seeded.url) == on_disk  # a dry run changes nothing
    assert seeded.audit_rows() == audit_before

    report, progress = purge_json(capsys)
    expected = {
        "cases": {"resolved": 1, "needs_info": 1},
        "case_mails": 2,
        "values": report["values"],
        "replies": 2,
        "mails_without_case": {"ignored": 1, "failed": 0},
    }
    assert {key: report[key] for key in expected} == expected
    assert report["values"] >= 20  # every value of cases 1 and 2
    assert {key: dry[key] for key in expected} == expected  # the dry run counted the same
    assert "cases 2/2" in progress and "ignored mail 1/1" in progress

    on_disk = stored_bytes(seeded.url)
    assert byte_leaks(on_disk, MIZUHO.personal()) == []
    assert byte_leaks(on_disk, KENTA.personal()) == []
    assert byte_leaks(on_disk, [SORA.name, SORA.payment, SORA.registered.split("@")[0]]) == [
        SORA.name,
        SORA.payment,
        SORA.registered.split("@")[0],
    ]  # case 3 is within retention: untouched

    after = seeded.counts()
    assert after["audit_events"] == before["audit_events"] + 1  # the purge's own row
    assert after["case_events"] == before["case_events"] + 2  # one "purged" per case
    assert {name: count for name, count in after.items() if name not in ("audit_events", "case_events")} == {
        name: count for name, count in before.items() if name not in ("audit_events", "case_events")
    }
    assert seeded.audit_rows()[: len(audit_before)] == audit_before  # the audit log keeps its rows

    engine = make_engine(seeded.url)
    try:
        with session_factory(engine)() as session:
            cases = {case.id: case for case in session.scalars(sa.select(Case))}
            assert (cases[1].sender, cases[2].sender) == (PURGED_SENDER, PURGED_SENDER)
            assert cases[3].sender == SORA.sender
            assert cases[1].status is CaseStatus.RESOLVED  # counts per status still add up
            for mail_row in session.scalars(sa.select(InboundMessage)):
                purged = mail_row.case_id in (1, 2) or mail_row.id == seeded.ignored_id
                assert (mail_row.raw == b"") is purged
                assert (PURGED_NOTE in mail_row.notes) is purged
                assert mail_row.size > 0  # what was received is still counted
            for value in session.scalars(sa.select(CaseValue).where(CaseValue.case_id.in_((1, 2)))):
                assert (value.value, value.written, value.spans) == (None, "", None), value.field
            assert session.scalar(sa.select(sa.func.count()).where(CaseValue.case_id == 3)) != 0
            assert all(
                row.written for row in session.scalars(sa.select(CaseValue).where(CaseValue.case_id == 3))
            )
            kinds = [
                (event.case_id, event.detail)
                for event in session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == "purged"))
            ]
            assert kinds == [(1, {"retention_days": 90}), (2, {"retention_days": 90})]
            row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purge")).one()
            assert row.detail["cases"] == {"resolved": 1, "needs_info": 1}
            assert row.address == "cli"
    finally:
        engine.dispose()

    again, _ = purge_json(capsys)  # idempotent: nothing left, nothing written
    assert again["cases"] == {} and again["case_mails"] == again["values"] == again["replies"] == 0
    assert seeded.counts() == after


def test_retention_per_status_is_configurable(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_RETENTION_DAYS", "resolved=5,needs_info=365,ignored=60")
    report, _ = purge_json(capsys)
    assert report["cases"] == {"resolved": 2}  # cases 1 and 3; case 2 (needs_info) waits a year
    assert report["mails_without_case"] == {"ignored": 0, "failed": 0}
    assert run(["purge"]) == 0
    assert capsys.readouterr().out.startswith("purged: cases none (0 mails, 0 values, 0 replies)")

    monkeypatch.setenv("TRIAGE_RETENTION_DAYS", "resolved=0")
    assert run(["purge"]) == 2
    assert "TRIAGE_RETENTION_DAYS must look like" in capsys.readouterr().err


def test_purge_of_sealed_rows_leaves_them_empty_and_needs_no_key(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_ENCRYPTION_KEYS", crypto.new_key())
    assert run(["keys", "rotate"]) == 0  # every value sealed
    capsys.readouterr()
    monkeypatch.delenv("TRIAGE_ENCRYPTION_KEYS")  # purging never opens a value
    report, _ = purge_json(capsys)
    assert report["cases"] == {"resolved": 1, "needs_info": 1}
    engine = make_engine(seeded.url)
    try:
        with engine.connect() as connection:
            written = connection.exec_driver_sql("SELECT case_id, written FROM case_values ORDER BY id").all()
    finally:
        engine.dispose()
    assert {text for case_id, text in written if case_id in (1, 2)} == {""}
    assert all(text.startswith(crypto.SEALED_TEXT) for case_id, text in written if case_id == 3)


def test_the_serve_schedule_purges_at_start_and_stops_on_request(seeded: Seeded) -> None:
    engine = make_engine(seeded.url)
    sessions = session_factory(engine)

    async def serve_for_a_moment() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_on_schedule(sessions, dict(DEFAULT_RETENTION_DAYS), 3600, FixedClock(NOW), stop)
        )
        for _ in range(200):
            await asyncio.sleep(0.05)
            with sessions() as session:
                if session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "purge")):
                    break
        stop.set()
        await asyncio.wait_for(task, timeout=10)  # the hour's wait ends at once on stop

    try:
        asyncio.run(serve_for_a_moment())
        with sessions() as session:
            row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purge")).one()
            assert (row.actor, row.address) == ("serve", "serve")
            assert session.scalar(sa.select(Case.sender).where(Case.id == 1)) == PURGED_SENDER
    finally:
        engine.dispose()


def test_progress_is_reported_batch_by_batch(seeded: Seeded) -> None:
    engine = make_engine(seeded.url)
    seen: list[tuple[str, int, int]] = []
    try:
        report = purge(
            session_factory(engine),
            dict(Settings.from_env({}).retention_days),
            NOW,
            batch=1,
            progress=lambda what, done, total: seen.append((what, done, total)),
        )
    finally:
        engine.dispose()
    assert seen == [("cases", 1, 2), ("cases", 2, 2), ("ignored mail", 1, 1)]
    assert report.total == 3
