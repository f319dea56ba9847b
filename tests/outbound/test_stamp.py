"""Date at hand-off, Message-ID at queue time, and no `.invalid` on the wire (issue 10, item 3)."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from relaykit import Relay, free_port, parse
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.models import OutboundMessage, OutboundStatus
from triage.errors import ComposeError
from triage.outbound.compose import compose
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import NO_DOMAIN_WARNING, Sender, SmtpTransport
from triage.outbound.stamp import is_placeholder_id, message_id_domain, stamp_date, stamp_message_id

QUEUED_AT = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
MEMBER = "member@example.com"
REPLY = RenderedReply(
    "queued", "ja", MEMBER, "サポート窓口 <secure_jo1@cc.example.jp>", "件名", "本文です。\n"
)


@pytest.fixture
def relay() -> Iterator[Relay]:
    made = Relay(free_port())
    try:
        yield made.start()
    finally:
        made.stop()


def settings(relay: Relay, our_domain: str = "cc.example.jp") -> Settings:
    return Settings(our_domain=our_domain, relay=("127.0.0.1", relay.port), sender_timeout_seconds=5.0)


def queue(sessions: sessionmaker[Session], config: Settings) -> OutboundMessage:
    with sessions() as session:
        row = enqueue_reply(
            session,
            reply=REPLY,
            case_id=None,
            inbound_id=None,
            in_reply_to="<orig.1@mail.example.com>",
            references=(),
            settings=config,
            now=QUEUED_AT,
        )
        session.commit()
        session.refresh(row)
        session.expunge(row)
        return row


def load(sessions: sessionmaker[Session], row_id: int) -> OutboundMessage:
    with sessions() as session:
        return session.get_one(OutboundMessage, row_id)


def test_date_is_the_hand_off_and_the_message_id_the_one_fixed_at_queue_time(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    config = settings(relay)
    queued = queue(sessions, config)
    assert queued.message_id.endswith("@cc.example.jp")
    assert parse(queued.raw)["Date"].datetime == QUEUED_AT

    handed_over = QUEUED_AT + dt.timedelta(hours=2, seconds=7)
    clock = FixedClock(handed_over)
    [result] = Sender(sessions, config, SmtpTransport(config), clock=clock).deliver_due()
    assert result.status == "sent"

    [got] = relay.handler.received
    message = parse(got.content)
    assert message["Date"].datetime == handed_over
    assert message["Message-ID"] == f"<{queued.message_id}>"
    row = load(sessions, queued.id)
    assert row.message_id == queued.message_id
    assert row.raw.replace(b"\r\n", b"\n") == got.content.replace(b"\r\n", b"\n")  # stored as sent


def test_without_a_domain_nothing_is_sent_and_the_sender_says_why_once(
    sessions: sessionmaker[Session], relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="triage")
    unconfigured = settings(relay, our_domain=Settings().our_domain)
    queued = queue(sessions, unconfigured)
    assert is_placeholder_id(queued.message_id)

    waiting = Sender(sessions, unconfigured, SmtpTransport(unconfigured), clock=FixedClock(QUEUED_AT))
    assert waiting.domain is None
    assert waiting.deliver_due() == []
    assert waiting.deliver_due() == []
    assert relay.handler.mail_froms == []  # not even a connection to the relay's MAIL
    row = load(sessions, queued.id)
    assert (row.status, row.attempts) == (OutboundStatus.PENDING, 0)
    assert caplog.text.count(NO_DOMAIN_WARNING) == 1

    # The operator sets the domain and starts again: the reply gets its real Message-ID.
    configured = settings(relay)
    later = FixedClock(QUEUED_AT + dt.timedelta(minutes=5))
    [result] = Sender(sessions, configured, SmtpTransport(configured), clock=later).deliver_due()
    assert result.status == "sent"
    [got] = relay.handler.received
    assert b".invalid" not in got.content
    row = load(sessions, queued.id)
    assert row.message_id.startswith(f"r.{row.id}.") and row.message_id.endswith("@cc.example.jp")
    assert parse(got.content)["Message-ID"] == f"<{row.message_id}>"
    with sessions() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage))
    assert count == 1


@pytest.mark.parametrize(
    ("domain", "configured"),
    [
        ("cc.example.jp", "cc.example.jp"),
        ("CC.Example.JP.", "cc.example.jp"),
        ("triage.invalid", None),
        ("desk.INVALID", None),
        ("", None),
        ("not a domain", None),
        ("localhost", None),
    ],
)
def test_message_id_domain(domain: str, configured: str | None) -> None:
    assert message_id_domain(domain) == configured


def composed() -> bytes:
    return compose(
        REPLY,
        message_id="r.1.abc@cc.example.jp",
        in_reply_to=None,
        references=(),
        instance_id="triage",
        date=QUEUED_AT,
    )


def test_stamping_replaces_exactly_the_one_header() -> None:
    raw = composed()
    when = dt.datetime(2026, 12, 8, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    stamped = stamp_message_id(stamp_date(raw, when), "r.1.xyz@cc.example.jp")
    message = parse(stamped)
    assert message["Date"] == email.utils.format_datetime(when)
    assert message["Message-ID"] == "<r.1.xyz@cc.example.jp>"
    before, after = parse(raw), message
    assert [k for k in before if k not in ("Date", "Message-ID")] == [
        k for k in after if k not in ("Date", "Message-ID")
    ]
    assert before.get_content() == after.get_content()


def test_stamping_refuses_what_it_cannot_stamp_safely() -> None:
    raw = composed()
    twice = raw.replace(b"\r\nDate:", b"\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\nDate:", 1)
    with pytest.raises(ComposeError, match="2 Date fields"):
        stamp_date(twice, QUEUED_AT)
    with pytest.raises(ComposeError, match="timezone-aware"):
        stamp_date(raw, QUEUED_AT.replace(tzinfo=None))
    with pytest.raises(ComposeError, match="no header block"):
        stamp_date(b"Date: x", QUEUED_AT)
    with pytest.raises(ComposeError):
        stamp_message_id(raw, "r.1@cc.example.jp>\r\nBcc: x@example.com")


@pytest.mark.parametrize("header", [b"Message-ID", b"Date"])
def test_stored_bytes_that_cannot_be_stamped_are_dead_lettered_not_a_failing_pass(
    sessions: sessionmaker[Session], relay: Relay, header: bytes
) -> None:
    queued = queue(sessions, settings(relay, our_domain="triage.invalid"))
    with sessions() as session:
        row = session.get_one(OutboundMessage, queued.id)
        lines = row.raw.split(b"\r\n")
        row.raw = b"\r\n".join(line for line in lines if not line.startswith(header + b":"))
        session.commit()
    configured = settings(relay)
    sender = Sender(sessions, configured, SmtpTransport(configured), clock=FixedClock(QUEUED_AT))
    [result] = sender.deliver_due()
    assert result.status == "dead"
    row = load(sessions, queued.id)
    assert row.status is OutboundStatus.DEAD
    assert row.last_error == f"not sent: composed reply has 0 {header.decode()} fields, not one"
    assert relay.handler.received == []
    assert sender.deliver_due() == []
