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
from hostile_mails import HEAD, many_parts

from triage.cli import main
from triage.parsing.mime import DEFAULT_LIMITS, Limits, parse_mail
from triage.parsing.notes import parse_notes

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


# -- each kind of defect, cap and fallback becomes a note --------------------------------------

HEAD_ = HEAD + b"Subject: help\r\n"


def notes_of(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    return parse_notes(parse_mail(raw, limits))


def test_a_1mb_header_section_is_noted_as_truncated() -> None:
    raw = HEAD_ + b"X-Filler: " + b"x" * 300_000 + b"\r\n\r\nhello\r\n"
    assert any(
        note.startswith("parse: HeaderSectionTruncated: header section over") for note in notes_of(raw)
    )


def test_a_missing_boundary_is_noted_and_the_text_still_read() -> None:
    raw = HEAD_ + b"Content-Type: multipart/mixed\r\n\r\nPhone: 090-0000-1234\r\n"
    mail = parse_mail(raw)
    assert "090-0000-1234" in mail.text
    assert "parse: NoBoundaryInMultipartDefect" in parse_notes(mail)


def test_a_boundary_never_found_is_noted() -> None:
    raw = HEAD_ + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--x\r\nhello\r\n'
    assert "parse: StartBoundaryNotFoundDefect" in notes_of(raw)


def test_a_message_over_the_parse_limit_is_noted_as_truncated() -> None:
    raw = HEAD_ + b"\r\n" + b"line\r\n" * 1000
    notes = notes_of(raw, Limits(max_message_bytes=2000))
    assert f"parse: MessageTruncated: only the first 2000 of {len(raw)} bytes were parsed" in notes


def test_an_address_field_over_its_cap_is_noted() -> None:
    to = b"Cc: " + b", ".join(b"u%d@example.jp" % i for i in range(2_000)) + b"\r\n"
    notes = notes_of(HEAD_ + to + b"\r\nhello\r\n")
    assert any(note.startswith("parse: AddressFieldTruncated") for note in notes)


def test_charset_fallbacks_are_noted_with_the_path_taken() -> None:
    sjis_as_utf8 = (
        HEAD_ + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "日本".encode("cp932") + b"\r\n"
    )
    assert "charset: part 1 labelled 'utf-8', read as cp932" in notes_of(sjis_as_utf8)
    broken_jis = HEAD_ + b"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$B\x30\r\n"
    assert "charset: part 1 decoded with replacement characters (replace:jis)" in notes_of(broken_jis)
    clean = HEAD_ + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "日本".encode() + b"\r\n"
    assert notes_of(clean) == []


def test_the_notes_of_one_mail_are_capped() -> None:
    parts = b"".join(
        b"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "日本".encode("cp932") + b"\r\n"
        for _ in range(50)
    )
    raw = HEAD_ + b'Content-Type: multipart/mixed; boundary="s"\r\n\r\n' + parts + b"--s--\r\n"
    charset = [note for note in notes_of(raw) if note.startswith("charset: ")]
    assert len(charset) == 21
    assert charset[-1] == "charset: 30 more not listed"


@pytest.mark.slow
def test_inbound_list_shows_a_header_truncation_and_a_missing_boundary(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = HEAD_ + b"X-Filler: " + b"x" * 300_000 + b"\r\n\r\nhello\r\n"
    unsplit = HEAD_.replace(b"hostile@", b"other@") + b"Content-Type: multipart/mixed\r\n\r\nhello\r\n"
    ingest(tmp_path, monkeypatch, migrated_db_url, truncated, unsplit)
    first, second = inbound_json(capsys)
    assert any(note.startswith("parse: HeaderSectionTruncated") for note in first["notes"])
    assert "parse: NoBoundaryInMultipartDefect" in second["notes"]
