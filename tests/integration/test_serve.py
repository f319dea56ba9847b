"""`triage serve` as a real process: smtplib in, a case in the database, the reply at a real relay.

Each test starts ``python -m triage serve --smtp 127.0.0.1:PORT`` in a temporary directory with
its configuration in the environment, exactly as an operator would, and stops it with SIGTERM
(exit 0). The relay is an aiosmtpd server on loopback that the test starts and stops itself.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from servekit import (
    MAILBOX,
    Database,
    Launcher,
    Relay,
    complete_mail,
    deliver,
    queued_id,
    smtp_client,
    wait_until,
)
from sqlalchemy.orm import Session

from triage.db.models import (
    Case,
    CaseStatus,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)

MEMBER = "taro@example.jp"


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    """A SQLite URL for a file that does not exist yet: `triage serve` creates and migrates it."""
    return f"sqlite:///{tmp_path / 'triage.db'}"


def outbox(session: Session) -> list[OutboundMessage]:
    return list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))


def inbound(session: Session, row_id: int) -> InboundMessage | None:
    return session.get(InboundMessage, row_id)


def processed(db: Database, row_id: int, timeout: float = 15.0) -> InboundMessage:
    """The inbound row once the worker is done with it."""

    def done() -> InboundMessage | None:
        row = db.read(lambda session: inbound(session, row_id))
        finished = (InboundStatus.DONE, InboundStatus.DUPLICATE, InboundStatus.FAILED)
        return row if row is not None and row.status in finished else None

    return wait_until(done, timeout, what=f"inbound {row_id} processed")


def parse(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


# -- smtplib -> triage serve -> case ----------------------------------------------------------


def test_mail_becomes_a_queued_case_with_a_reply_in_the_outbox(db_url: str, launch: Launcher) -> None:
    serve = launch(db_url)  # an empty database: serve migrates it first
    assert "replies wait in the outbox" in serve.output
    raw = complete_mail(MEMBER, "first.1@example.jp")
    row_id = queued_id(deliver(serve.port, MEMBER, raw))

    db = Database(db_url)
    try:
        row = processed(db, row_id)
        assert row.status is InboundStatus.DONE
        assert row.decision == "queued"
        assert row.raw == raw
        assert row.sha256 == hashlib.sha256(raw).hexdigest()
        assert (row.mail_from, row.rcpt_tos, row.message_id) == (MEMBER, [MAILBOX], "first.1@example.jp")
        assert row.case_id is not None
        case = db.read(lambda session: session.get(Case, row.case_id))
        assert case is not None
        assert (case.mailbox, case.status, case.sender) == ("secure_billing", CaseStatus.QUEUED, MEMBER)
        [reply] = db.read(outbox)
        assert (reply.case_id, reply.inbound_id, reply.template) == (case.id, row_id, "queued")
        assert (reply.to_addr, reply.status, reply.attempts) == (MEMBER, OutboundStatus.PENDING, 0)
    finally:
        db.close()
    assert serve.stop() == 0
    assert "stopped" in serve.output


def test_unknown_recipient_oversize_and_too_many_recipients(sqlite_file: str, launch: Launcher) -> None:
    serve = launch(sqlite_file, MAX_MESSAGE_BYTES="4000", MAX_RECIPIENTS="2")
    raw = complete_mail(MEMBER, "refusals.1@example.jp")
    big = complete_mail(MEMBER, "refusals.2@example.jp", extra_body="あ" * 2000)
    assert len(raw) < 4000 < len(big)
    with smtp_client(serve.port) as smtp:
        assert smtp.esmtp_features["size"] == "4000"
        assert smtp.mail(MEMBER)[0] == 250
        for unknown in ("info@cc.example.jp", "secure_nosuch@cc.example.jp", "secure_billing"):
            assert smtp.rcpt(unknown) == (550, b"5.1.1 Recipient address rejected"), unknown
        assert smtp.rcpt(MAILBOX) == (250, b"2.1.5 OK")
        assert smtp.rcpt("secure_jo1@cc.example.jp") == (250, b"2.1.5 OK")
        assert smtp.rcpt("secure_lunasea@cc.example.jp") == (452, b"4.5.3 Too many recipients")
        code, _ = smtp.data(big)  # no SIZE=: the whole body is read, then refused
        assert code == 552
        assert smtp.mail(MEMBER, [f"SIZE={len(big)}"])[0] == 552  # SIZE= too big: refused at MAIL
        assert smtp.mail(MEMBER)[0] == 250
        assert smtp.rcpt(MAILBOX)[0] == 250
        assert smtp.rcpt("secure_jo1@cc.example.jp")[0] == 250
        assert smtp.rcpt("secure_lunasea@cc.example.jp")[0] == 452
        row_id = queued_id(smtp.data(raw))  # the two accepted recipients stay accepted

    db = Database(sqlite_file)
    try:
        [row] = db.read(lambda session: list(session.scalars(sa.select(InboundMessage))))
        assert row.id == row_id
        assert row.raw == raw  # the oversized message was not stored
        assert row.rcpt_tos == [MAILBOX, "secure_jo1@cc.example.jp"]
        assert processed(db, row_id).decision == "queued"
    finally:
        db.close()
    assert serve.stop() == 0


# -- the reply through a relay -----------------------------------------------------------------


def sent_reply(db: Database, timeout: float = 20.0) -> OutboundMessage:
    def sent() -> OutboundMessage | None:
        rows = db.read(outbox)
        return rows[0] if len(rows) == 1 and rows[0].status is OutboundStatus.SENT else None

    return wait_until(sent, timeout, what="the reply sent")


@pytest.mark.slow
def test_reply_reaches_the_relay_exactly_once_with_rfc3834_headers(
    sqlite_file: str, launch: Launcher
) -> None:
    relay = Relay().start()
    try:
        serve = launch(sqlite_file, RELAY=relay.address, OUR_DOMAIN="cc.example.jp")
        assert f"sending replies through {relay.address}" in serve.output
        member_id = "member.42@example.jp"
        row_id = queued_id(deliver(serve.port, MEMBER, complete_mail(MEMBER, member_id)))
        db = Database(sqlite_file)
        try:
            reply = sent_reply(db)
            assert (reply.inbound_id, reply.attempts, reply.last_error) == (row_id, 1, None)
            [got] = relay.handler.received
            assert relay.handler.mail_froms == ["<>"]  # MAIL FROM:<>, the null reverse-path
            assert got.rcpt_tos == [MEMBER]
            message = parse(got.content)
            assert message["Auto-Submitted"] == "auto-replied"
            assert message["In-Reply-To"] == f"<{member_id}>"
            assert message["Message-ID"] == f"<{reply.message_id}>"
            assert reply.message_id.endswith("@cc.example.jp")
            assert message["To"] == MEMBER
            assert got.content == reply.raw
            time.sleep(2.5)  # the sender polls every second: two more passes send nothing
            assert len(relay.handler.received) == 1
            assert len(relay.handler.mail_froms) == 1
            assert db.read(outbox)[0].attempts == 1
        finally:
            db.close()
        assert serve.stop() == 0
    finally:
        relay.stop()


@pytest.mark.slow
def test_relay_down_at_start_retries_with_backoff_then_delivers_once(
    sqlite_file: str, launch: Launcher
) -> None:
    relay = Relay()  # its port is chosen, nothing listens there yet
    try:
        serve = launch(
            sqlite_file,
            RELAY=relay.address,
            OUR_DOMAIN="cc.example.jp",
            SENDER_RETRY_BASE_SECONDS="0.5",
            SENDER_RETRY_CAP_SECONDS="1",
        )
        queued_id(deliver(serve.port, MEMBER, complete_mail(MEMBER, "down.1@example.jp")))
        db = Database(sqlite_file)
        try:

            def retried() -> OutboundMessage | None:
                rows = db.read(outbox)
                return rows[0] if rows and rows[0].attempts >= 2 else None

            waiting = wait_until(retried, 20, what="two failed attempts")
            assert waiting.status in (OutboundStatus.PENDING, OutboundStatus.SENDING)
            assert waiting.last_error == "relay unreachable (ConnectionRefusedError)"
            assert waiting.next_attempt_at > waiting.created_at  # backoff moved the next attempt

            relay.start()
            reply = sent_reply(db)
            assert reply.attempts >= 3
            assert reply.last_error is None
            assert len(relay.handler.received) == 1
            time.sleep(2.5)
            assert len(relay.handler.received) == 1
            assert len(relay.handler.mail_froms) == 1
            assert db.read(outbox)[0].attempts == reply.attempts
            message = parse(relay.handler.received[0].content)
            assert message["Message-ID"] == f"<{reply.message_id}>"
        finally:
            db.close()
        assert serve.stop() == 0
    finally:
        relay.stop()


@pytest.mark.slow
def test_relay_5xx_dead_letters_the_reply_without_retrying(sqlite_file: str, launch: Launcher) -> None:
    relay = Relay(rcpt_reply="550 5.1.1 No such user here").start()
    try:
        serve = launch(
            sqlite_file, RELAY=relay.address, OUR_DOMAIN="cc.example.jp", SENDER_RETRY_BASE_SECONDS="0.5"
        )
        queued_id(deliver(serve.port, MEMBER, complete_mail(MEMBER, "dead.1@example.jp")))
        db = Database(sqlite_file)
        try:

            def dead() -> OutboundMessage | None:
                rows = db.read(outbox)
                return rows[0] if rows and rows[0].status is OutboundStatus.DEAD else None

            reply = wait_until(dead, 20, what="the reply dead-lettered")
            assert reply.last_error == "550 5.1.1 No such user here"
            assert reply.attempts == 1
            time.sleep(2.5)
            assert relay.handler.mail_froms == ["<>"]  # tried once, never again
            assert relay.handler.received == []
            again = db.read(outbox)[0]
            assert (again.status, again.attempts) == (OutboundStatus.DEAD, 1)
        finally:
            db.close()
        assert serve.stop() == 0
    finally:
        relay.stop()
