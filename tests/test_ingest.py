"""`triage ingest`: .eml folders, mbox files and Maildirs through the whole pipeline, on SQLite
and PostgreSQL, through `triage.cli.main` as a user runs it."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from triage.cli import main
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseStatus, InboundMessage, OutboundMessage
from triage.ingest import discover, not_mail, return_path_address, summary

pytestmark = pytest.mark.usefixtures("plain_environment")

COMPLETE = (
    "ログインできません。よろしくお願いします。\n"
    "ログインID:taro_sample77\n"
    "メールアドレス:taro@example.jp\n"
    "電話番号:090-0000-1234\n"
    "お支払い方法:クレジットカード\n"
    "クレジットカードの末尾4桁:4321\n"
)
# secure_billing needs card_last4 when the member paid by card: this one lacks it.
NEEDS_INFO = (
    "ログインできません。\n"
    "ログインID:hana_sample88\n"
    "メールアドレス:hana@example.jp\n"
    "電話番号:090-0000-5678\n"
    "お支払い方法:クレジットカード\n"
)
ANSWER = "お世話になります。\nクレジットカードの末尾4桁:9876\n"


def mail(
    body: str,
    *,
    sender: str = "taro@example.jp",
    to: str = "secure_billing@cc.example.jp",
    message_id: str = "c1@example.jp",
    return_path: str | None = None,
    crlf: bool = True,
) -> bytes:
    head = f"Return-Path: {return_path}\n" if return_path is not None else ""
    head += (
        f"From: {sender}\nTo: {to}\nSubject: help\nMessage-ID: <{message_id}>\n"
        "Date: Fri, 10 May 2024 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    text = head + "\n" + body
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")


def complete(**kwargs: Any) -> bytes:
    return mail(COMPLETE, **kwargs)


def needs_info(**kwargs: Any) -> bytes:
    kwargs.setdefault("sender", "hana@example.jp")
    kwargs.setdefault("message_id", "h1@example.jp")
    return mail(NEEDS_INFO, **kwargs)


def answer(**kwargs: Any) -> bytes:
    kwargs.setdefault("sender", "hana@example.jp")
    kwargs.setdefault("message_id", "h2@example.jp")
    return mail(ANSWER, **kwargs)


def mbox(*messages: bytes) -> bytes:
    out = b""
    for raw in messages:
        out += b"From MAILER-DAEMON Fri May 10 10:00:00 2024\n" + raw.replace(b"\r\n", b"\n") + b"\n"
    return out


@pytest.fixture
def db(migrated_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    return migrated_db_url


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse usage errors
        return int(exc.code or 0)


def ingest_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> list[dict[str, Any]]:
    assert run(["ingest", *args, "--json"]) == code
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


def rows(url: str, statement: sa.Select[Any]) -> list[Any]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(statement))
    finally:
        engine.dispose()


# -- with a database ---------------------------------------------------------------------------


@pytest.mark.db
def test_a_folder_with_a_complete_and_a_needs_info_mail(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-complete.eml").write_bytes(complete())
    (tmp_path / "b-needs-info.eml").write_bytes(needs_info())
    lines = ingest_json(capsys, str(tmp_path))
    assert [line["path"] for line in lines] == [
        str(tmp_path / "a-complete.eml"),
        str(tmp_path / "b-needs-info.eml"),
    ]
    assert [line["decision"] for line in lines] == ["queued", "needs_info"]
    assert [line["status"] for line in lines] == ["done", "done"]
    assert all(isinstance(line["inbound_id"], int) for line in lines)
    assert all(isinstance(line["case_id"], int) for line in lines)
    assert lines[0]["case_id"] != lines[1]["case_id"]
    assert all(isinstance(line["outbound_id"], int) for line in lines)  # a reply for each

    inbound = rows(db, sa.select(InboundMessage).order_by(InboundMessage.id))
    assert [row.origin for row in inbound] == ["ingest", "ingest"]
    assert [row.peer for row in inbound] == ["ingest", "ingest"]
    assert [row.rcpt_tos for row in inbound] == [[], []]  # routed by the headers, like `check`
    cases = rows(db, sa.select(Case).order_by(Case.id))
    assert [case.status for case in cases] == [CaseStatus.QUEUED, CaseStatus.NEEDS_INFO]
    replies = rows(db, sa.select(OutboundMessage).order_by(OutboundMessage.id))
    assert [(reply.template, reply.to_addr) for reply in replies] == [
        ("queued", "taro@example.jp"),
        ("needs_info", "hana@example.jp"),
    ]


@pytest.mark.db
def test_the_answer_to_a_needs_info_mail_in_the_same_batch_merges_into_its_case(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Name order, not creation order, and numbers compare as numbers: 2 before 10.
    (tmp_path / "10-answer.eml").write_bytes(answer())
    (tmp_path / "2-question.eml").write_bytes(needs_info())
    first, second = ingest_json(capsys, str(tmp_path))
    assert first["path"].endswith("2-question.eml") and first["decision"] == "needs_info"
    assert second["path"].endswith("10-answer.eml") and second["decision"] == "queued"
    assert first["case_id"] == second["case_id"]
    (case,) = rows(db, sa.select(Case))
    assert case.status is CaseStatus.QUEUED


@pytest.mark.db
def test_an_mbox_with_two_messages(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = tmp_path / "inbox.mbox"
    box.write_bytes(mbox(complete(), needs_info()))
    lines = ingest_json(capsys, str(box))
    assert [line["path"] for line in lines] == [f"{box}#1", f"{box}#2"]
    assert [line["decision"] for line in lines] == ["queued", "needs_info"]
    stored = rows(db, sa.select(InboundMessage.raw).order_by(InboundMessage.id))
    assert not stored[0].startswith(b"From ")  # the mbox separator line is not part of the mail
    assert stored[0].startswith(b"From: taro@example.jp")


@pytest.mark.db
def test_an_mbox_follow_up_in_the_same_file(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = tmp_path / "thread"  # no extension: recognised by its first line when named
    box.write_bytes(mbox(needs_info(), answer()))
    first, second = ingest_json(capsys, str(box))
    assert (first["decision"], second["decision"]) == ("needs_info", "queued")
    assert first["case_id"] == second["case_id"]


@pytest.mark.db
def test_a_maildir(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1715302801.M2P2.host:2,S").write_bytes(answer(crlf=False))
    (maildir / "new" / "1715302800.M1P1.host").write_bytes(needs_info(crlf=False))
    (maildir / "tmp" / "1715302802.M3P3.host").write_bytes(b"half-written delivery")
    (maildir / "new" / ".hidden").write_bytes(complete())
    lines = ingest_json(capsys, str(maildir))
    assert [Path(line["path"]).name for line in lines] == ["1715302800.M1P1.host", "1715302801.M2P2.host:2,S"]
    assert [line["decision"] for line in lines] == ["needs_info", "queued"]
    assert lines[0]["case_id"] == lines[1]["case_id"]
    assert len(rows(db, sa.select(InboundMessage))) == 2  # tmp/ and hidden files not read


@pytest.mark.db
def test_a_maildir_inside_a_folder_and_a_cur_folder_named_alone(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maildir = tmp_path / "export" / "member"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1715302800.M1P1.host:2,S").write_bytes(complete())
    (tmp_path / "export" / "notes.txt").write_text("not mail")
    assert [line["decision"] for line in ingest_json(capsys, str(tmp_path / "export"))] == ["queued"]
    (line,) = ingest_json(capsys, str(maildir / "cur"))
    assert line["status"] == "duplicate"  # the same bytes and envelope again


@pytest.mark.db
def test_text_summary_counts_per_decision(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1.eml").write_bytes(complete())
    (tmp_path / "2.eml").write_bytes(needs_info())
    (tmp_path / "3.eml").write_bytes(complete(to="secure_nosuchbox@cc.example.jp", message_id="u@x"))
    (tmp_path / "readme.txt").write_text("not mail")
    assert run(["ingest", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == (
        "3 mails: queued 1, needs_info 1, unknown_mailbox 1; "
        "1 other file skipped (not .eml, mbox or Maildir)\n"
    )
    assert err == ""
    assert run(["ingest", str(tmp_path)]) == 0  # the same files again: transport duplicates
    assert capsys.readouterr().out.startswith("3 mails: duplicate 3;")


@pytest.mark.db
def test_unreadable_files_are_reported_and_the_others_go_on(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1-empty.eml").write_bytes(b"\r\n")
    (tmp_path / "2-gone.eml").symlink_to(tmp_path / "nowhere.eml")
    (tmp_path / "3-good.eml").write_bytes(complete())
    assert run(["ingest", str(tmp_path), "--json"]) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["status"] for line in lines] == ["unreadable", "unreadable", "done"]
    assert lines[0]["inbound_id"] is None and lines[2]["decision"] == "queued"
    assert err.splitlines() == [
        f"triage: {tmp_path / '1-empty.eml'}: empty, not a mail; skipped",
        f"triage: {tmp_path / '2-gone.eml'}: cannot read (No such file or directory); skipped",
    ]


@pytest.mark.db
def test_what_is_not_a_mail_is_reported_and_skipped(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1-photo.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "2-notes.eml").write_bytes("買い物リスト\n牛乳\n".encode())
    (tmp_path / "3-todo.eml").write_bytes(b"Note: call back\nTodo: nothing\n\nbody\n")
    (tmp_path / "4-good.eml").write_bytes(complete())
    with socket.socket(socket.AF_UNIX) as unix:  # exists, but open() fails even for root
        unix.bind(str(tmp_path / "5-socket.eml"))
        assert run(["ingest", str(tmp_path / "missing"), str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == "6 mails: queued 1, skipped 5\n"
    assert err.splitlines() == [
        f"triage: {tmp_path / 'missing'}: no such file or directory; skipped",
        f"triage: {tmp_path / '1-photo.eml'}: binary data (NUL bytes), not a mail; skipped",
        f"triage: {tmp_path / '2-notes.eml'}: no header section at the top "
        "(a mail starts with lines like `From: ...`), not a mail; skipped",
        f"triage: {tmp_path / '3-todo.eml'}: no From, To, Subject, Date or Message-ID header, "
        "not a mail; skipped",
        f"triage: {tmp_path / '5-socket.eml'}: cannot read (No such device or address); skipped",
    ]
    (row,) = rows(db, sa.select(InboundMessage))
    assert row.decision == "queued"


@pytest.mark.parametrize(
    "raw",
    [
        complete(),
        complete(crlf=False),
        b"\xef\xbb\xbf" + complete(),  # a byte-order mark from a Windows editor
        b"Received: from a\r\n\tby b\r\nFrom: x@example.jp\r\n\r\nbody",
        b"X-Whatever: 1\nSubject: only a subject\n",  # no body at all
    ],
)
def test_what_may_be_a_mail_is_not_refused(raw: bytes) -> None:
    assert not_mail(raw) is None


@pytest.mark.db
def test_a_mail_over_the_size_limit_is_refused_like_the_smtp_ingress_would(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_MAX_MESSAGE_BYTES", "1000")
    big = tmp_path / "big.eml"
    big.write_bytes(complete() + b"x" * 1000)
    assert run(["ingest", str(big)]) == 1
    out, err = capsys.readouterr()
    assert out == "1 mail: skipped 1\n"
    assert err == (
        f"triage: {big}: larger than 1000 bytes (TRIAGE_MAX_MESSAGE_BYTES); "
        "the SMTP ingress would refuse it too\n"
    )
    assert rows(db, sa.select(InboundMessage)) == []


@pytest.mark.db
def test_to_sets_the_envelope_recipient_and_return_path_the_reply_address(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = complete(to="support@cc.example.jp", return_path="<Taro-Bounces@example.jp>")
    (tmp_path / "m.eml").write_bytes(raw)
    (line,) = ingest_json(capsys, str(tmp_path / "m.eml"), "--to", "secure_billing@cc.example.jp")
    assert line["decision"] == "queued"
    (row,) = rows(db, sa.select(InboundMessage))
    assert row.rcpt_tos == ["secure_billing@cc.example.jp"]
    assert row.mail_from == "Taro-Bounces@example.jp"
    assert row.raw == raw  # the evidence is stored untouched
    (reply,) = rows(db, sa.select(OutboundMessage))
    assert reply.to_addr == "taro-bounces@example.jp"  # RFC 3834: the envelope sender


@pytest.mark.db
def test_progress_bar_on_a_terminal(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("triage.ingest.is_tty", lambda stream: True)
    (tmp_path / "1.eml").write_bytes(complete())
    (tmp_path / "2.eml").write_bytes(needs_info())
    (tmp_path / "3.eml").write_bytes(b"")
    assert run(["ingest", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "ingest" in err and "3/3" in err and "100%" in err  # rich's bar, drawn on stderr
    assert "\x1b[" in err  # redrawn in place with terminal controls
    # The problem line is printed whole, above the bar, not torn by it.
    assert f"triage: {tmp_path / '3.eml'}: empty, not a mail; skipped\n" in err
    assert out.startswith("3 mails:")


@pytest.mark.db
def test_no_progress_bar_when_stderr_is_not_a_terminal(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "1.eml").write_bytes(complete())
    assert run(["ingest", str(tmp_path), "--json"]) == 0
    assert capsys.readouterr().err == ""


# -- without a database ------------------------------------------------------------------------


def test_only_missing_paths_ingest_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    assert run(["ingest", str(tmp_path / "missing.eml"), str(tmp_path / "gone")]) == 1
    out, err = capsys.readouterr()
    assert out == "2 mails: skipped 2\n"
    assert err.splitlines() == [
        f"triage: {tmp_path / 'missing.eml'}: no such file or directory; skipped",
        f"triage: {tmp_path / 'gone'}: no such file or directory; skipped",
    ]


def test_ingest_needs_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["ingest"]) == 2
    assert "PATH" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("head", "address"),
    [
        (b"Return-Path: <taro@example.jp>\r\nFrom: x@example.jp\r\n\r\nbody", "taro@example.jp"),
        (b"return-path:   <>\nFrom: x@example.jp\n\nbody", ""),
        (b"From: x@example.jp\r\n\r\nReturn-Path: <in-body@example.jp>\r\n", ""),
        (b"Return-Path: bare@example.jp\n\n", "bare@example.jp"),
    ],
)
def test_return_path_address(head: bytes, address: str) -> None:
    assert return_path_address(head) == address


def test_discovery_order_and_what_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.eml").write_bytes(complete())
    (tmp_path / "a.mbox").write_bytes(mbox(complete(), needs_info()))
    (tmp_path / "10.EML").write_bytes(complete())
    (tmp_path / "9.eml").write_bytes(complete())
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".DS_Store").write_bytes(b"")
    found = discover([str(tmp_path)], 10_000_000)
    names = [source.label.removeprefix(str(tmp_path) + os.sep) for source in found.sources]
    assert names == ["9.eml", "10.EML", "a.mbox#1", "a.mbox#2", os.path.join("b", "1.eml")]
    assert found.skipped == [str(tmp_path / "photo.jpg")]
    assert found.sources[3].read().startswith(b"From: hana@example.jp")


def test_an_eml_file_with_an_mbox_separator_line_is_one_message_without_that_line(tmp_path: Path) -> None:
    path = tmp_path / "export.eml"
    path.write_bytes(mbox(complete()))
    (source,) = discover([str(path)], 10_000_000).sources
    assert source.label == str(path)
    assert source.read().startswith(b"From: taro@example.jp")


def test_summary_wording() -> None:
    assert summary([], 0) == "0 mails"


@pytest.mark.db
def test_an_eml_file_is_one_mail_even_with_unescaped_from_lines(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bounce saved as .eml with its envelope line and an unescaped "From " line inside."""
    quoted = needs_info().replace(b"\r\n", b"\n")
    raw = (
        b"From MAILER-DAEMON  Sat Oct  4 08:00:09 2025\n"
        b"From: MAILER-DAEMON@mx.example.jp\nTo: secure_billing@cc.example.jp\nSubject: Undelivered\n"
        b"Content-Type: text/plain\n\nThe original follows.\n\n"
        b"From hana@example.jp  Sat Oct  4 08:00:07 2025\n" + quoted
    )
    path = tmp_path / "bounce.eml"
    path.write_bytes(raw)
    [line] = ingest_json(capsys, str(path))
    assert line["path"] == str(path)
    assert line["decision"] == "ignored"
