"""`kill -9` of `triage serve` under load: every acknowledged mail is kept, none becomes two cases.

Eight client threads deliver 2,000 distinct complete mails (distinct From and Message-ID) over
persistent SMTP sessions. Once about a third have been acknowledged, the server process is
killed with SIGKILL (no shutdown, no flush), then started again on the same port. The clients
behave as sending MTAs: a mail that did not get its 250 (connection lost, refused, or a 4xx) is
sent again, the same bytes, until it does. Then the worker drains the queue, and the database
must show every acknowledged mail stored and processed, every mail in exactly one case, and the
copies stored but never acknowledged marked as transport duplicates (ingress.md §4, §5).
"""

from __future__ import annotations

import hashlib
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from servekit import Launcher, complete_mail, queued_id, smtp_client, transaction, wait_until
from sqlalchemy.orm import Session, sessionmaker

from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseStatus, InboundMessage, InboundStatus, OutboundMessage

pytestmark = pytest.mark.slow

MAILS = 2000
THREADS = 8
KILL_AFTER = MAILS // 3
SEND_DEADLINE = 120.0
RETRY_PAUSE = 0.05


@dataclass(frozen=True)
class Mail:
    n: int
    sender: str
    message_id: str
    raw: bytes
    sha256: str


def make_mails(token: str) -> list[Mail]:
    mails = []
    for n in range(MAILS):
        sender = f"u{n}@example.jp"
        message_id = f"kill.{n}.{token}@example.jp"
        raw = complete_mail(sender, message_id, login=f"member{n:05d}")
        mails.append(Mail(n, sender, message_id, raw, hashlib.sha256(raw).hexdigest()))
    return mails


@dataclass
class Acks:
    """What the clients were told: mail number -> the row id in its 250 reply."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    row_of: dict[int, int] = field(default_factory=dict)
    retries: int = 0
    refusals: Counter[int] = field(default_factory=Counter)

    def acked(self, mail: Mail, row_id: int) -> None:
        with self.lock:
            assert mail.n not in self.row_of, f"mail {mail.n} acknowledged twice"
            self.row_of[mail.n] = row_id

    def failed(self, code: int | None) -> None:
        with self.lock:
            self.retries += 1
            if code is not None:
                self.refusals[code] += 1

    def count(self) -> int:
        with self.lock:
            return len(self.row_of)


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def client(port: int, mails: list[Mail], acks: Acks, deadline: float) -> None:
    """One sending MTA: a persistent session, each mail retried until it gets its 250."""
    smtp: smtplib.SMTP | None = None
    try:
        for mail in mails:
            while True:
                if time.monotonic() > deadline:
                    raise AssertionError(f"mail {mail.n} not acknowledged before the deadline")
                try:
                    if smtp is None:
                        smtp = smtp_client(port)
                    reply = transaction(smtp, mail.sender, mail.raw)
                except (OSError, smtplib.SMTPException):  # refused, reset, disconnected: retry
                    _drop(smtp)
                    smtp = None
                    acks.failed(None)
                    time.sleep(RETRY_PAUSE)
                    continue
                if reply[0] == 250:
                    acks.acked(mail, queued_id(reply))
                    break
                acks.failed(reply[0])  # a 4xx: the same bytes again later
                time.sleep(RETRY_PAUSE)
        if smtp is not None:
            smtp.quit()
    finally:
        _drop(smtp)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


def unfinished(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.status.in_((InboundStatus.PENDING, InboundStatus.PROCESSING)))
            )
            or 0
        )


def test_kill_9_under_load_loses_no_acknowledged_mail_and_makes_no_second_case(
    db_url: str, launch: Launcher
) -> None:
    mails = make_mails(token=str(time.time_ns()))
    serve = launch(
        db_url,
        REPLY_RATE_LIMITS="1000/600,1000/86400",
        WORKER_LEASE_SECONDS="5",  # rows the killed worker held are claimable 5 s later
    )
    acks = Acks()
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS, thread_name_prefix="mta") as pool:
        futures = [
            pool.submit(client, serve.port, mails[i::THREADS], acks, started + SEND_DEADLINE)
            for i in range(THREADS)
        ]
        wait_until(lambda: acks.count() >= KILL_AFTER or any(f.done() for f in futures), 60, "a third acked")
        serve.kill()
        killed = time.monotonic()
        acked_at_kill = acks.count()
        serve.start()  # same port, same database
        restarted = time.monotonic()
        for future in futures:
            future.result()
    all_acked = time.monotonic()
    assert acks.count() == MAILS
    assert serve.runs == 2

    engine = make_engine(db_url)
    sessions = session_factory(engine)
    try:
        # A safety timeout, not a speed target: with the ingress faster than the worker, most of
        # the 2,000 mails are still waiting when the last one is acknowledged.
        wait_until(lambda: unfinished(sessions) == 0, 300, "every stored mail processed")
        drained = time.monotonic()
        with sessions() as session:
            rows = list(session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)))
            cases = list(session.scalars(sa.select(Case)))
            replies = list(session.scalars(sa.select(OutboundMessage)))
        assert serve.alive()
        assert serve.stop() == 0
    finally:
        engine.dispose()

    by_id = {row.id: row for row in rows}
    by_sha: dict[str, list[InboundMessage]] = {}
    for row in rows:
        by_sha.setdefault(row.sha256, []).append(row)
    statuses = Counter(row.status for row in rows)
    assert set(statuses) <= {InboundStatus.DONE, InboundStatus.DUPLICATE}, statuses  # none failed
    assert set(by_sha) == {mail.sha256 for mail in mails}  # nothing stored that was not sent

    case_ids = []
    for mail in mails:
        acked_row = by_id.get(acks.row_of[mail.n])
        assert acked_row is not None, f"acknowledged mail {mail.n} is not stored"
        assert acked_row.sha256 == mail.sha256
        copies = by_sha[mail.sha256]
        [done] = [row for row in copies if row.status is InboundStatus.DONE]
        assert done.id == min(row.id for row in copies)  # the first copy stored is the one processed
        assert done.message_id == mail.message_id
        assert done.case_id is not None
        for copy in copies:
            if copy is not done:
                assert copy.status is InboundStatus.DUPLICATE
                assert copy.duplicate_of == done.id
                assert copy.case_id is None
        case_ids.append(done.case_id)

    # Exactly one case per mail: no mail made two, no two mails share one.
    assert len(cases) == MAILS
    assert sorted(case_ids) == sorted(case.id for case in cases)
    assert Counter(case.sender for case in cases) == Counter(mail.sender for mail in mails)
    assert {case.status for case in cases} == {CaseStatus.QUEUED}
    # One reply per case (no relay here: they wait in the outbox).
    assert sorted(reply.case_id or 0 for reply in replies) == sorted(case_ids)

    stored_not_acked = len(rows) - MAILS
    claimed_again = sum(1 for row in rows if row.attempts > 1)
    print(
        f"\nkill -9 test on {db_url.split(':', 1)[0]}: {MAILS} mails from {THREADS} clients"
        f"\n  acknowledged before the kill: {acked_at_kill} ({killed - started:.1f} s after the start)"
        f"\n  down for {restarted - killed:.2f} s (kill to listening again)"
        f"\n  all acknowledged after {all_acked - started:.1f} s: {MAILS / (all_acked - started):.0f} mails/s"
        f" overall, {acked_at_kill / (killed - started):.0f} mails/s before the kill"
        f"\n  client retries: {acks.retries}; 4xx replies seen: {dict(acks.refusals) or 'none'}"
        f"\n  stored but never acknowledged (became duplicates): {stored_not_acked}"
        f"\n  rows: {len(rows)} ({statuses[InboundStatus.DONE]} done,"
        f" {statuses[InboundStatus.DUPLICATE]} duplicate);"
        f" claimed again after the killed worker's lease ran out: {claimed_again}"
        f"\n  queue drained {drained - all_acked:.1f} s after the last acknowledgement"
    )
