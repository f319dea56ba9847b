"""Replies survive crashes (issue 12, deliverable 3): at least once, with the same Message-ID.

A reply whose delivery outcome is unknown (its sender died holding the claim, or the relay's
answer to the end of data never came) is sent again with the same Message-ID and its row says
so; it is never dead-lettered for having perhaps been delivered. The last test kills a real
``triage serve --only sender`` process with SIGKILL again and again while a slow relay on loopback
takes its replies, and counts what arrived.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from relaykit import Relay, free_port, parse
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock, SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseEvent, CaseStatus, OutboundMessage, OutboundStatus
from triage.outbound.breaker import BreakerLimits, ReplyWindow
from triage.outbound.claims import Claim, begin_write, claim_next
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import DeliveryResult, Sender, SmtpTransport

T = TypeVar("T")
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def relay() -> Iterator[Relay]:
    """Not started: nothing listens on its port until the test calls ``start()``."""
    made = Relay(free_port())
    try:
        yield made
    finally:
        made.stop()


def settings_for(relay: Relay, **changes: Any) -> Settings:
    base = Settings(
        our_domain="triage.example",
        instance_id="crash-test",
        relay=("127.0.0.1", relay.port),
        sender_timeout_seconds=5.0,
        sender_retry_base_seconds=60.0,
        sender_retry_cap_seconds=150.0,
        sender_give_up_seconds=3600,
        sender_lease_seconds=20,
    )
    return replace(base, **changes)


def queue(sessions: sessionmaker[Session], settings: Settings, to: str, *, now: dt.datetime = NOW) -> int:
    with sessions() as session:
        case = Case(
            reference=f"CR-{to.partition('@')[0]}"[:16],
            mailbox="secure_jo1",
            status=CaseStatus.QUEUED,
            sender=to,
            language="ja",
            created_at=now,
            updated_at=now,
            reason="complete",
            missing=[],
            invalid=[],
        )
        session.add(case)
        session.flush()
        row = enqueue_reply(
            session,
            reply=RenderedReply("queued", "ja", to, "secure_jo1@example.jp", "受付", "本文です。\n"),
            case_id=case.id,
            inbound_id=None,
            in_reply_to="<orig.1@mail.example.com>",
            references=(),
            settings=settings,
            now=now,
        )
        session.commit()
        return row.id


def load(sessions: sessionmaker[Session], row_id: int) -> OutboundMessage:
    with sessions() as session:
        return session.get_one(OutboundMessage, row_id)


def events(sessions: sessionmaker[Session], row_id: int) -> list[tuple[str, dict[str, Any]]]:
    with sessions() as session:
        stmt = sa.select(CaseEvent).where(CaseEvent.outbound_id == row_id).order_by(CaseEvent.id)
        return [(e.kind, dict(e.detail or {})) for e in session.scalars(stmt)]


def make_sender(
    sessions: sessionmaker[Session], settings: Settings, clock: FixedClock, name: str = "sender-1"
) -> Sender:
    return Sender(sessions, settings, SmtpTransport(settings), clock=clock, name=name)


def claim_as(sessions: sessionmaker[Session], name: str) -> Claim:
    """What a sender does just before it hands a reply over: the committed claim."""
    with sessions() as session:
        begin_write(session)
        claim = claim_next(
            session,
            NOW,
            name=name,
            lease_seconds=20,
            domain="triage.example",
            window=ReplyWindow(BreakerLimits()),
            instance_id="crash-test",
        )
        session.commit()
    assert isinstance(claim, Claim)
    return claim


# -- in process: the two uncertain moments ------------------------------------------------------


def test_kill_9_while_replies_go_out_none_is_marked_dead(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """Issue 12's row: claims left by a killed sender are sent again (same Message-ID), none dead.

    Five replies were claimed by a sender that was then killed; the relay had already taken four
    of them (the kill landed between the end of data and the 250), the fifth never left.
    """
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    ids = [queue(sessions, settings, f"member{i}@example.jp") for i in range(5)]
    relay.start()
    # What the killed sender did: claimed the five (Message-IDs stamped), handed four to the relay.
    claims = [claim_as(sessions, "killed") for _ in ids]
    transport = SmtpTransport(settings)
    for claim in claims[:4]:
        transport.send("", claim.to_addr, claim.raw)
    assert len(relay.handler.received) == 4
    message_ids = {row_id: load(sessions, row_id).message_id for row_id in ids}

    clock.at = NOW + dt.timedelta(seconds=settings.sender_lease_seconds + 1)
    survivor = make_sender(sessions, settings, clock, name="survivor")
    survivor.deliver_due()
    survivor.deliver_due()

    rows = {row_id: load(sessions, row_id) for row_id in ids}
    assert {row.status.value for row in rows.values()} == {"sent"}, [r.last_error for r in rows.values()]
    got = Counter(relay.handler.message_ids())
    assert set(got) == set(message_ids.values())
    assert sorted(got.values()) == [1, 2, 2, 2, 2]  # four told twice, none never
    for row_id, row in rows.items():
        assert row.message_id == message_ids[row_id]
        kinds = [kind for kind, _ in events(sessions, row_id)]
        assert "reply_dead" not in kinds
        assert "reply_delivery_unknown" in kinds
        [(_, sent)] = [(k, d) for k, d in events(sessions, row_id) if k == "reply_sent"]
        assert sent["after_unknown_outcome"] is True
        assert row.attempts == 2


def test_a_connection_lost_after_the_end_of_data_is_sent_again_with_the_same_message_id(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    settings = settings_for(relay)
    relay.handler.vanish_after_data = True
    relay.start()
    row_id = queue(sessions, settings, "member@example.jp")
    clock = FixedClock(NOW)
    sender = make_sender(sessions, settings, clock)
    [result] = sender.deliver_due()
    assert result.status == "delivery_unknown"
    row = load(sessions, row_id)
    assert row.status.value == "delivery_unknown"
    assert row.last_error is not None and "may have accepted it" in row.last_error
    assert row.next_attempt_at > NOW
    first_raw = row.raw

    relay.handler.vanish_after_data = False
    clock.at = row.next_attempt_at
    [again] = sender.deliver_due()
    assert again.status == "sent"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.SENT
    assert row.raw == first_raw  # the very same message, Date included
    assert relay.handler.message_ids() == [row.message_id, row.message_id]
    first, second = (parse(got.content) for got in relay.handler.received)
    assert first["Date"] == second["Date"]
    assert row.last_error is not None and "may have received it twice" in row.last_error


# -- a real sender process, killed again and again ----------------------------------------------


def _wait(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.02)


def _sender_process(workdir: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "triage", "serve", "--only", "sender"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_a_sender_killed_again_and_again_mid_delivery_loses_no_reply(
    tmp_path: Path, relay: Relay, record_property: Callable[[str, object], None]
) -> None:
    """10 × SIGKILL while a slow relay on loopback takes the replies: every reply delivered.

    Each kill lands at a random moment of a delivery (before or after the end of data); the
    next process takes the dead one's claims over once their lease runs out. Duplicates are
    counted and reported (a member told twice is the accepted price of at least once).
    """
    from triage.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    settings = settings_for(relay)
    members = [f"member{i:02d}@docomo.ne.jp" for i in range(12)]
    ids = [queue(sessions, settings, to, now=dt.datetime.now(dt.UTC)) for to in members]
    relay.handler.rcpt_delay = 0.15
    relay.handler.reply_delay_after_keeping = 0.35
    relay.start()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIAGE_")}
    env.update(
        TRIAGE_DATABASE_URL=url,
        TRIAGE_RELAY=f"127.0.0.1:{relay.port}",
        TRIAGE_OUR_DOMAIN="triage.example",
        TRIAGE_SENDER_LEASE_SECONDS="2",
        TRIAGE_SENDER_RETRY_BASE_SECONDS="0.2",
        TRIAGE_SENDER_RETRY_CAP_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "sender.log"
    shuffle = random.Random(12)
    kills = 0
    process: subprocess.Popen[bytes] | None = None

    def open_rows() -> int:
        with sessions() as session:
            stmt = sa.select(sa.func.count()).where(
                OutboundMessage.status.not_in([OutboundStatus.SENT, OutboundStatus.DEAD])
            )
            return int(session.scalar(stmt) or 0)

    try:
        while kills < 10:
            process = _sender_process(tmp_path, env, log)
            before = len(relay.handler.mail_froms)
            _wait(lambda: len(relay.handler.mail_froms) > before, 30, "the sender starts a delivery")  # noqa: B023
            time.sleep(shuffle.uniform(0.0, 0.5))  # inside RCPT, DATA or the wait for the 250
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            kills += 1
        process = _sender_process(tmp_path, env, log)
        _wait(lambda: open_rows() == 0, 60, "every reply settled")
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    with sessions() as session:
        rows = list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))
    engine.dispose()
    assert [row.id for row in rows] == ids
    statuses = Counter(row.status.value for row in rows)
    got = Counter(relay.handler.message_ids())
    duplicates = sum(count - 1 for count in got.values())
    report = f"{kills} kills, {len(rows)} replies: {dict(statuses)}; {duplicates} duplicate deliveries"
    print(report)
    record_property("crash_report", report)
    assert statuses == {"sent": len(ids)}, report + "\n" + log.read_text("utf-8", "replace")[-3000:]
    assert set(got) == {row.message_id for row in rows}  # every reply reached the relay
    assert all(row.message_id in got for row in rows)
    assert duplicates <= kills  # at most one extra copy per kill
    assert {to for r in relay.handler.received for to in r.rcpt_tos} == set(members)


# -- leases: renewed while alive, taken over when dead ------------------------------------------


def test_a_live_sender_slower_than_its_lease_keeps_its_claim(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """The relay takes 2.5 s to answer, the lease is 1 s: the heartbeat keeps the claim, nobody
    takes it over, the reply goes out once."""
    settings = settings_for(relay, sender_lease_seconds=1)
    row_id = queue(sessions, settings, "member@example.jp", now=dt.datetime.now(dt.UTC))
    relay.handler.reply_delay_after_keeping = 2.5
    relay.start()
    slow = Sender(sessions, settings, SmtpTransport(settings), clock=SystemClock(), name="slow")
    other = Sender(sessions, settings, SmtpTransport(settings), clock=SystemClock(), name="other")
    done: list[DeliveryResult] = []
    thread = threading.Thread(target=lambda: done.extend(slow.deliver_due()))
    thread.start()
    _wait(lambda: load(sessions, row_id).claimed_by == "slow", 10, "the slow sender claims the reply")
    seen: list[DeliveryResult] = []
    while thread.is_alive():
        seen.extend(other.deliver_due())  # would take the claim over if its lease ran out
        time.sleep(0.1)
    thread.join()
    slow.close()
    assert seen == []
    assert [(r.outbound_id, r.status) for r in done] == [(row_id, "sent")]
    assert slow._heartbeat.beats >= 4
    assert [kind for kind, _ in events(sessions, row_id)] == ["reply_queued", "reply_sent"]
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.SENT
    assert row.attempts == 1
    assert len(relay.handler.received) == 1


def test_a_killed_senders_reply_is_taken_over_within_30_s(tmp_path: Path, relay: Relay) -> None:
    """Default lease (20 s): a sender killed mid-delivery; a new one delivers its reply within 30 s."""
    from triage.db.migrate import upgrade

    assert Settings().sender_lease_seconds <= 20
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    row_id = queue(sessions, settings_for(relay), "member@example.jp", now=dt.datetime.now(dt.UTC))
    relay.handler.reply_delay_after_keeping = 1.0
    relay.start()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIAGE_")}
    env.update(
        TRIAGE_DATABASE_URL=url,
        TRIAGE_RELAY=f"127.0.0.1:{relay.port}",
        TRIAGE_OUR_DOMAIN="triage.example",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "sender.log"
    first = _sender_process(tmp_path, env, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        _wait(lambda: relay.handler.received, 30, "the first sender hands the reply over")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        second = _sender_process(tmp_path, env, log)
        _wait(lambda: load(sessions, row_id).status is OutboundStatus.SENT, 40, "the reply taken over")
        took = time.monotonic() - killed_at
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    engine.dispose()
    print(f"taken over and delivered {took:.1f} s after the kill")
    assert took < 30, log.read_text("utf-8", "replace")
    assert len(relay.handler.received) == 2  # the killed one had handed it over: told twice
    assert load(sessions, row_id).last_error is not None


def test_a_batch_whose_leases_cannot_be_renewed_is_not_handed_over_past_them(
    sessions: sessionmaker[Session], relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heartbeat cannot reach the database; once the leases may have run out, another sender
    may take the rest of the batch over: this one hands nothing more over and gives the rest back."""
    settings = settings_for(relay, sender_lease_seconds=2)  # handed over until 1.5 s after the claim
    ids = [queue(sessions, settings, f"member{n}@example.jp") for n in range(4)]
    relay.handler.reply_delay_after_keeping = 1.0
    relay.start()
    sender = make_sender(sessions, settings, FixedClock(NOW))
    monkeypatch.setattr(sender._heartbeat, "_renew", lambda ids: None)  # every renewal lost
    results = sender.deliver_due()
    sender.close()
    assert [(r.outbound_id, r.status) for r in results] == [(ids[0], "sent"), (ids[1], "sent")]
    assert len(relay.handler.received) == 2
    for row_id in ids[2:]:
        row = load(sessions, row_id)
        assert (row.status, row.attempts, row.lease_until) == (OutboundStatus.PENDING, 0, None)
