"""Several workers draining one queue at once: every mail processed once, one case per member.

PostgreSQL is where many workers are meant to run (FOR UPDATE SKIP LOCKED plus an advisory lock
per sender); SQLite must stay correct too when a second worker is started by mistake.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, InboundMessage, InboundStatus, OutboundMessage
from triage.engine.loader import load_rules
from triage.ingress.store import InboundStore
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 40


def mail(n: int, part: int) -> bytes:
    bodies = (
        f"ログインID:user_{n}\n",
        f"メールアドレス:u{n}@example.jp\n",
        f"電話番号:090-0000-{n:04d}\n",
    )
    head = (
        f"From: u{n}@example.jp\nTo: secure_billing@cc.example.jp\nSubject: login\n"
        f"Message-ID: <{n}.{part}@example.jp>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + "\n" + bodies[part]).replace("\n", "\r\n").encode("utf-8")


def test_four_workers_process_each_mail_once_and_open_one_case_per_member(migrated_db_url: str) -> None:
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    settings = Settings(database_url=migrated_db_url, reply_rate_limits=((1000, 600),))
    rules = load_rules(ROOT / "rules", ROOT / "replies")
    store = InboundStore(sessions)
    # Each member's three mails (login id, e-mail, phone) are stored one after the other, so the
    # workers, claiming in id order, pick up mails of one member at the same time.
    for n in range(MEMBERS):
        for part in range(3):
            store.insert(
                mail(n, part), f"u{n}@example.jp", ["secure_billing@cc.example.jp"], "t", None, False
            )
    results: list[ProcessResult] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def drain(name: str) -> None:
        try:
            worker = Worker(sessions, settings, rules, clock=SystemClock(), name=name)
            done = worker.drain()
            with lock:
                results.extend(done)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failures == []
        assert sorted(result.inbound_id for result in results) == list(range(1, 3 * MEMBERS + 1))
        assert {result.status for result in results} == {InboundStatus.DONE}
        with sessions() as session:
            statuses = session.scalars(sa.select(InboundMessage.status).distinct()).all()
            assert statuses == [InboundStatus.DONE]
            per_sender = session.execute(sa.select(Case.sender, sa.func.count()).group_by(Case.sender)).all()
            assert len(per_sender) == MEMBERS
            assert {count for _, count in per_sender} == {1}  # never two cases for one member
            queued = session.scalar(
                sa.select(sa.func.count()).select_from(Case).where(Case.status == "queued")
            )
            # Mails of one member may be merged in any order; once all three are in, it is complete.
            assert queued == MEMBERS
            assert (session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) or 0) >= MEMBERS
    finally:
        engine.dispose()
