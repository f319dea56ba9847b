"""Batches: one flush (a savepoint per mail after a failure), claims bounded by count and bytes, leases."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, InboundMessage, InboundStatus, OutboundMessage
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.ingress.store import InboundStore
from triage.worker import loop as worker_loop
from triage.worker import pipeline
from triage.worker.loop import Worker
from triage.worker.reading import Reading, read

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
MAILBOX = "secure_billing@cc.example.jp"


def mail(n: int) -> bytes:
    head = (
        f"From: u{n}@example.jp\nTo: {MAILBOX}\nSubject: login\nMessage-ID: <b{n}@example.jp>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    body = f"ログインID:user_{n}\nメールアドレス:u{n}@example.jp\n電話番号:090-0000-{n:04d}\n"
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(ROOT / "rules", ROOT / "replies")


def store(sessions: sessionmaker[Session], count: int) -> list[int]:
    inbound = InboundStore(sessions)
    return [
        inbound.insert(mail(n), f"u{n}@example.jp", [MAILBOX], "127.0.0.1", "client.test", False)
        for n in range(count)
    ]


def settings(url: str, **changes: Any) -> Settings:
    return Settings(database_url=url, reply_rate_limits=((1000, 600),), **changes)


def test_one_failing_mail_rolls_back_to_its_savepoint_and_the_batch_keeps_the_others(
    sessions: sessionmaker[Session],
    migrated_db_url: str,
    rules: RuleSet,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = store(sessions, 5)
    bad = ids[2]
    real = pipeline._into_case

    def into_case_then_fail(session: Session, row: InboundMessage, *args: Any, **kwargs: Any) -> Any:
        outcome = real(session, row, *args, **kwargs)  # the case and its reply are written ...
        if row.id == bad:
            session.flush()
            raise RuntimeError("a bug met while deciding this one mail")  # ... then this fails
        return outcome

    monkeypatch.setattr(pipeline, "_into_case", into_case_then_fail)
    worker = Worker(sessions, settings(migrated_db_url), rules, clock=SystemClock(), name="w1")
    claimed = worker.claim_batch()
    assert claimed == tuple(ids)  # one batch, one transaction
    with caplog.at_level(logging.INFO, logger="triage"):
        results = {result.inbound_id: result for result in worker.process_batch(claimed)}

    assert results[bad].status is InboundStatus.PENDING  # retried later, with backoff
    assert "RuntimeError" in results[bad].detail
    assert {results[i].status for i in ids if i != bad} == {InboundStatus.DONE}
    with sessions() as session:
        row = session.get(InboundMessage, bad)
        assert row is not None
        assert (row.status, row.case_id, row.claimed_by) == (InboundStatus.PENDING, None, None)
        assert row.last_error is not None and "RuntimeError" in row.last_error
        assert row.lease_until is not None  # not before the retry time
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 4  # none for it
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.inbound_id == bad)
            )
            == 0
        )
        cased = session.scalars(sa.select(InboundMessage.case_id).where(InboundMessage.id != bad)).all()
        assert None not in cased
        replies = set(session.scalars(sa.select(OutboundMessage.id)))
    # the log names the replies that were committed, not those of the attempt rolled back
    logged = {
        int(found)
        for record in caplog.records
        if record.levelno >= logging.INFO
        for found in re.findall(r"\breply (\d+)", record.getMessage())
    }
    assert len(replies) == 4
    assert logged == replies


def test_a_claim_takes_a_batch_bounded_by_count_and_by_bytes(
    sessions: sessionmaker[Session], migrated_db_url: str, rules: RuleSet
) -> None:
    ids = store(sessions, 7)
    size = len(mail(0))
    worker = Worker(
        sessions,
        settings(migrated_db_url, worker_batch_size=3, worker_batch_bytes=2 * size + size // 2),
        rules,
        clock=SystemClock(),
        name="w1",
    )
    assert worker.claim_batch() == tuple(ids[:2])  # the bytes limit (at least one mail always)
    assert worker.claim_batch(limit=3) == tuple(ids[2:4])
    small = Worker(sessions, settings(migrated_db_url, worker_batch_size=3), rules, clock=SystemClock())
    assert small.claim_batch() == tuple(ids[4:7])  # the count limit
    assert small.claim_batch() == ()
    with sessions() as session:
        owners = session.execute(
            sa.select(InboundMessage.claimed_by, sa.func.count()).group_by(InboundMessage.claimed_by)
        ).all()
    assert sorted(count for _, count in owners) == [3, 4]


def test_a_live_worker_renews_its_leases_so_a_slow_batch_is_not_taken_from_it(
    sessions: sessionmaker[Session], migrated_db_url: str, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = store(sessions, 4)
    config = settings(migrated_db_url, worker_lease_seconds=1, worker_heartbeat_seconds=0.2)
    slow = Worker(sessions, config, rules, clock=SystemClock(), name="slow")
    other = Worker(sessions, config, rules, clock=SystemClock(), name="other")
    real_read = read

    def read_slowly(*args: Any, **kwargs: Any) -> Reading:
        time.sleep(0.6)  # four mails: 2.4 s, more than twice the lease
        return real_read(*args, **kwargs)

    monkeypatch.setattr(worker_loop, "read", read_slowly)  # the name the worker reads with
    claimed = slow.claim_batch()
    assert claimed == tuple(ids)
    first_lease = _leases(sessions, ids)
    results: list[Any] = []
    working = threading.Thread(target=lambda: results.extend(slow.process_batch(claimed)))
    working.start()
    taken: list[int] = []
    while working.is_alive():
        taken += other.claim_batch()  # would succeed on any mail whose lease ran out
        time.sleep(0.1)
    working.join()
    assert taken == []
    assert [result.status for result in results] == [InboundStatus.DONE] * 4
    assert max(first_lease.values()) < dt.datetime.now(dt.UTC)  # the first lease alone ran out


def _leases(sessions: sessionmaker[Session], ids: list[int]) -> dict[int, dt.datetime]:
    with sessions() as session:
        rows = session.execute(
            sa.select(InboundMessage.id, InboundMessage.lease_until).where(InboundMessage.id.in_(ids))
        ).all()
    return {row_id: lease for row_id, lease in rows if lease is not None}


def test_without_its_heartbeat_a_claim_runs_out_after_the_short_lease(
    sessions: sessionmaker[Session], migrated_db_url: str, rules: RuleSet
) -> None:
    [inbound_id] = store(sessions, 1)
    config = settings(migrated_db_url, worker_lease_seconds=1)
    dead = Worker(sessions, config, rules, clock=SystemClock(), name="dead")
    assert dead.claim_batch() == (inbound_id,)  # ... and the process dies: nothing renews it
    heir = Worker(sessions, config, rules, clock=SystemClock(), name="heir")
    assert heir.claim_batch() == ()
    time.sleep(1.2)
    assert heir.claim_batch() == (inbound_id,)
    assert dead.process(inbound_id).detail == "claim lost to another worker"
    [result] = heir.process_batch([inbound_id])
    assert result.status is InboundStatus.DONE


def test_a_slow_worker_takes_smaller_batches(
    sessions: sessionmaker[Session], migrated_db_url: str, rules: RuleSet
) -> None:
    ids = store(sessions, 6)
    # Any real mail takes longer than a microsecond: after the first batch, one mail at a time.
    config = settings(migrated_db_url, worker_batch_size=3, worker_batch_seconds=0.000001)
    worker = Worker(sessions, config, rules, clock=SystemClock(), name="w1")
    first = worker.run_batch()
    assert [result.inbound_id for result in first] == ids[:3]
    assert worker.claim_batch() == (ids[3],)


OTHER_MAILBOX = "secure_jo1@cc.example.jp"
Mail = tuple[str, str, bytes]  # envelope sender, recipient, bytes


def _mail(sender: str, ident: str, body: str, reply_to: str | None = None, rcpt: str = MAILBOX) -> Mail:
    head = (
        f"From: {sender}\nTo: {rcpt}\nSubject: login\nMessage-ID: <{ident}@example.jp>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    if reply_to is not None:
        head += f"In-Reply-To: <{reply_to}@example.jp>\n"
    return sender, rcpt, (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def _scenario() -> list[list[Mail]]:
    """Two rounds of mail whose deciding reads what earlier mail wrote: same senders, threads,
    resubmissions, a member writing two desks; the second round finds the first's rows."""
    partial = "ログインできません。\nログインID:user_a\nメールアドレス:a@example.jp\n"
    complete_b = "ログインID:user_b\nメールアドレス:b@example.jp\n電話番号:090-0000-0002\n"
    first = [
        _mail("a@example.jp", "a1", partial),
        _mail("b@example.jp", "b1", complete_b),
        _mail("c@example.jp", "c1", "電話番号:090-0000-0001\n", reply_to="a1"),  # completes a's case
        _mail("a@example.jp", "a2", "また入れません。\nログインID:user_a2\n"),  # a's case is queued now
        _mail("b@example.jp", "b2", complete_b),  # resent by hand: identical
        _mail("d@example.jp", "d1", "電話番号:090-0000-0004\n", reply_to="b1"),
        _mail("a@example.jp", "a3", "また入れません。\nログインID:user_a2\n"),  # identical to a2
        _mail("a@example.jp", "a4", "電話番号は090-0000-0005です。\n"),  # answers a's new case
        # e writes to two desks; two replies in ten minutes are its limit, across desks
        _mail("e@example.jp", "e0", "ログインできません。1回目です。\n"),
        _mail("e@example.jp", "e1", "ログインできません。2回目です。\n", rcpt=OTHER_MAILBOX),
        _mail("e@example.jp", "e2", "ログインできません。3回目です。\n"),
        _mail("f@example.jp", "f1", "ログインできません。\nログインID:user_f\n"),
    ]
    second = [  # a later batch: what it asks about its senders was written by the first
        _mail("f@example.jp", "f2", "メールアドレス:f@example.jp\n電話番号:090-0000-0006\n"),
        _mail("b@example.jp", "b3", complete_b),
        _mail("e@example.jp", "e3", "ログインできません。4回目です。\n", rcpt=OTHER_MAILBOX),
    ]
    return [first, second]


def _outcomes(url: str, rules: RuleSet, batch: int) -> list[tuple[str, str | None, int | None, bool]]:
    """Each mail's (status, decision, case as the n-th case seen, replied), round by round."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    inbound = InboundStore(sessions)
    limits = Settings(database_url=url, reply_rate_limits=((2, 600),), worker_batch_size=batch)
    worker = Worker(sessions, limits, rules, clock=SystemClock(), name="w")
    results = []
    for mails in _scenario():
        for sender, rcpt, raw in mails:
            inbound.insert(raw, sender, [rcpt], "127.0.0.1", "client.test", False)
        results += worker.drain()
    engine.dispose()
    order: dict[int, int] = {}
    return [
        (
            result.status.value,
            result.decision,
            order.setdefault(result.case_id, len(order)) if result.case_id is not None else None,
            result.outbound_id is not None,
        )
        for result in results
    ]


def test_a_batch_written_with_one_flush_decides_as_mail_by_mail_does(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, rules: RuleSet
) -> None:
    from triage.db.migrate import upgrade

    upgrade(db_url)
    together = _outcomes(db_url, rules, batch=50)
    if db_url.startswith("sqlite"):
        alone_url = f"sqlite:///{tmp_path_factory.mktemp('alone') / 'triage.db'}"
        upgrade(alone_url)
        alone = _outcomes(alone_url, rules, batch=1)
    else:
        from conftest import postgres_schema

        with postgres_schema() as alone_url:
            upgrade(alone_url)
            alone = _outcomes(alone_url, rules, batch=1)
    assert together == alone
    with session_factory(make_engine(db_url))() as session:
        statuses = session.scalars(
            sa.select(OutboundMessage.status)
            .where(OutboundMessage.to_addr == "e@example.jp")
            .order_by(OutboundMessage.id)
        ).all()
    assert [status.value for status in statuses] == ["pending", "pending", "suppressed", "suppressed"]
    # and the scenario does what it says (another sender's thread changes a's case, a's next
    # mail sees that; resubmissions and answers reach their cases)
    cases = [case for _, _, case, _ in together]
    assert cases[:8] == [0, 1, 0, 2, 1, 1, 2, 2]
    assert cases[12:] == [cases[11], 1, cases[9]]  # f answers, b resends, e writes the other desk again
