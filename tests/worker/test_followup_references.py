"""A follow-up threaded by `References` alone (no In-Reply-To) joins a *queued* case: a gap a
deliberate-mutation run of the suite found unguarded (issue 12 "Must show"). Real worker, real
database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseEvent, CaseStatus, InboundMessage, OutboundMessage
from triage.engine.loader import load_rules
from triage.ingress.store import InboundStore
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.UTC)
MAILBOX = "secure_billing@cc.example.jp"
COMPLETE = "ログインID:taro_sample77\nメールアドレス:taro@example.jp\n電話番号:090-0000-1234\n"
# No case reference, no quote of our reply: only the References field can thread it.
ANSWER = "追加です。\nお支払い方法:クレジットカード\n"


def mail(body: str, *, message_id: str, sender: str, headers: str = "") -> bytes:
    head = (
        f"From: {sender}\nTo: {MAILBOX}\nSubject: help\nMessage-ID: <{message_id}>\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + headers + "\n" + body).replace("\n", "\r\n").encode("utf-8")


class Desk:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        clock = FixedClock(START)
        settings = Settings(database_url=url)
        rules = load_rules(ROOT / "rules", ROOT / "replies")
        self.store = InboundStore(self.sessions, now=clock.now)
        self.worker = Worker(self.sessions, settings, rules, clock=clock, name="w1")

    def run(self, raw: bytes, mail_from: str) -> ProcessResult:
        inbound_id = self.store.insert(raw, mail_from, [MAILBOX], "127.0.0.1", "client.example.jp", False)
        assert self.worker.claim(inbound_id) == inbound_id
        return self.worker.process(inbound_id)


@pytest.fixture
def desk(migrated_db_url: str) -> Iterator[Desk]:
    made = Desk(migrated_db_url)
    yield made
    made.engine.dispose()


def _followup_rule(desk: Desk, case_id: int) -> object:
    with desk.sessions() as session:
        event = session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "followup")
        ).one()
        return event.detail["rule"]


@pytest.mark.parametrize("names", ["our reply", "the member's first mail"])
def test_references_alone_thread_a_follow_up_into_a_queued_case(desk: Desk, names: str) -> None:
    first = desk.run(mail(COMPLETE, message_id="m1@example.jp", sender="taro@example.jp"), "taro@example.jp")
    assert first.case_id is not None and first.decision == "queued"
    with desk.sessions() as session:
        case = session.get(Case, first.case_id)
        assert case is not None and case.status is CaseStatus.QUEUED
        reply_id = session.scalars(
            sa.select(OutboundMessage.message_id).where(OutboundMessage.case_id == first.case_id)
        ).one()
    named = f"<{reply_id}>" if names == "our reply" else "<m1@example.jp>"
    # From another address (so "same sender" cannot match, and it only matches waiting cases).
    second = desk.run(
        mail(
            ANSWER,
            message_id="m2@example.jp",
            sender="hanako@example.com",
            headers=f"References: <older@example.com> {named}\n",
        ),
        "hanako@example.com",
    )
    assert second.case_id == first.case_id
    assert _followup_rule(desk, first.case_id) == ("our-reply" if names == "our reply" else "thread")
    with desk.sessions() as session:
        row = session.get(InboundMessage, second.inbound_id)
        assert row is not None and row.case_id == first.case_id
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
