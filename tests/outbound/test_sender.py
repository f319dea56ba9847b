"""The sender against a real SMTP relay (aiosmtpd on loopback), on SQLite and PostgreSQL.

The clock is fixed and moved by hand, so backoff, give-up and leases are exact; the relay is a
real server on a free port that can be down, answer 4xx/5xx at RCPT or DATA, or accept.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import ssl
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from relaykit import Relay, RelayHandler, free_port, parse
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import Case, CaseEvent, CaseStatus, OutboundMessage, OutboundStatus
from triage.errors import ConfigError, PermanentSendError, TransientSendError
from triage.outbound import sender as sender_module
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import MAYBE_TWICE, STOPPED_DURING_DELIVERY, DeliveryResult, Sender, SmtpTransport

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
MEMBER = "member@example.com"
SUBJECT = "受付のお知らせ"


@pytest.fixture
def relay() -> Iterator[Relay]:
    """Not started: nothing listens on its port until the test calls ``start()``."""
    made = Relay(free_port())
    try:
        yield made
    finally:
        made.stop()


# -- database and outbox ----------------------------------------------------------------------


def settings_for(relay: Relay, **changes: Any) -> Settings:
    base = Settings(
        our_domain="triage.example",
        instance_id="sender-test",
        relay=("127.0.0.1", relay.port),
        sender_timeout_seconds=5.0,
        sender_retry_base_seconds=60.0,
        sender_retry_cap_seconds=150.0,
        sender_give_up_seconds=3600,
        sender_lease_seconds=300,
    )
    return replace(base, **changes)


def add_case(session: Session) -> int:
    case = Case(
        reference="SEND-01",
        mailbox="secure_jo1",
        status=CaseStatus.QUEUED,
        sender=MEMBER,
        language="ja",
        created_at=NOW,
        updated_at=NOW,
        reason="complete",
        missing=[],
        invalid=[],
    )
    session.add(case)
    session.flush()
    return case.id


def queue(
    sessions: sessionmaker[Session], settings: Settings, to: str = MEMBER, *, with_case: bool = False
) -> tuple[int, int | None]:
    """One committed pending reply: (outbound id, case id)."""
    with sessions() as session:
        case_id = add_case(session) if with_case else None
        row = enqueue_reply(
            session,
            reply=RenderedReply("queued", "ja", to, "secure_jo1@example.jp", SUBJECT, "本文です。\n"),
            case_id=case_id,
            inbound_id=None,
            in_reply_to="<orig.1@mail.example.com>",
            references=(),
            settings=settings,
            now=NOW,
        )
        assert row.status is OutboundStatus.PENDING
        session.commit()
        return row.id, case_id


def load(sessions: sessionmaker[Session], row_id: int) -> OutboundMessage:
    with sessions() as session:
        return session.get_one(OutboundMessage, row_id)


def event_kinds(sessions: sessionmaker[Session], case_id: int) -> list[str]:
    with sessions() as session:
        stmt = sa.select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list(session.scalars(stmt))


def make_sender(
    sessions: sessionmaker[Session], settings: Settings, clock: FixedClock, name: str = "sender-1"
) -> Sender:
    return Sender(sessions, settings, SmtpTransport(settings), clock=clock, name=name)


# -- tests ------------------------------------------------------------------------------------


def test_relay_down_backoff_then_delivered_exactly_once(
    sessions: sessionmaker[Session], relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="triage")
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    row_id, case_id = queue(sessions, settings, with_case=True)
    assert case_id is not None
    sender = make_sender(sessions, settings, clock)

    # Relay down: nothing listens on the port.
    [result] = sender.deliver_due()
    assert result.outbound_id == row_id
    assert result.status == "pending"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.PENDING
    assert row.attempts == 1
    assert row.last_error is not None
    assert row.last_error.startswith("relay unreachable")
    first_delay = (row.next_attempt_at - NOW).total_seconds()
    assert 48 <= first_delay <= 72  # base 60 s, jitter 0.8-1.2

    assert sender.deliver_due() == []  # not due yet
    assert load(sessions, row_id).attempts == 1

    # Second failing pass: the delay doubles.
    clock.at = row.next_attempt_at
    sender.deliver_due()
    row = load(sessions, row_id)
    assert row.attempts == 2
    second_delay = (row.next_attempt_at - clock.at).total_seconds()
    assert 96 <= second_delay <= 144
    assert second_delay > first_delay

    # Third: 240 s would be next, the cap (150 s) holds it.
    clock.at = row.next_attempt_at
    sender.deliver_due()
    row = load(sessions, row_id)
    assert row.attempts == 3
    third_delay = (row.next_attempt_at - clock.at).total_seconds()
    assert 120 <= third_delay <= 180
    assert row.status is OutboundStatus.PENDING

    # Relay back on the same port.
    relay.start()
    assert sender.deliver_due() == []  # still not due
    clock.at = row.next_attempt_at + dt.timedelta(seconds=1)
    [result] = sender.deliver_due()
    assert result == DeliveryResult(row_id, "sent", "sent")
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.SENT
    assert row.sent_at == clock.at
    assert row.attempts == 4
    assert row.last_error is None

    [got] = relay.handler.received
    assert got.mail_from == "<>"
    assert relay.handler.mail_froms == ["<>"]
    assert got.rcpt_tos == [MEMBER]
    msg = parse(got.content)
    assert msg["Message-ID"] == f"<{row.message_id}>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == f"【自動送信】{SUBJECT}"
    assert got.content.replace(b"\r\n", b"\n") == row.raw.replace(b"\r\n", b"\n")

    for hours in (1, 30):
        clock.at = NOW + dt.timedelta(hours=hours)
        assert sender.deliver_due() == []
    assert len(relay.handler.received) == 1
    assert event_kinds(sessions, case_id) == [
        "reply_queued",
        "reply_retry",
        "reply_retry",
        "reply_retry",
        "reply_sent",
    ]
    # Logs: ids and statuses only.
    assert MEMBER not in caplog.text
    assert SUBJECT not in caplog.text
    assert f"reply {row_id} sent" in caplog.text


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_relay_5xx_is_dead_at_once(sessions: sessionmaker[Session], relay: Relay, stage: str) -> None:
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    row_id, case_id = queue(sessions, settings, with_case=True)
    assert case_id is not None
    second_id, _ = queue(sessions, settings)  # queued before anyone knew the address was bad
    relay.start()
    setattr(relay.handler, f"{stage}_reply", "550 5.1.1 no such user")
    sender = make_sender(sessions, settings, clock)

    first, second = sender.deliver_due()
    assert (first.outbound_id, first.status) == (row_id, "dead")
    # The address is now known bad: the reply queued after it is not tried (60 days).
    assert (second.outbound_id, second.status) == (second_id, "suppressed")
    assert load(sessions, second_id).last_error == "recipient failed permanently within 60 days"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.DEAD
    assert row.attempts == 1
    assert row.last_error == "550 5.1.1 no such user"
    assert relay.handler.received == []

    setattr(relay.handler, f"{stage}_reply", None)
    for hours in (1, 25):
        clock.at = NOW + dt.timedelta(hours=hours)
        assert sender.deliver_due() == []
    assert relay.handler.received == []
    assert load(sessions, row_id).attempts == 1
    assert event_kinds(sessions, case_id) == ["reply_queued", "reply_dead"]
    with sessions() as session:
        dead = session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == "reply_dead")).one()
    assert dead.detail["code"] == "550"
    assert MEMBER not in str(dead.detail)
    assert relay.handler.mail_froms == ["<>"]  # one attempt in all


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_relay_4xx_is_retried(sessions: sessionmaker[Session], relay: Relay, stage: str) -> None:
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    row_id, _ = queue(sessions, settings)
    relay.start()
    setattr(relay.handler, f"{stage}_reply", "451 4.3.0 try later")
    sender = make_sender(sessions, settings, clock)

    [result] = sender.deliver_due()
    assert result.status == "pending"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.PENDING
    assert row.last_error == "451 4.3.0 try later"
    assert row.next_attempt_at > NOW

    setattr(relay.handler, f"{stage}_reply", None)
    clock.at = row.next_attempt_at
    assert [r.status for r in sender.deliver_due()] == ["sent"]
    assert relay.handler.message_ids() == [row.message_id]


def test_past_give_up_is_dead(sessions: sessionmaker[Session], relay: Relay) -> None:
    settings = settings_for(relay, sender_give_up_seconds=100)
    clock = FixedClock(NOW)
    row_id, _ = queue(sessions, settings)
    sender = make_sender(sessions, settings, clock)
    assert [r.status for r in sender.deliver_due()] == ["pending"]  # relay down

    relay.start()
    clock.at = NOW + dt.timedelta(seconds=101)
    [result] = sender.deliver_due()
    assert result.status == "dead"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.DEAD
    assert row.last_error is not None
    assert row.last_error.startswith("gave up after 1 attempts; last error: relay unreachable")
    assert relay.handler.received == []
    assert sender.deliver_due() == []


def test_temporary_failure_past_give_up_is_dead(sessions: sessionmaker[Session], relay: Relay) -> None:
    """The attempt began in time, the 4xx came back after give_up_at: dead, not rescheduled."""
    settings = settings_for(relay, sender_give_up_seconds=100)
    clock = FixedClock(NOW)
    row_id, _ = queue(sessions, settings)
    relay.start()
    relay.handler.data_reply = "451 4.3.0 try later"
    smtp = SmtpTransport(settings)

    class SlowTransport:
        def send(self, mail_from: str, to_addr: str, raw: bytes) -> None:
            clock.at = NOW + dt.timedelta(seconds=200)
            smtp.send(mail_from, to_addr, raw)

    sender = Sender(sessions, settings, SlowTransport(), clock=clock, name="slow")
    [result] = sender.deliver_due()
    assert result.status == "dead"
    row = load(sessions, row_id)
    assert row.status is OutboundStatus.DEAD
    assert row.last_error == "gave up after 1 attempts; last error: 451 4.3.0 try later"


def test_stuck_in_sending_is_taken_over_and_sent_again(sessions: sessionmaker[Session], relay: Relay) -> None:
    """A claim past its lease: its sender died; sent again at once with the same Message-ID."""
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    stale_id, case_id = queue(sessions, settings, with_case=True)
    fresh_id, _ = queue(sessions, settings, to="other@example.com")
    assert case_id is not None
    with sessions() as session:
        for row_id, lease in (
            (stale_id, NOW - dt.timedelta(seconds=1)),
            (fresh_id, NOW + dt.timedelta(seconds=15)),
        ):
            row = session.get_one(OutboundMessage, row_id)
            row.status = OutboundStatus.SENDING
            row.claimed_by = "crashed-sender"
            row.lease_until = lease
            row.attempts = 1
        session.commit()
    relay.start()
    sender = make_sender(sessions, settings, clock)

    taken, sent = sender.deliver_due()
    assert taken == DeliveryResult(stale_id, "delivery_unknown", STOPPED_DURING_DELIVERY)
    assert sent == DeliveryResult(stale_id, "sent", "sent")
    stale = load(sessions, stale_id)
    assert stale.status is OutboundStatus.SENT
    assert stale.attempts == 2
    assert stale.last_error == MAYBE_TWICE
    assert relay.handler.message_ids() == [stale.message_id]
    assert event_kinds(sessions, case_id) == ["reply_queued", "reply_delivery_unknown", "reply_sent"]
    assert load(sessions, fresh_id).status is OutboundStatus.SENDING  # its lease still holds

    clock.at = NOW + dt.timedelta(seconds=16)
    results = sender.deliver_due()
    assert [(r.outbound_id, r.status) for r in results] == [
        (fresh_id, "delivery_unknown"),
        (fresh_id, "sent"),
    ]
    assert load(sessions, fresh_id).status is OutboundStatus.SENT
    assert sender.deliver_due() == []
    assert len(relay.handler.received) == 2


def test_breaker_stops_a_loop_to_one_address_and_leaves_rows_pending(
    sessions: sessionmaker[Session], relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(relay, reply_breaker_per_address=3)
    clock = FixedClock(NOW)
    ids = [queue(sessions, settings, to="loop@example.com")[0] for _ in range(3)]
    other, _ = queue(sessions, settings, to="member@example.com")
    relay.start()
    sender = make_sender(sessions, settings, clock)

    with caplog.at_level(logging.ERROR, logger="triage"):
        results = sender.deliver_due()
    assert [r.status for r in results] == ["sent", "sent"]
    assert sender.breaker_open
    assert sender.breaker_reason == "3 replies to one address in 600 s"
    assert "breaker tripped: 3 replies to one address" in caplog.text
    assert "loop@example.com" not in caplog.text
    assert load(sessions, ids[2]).status is OutboundStatus.PENDING
    assert load(sessions, ids[2]).attempts == 0
    assert load(sessions, other).status is OutboundStatus.PENDING  # the sender stopped
    assert len(relay.handler.received) == 2

    clock.at = NOW + dt.timedelta(minutes=11)  # the window has passed
    assert [r.outbound_id for r in sender.deliver_due()] == [ids[2], other]
    assert not sender.breaker_open
    assert len(relay.handler.received) == 4


def test_bad_address_is_never_handed_to_the_relay(sessions: sessionmaker[Session], relay: Relay) -> None:
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    row_id, _ = queue(sessions, settings)
    with sessions() as session:
        session.get_one(OutboundMessage, row_id).to_addr = "member@example.com\r\nRCPT TO:<evil@example.com>"
        session.commit()
    relay.start()
    [result] = make_sender(sessions, settings, clock).deliver_due()
    assert result.status == "dead"
    assert relay.handler.mail_froms == []
    with pytest.raises(PermanentSendError):
        SmtpTransport(settings).send("", "a@b.example\r\nDATA", b"x")
    with pytest.raises(TransientSendError):
        SmtpTransport(replace(settings, relay=None)).send("", MEMBER, b"x")


def test_two_senders_concurrently_send_each_row_once(migrated_db_url: str, relay: Relay) -> None:
    engines = [make_engine(migrated_db_url) for _ in range(2)]
    try:
        makers = [session_factory(engine) for engine in engines]
        settings = settings_for(relay)
        clock = FixedClock(NOW)
        ids = [queue(makers[0], settings, to=f"member{i}@example.com")[0] for i in range(24)]
        relay.handler.data_delay = 0.02
        relay.start()
        senders = [make_sender(maker, settings, clock, name=f"sender-{n}") for n, maker in enumerate(makers)]
        barrier = threading.Barrier(2)
        done: dict[str, list[DeliveryResult]] = {}
        errors: list[BaseException] = []

        def work(sender: Sender) -> None:
            try:
                barrier.wait(5)
                got: list[DeliveryResult] = []
                while batch := sender.deliver_due(limit=5):
                    got.extend(batch)
                done[sender.name] = got
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert all(r.status == "sent" for results in done.values() for r in results)
        by_sender = {name: {r.outbound_id for r in results} for name, results in done.items()}
        assert not by_sender["sender-0"] & by_sender["sender-1"]
        assert by_sender["sender-0"] | by_sender["sender-1"] == set(ids)
        counts = Counter(relay.handler.message_ids())
        assert len(counts) == len(ids)
        assert set(counts.values()) == {1}
        if migrated_db_url.startswith("postgresql"):
            assert by_sender["sender-0"] and by_sender["sender-1"]  # SKIP LOCKED: both did work
        with makers[0]() as session:
            statuses = set(session.scalars(sa.select(OutboundMessage.status)))
        assert statuses == {OutboundStatus.SENT}
    finally:
        for engine in engines:
            engine.dispose()


def test_run_loop_delivers_survives_errors_and_stops(sessions: sessionmaker[Session], relay: Relay) -> None:
    settings = settings_for(relay)
    clock = FixedClock(NOW)
    row_id, _ = queue(sessions, settings)
    relay.start()
    sender = make_sender(sessions, settings, clock)
    sender.idle_seconds = 0.02
    real_pass = sender.deliver_due
    calls = Counter[str]()

    def flaky_pass(limit: int = 50, should_stop: Callable[[], bool] | None = None) -> list[DeliveryResult]:
        calls["pass"] += 1
        if calls["pass"] == 1:
            raise RuntimeError("a bug in one pass")
        return real_pass(limit, should_stop)

    sender.deliver_due = flaky_pass  # type: ignore[method-assign]

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        for _ in range(500):
            if relay.handler.received:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert calls["pass"] >= 3  # the failure, the delivery, at least one idle pass
    assert load(sessions, row_id).status is OutboundStatus.SENT
    assert len(relay.handler.received) == 1


def test_a_stopping_sender_starts_no_new_delivery(sessions: sessionmaker[Session], relay: Relay) -> None:
    settings = settings_for(relay)
    relay.start()
    first, _ = queue(sessions, settings)
    second, _ = queue(sessions, settings, "hana@example.jp")
    asked = Counter[str]()

    def stop_after_one() -> bool:
        asked["n"] += 1
        return asked["n"] > 1

    results = make_sender(sessions, settings, FixedClock(NOW)).deliver_due(should_stop=stop_after_one)
    assert [result.outbound_id for result in results] == [first]
    assert load(sessions, first).status is OutboundStatus.SENT
    assert load(sessions, second).status is OutboundStatus.PENDING
    assert len(relay.handler.received) == 1


def test_a_connection_lost_before_the_end_of_data_is_retried(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """Cut during RCPT: the relay has nothing, so the reply goes again later."""
    settings = settings_for(relay)
    relay.handler.rcpt_reply = "421 4.3.2 closing"
    relay.start()
    row_id, _ = queue(sessions, settings)
    clock = FixedClock(NOW)
    sender = make_sender(sessions, settings, clock)
    [result] = sender.deliver_due()
    assert result.status == OutboundStatus.PENDING.value
    relay.handler.rcpt_reply = None
    clock.at = load(sessions, row_id).next_attempt_at
    [again] = sender.deliver_due()
    assert again.status == OutboundStatus.SENT.value
    assert len(relay.handler.received) == 1


# -- batches -----------------------------------------------------------------------------------


def test_a_pass_claims_a_batch_in_one_transaction_and_records_it_with_the_next_claim(
    sessions: sessionmaker[Session], relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 replies, batches of 50: four commits in all, not two a reply."""
    monkeypatch.setattr(sender_module, "RECORD_EVERY_SECONDS", 3600.0)  # outcomes wait for the batch's end
    settings = settings_for(relay)
    relay.start()
    ids = [queue(sessions, settings, f"member{n}@example.jp")[0] for n in range(60)]
    engine = sessions.kw["bind"]
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    sa.event.listen(engine, "commit", count)
    try:
        results = make_sender(sessions, settings, FixedClock(NOW)).deliver_due(limit=100)
    finally:
        sa.event.remove(engine, "commit", count)
    assert [(r.outbound_id, r.status) for r in results] == [(row_id, "sent") for row_id in ids]
    # take-over; claim 50; record 50 + claim 10; record 10 + find nothing more
    assert len(commits) == 4
    assert sorted(relay.handler.message_ids()) == sorted(load(sessions, row_id).message_id for row_id in ids)


def test_the_run_loop_keeps_one_relay_connection_from_pass_to_pass(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """60 replies are two passes of 50: one relay session (one STARTTLS and login), not one a pass."""
    settings = settings_for(relay)
    relay.start()
    ids = [queue(sessions, settings, f"member{n}@example.jp")[0] for n in range(60)]
    sender = make_sender(sessions, settings, FixedClock(NOW))
    sender.idle_seconds = 0.02

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        for _ in range(1000):
            if len(relay.handler.received) == len(ids):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert len(relay.handler.received) == 60
    assert len(set(relay.handler.mail_peers)) == 1
    assert {load(sessions, row_id).status for row_id in ids} == {OutboundStatus.SENT}


def test_a_sender_stopping_mid_batch_gives_the_rest_back_unsent(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    settings = settings_for(relay)
    relay.start()
    ids = [queue(sessions, settings, f"member{n}@example.jp")[0] for n in range(3)]
    asked = Counter[str]()

    def stop_after_the_first_send() -> bool:
        asked["n"] += 1
        return asked["n"] > 3  # asked once per row claimed, then before the second send

    results = make_sender(sessions, settings, FixedClock(NOW)).deliver_due(
        should_stop=stop_after_the_first_send
    )
    assert [(r.outbound_id, r.status) for r in results] == [(ids[0], "sent")]
    assert len(relay.handler.received) == 1
    for row_id in ids[1:]:
        row = load(sessions, row_id)
        assert (row.status, row.attempts, row.lease_until) == (OutboundStatus.PENDING, 0, None)
    later = make_sender(sessions, settings, FixedClock(NOW), name="sender-2").deliver_due()
    assert [(r.outbound_id, r.status) for r in later] == [(row_id, "sent") for row_id in ids[1:]]
    assert [load(sessions, row_id).attempts for row_id in ids] == [1, 1, 1]
    assert len(set(relay.handler.message_ids())) == 3


def test_a_newer_reply_settled_earlier_in_the_batch_no_longer_supersedes_an_older_one(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """The newer reply is due first and past give_up_at: dead, it replaces nothing; the older one goes."""
    settings = settings_for(relay)
    relay.start()
    with sessions() as session:
        case_id = add_case(session)
        older, newer = (
            enqueue_reply(
                session,
                reply=RenderedReply(
                    "queued",
                    "ja",
                    MEMBER,
                    "secure_jo1@example.jp",
                    SUBJECT,
                    "本文です。\n",
                    decision="queued",
                ),
                case_id=case_id,
                inbound_id=None,
                in_reply_to=None,
                references=(),
                settings=settings,
                now=NOW,
            )
            for _ in range(2)
        )
        session.flush()
        newer.next_attempt_at = NOW - dt.timedelta(minutes=2)
        newer.give_up_at = NOW - dt.timedelta(minutes=1)
        older_id, newer_id = older.id, newer.id
        session.commit()
    results = make_sender(sessions, settings, FixedClock(NOW)).deliver_due()
    assert [(r.outbound_id, r.status) for r in results] == [(newer_id, "dead"), (older_id, "sent")]
    assert event_kinds(sessions, case_id) == ["reply_queued", "reply_queued", "reply_dead", "reply_sent"]


# -- STARTTLS and login ------------------------------------------------------------------------


@dataclass
class Logins:
    seen: list[tuple[bytes, bytes]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.seen.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"triage", b"s3cret")
        return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's own CA file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "relay.pem", folder / "relay.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_and_login_with_a_verified_certificate(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = RelayHandler()
    logins = Logins()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=logins,
        auth_require_tls=True,
    )
    controller.start()
    try:
        base = Settings(
            our_domain="triage.example",
            relay=("127.0.0.1", port),
            relay_starttls=True,
            relay_username="triage",
            relay_password="s3cret",
            relay_ca_file=str(cert),
        )
        row_id, _ = queue(sessions, base)
        [result] = make_sender(sessions, base, FixedClock(NOW)).deliver_due()
        assert result.status == OutboundStatus.SENT.value
        assert logins.seen == [(b"triage", b"s3cret")]
        assert len(handler.received) == 1

        wrong = replace(base, relay_password="wrong")
        other_id, _ = queue(sessions, wrong, "hana@example.jp")
        [refused] = make_sender(sessions, wrong, FixedClock(NOW)).deliver_due()
        assert refused.outbound_id == other_id
        assert refused.status == OutboundStatus.PENDING.value  # our session's fault: retried
        assert "535" in (load(sessions, other_id).last_error or "")

        untrusted = replace(base, relay_ca_file="")  # the system CAs don't know it
        third_id, _ = queue(sessions, untrusted, "jiro@example.jp")
        [unverified] = make_sender(sessions, untrusted, FixedClock(NOW)).deliver_due()
        assert unverified.status == OutboundStatus.PENDING.value
        assert len(handler.received) == 1
        assert load(sessions, row_id).status is OutboundStatus.SENT
        assert load(sessions, third_id).status is OutboundStatus.PENDING
    finally:
        controller.stop()


def test_a_login_without_starttls_to_a_remote_relay_is_refused_at_start() -> None:
    settings = Settings(relay=("relay.example.net", 587), relay_username="triage", relay_password="x")
    with pytest.raises(ConfigError, match="STARTTLS"):
        SmtpTransport(settings)
