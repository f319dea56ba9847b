"""`triage queue list`, `triage case show`, `triage outbox list` on SQLite and PostgreSQL, after
a real `triage ingest` (through `triage.cli.main`)."""

from __future__ import annotations

import datetime as dt
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from triage import listing
from triage.cli import main
from triage.db.engine import make_engine, session_factory
from triage.db.models import CaseEvent, InboundMessage, InboundStatus, OutboundMessage, OutboundStatus

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("plain_environment")]

COMPLETE = (
    "ログインできません。よろしくお願いします。\n"
    "ログインID:taro_sample77\n"
    "メールアドレス:taro@example.jp\n"
    "電話番号:090-0000-1234\n"
    "お支払い方法:クレジットカード\n"
    "クレジットカードの末尾4桁:4321\n"
)
NEEDS_INFO = (
    "ログインできません。\n"
    "ログインID:hana_sample88\n"
    "メールアドレス:hana@example.jp\n"
    "電話番号:090-0000-5678\n"
    "お支払い方法:クレジットカード\n"
)
ANSWER = "お世話になります。\nクレジットカードの末尾4桁:9876\n"


def mail(body: str, *, sender: str, message_id: str, to: str = "secure_billing@cc.example.jp") -> bytes:
    head = (
        f"From: {sender}\nTo: {to}\nSubject: help\nMessage-ID: <{message_id}>\n"
        "Date: Fri, 10 May 2024 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def out_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert run([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out)


@pytest.fixture
def desk(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, int]:
    """Case A: complete (queued). Case B: needs_info, then answered (queued, 2 replies)."""
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    (tmp_path / "1.eml").write_bytes(mail(COMPLETE, sender="taro@example.jp", message_id="t1@example.jp"))
    (tmp_path / "2.eml").write_bytes(mail(NEEDS_INFO, sender="hana@example.jp", message_id="h1@example.jp"))
    assert run(["ingest", str(tmp_path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {
        "complete": lines[0]["case_id"],
        "waiting": lines[1]["case_id"],
        "inbound": lines[1]["inbound_id"],
    }


def answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    path = tmp_path / "3-answer.eml"
    path.write_bytes(mail(ANSWER, sender="hana@example.jp", message_id="h2@example.jp"))
    assert run(["ingest", str(path), "--json"]) == 0
    inbound_id: int = json.loads(capsys.readouterr().out)["inbound_id"]
    return inbound_id


# -- queue list --------------------------------------------------------------------------------


def test_queue_list_json_is_an_array_of_every_case(
    desk: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    cases = out_json(capsys, "queue", "list")
    assert isinstance(cases, list)
    assert [case["id"] for case in cases] == [desk["complete"], desk["waiting"]]
    for case in cases:
        assert {"id", "reference", "mailbox", "status", "created_at", "updated_at", "sender"} <= case.keys()
        assert case["mailbox"] == "secure_billing"
        created = dt.datetime.fromisoformat(case["created_at"])
        assert created.utcoffset() == dt.timedelta(0)
    assert [case["status"] for case in cases] == ["queued", "needs_info"]
    assert [case["sender"] for case in cases] == ["ta***@example.jp", "ha***@example.jp"]
    assert cases[1]["missing"] == ["card_last4"]


def test_queue_list_filters(desk: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert [case["id"] for case in out_json(capsys, "queue", "list", "--status", "needs_info")] == [
        desk["waiting"]
    ]
    assert [case["id"] for case in out_json(capsys, "queue", "list", "--status", "queued")] == [
        desk["complete"]
    ]
    assert out_json(capsys, "queue", "list", "--status", "resolved") == []
    assert len(out_json(capsys, "queue", "list", "--mailbox", "SECURE_BILLING")) == 2
    assert out_json(capsys, "queue", "list", "--mailbox", "secure_jo1") == []


def test_queue_list_bad_status_is_a_usage_error(
    desk: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["queue", "list", "--status", "open"]) == 2
    assert capsys.readouterr().err == (
        "triage: --status must be one of needs_info, icloud_rejected, queued, resolved, not_a_request\n"
    )


def test_queue_list_text(desk: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["queue", "list"]) == 0
    out = capsys.readouterr().out
    header, first, second = out.splitlines()
    assert header.split() == ["ID", "REFERENCE", "MAILBOX", "STATUS", "CREATED", "UPDATED", "SENDER"]
    assert first.split()[0] == str(desk["complete"]) and "queued" in first
    assert "needs_info" in second and second.endswith("ha***@example.jp")
    assert "hana@example.jp" not in out and "taro@example.jp" not in out


def test_queue_list_empty(
    migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    assert run(["queue", "list"]) == 0
    assert capsys.readouterr().out == "no cases\n"
    assert out_json(capsys, "queue", "list") == []


# -- case show ---------------------------------------------------------------------------------


def test_case_show_json_fields_history_mails_and_replies(
    desk: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_id = answer(tmp_path, capsys)
    case = out_json(capsys, "case", "show", str(desk["waiting"]))
    assert case["id"] == desk["waiting"] and case["status"] == "queued"
    assert case["sender"] == "hana@example.jp"  # the case page shows the member's address

    fields = {item["field"]: item for item in case["fields"]}
    assert fields["login_id"]["value"] == "hana_sample88"
    assert fields["login_id"]["inbound_id"] == desk["inbound"]
    assert fields["emails"]["value"] == "hana@example.jp"
    assert fields["card_last4"]["inbound_id"] == answer_id  # the answer gave it
    [[start, end]] = fields["login_id"]["spans"]  # offsets into the first mail's own text
    assert end - start == len("hana_sample88") and fields["login_id"]["cue"]
    # Sensitive fields (rules/fields.yaml) are masked unless revealed.
    assert fields["phone"]["value"] == "090-****-5678" and fields["phone"]["masked"] is True
    assert fields["phone"]["written"] == "090-****-5678"
    assert fields["card_last4"]["value"] == "****"
    assert "09000005678" not in json.dumps(case) and "9876" not in json.dumps(case)

    kinds = [event["kind"] for event in case["history"]]
    assert kinds[:2] == ["opened", "decided"]
    assert "followup" in kinds and kinds.count("decided") == 2
    assert [event["id"] for event in case["history"]] == sorted(event["id"] for event in case["history"])

    assert [(m["inbound_id"], m["decision"]) for m in case["mails"]] == [
        (desk["inbound"], "needs_info"),
        (answer_id, "queued"),
    ]
    assert all(dt.datetime.fromisoformat(m["received_at"]) for m in case["mails"])

    assert [reply["template"] for reply in case["replies"]] == ["needs_info", "queued"]
    for reply in case["replies"]:
        assert {"id", "template", "status", "attempts", "created_at", "sent_at", "last_error"} <= reply.keys()
        assert reply["status"] == "pending" and reply["attempts"] == 0 and reply["sent_at"] is None


def test_case_show_reveal_shows_sensitive_values_and_is_audited(
    desk: dict[str, int], migrated_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = out_json(capsys, "case", "show", str(desk["waiting"]), "--reveal")
    fields = {item["field"]: item for item in case["fields"]}
    assert fields["phone"]["value"] == "09000005678" and fields["phone"]["masked"] is False
    assert fields["phone"]["written"] == "090-0000-5678"
    revealed = [event for event in case["history"] if event["kind"] == "revealed"]
    assert len(revealed) == 1
    assert revealed[0]["detail"]["fields"] == ["phone"] and revealed[0]["detail"]["via"] == "cli"
    assert revealed[0]["detail"]["user"]

    # Without --reveal nothing is recorded; a case with no sensitive value records no reveal.
    out_json(capsys, "case", "show", str(desk["waiting"]))
    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as session:
            kinds = list(
                session.scalars(sa.select(CaseEvent.kind).where(CaseEvent.case_id == desk["waiting"]))
            )
    finally:
        engine.dispose()
    assert kinds.count("revealed") == 1


def test_case_show_by_reference(desk: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    reference = out_json(capsys, "case", "show", str(desk["complete"]))["reference"]
    assert out_json(capsys, "case", "show", reference.lower())["id"] == desk["complete"]


def test_case_show_text_masks_sensitive_values(
    desk: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["case", "show", str(desk["complete"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"case {desk['complete']}  ")
    assert "taro_sample77" in out and "taro@example.jp" in out  # whole values on the case page
    assert "090-****-1234" in out and "09000001234" not in out
    assert "4321" not in out
    for section in ("fields:", "mails:", "history:", "replies:"):
        assert section in out.splitlines()
    assert "--reveal" in out
    assert run(["case", "show", str(desk["complete"]), "--reveal"]) == 0
    revealed = capsys.readouterr().out
    assert "09000001234" in revealed and "4321" in revealed


def test_case_show_unknown_id(desk: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["case", "show", "99999"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "triage: no case 99999\n"
    assert run(["case", "show", "ZZZZ-99", "--json"]) == 1
    assert capsys.readouterr().err == "triage: no case ZZZZ-99\n"


# -- outbox list -------------------------------------------------------------------------------


def test_outbox_list_shows_the_replies(
    desk: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer(tmp_path, capsys)
    replies = out_json(capsys, "outbox", "list")
    assert [(r["case_id"], r["template"]) for r in replies] == [
        (desk["complete"], "queued"),
        (desk["waiting"], "needs_info"),
        (desk["waiting"], "queued"),
    ]
    for reply in replies:
        assert {
            "id", "case_id", "template", "status", "attempts", "to",
            "created_at", "next_attempt_at", "last_error",
        } <= reply.keys()  # fmt: skip
        assert reply["status"] == "pending"
        assert dt.datetime.fromisoformat(reply["next_attempt_at"]).utcoffset() == dt.timedelta(0)
    assert [r["to"] for r in replies] == ["ta***@example.jp", "ha***@example.jp", "ha***@example.jp"]

    assert run(["outbox", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:6] == ["ID", "CASE", "TEMPLATE", "STATUS", "ATTEMPTS", "TO"]
    assert len(out.splitlines()) == 4
    assert "@example.jp" in out and "hana@" not in out and "taro@" not in out


def test_outbox_list_status_filter_and_masked_errors(
    desk: dict[str, int], migrated_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as session:
            first = session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)).first()
            assert first is not None
            first.status = OutboundStatus.DEAD
            first.attempts = 3
            first.last_error = "550 5.1.1 <taro@example.jp>: Recipient address rejected"
            session.commit()
            dead_id = first.id
    finally:
        engine.dispose()
    (dead,) = out_json(capsys, "outbox", "list", "--status", "dead")
    assert dead["id"] == dead_id and dead["attempts"] == 3
    assert dead["last_error"] == "550 5.1.1 <ta***@example.jp>: Recipient address rejected"
    assert [r["status"] for r in out_json(capsys, "outbox", "list", "--status", "pending")] == ["pending"]
    assert out_json(capsys, "outbox", "list", "--status", "sent") == []
    assert run(["outbox", "list", "--status", "lost"]) == 2
    assert "--status must be one of pending" in capsys.readouterr().err


# -- inbound list / retry ----------------------------------------------------------------------


def test_inbound_list_shows_failed_mail_with_its_error_and_retry_requeues_it(
    migrated_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    nested = "Content-Type: message/rfc822\n\n" * 1000  # deeper than the stdlib parser can recurse
    (tmp_path / "1.eml").write_bytes(mail(COMPLETE, sender="taro@example.jp", message_id="t1@example.jp"))
    (tmp_path / "2.eml").write_bytes(
        ("From: hana@example.jp\nTo: secure_billing@cc.example.jp\nSubject: x\n" + nested + "x\n").encode()
    )
    assert run(["ingest", str(tmp_path)]) == 1  # one mail could not be processed
    capsys.readouterr()
    failed = out_json(capsys, "inbound", "list", "--status", "failed")
    assert [row["id"] for row in failed] == [2]
    assert failed[0]["last_error"].startswith("ParseFailure")
    assert failed[0]["case_id"] is None
    every = out_json(capsys, "inbound", "list")
    assert [(row["id"], row["status"], row["decision"]) for row in every] == [
        (1, "done", "queued"),
        (2, "failed", None),
    ]
    assert "taro@example.jp" not in json.dumps(every)  # no addresses in the list

    assert run(["inbound", "retry", "1"]) == 1  # not failed
    assert "is done, not failed" in capsys.readouterr().err
    assert run(["inbound", "retry", "2"]) == 0
    capsys.readouterr()
    [again] = out_json(capsys, "inbound", "list", "--status", "pending")
    assert (again["id"], again["attempts"]) == (2, 0)

    # failed again, then purged past retention (raw removed): nothing is left to read again
    engine = make_engine(migrated_db_url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(InboundMessage)
            .where(InboundMessage.id == 2)
            .values(status=InboundStatus.FAILED, raw=b"")
        )
    engine.dispose()
    assert run(["inbound", "retry", "2"]) == 1
    assert "was purged (retention)" in capsys.readouterr().err
    assert out_json(capsys, "inbound", "list", "--status", "failed")[0]["id"] == 2


# -- lists never load raw bodies ---------------------------------------------------------------

HUGE_BODY_BYTES = 20 * 1024 * 1024


@pytest.fixture
def statements() -> Any:
    """Every SQL statement any engine runs while the test is inside ``with statements():``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    class Recording:
        def __enter__(self) -> list[str]:
            sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
            return seen

        def __exit__(self, *exc: object) -> None:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)

    return Recording


def _selected_columns(statements: list[str], table: str) -> set[str]:
    """The columns of ``table`` that SELECT statements name (``table.column``)."""
    found: set[str] = set()
    for statement in statements:
        if statement.lstrip().upper().startswith("SELECT"):
            found.update(re.findall(rf"\b{table}\.(\w+)", statement))
    return found


def test_lists_load_only_the_columns_they_show_never_a_raw_body(
    desk: dict[str, int],
    migrated_db_url: str,
    capsys: pytest.CaptureFixture[str],
    statements: Any,
) -> None:
    engine = make_engine(migrated_db_url)
    huge = b"x" * HUGE_BODY_BYTES
    with session_factory(engine)() as session:  # a huge stored mail and a huge reply
        session.execute(sa.update(InboundMessage).values(raw=huge))
        session.execute(sa.update(OutboundMessage).values(raw=huge, body="y" * HUGE_BODY_BYTES))
        session.commit()
    engine.dispose()

    tracemalloc.start()
    try:
        with statements() as seen:
            every = out_json(capsys, "inbound", "list")
            replies = out_json(capsys, "outbox", "list")
            case = out_json(capsys, "case", "show", str(desk["waiting"]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(every) == 2 and len(replies) == 2 and case["replies"]
    inbound_columns = _selected_columns(seen, "inbound_messages")
    outbound_columns = _selected_columns(seen, "outbound_messages")
    assert {"id", "status", "notes", "last_error"} <= inbound_columns  # the check sees the lists' SQL
    assert "raw" not in inbound_columns
    assert {"id", "status", "to_addr"} <= outbound_columns
    assert not {"raw", "body"} & outbound_columns
    assert peak < HUGE_BODY_BYTES  # nothing the size of one body was held


def test_the_lists_refuse_to_lazy_load_a_body(desk: dict[str, int], migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as session:
            [row] = session.scalars(sa.select(InboundMessage).options(listing.INBOUND_COLUMNS).limit(1))
            with pytest.raises(sa.exc.InvalidRequestError):
                _ = row.raw  # raiseload: a later change that shows the body fails here, not in production
    finally:
        engine.dispose()
