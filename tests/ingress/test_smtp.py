"""The SMTP ingress end to end: a real server on loopback, smtplib or raw sockets, real databases.

Each ingress runs on its own event loop in a thread, so the blocking clients below talk to it
exactly as a sending MTA would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from smtpkit import (
    MAILBOX,
    MESSAGE,
    RCPT,
    SENDER,
    TEMPORARY_FAILURE,
    MakeIngress,
    client,
    deliver,
    ingress_factory,
    open_data,
    open_idle,
    queued_id,
    read_reply,
    rows,
    wait_until,
)
from sqlalchemy.engine import make_url

from triage.config import PROJECT_ROOT
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import InboundStatus
from triage.errors import ConfigError
from triage.ingress.handler import (
    REPLY_TEMPORARY_FAILURE,
    IngressHandler,
)
from triage.ingress.store import InboundStore

# --- acceptance and storage ---------------------------------------------------------------


@pytest.fixture
def make_ingress() -> Iterator[MakeIngress]:
    yield from ingress_factory()


def test_message_is_stored_before_250(migrated_db_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(migrated_db_url)
    message = MESSAGE + b"bare\nline feed\r\n"
    before = dt.datetime.now(dt.UTC)
    row_id = queued_id(deliver(ingress.port, message))
    [row] = rows(migrated_db_url)
    assert row.id == row_id
    assert row.raw == message  # dot-unstuffed, line ends as received
    assert row.size == len(message)
    assert row.sha256 == hashlib.sha256(message).hexdigest()
    assert row.mail_from == SENDER
    assert row.mail_options == ["BODY=8BITMIME"]
    assert row.rcpt_tos == [RCPT]
    assert row.peer.startswith("127.0.0.1:")
    assert row.helo == "client.test"
    assert row.smtp_utf8 is False
    assert row.tls is False
    assert row.has_bare_line_ends is True
    assert row.status is InboundStatus.PENDING
    assert (row.attempts, row.lease_until, row.last_error, row.duplicate_of) == (0, None, None, None)
    assert before - dt.timedelta(seconds=1) <= row.received_at <= dt.datetime.now(dt.UTC)


def test_null_sender_and_smtputf8(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    with client(ingress.port) as smtp:
        assert smtp.has_extn("smtputf8")
        assert smtp.mail("", ["SMTPUTF8"])[0] == 250
        assert smtp.rcpt(RCPT) == (250, b"2.1.5 OK")
        queued_id(smtp.data(b"Subject: \xe6\x97\xa5\r\n\r\nx\r\n"))
    [row] = rows(sqlite_url)
    assert (row.mail_from, row.smtp_utf8, row.has_bare_line_ends) == ("", True, False)


def test_a_5000_octet_line_is_accepted(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: long\r\n\r\n" + b"x" * 4998 + b"\r\n"
    queued_id(deliver(ingress.port, message))
    assert [row.raw for row in rows(sqlite_url)] == [message]


def test_invalid_utf8_sender_is_refused(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    with client(ingress.port) as smtp:
        smtp.command_encoding = "latin-1"  # send the byte 0xFF as it is
        code, _ = smtp.docmd("MAIL", b"FROM:<m\xffx@example.com>".decode("latin-1"))
        assert code == 553


# --- recipients ----------------------------------------------------------------------------


def test_recipient_policy(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(
        sqlite_url, mailboxes=["secure_jo1", "SECURE_JO2"], accepted_domains=("example.jp",)
    )
    with client(ingress.port) as smtp:
        smtp.mail(SENDER)
        for rcpt in ("secure_jo1@example.jp", "Secure_Jo2@EXAMPLE.JP"):
            assert smtp.rcpt(rcpt) == (250, b"2.1.5 OK"), rcpt
        for rcpt in (
            "secure_unknown@example.jp",  # not a configured mailbox
            "info@example.jp",  # not secure_*
            "secure_jo1@example.com",  # not an accepted domain
            "secure_jo1@sub.example.jp",
            "secure_jo1",  # no domain
        ):
            assert smtp.rcpt(rcpt) == (550, b"5.1.1 Recipient address rejected"), rcpt
        queued_id(smtp.data(MESSAGE))
    [row] = rows(sqlite_url)
    assert row.rcpt_tos == ["secure_jo1@example.jp", "Secure_Jo2@EXAMPLE.JP"]


def test_any_domain_when_none_is_configured(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    with client(ingress.port) as smtp:
        smtp.mail(SENDER)
        assert smtp.rcpt("secure_jo1@anything.example")[0] == 250
        assert smtp.rcpt("postmaster@anything.example")[0] == 550


def test_recipients_past_the_cap_get_452_and_earlier_ones_stay(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    mailboxes = [f"secure_m{n:03d}" for n in range(101)]
    ingress = make_ingress(sqlite_url, mailboxes=mailboxes)  # default cap: 100
    with client(ingress.port) as smtp:
        smtp.mail(SENDER)
        for name in mailboxes[:100]:
            assert smtp.rcpt(f"{name}@example.jp")[0] == 250
        assert smtp.rcpt(f"{mailboxes[100]}@example.jp") == (452, b"4.5.3 Too many recipients")
        assert smtp.rcpt(f"{mailboxes[0]}@example.jp")[0] == 250  # a repeat is not a new one
        queued_id(smtp.data(MESSAGE))
    [row] = rows(sqlite_url)
    assert row.rcpt_tos == [f"{name}@example.jp" for name in mailboxes[:100]]


# --- size ----------------------------------------------------------------------------------


def test_size_is_advertised_and_enforced(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url, max_message_bytes=10_000)
    with client(ingress.port) as smtp:
        assert smtp.esmtp_features["size"] == "10000"
        code, _ = smtp.mail(SENDER, ["SIZE=10001"])
        assert code == 552
        assert smtp.mail(SENDER, ["SIZE=9000"])[0] == 250
        smtp.rset()
        smtp.mail(SENDER)  # no SIZE=: the whole body is read, then refused
        smtp.rcpt(RCPT)
        code, _ = smtp.data(b"Subject: big\r\n\r\n" + b"0123456789abcde\r\n" * 700)
        assert code == 552
        smtp.mail(SENDER)
        smtp.rcpt(RCPT)
        queued_id(smtp.data(MESSAGE))  # the session goes on after a 552
    assert [row.raw for row in rows(sqlite_url)] == [MESSAGE]


# --- the store failing ---------------------------------------------------------------------


def test_sqlite_locked_gives_451_then_the_retry_is_accepted(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url, busy_timeout_ms=200)
    path = make_url(sqlite_url).database
    assert path
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        assert deliver(ingress.port) == TEMPORARY_FAILURE
    finally:
        blocker.rollback()
        blocker.close()
    assert rows(sqlite_url) == []
    queued_id(deliver(ingress.port))
    assert len(rows(sqlite_url)) == 1


def test_sqlite_unopenable_gives_451_then_the_retry_is_accepted(
    tmp_path: Path, make_ingress: MakeIngress
) -> None:
    directory = tmp_path / "data"
    directory.write_bytes(b"")  # a file where the database's directory should be
    url = f"sqlite:///{directory / 'triage.db'}"
    ingress = make_ingress(url)
    assert deliver(ingress.port) == TEMPORARY_FAILURE
    directory.unlink()
    directory.mkdir()
    upgrade(url)
    queued_id(deliver(ingress.port))
    assert len(rows(url)) == 1


@pytest.mark.db
def test_postgresql_down_gives_451_then_the_retry_is_accepted(
    postgres_db: tuple[str, str], postgres_superuser: Callable[[str], None], make_ingress: MakeIngress
) -> None:
    url, name = postgres_db
    upgrade(url)
    ingress = make_ingress(url)
    queued_id(deliver(ingress.port))  # the pool now holds a live connection
    # Down: the server refuses new connections to this database and ends the open ones.
    postgres_superuser(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    postgres_superuser(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        assert deliver(ingress.port) == TEMPORARY_FAILURE
    finally:
        postgres_superuser(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    queued_id(deliver(ingress.port))
    assert len(rows(url)) == 2
    ingress.close()  # before the database is dropped


def test_sqlite_full_gives_452(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)

    @sa.event.listens_for(ingress.engine, "connect")
    def _tiny(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # The database may not grow past its current size: SQLite answers SQLITE_FULL.
        dbapi_connection.execute("PRAGMA max_page_count = 1")

    ingress.engine.dispose()
    assert deliver(ingress.port, MESSAGE + b"x" * 50_000 + b"\r\n") == (
        452,
        b"4.3.1 Insufficient system storage",
    )
    assert rows(sqlite_url) == []


def test_handle_exception_is_constant_and_hides_the_error() -> None:
    handler = IngressHandler(InboundStore(session_factory(make_engine("sqlite://"))), [MAILBOX])
    reply = asyncio.run(handler.handle_exception(RuntimeError("postgresql://triage:secret@db/x")))
    assert reply == REPLY_TEMPORARY_FAILURE == "451 4.3.0 Temporary failure, please retry"


# --- connections and shutdown --------------------------------------------------------------


def test_connections_past_the_cap_get_421(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url, max_connections=2)
    first, second = client(ingress.port), client(ingress.port)
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", ingress.port, timeout=10)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        421,
        b"4.7.0 Too many connections, try again later",
    )
    first.quit()
    wait_until(lambda: ingress.server.session_count == 1)
    with client(ingress.port) as third:
        assert third.noop()[0] == 250
    second.quit()


def test_shutdown_lets_data_finish_and_closes_idle_sessions(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)
    in_data = open_data(ingress.port, MESSAGE[:20])
    idle = open_idle(ingress.port)
    stopping = ingress.call(ingress.server.shutdown(grace=10))
    assert read_reply(idle) == b"421 4.3.2 Service shutting down\r\n"
    assert idle.recv(1) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ingress.port), timeout=2)
    in_data.sendall(MESSAGE[20:].replace(b"\r\n.", b"\r\n..") + b".\r\n")
    assert read_reply(in_data).startswith(b"250 2.0.0 Queued as ")
    assert read_reply(in_data) == b"421 4.3.2 Service shutting down\r\n"
    stopping.result(10)
    assert [row.raw for row in rows(sqlite_url)] == [MESSAGE]
    in_data.close()
    idle.close()


def test_shutdown_after_the_grace_period_closes_without_reply(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)
    in_data = open_data(ingress.port, MESSAGE[:20])
    ingress.call(ingress.server.shutdown(grace=0.2)).result(10)
    # Aborted without a reply (EOF or reset): nothing was acknowledged, the client retries.
    with contextlib.suppress(ConnectionResetError):
        assert in_data.recv(100) == b""
    assert rows(sqlite_url) == []
    in_data.close()


SERVE_SCRIPT = """
import asyncio, sys
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.ingress.server import start_ingress
from triage.ingress.store import InboundStore

async def main() -> None:
    store = InboundStore(session_factory(make_engine(sys.argv[1])))
    settings = Settings(smtp_hostname="ingress.test")
    server = await start_ingress(settings, store, ["secure_jo1"], "127.0.0.1", 0)
    print(server.address[1], flush=True)
    await server.serve_until_signalled(grace=10)

asyncio.run(main())
"""


@pytest.mark.slow
def test_sigterm_finishes_data_in_progress_and_exits_cleanly(sqlite_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, sqlite_url],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        in_data = open_data(port, MESSAGE[:20])
        idle = open_idle(port)
        process.send_signal(signal.SIGTERM)
        assert read_reply(idle) == b"421 4.3.2 Service shutting down\r\n"
        in_data.sendall(MESSAGE[20:].replace(b"\r\n.", b"\r\n..") + b".\r\n")
        assert read_reply(in_data).startswith(b"250 2.0.0 Queued as ")
        assert process.wait(15) == 0
        in_data.close()
        idle.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [row.raw for row in rows(sqlite_url)] == [MESSAGE]


# --- hostile inputs (ingress.md §7) --------------------------------------------------------


@pytest.mark.parametrize(
    "marker", [b"\n.\r\n", b"\n.\n", b"\r.\r", b"\r\n.\n"], ids=["LF.CRLF", "LF.LF", "CR.CR", "CRLF.LF"]
)
def test_smuggled_end_of_data_yields_one_message(
    sqlite_url: str, make_ingress: MakeIngress, marker: bytes
) -> None:
    ingress = make_ingress(sqlite_url)
    smuggled = b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<secure_jo1@example.jp>\r\nDATA\r\nsmuggled\r\n"
    body = b"Subject: first\r\n\r\nfirst" + marker + smuggled
    sock = open_data(ingress.port, body + b".\r\n")
    try:
        assert read_reply(sock).startswith(b"250 2.0.0 Queued as ")
        sock.sendall(b"QUIT\r\n")
        assert read_reply(sock).startswith(b"221")
    finally:
        sock.close()
    [row] = rows(sqlite_url)
    # The smuggled commands are body text (a leading dot the client did not stuff is removed).
    assert row.raw.startswith(b"Subject: first\r\n\r\nfirst")
    assert row.raw.endswith(smuggled)
    assert row.has_bare_line_ends is True


def test_mailboxes_must_be_secure() -> None:
    store = InboundStore(session_factory(make_engine("sqlite://")))
    with pytest.raises(ConfigError, match="secure_"):
        IngressHandler(store, ["secure_jo1", "info"])


def test_a_command_line_over_512_octets_gets_500_and_the_session_goes_on(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)
    sock = open_idle(ingress.port)
    try:
        sock.sendall(b"MAIL FROM:<" + b"a" * 600 + b"@example.jp>\r\n")
        assert read_reply(sock).startswith(b"500 ")
        sock.sendall(f"MAIL FROM:<{SENDER}>\r\n".encode())
        assert read_reply(sock).startswith(b"250 ")
    finally:
        sock.close()
    assert rows(sqlite_url) == []


def test_starttls_is_not_offered_and_commands_pipelined_behind_it_stay_plaintext(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    """No TLS context: STARTTLS is refused, so nothing can be injected across a TLS upgrade."""
    ingress = make_ingress(sqlite_url)
    sock = open_idle(ingress.port)
    try:
        sock.sendall(b"STARTTLS\r\n" + f"MAIL FROM:<{SENDER}>\r\n".encode())
        assert read_reply(sock)[:1] in (b"4", b"5")  # 454 / 502: not available
        assert read_reply(sock).startswith(b"250 ")  # MAIL answered once, in plaintext
    finally:
        sock.close()
    assert rows(sqlite_url) == []
