"""enqueue_reply and the send-side guards, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
)
from triage.outbound.outbox import enqueue_reply
from triage.outbound.ratelimit import (
    noreply_recipient,
    rate_limited,
    recently_failed_permanently,
)
from triage.outbound.render import RenderedReply

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
SETTINGS = Settings(our_domain="triage.example", instance_id="outbox-test")
MEMBER = "Member@Example.com"


def reply(to: str = MEMBER, subject: str = "受付のお知らせ") -> RenderedReply:
    return RenderedReply("queued", "ja", to, "secure_jo1@example.jp", subject, "本文です。\n")


@pytest.fixture
def session(migrated_db_url: str) -> Iterator[Session]:
    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as s:
            yield s
    finally:
        engine.dispose()


def add_case_and_inbound(session: Session) -> tuple[int, int]:
    inbound = InboundMessage(
        received_at=NOW,
        mail_from="member@example.com",
        mail_options=[],
        rcpt_tos=["secure_jo1@example.jp"],
        peer="127.0.0.1:40000",
        helo="client.example",
        smtp_utf8=False,
        tls=False,
        size=10,
        sha256="0" * 64,
        raw=b"Subject: x\r\n\r\nx\r\n",
        has_bare_line_ends=False,
        notes=[],
    )
    case = Case(
        reference="7Q4K-2M",
        mailbox="secure_jo1",
        status=CaseStatus.QUEUED,
        sender="member@example.com",
        language="ja",
        created_at=NOW,
        updated_at=NOW,
        reason="complete",
        missing=[],
        invalid=[],
    )
    session.add_all([inbound, case])
    session.flush()
    return case.id, inbound.id


def enqueue(session: Session, r: RenderedReply, now: dt.datetime = NOW, **ids: int | None) -> OutboundMessage:
    return enqueue_reply(
        session,
        reply=r,
        case_id=ids.get("case_id"),
        inbound_id=ids.get("inbound_id"),
        in_reply_to="<orig.1@mail.example.com>",
        references=("<older.0@mail.example.com>",),
        settings=SETTINGS,
        now=now,
    )


def events(session: Session, case_id: int) -> list[CaseEvent]:
    stmt = sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list(session.scalars(stmt))


def test_enqueue_creates_a_pending_row(session: Session) -> None:
    case_id, inbound_id = add_case_and_inbound(session)
    row = enqueue(session, reply(), case_id=case_id, inbound_id=inbound_id)
    session.commit()
    stored = session.get_one(OutboundMessage, row.id)
    assert stored.status is OutboundStatus.PENDING
    assert stored.to_addr == "member@example.com"
    assert stored.from_addr == "secure_jo1@example.jp"
    assert re.fullmatch(rf"r\.{row.id}\.[A-Za-z0-9_-]{{10,12}}@triage\.example", stored.message_id)
    assert stored.next_attempt_at == NOW
    assert stored.give_up_at == NOW + dt.timedelta(seconds=SETTINGS.sender_give_up_seconds)
    assert stored.attempts == 0
    assert stored.last_error is None
    msg = email.message_from_bytes(stored.raw, policy=email.policy.default)
    assert msg["Message-ID"] == f"<{stored.message_id}>"
    assert msg["To"] == "member@example.com"
    assert msg["In-Reply-To"] == "<orig.1@mail.example.com>"
    assert msg["References"] == "<older.0@mail.example.com> <orig.1@mail.example.com>"
    assert msg["X-Triage-Loop"] == "outbox-test"
    assert msg["Subject"] == "【自動送信】受付のお知らせ"
    [event] = events(session, case_id)
    assert event.kind == "reply_queued"
    assert event.outbound_id == row.id
    assert event.inbound_id == inbound_id
    assert event.detail == {"template": "queued", "reason": None}


def test_fourth_reply_in_ten_minutes_is_suppressed(session: Session) -> None:
    case_id, _ = add_case_and_inbound(session)
    rows = [enqueue(session, reply(), NOW + dt.timedelta(minutes=i)) for i in range(3)]
    assert all(r.status is OutboundStatus.PENDING for r in rows)
    # Another case of the same member, another spelling of the address: still the same recipient.
    fourth = enqueue(session, reply(to="member@EXAMPLE.COM"), NOW + dt.timedelta(minutes=5), case_id=case_id)
    session.commit()
    assert fourth.status is OutboundStatus.SUPPRESSED
    assert fourth.last_error == "reply rate-limited: 3 replies in 600 s"
    assert fourth.raw  # composed all the same, so staff can see what was not sent
    [event] = events(session, case_id)
    assert event.kind == "reply_suppressed"
    assert event.detail == {"template": "queued", "reason": "reply rate-limited: 3 replies in 600 s"}
    # Others are not affected; the window slides.
    assert enqueue(session, reply(to="other@example.com"), NOW + dt.timedelta(minutes=5)).status is (
        OutboundStatus.PENDING
    )
    later = enqueue(session, reply(), NOW + dt.timedelta(minutes=10, seconds=1))
    assert later.status is OutboundStatus.PENDING


def test_daily_window(session: Session) -> None:
    for i in range(10):
        assert enqueue(session, reply(), NOW + dt.timedelta(hours=i)).status is OutboundStatus.PENDING
    eleventh = enqueue(session, reply(), NOW + dt.timedelta(hours=12))
    assert eleventh.last_error == "reply rate-limited: 10 replies in 86400 s"
    # Suppressed rows do not count: a day after the first, one slot is free again.
    assert enqueue(session, reply(), NOW + dt.timedelta(hours=24, seconds=1)).status is OutboundStatus.PENDING


@pytest.mark.parametrize(
    "to",
    ["MAILER-DAEMON@mx.example.com", "postmaster@example.jp", "no-reply@shop.example", "noreply+x@a.example"],
)
def test_noreply_recipient_is_suppressed(session: Session, to: str) -> None:
    row = enqueue(session, reply(to=to))
    assert row.status is OutboundStatus.SUPPRESSED
    assert row.last_error is not None
    assert row.last_error.startswith("no-reply recipient")
    assert to.lower() not in row.last_error


def test_recent_permanent_failure_suppresses(session: Session) -> None:
    first = enqueue(session, reply())
    first.status = OutboundStatus.DEAD
    first.last_error = "550 5.1.1 no such user"
    session.flush()
    second = enqueue(session, reply(), NOW + dt.timedelta(days=1))
    assert second.status is OutboundStatus.SUPPRESSED
    assert second.last_error == "recipient failed permanently within 60 days"
    assert enqueue(session, reply(), NOW + dt.timedelta(days=61)).status is OutboundStatus.PENDING


def test_bad_member_address_is_stored_suppressed_not_raised(session: Session) -> None:
    case_id, _ = add_case_and_inbound(session)
    row = enqueue(session, reply(to="member@example.com\r\nBcc: evil@example.com"), case_id=case_id)
    session.commit()
    assert row.status is OutboundStatus.SUPPRESSED
    assert row.raw == b""
    assert row.last_error is not None
    assert row.last_error.startswith("reply not composed: recipient")
    assert "evil" not in row.last_error
    assert re.fullmatch(rf"r\.{row.id}\.\S+@triage\.example", row.message_id)
    [event] = events(session, case_id)
    assert event.kind == "reply_suppressed"


def test_guard_functions(session: Session) -> None:
    assert noreply_recipient("root@example.com") == "no-reply recipient (root)"
    assert noreply_recipient("do-not-reply@example.com") is not None
    assert noreply_recipient("abuse@example.com") is not None
    assert noreply_recipient("rooted@example.com") is None
    assert noreply_recipient("member@example.com") is None
    limits = ((3, 600), (10, 86400))
    assert rate_limited(session, "member@example.com", NOW, limits) is None
    rows = [enqueue(session, reply(), NOW) for _ in range(2)]
    for row in rows:
        row.status = OutboundStatus.SENT
        row.sent_at = NOW
    session.flush()
    assert rate_limited(session, "MEMBER@example.com", NOW, ((2, 600),)) == "2 replies in 600 s"
    assert not recently_failed_permanently(session, "member@example.com", NOW)
    rows[0].status = OutboundStatus.DEAD
    rows[0].last_error = "451 4.3.0 try later"  # temporary: changes nothing
    session.flush()
    assert not recently_failed_permanently(session, "member@example.com", NOW)
