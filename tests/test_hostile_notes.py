"""Staff see what the parser saw (issue 12 deliverable 4, table row 6).

Every defect, cap and truncation of the parse is on the stored mail's notes, so `inbound list`
(and `--json`) and the case page show it. Mails go through a real `triage ingest` on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_mails import many_parts

from triage.cli import main

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("plain_environment")]


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def inbound_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run(["inbound", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, *mails: bytes) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url)
    for index, raw in enumerate(mails, start=1):
        (tmp_path / f"{index}.eml").write_bytes(raw)
    assert run(["ingest", str(tmp_path)]) == 0


@pytest.mark.slow
def test_a_10000_part_mail_has_its_part_cap_on_its_notes(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12, table row 6: `inbound list --json` after a 10,000-part mail shows the cap."""
    ingest(tmp_path, monkeypatch, migrated_db_url, many_parts())
    [row] = inbound_json(capsys)
    assert row["status"] == "done"
    assert any(note.startswith("parse: TooManyParts") for note in row["notes"]), row["notes"]
