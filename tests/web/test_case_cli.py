"""`triage case claim|resolve|reopen|set|merge` on SQLite and PostgreSQL: the web's actions for
scripts, audited as the operating-system user."""

from __future__ import annotations

import getpass
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from webkit import Desk, open_desk

from triage.cli import main
from triage.db.models import Case, CaseStatus, CaseValue
from triage.db.staff import AuditEvent, CaseClaim

pytestmark = pytest.mark.db


@pytest.fixture
def desk(
    migrated_db_url: str, tmp_path: Path, plain_environment: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _status(desk: Desk, case_id: int) -> CaseStatus:
    with desk.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.status


def test_claim_resolve_reopen_from_the_command_line(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = str(desk.cases[0])
    assert run(["case", "claim", case_id], monkeypatch) == 2  # no account named like the OS user
    assert "no active staff account" in capsys.readouterr().err
    assert run(["case", "claim", case_id, "--staff", "ben"], monkeypatch) == 0
    with desk.sessions() as session:
        assert session.scalar(sa.select(CaseClaim.case_id)) == desk.cases[0]
    assert run(["case", "resolve", case_id, "--note", "done by script"], monkeypatch) == 0
    assert "now resolved" in capsys.readouterr().out
    assert run(["case", "resolve", case_id], monkeypatch) == 1
    assert "resolved: refused_status" in capsys.readouterr().err
    assert run(["case", "reopen", case_id, "--version", "1"], monkeypatch) == 1
    assert "changed since version 1" in capsys.readouterr().err
    assert run(["case", "reopen", case_id], monkeypatch) == 0
    assert _status(desk, desk.cases[0]) is CaseStatus.QUEUED
    with desk.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.address == "cli")).all()
    assert [row.action for row in rows] == ["claim", "resolve", "reopen"]
    assert {row.actor for row in rows} == {getpass.getuser()}
    assert run(["case", "claim", "NO-SUCH"], monkeypatch) == 1


def test_set_reads_the_value_from_stdin(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = desk.cases[1]
    assert run(["case", "set", str(case_id), "phone"], monkeypatch, "090-3333-4444\n") == 0
    with desk.sessions() as session:
        value = session.scalars(
            sa.select(CaseValue).where(
                CaseValue.case_id == case_id, CaseValue.field == "phone", CaseValue.current
            )
        ).one()
        audit = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "correct")).one()
    assert (value.value, value.source) == ("09033334444", "staff")
    assert audit.fields == ["phone"] and "3333" not in str(audit.detail)
    assert run(["case", "set", str(case_id), "phone"], monkeypatch, "12\n") == 2
    assert run(["case", "set", str(case_id), "no_such_field"], monkeypatch, "x\n") == 2
