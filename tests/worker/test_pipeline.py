"""The worker on a real database (SQLite and PostgreSQL): cases, follow-ups, duplicates, failures."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.cases.service import merged_extraction
from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseValue,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.ingress.store import InboundStore
from triage.outbound.render import field_label
from triage.parsing.mime import parse_mail
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker
from triage.worker.reading import OUR_ID_PREFIX

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)
MAILBOX = "secure_billing@cc.example.jp"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(ROOT / "rules", ROOT / "replies")


@dataclass
class Desk:
    """A migrated database with a store and a worker on a fixed clock."""

    sessions: sessionmaker[Session]
    store: InboundStore
    worker: Worker
    clock: FixedClock
    settings: Settings

    def receive(
        self,
        raw: bytes,
        *,
        mail_from: str = "taro@example.jp",
        rcpt: str = MAILBOX,
    ) -> int:
        return self.store.insert(raw, mail_from, [rcpt], "127.0.0.1", "client.example.jp", False)

    def run(self, raw: bytes, **kwargs: str) -> ProcessResult:
        inbound_id = self.receive(raw, **kwargs)
        claimed = self.worker.claim(inbound_id)
        assert claimed == inbound_id
        return self.worker.process(inbound_id)

    def one(self, model: type[Case] | type[OutboundMessage], ident: int) -> object:
        with self.sessions() as session:
            return session.get(model, ident)

    def all(self, statement: sa.Select[tuple[object]]) -> list[object]:
        with self.sessions() as session:
            return list(session.scalars(statement))


@pytest.fixture
def desk(migrated_db_url: str, rules: RuleSet) -> Iterator[Desk]:
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    clock = FixedClock(START)
    settings = Settings(database_url=migrated_db_url, worker_max_attempts=3)
    yield Desk(
        sessions,
        InboundStore(sessions, now=clock.now),
        Worker(sessions, settings, rules, clock=clock, name="w1"),
        clock,
        settings,
    )
    engine.dispose()


def mail(
    body: str,
    *,
    message_id: str,
    sender: str = "taro@example.jp",
    subject: str = "ログインできません",
    headers: str = "",
) -> bytes:
    head = (
        f"From: {sender}\nTo: {MAILBOX}\nSubject: {subject}\nMessage-ID: <{message_id}>\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + headers + "\n" + body).replace("\n", "\r\n").encode("utf-8")


COMPLETE = "ログインID:taro_sample77\nメールアドレス:taro@example.jp\n電話番号:090-0000-1234\n"
NO_PHONE = "ログインできません。\nログインID:taro_sample77\nメールアドレス:taro@example.jp\n"
ONLY_LOGIN = "ログインできません。\nログインID:taro_sample77\n"


def values(desk: Desk, case_id: int, *, current: bool = True) -> dict[str, list[tuple[object, int]]]:
    out: dict[str, list[tuple[object, int]]] = {}
    with desk.sessions() as session:
        rows = session.scalars(
            sa.select(CaseValue)
            .where(CaseValue.case_id == case_id, CaseValue.current.is_(current))
            .order_by(CaseValue.id)
        )
        for row in rows:
            out.setdefault(row.field, []).append((row.value, row.inbound_id))
    return out


def replies(desk: Desk, case_id: int) -> list[OutboundMessage]:
    with desk.sessions() as session:
        return list(
            session.scalars(
                sa.select(OutboundMessage)
                .where(OutboundMessage.case_id == case_id)
                .order_by(OutboundMessage.id)
            )
        )


def test_a_complete_mail_becomes_a_queued_case_with_provenance_and_a_reply(desk: Desk) -> None:
    result = desk.run(mail(COMPLETE, message_id="m1@example.jp"))
    assert result.status is InboundStatus.DONE
    assert result.decision == "queued"
    assert result.case_id is not None
    case = desk.one(Case, result.case_id)
    assert isinstance(case, Case)
    assert case.status is CaseStatus.QUEUED
    assert case.mailbox == "secure_billing"
    assert case.sender == "taro@example.jp"  # the envelope sender
    assert values(desk, case.id) == {
        "login_id": [("taro_sample77", result.inbound_id)],
        "emails": [("taro@example.jp", result.inbound_id)],
        "phone": [("09000001234", result.inbound_id)],
    }
    [reply] = replies(desk, case.id)
    assert reply.template == "queued"
    assert reply.status is OutboundStatus.PENDING
    assert reply.to_addr == "taro@example.jp"
    parsed = email.message_from_bytes(reply.raw, policy=email.policy.default)
    assert parsed["In-Reply-To"] == "<m1@example.jp>"
    assert parsed["Message-ID"] == f"<{reply.message_id}>"
    assert case.reference in reply.body


def test_each_value_keeps_its_spans_and_cue_and_merged_extraction_reads_them_back(desk: Desk) -> None:
    raw = mail(COMPLETE, message_id="m1@example.jp")
    result = desk.run(raw)
    assert result.case_id is not None
    text = parse_mail(raw).text
    with desk.sessions() as session:
        rows = {
            row.field: row
            for row in session.scalars(sa.select(CaseValue).where(CaseValue.case_id == result.case_id))
        }
        assert rows["login_id"].spans is not None
        assert ["".join(text[a:b] for a, b in rows["login_id"].spans)] == ["taro_sample77"]
        assert "".join(text[a:b] for a, b in rows["phone"].spans or []) == "090-0000-1234"
        assert rows["login_id"].cue == "ログインID"
        case = session.get(Case, result.case_id)
        assert case is not None
        merged = merged_extraction(session, case)
    [login] = merged.found["login_id"]
    assert login.spans == tuple((a, b) for a, b in rows["login_id"].spans)
    assert login.cue == "ログインID"


def test_a_row_without_spans_reads_back_with_none(desk: Desk) -> None:
    result = desk.run(mail(COMPLETE, message_id="m1@example.jp"))
    assert result.case_id is not None
    with desk.sessions() as session:
        session.execute(sa.update(CaseValue).values(spans=None, cue=None))  # a row older than 0003
        case = session.get(Case, result.case_id)
        assert case is not None
        merged = merged_extraction(session, case)
    assert merged.found["login_id"][0].spans == ()
    assert merged.found["login_id"][0].cue == ""
    assert merged.found["login_id"][0].value == "taro_sample77"


def test_needs_info_then_the_answer_merges_into_one_queued_case(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    assert first.decision == "needs_info"
    assert first.case_id is not None
    [asked] = replies(desk, first.case_id)
    assert asked.template == "needs_info"
    answer = (
        "電話番号:090-0000-1234\n\n"
        "2026年11月21日(土) 10:05 triage <secure_billing@cc.example.jp>:\n"
        "> 電話番号:080-9999-9999\n> ログインID:someone_else\n"
    )
    second = desk.run(
        mail(
            answer,
            message_id="m2@example.jp",
            subject="Re: ログインできません",
            headers=f"In-Reply-To: <{asked.message_id}>\nReferences: <m1@example.jp> <{asked.message_id}>\n",
        )
    )
    assert second.case_id == first.case_id
    assert second.decision == "queued"
    case = desk.one(Case, first.case_id)
    assert isinstance(case, Case)
    assert case.status is CaseStatus.QUEUED
    assert case.missing == []
    assert values(desk, case.id) == {
        "login_id": [("taro_sample77", first.inbound_id)],  # the quoted someone_else is ignored
        "emails": [("taro@example.jp", first.inbound_id)],
        "phone": [("09000001234", second.inbound_id)],  # not the quoted 080 number
    }
    assert [r.template for r in replies(desk, case.id)] == ["needs_info", "queued"]
    with desk.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
        kinds = list(
            session.scalars(
                sa.select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
    assert kinds == ["opened", "decided", "reply_queued", "followup", "decided", "reply_queued"]


def test_a_still_incomplete_answer_gets_one_reply_naming_only_what_is_still_missing(desk: Desk) -> None:
    first = desk.run(mail(ONLY_LOGIN, message_id="m1@example.jp"))
    assert first.case_id is not None
    case = desk.one(Case, first.case_id)
    assert isinstance(case, Case)
    assert case.missing == ["emails", "phone"]
    email_label = field_label(str(ROOT / "replies"), "secure_billing", "emails", "ja")
    phone_label = field_label(str(ROOT / "replies"), "secure_billing", "phone", "ja")
    [asked] = replies(desk, first.case_id)
    assert f"・{email_label}\n" in asked.body
    assert f"・{phone_label}\n" in asked.body

    second = desk.run(
        mail(
            "メールアドレス:taro@example.jp\n",
            message_id="m2@example.jp",
            headers=f"In-Reply-To: <{asked.message_id}>\n",
        )
    )
    assert second.case_id == first.case_id
    assert second.decision == "needs_info"
    first_reply, again = replies(desk, first.case_id)
    assert again.template == "needs_info"
    assert again.id != first_reply.id
    assert f"・{phone_label}\n" in again.body
    assert email_label not in again.body


def test_the_same_sender_to_the_same_mailbox_while_the_case_waits_is_a_follow_up(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    desk.clock.at = START + dt.timedelta(days=3)
    second = desk.run(mail("電話番号は090-0000-1234です。\n", message_id="m2@example.jp"))
    assert second.case_id == first.case_id
    assert second.decision == "queued"


def test_same_sender_after_the_maximum_age_opens_a_new_case(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    desk.clock.at = START + dt.timedelta(days=31)
    second = desk.run(mail("電話番号:090-0000-1234\n", message_id="m2@example.jp"))
    assert second.case_id != first.case_id


def test_our_reference_in_the_subject_threads_a_mail_from_another_address(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    assert first.case_id is not None
    case = desk.one(Case, first.case_id)
    assert isinstance(case, Case)
    second = desk.run(
        mail(
            "電話番号:090-0000-1234\n",
            message_id="m2@example.jp",
            sender="taro.other@example.com",
            subject=f"受付番号 {case.reference.lower()} の件",
        ),
        mail_from="taro.other@example.com",
    )
    assert second.case_id == first.case_id
    with desk.sessions() as session:
        event = session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "followup")
        ).one()
    assert event.detail["rule"] == "reference"
    assert event.detail["from_other_sender"] is True


def test_an_identical_resubmission_makes_no_new_case_and_no_new_reply(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    desk.clock.at = START + dt.timedelta(hours=1)
    second = desk.run(mail(NO_PHONE, message_id="m2@example.jp"))  # resent by hand: new Message-ID
    assert second.case_id == first.case_id
    assert second.outbound_id is None
    assert first.case_id is not None
    assert len(replies(desk, first.case_id)) == 1


def test_a_transport_retry_of_the_same_bytes_is_a_duplicate(desk: Desk) -> None:
    raw = mail(COMPLETE, message_id="m1@example.jp")
    first = desk.receive(raw)
    again = desk.receive(raw)  # the client never saw our 250 and sent it again
    results = desk.worker.drain()
    assert [(r.inbound_id, r.status) for r in results] == [
        (first, InboundStatus.DONE),
        (again, InboundStatus.DUPLICATE),
    ]
    with desk.sessions() as session:
        row = session.get(InboundMessage, again)
        assert row is not None
        assert row.duplicate_of == first
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 1


def test_the_same_bytes_to_another_envelope_are_not_a_duplicate(desk: Desk) -> None:
    raw = mail(COMPLETE, message_id="m1@example.jp")
    desk.receive(raw)
    desk.receive(raw, mail_from="other@example.jp")
    assert [r.status for r in desk.worker.drain()] == [InboundStatus.DONE, InboundStatus.DONE]


def test_automatic_mail_is_recorded_as_ignored_with_no_case_and_no_reply(desk: Desk) -> None:
    result = desk.run(mail(COMPLETE, message_id="m1@example.jp", headers="Auto-Submitted: auto-replied\n"))
    assert result.decision == "ignored"
    assert result.case_id is None
    with desk.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 0


def test_the_null_envelope_sender_of_an_smtp_mail_is_screened(desk: Desk) -> None:
    result = desk.run(mail(COMPLETE, message_id="m1@example.jp"), mail_from="")
    assert result.decision == "ignored"


def test_a_follow_up_to_a_resolved_case_opens_a_new_linked_case(desk: Desk) -> None:
    first = desk.run(mail(COMPLETE, message_id="m1@example.jp"))
    with desk.sessions() as session:
        case = session.get(Case, first.case_id)
        assert case is not None
        case.status = CaseStatus.RESOLVED
        session.commit()
    second = desk.run(
        mail("追加です。\n" + COMPLETE, message_id="m2@example.jp", headers="In-Reply-To: <m1@example.jp>\n")
    )
    assert second.case_id not in (None, first.case_id)
    new_case = desk.one(Case, second.case_id or 0)
    assert isinstance(new_case, Case)
    assert new_case.parent_id == first.case_id


def test_unreadable_structure_is_parked_as_failed_at_once_with_the_error(desk: Desk) -> None:
    # Forwarded messages nested 1,000 deep: deeper than the stdlib parser can recurse. (Nested
    # multiparts are read to a bounded depth instead: parsing/structure.py.)
    head = "Content-Type: message/rfc822\n\n" * 1000
    raw = ("From: taro@example.jp\nTo: " + MAILBOX + "\nSubject: x\n" + head + "text\n").encode()
    result = desk.run(raw)
    assert result.status is InboundStatus.FAILED
    with desk.sessions() as session:
        row = session.get(InboundMessage, result.inbound_id)
        assert row is not None
        assert row.status is InboundStatus.FAILED
        assert row.last_error is not None
        assert "ParseFailure" in row.last_error
        assert row.attempts == 1


def test_a_claim_whose_worker_died_is_taken_again_after_the_lease_then_parked(desk: Desk) -> None:
    inbound_id = desk.receive(mail(COMPLETE, message_id="m1@example.jp"))
    for attempt in range(1, 4):
        assert desk.worker.claim() == inbound_id  # ... and the worker dies before processing
        assert desk.worker.claim() is None  # leased: nobody else takes it meanwhile
        desk.clock.at += dt.timedelta(seconds=desk.settings.worker_lease_seconds + 1)
        with desk.sessions() as session:
            row = session.get(InboundMessage, inbound_id)
            assert row is not None
            assert row.attempts == attempt
    assert desk.worker.claim() is None  # three attempts used up: parked, not claimed again
    with desk.sessions() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        assert row.status is InboundStatus.FAILED
        assert row.last_error is not None
        assert "gave up after 3 attempts" in row.last_error


def test_a_worker_that_lost_its_claim_does_not_finish_the_row(desk: Desk, rules: RuleSet) -> None:
    inbound_id = desk.receive(mail(COMPLETE, message_id="m1@example.jp"))
    assert desk.worker.claim() == inbound_id
    desk.clock.at += dt.timedelta(seconds=desk.settings.worker_lease_seconds + 1)
    other = Worker(desk.sessions, desk.settings, rules, clock=desk.clock, name="w2")
    assert other.claim() == inbound_id
    assert desk.worker.process(inbound_id).detail == "claim lost to another worker"
    assert other.process(inbound_id).status is InboundStatus.DONE
    with desk.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_a_bounce_of_our_reply_is_ignored_and_recorded_on_the_case(desk: Desk) -> None:
    first = desk.run(mail(COMPLETE, message_id="m1@example.jp"))
    assert first.case_id is not None
    [reply] = replies(desk, first.case_id)
    with desk.sessions() as session:  # the relay took it
        row = session.get(OutboundMessage, reply.id)
        assert row is not None
        row.status = OutboundStatus.SENT
        session.commit()
    notice = (  # a carrier's plain-text notice quoting the original's headers
        "Mail System Error - Returned Mail\n\nThe following address is unknown: 550 5.1.1\n\n"
        f"Message-ID: <{reply.message_id}>\nSubject: x\n"
    )
    bounce = mail(notice, message_id="b1@mx.example.jp", sender="MAILER-DAEMON@mx.example.jp")
    result = desk.run(bounce, mail_from="")
    assert result.decision == "ignored"
    assert result.case_id is None
    with desk.sessions() as session:
        event = session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == "reply_bounced")).one()
        assert (event.case_id, event.outbound_id, event.detail) == (
            first.case_id,
            reply.id,
            {"status": "5.1.1"},
        )
        bounced = session.get(OutboundMessage, reply.id)
        assert bounced is not None
        assert bounced.status is OutboundStatus.DEAD  # 5.x.x: further replies suppressed for 60 days
        assert bounced.last_error == "5.1.1 bounced after delivery"
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 1


def test_a_mail_carrying_the_message_id_of_a_reply_we_sent_is_ours_coming_back(desk: Desk) -> None:
    first = desk.run(mail(NO_PHONE, message_id="m1@example.jp"))
    assert first.case_id is not None
    (reply,) = replies(desk, first.case_id)
    assert reply.message_id.startswith(OUR_ID_PREFIX)  # the check's cheap first step
    looped = desk.run(mail(NO_PHONE, message_id=reply.message_id, subject="Re: ログインできません"))
    assert looped.decision == "ignored"
    look_alike = desk.run(mail(NO_PHONE, message_id="r.1.notours@example.jp", sender="hana@example.jp"))
    assert look_alike.decision == "needs_info"  # the prefix alone proves nothing: the row decides
