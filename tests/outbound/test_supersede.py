"""A reply is sent only if it is still true when the sender takes it (issue 10, deliverable 1).

The whole path on a real database (SQLite and PostgreSQL) and a real relay on loopback: the
worker decides and queues replies, the relay is down while the member's follow-up changes the
case, then comes back; the sender must not send the reply the follow-up made untrue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from relaykit import Relay, free_port, parse
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseEvent, CaseStatus, OutboundMessage, OutboundStatus
from triage.engine.loader import load_rules
from triage.ingress.store import InboundStore
from triage.outbound.sender import Sender, SmtpTransport
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)
MAILBOX = "secure_billing@cc.example.jp"
MEMBER = "taro@example.jp"
RULES = load_rules(ROOT / "rules", ROOT / "replies")

NO_PHONE = "ログインできません。\nログインID:taro_sample77\nメールアドレス:taro@example.jp\n"
ONLY_LOGIN = "ログインできません。\nログインID:taro_sample77\n"
COMPLETE = NO_PHONE + "電話番号:090-0000-1234\n"


@dataclass
class Desk:
    """Store, worker and sender on one migrated database and one fixed clock; a relay, not started."""

    sessions: sessionmaker[Session]
    store: InboundStore
    worker: Worker
    sender: Sender
    clock: FixedClock
    relay: Relay

    def run(self, body: str, message_id: str, in_reply_to: str | None = None) -> ProcessResult:
        head = (
            f"From: {MEMBER}\nTo: {MAILBOX}\nSubject: ログインできません\nMessage-ID: <{message_id}>\n"
            "Date: Mon, 07 Dec 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
        )
        if in_reply_to:
            head += f"In-Reply-To: <{in_reply_to}>\nReferences: <{in_reply_to}>\n"
        raw = (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")
        inbound_id = self.store.insert(raw, MEMBER, [MAILBOX], "127.0.0.1", "client.example.jp", False)
        assert self.worker.claim(inbound_id) == inbound_id
        return self.worker.process(inbound_id)

    def replies(self, case_id: int) -> list[OutboundMessage]:
        with self.sessions() as session:
            stmt = sa.select(OutboundMessage).where(OutboundMessage.case_id == case_id)
            return list(session.scalars(stmt.order_by(OutboundMessage.id)))

    def events(self, case_id: int) -> list[tuple[str, int | None, dict[str, object]]]:
        with self.sessions() as session:
            stmt = sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            return [(event.kind, event.outbound_id, event.detail) for event in session.scalars(stmt)]


@pytest.fixture
def desk(migrated_db_url: str) -> Iterator[Desk]:
    relay = Relay(free_port())
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    clock = FixedClock(START)
    settings = Settings(
        database_url=migrated_db_url,
        our_domain="cc.example.jp",
        relay=("127.0.0.1", relay.port),
        sender_timeout_seconds=5.0,
        sender_retry_base_seconds=60.0,
        sender_retry_cap_seconds=150.0,
    )
    try:
        yield Desk(
            sessions,
            InboundStore(sessions, now=clock.now),
            Worker(sessions, settings, RULES, clock=clock, name="w1"),
            Sender(sessions, settings, SmtpTransport(settings), clock=clock, name="s1"),
            clock,
            relay,
        )
    finally:
        relay.stop()
        engine.dispose()


def relay_down_once(desk: Desk) -> OutboundMessage:
    """One pass with nothing listening: the one due reply stays pending; returns it."""
    [result] = desk.sender.deliver_due()
    assert result.status == "pending"
    with desk.sessions() as session:
        row = session.get_one(OutboundMessage, result.outbound_id)
    assert row.last_error is not None and row.last_error.startswith("relay unreachable")
    return row


def test_a_waiting_needs_info_reply_is_superseded_when_the_follow_up_completes_the_case(desk: Desk) -> None:
    first = desk.run(NO_PHONE, "m1@example.jp")
    assert first.decision == "needs_info" and first.case_id is not None
    asked = relay_down_once(desk)

    desk.clock.at = START + dt.timedelta(seconds=20)
    second = desk.run("電話番号:090-0000-1234\n", "m2@example.jp", in_reply_to=asked.message_id)
    assert (second.case_id, second.decision) == (first.case_id, "queued")

    desk.relay.start()
    desk.clock.at = asked.next_attempt_at + dt.timedelta(seconds=1)
    results = {result.outbound_id: result.status for result in desk.sender.deliver_due()}
    old, ack = desk.replies(first.case_id)
    assert results == {old.id: "superseded", ack.id: "sent"}
    assert old.status is OutboundStatus.SUPERSEDED
    assert old.last_error == f"superseded by reply {ack.id} (a newer verdict on the case)"
    assert old.attempts == 1  # the failed attempt only: never handed over again
    assert ack.status is OutboundStatus.SENT

    [got] = desk.relay.handler.received
    message = parse(got.content)
    assert message["Message-ID"] == f"<{ack.message_id}>"
    assert "受け付けました" in str(message["Subject"])
    kinds = [(kind, outbound) for kind, outbound, _ in desk.events(first.case_id)]
    assert ("reply_superseded", old.id) in kinds
    assert ("reply_sent", ack.id) in kinds
    assert ("reply_sent", old.id) not in kinds

    desk.clock.at += dt.timedelta(hours=2)
    assert desk.sender.deliver_due() == []
    assert len(desk.relay.handler.received) == 1


def test_a_still_incomplete_answer_supersedes_the_first_list_with_the_second(desk: Desk) -> None:
    first = desk.run(ONLY_LOGIN, "m1@example.jp")
    assert first.case_id is not None
    asked = relay_down_once(desk)
    desk.clock.at = START + dt.timedelta(seconds=20)
    second = desk.run("メールアドレス:taro@example.jp\n", "m2@example.jp", in_reply_to=asked.message_id)
    assert second.decision == "needs_info"

    desk.relay.start()
    desk.clock.at = asked.next_attempt_at + dt.timedelta(seconds=1)
    desk.sender.deliver_due()
    old, again = desk.replies(first.case_id)
    assert (old.status, again.status) == (OutboundStatus.SUPERSEDED, OutboundStatus.SENT)
    [got] = desk.relay.handler.received
    assert parse(got.content)["Message-ID"] == f"<{again.message_id}>"


def test_an_acknowledgement_stays_true_when_a_follow_up_leaves_the_case_queued(desk: Desk) -> None:
    first = desk.run(COMPLETE, "m1@example.jp")
    assert first.decision == "queued" and first.case_id is not None
    ack = relay_down_once(desk)
    desk.clock.at = START + dt.timedelta(seconds=20)
    second = desk.run("補足です。ニックネーム:たろう\n", "m2@example.jp", in_reply_to=ack.message_id)
    assert second.decision == "queued"
    assert len(desk.replies(first.case_id)) == 1  # queued stays queued: no second reply

    desk.relay.start()
    desk.clock.at = ack.next_attempt_at + dt.timedelta(seconds=1)
    [result] = desk.sender.deliver_due()
    assert (result.outbound_id, result.status) == (ack.id, "sent")
    assert len(desk.relay.handler.received) == 1


def test_an_acknowledgement_of_a_case_resolved_meanwhile_is_superseded(desk: Desk) -> None:
    first = desk.run(COMPLETE, "m1@example.jp")
    assert first.case_id is not None
    ack = relay_down_once(desk)
    with desk.sessions() as session:  # staff close the case while the relay is down
        case = session.get_one(Case, first.case_id)
        case.status = CaseStatus.RESOLVED
        session.commit()

    desk.relay.start()
    desk.clock.at = ack.next_attempt_at + dt.timedelta(seconds=1)
    [result] = desk.sender.deliver_due()
    assert result.status == "superseded"
    assert result.detail == "case is now resolved; this reply answered queued"
    [row] = desk.replies(first.case_id)
    assert row.status is OutboundStatus.SUPERSEDED
    assert row.last_error == result.detail
    assert desk.relay.handler.received == []
    events = desk.events(first.case_id)
    queued = [detail for kind, _, detail in events if kind == "reply_queued"]
    assert queued == [{"template": "queued", "reason": None, "decision": "queued"}]  # what it answered
    superseded = [detail for kind, _, detail in events if kind == "reply_superseded"]
    assert superseded == [{"template": "queued", "attempts": 1, "reason": result.detail}]
