"""Shared helpers of the ingress tests: a live ingress on its own loop, raw and smtplib clients."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import sqlalchemy as sa

from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundMessage
from triage.ingress.server import IngressServer, start_ingress
from triage.ingress.store import InboundStore

T = TypeVar("T")

MAILBOX = "secure_jo1"
RCPT = "secure_jo1@example.jp"
SENDER = "member@example.com"
# A short greeting delay keeps tests quick; the early-talker tests set their own.
SETTINGS = Settings(smtp_hostname="ingress.test", smtp_greet_delay_seconds=0.05)
TEMPORARY_FAILURE = (451, b"4.3.0 Temporary failure, please retry")
MESSAGE = (
    b"From: member@example.com\r\n"
    b"To: secure_jo1@example.jp\r\n"
    b"Subject: test\r\n"
    b"\r\n" + "お問い合わせです。".encode("shift_jis") + b"\r\n"
    b".a line that starts with a dot\r\n"
    b"end\r\n"
)


class LiveIngress:
    """An ingress on 127.0.0.1 (free port) running on its own loop in a background thread."""

    def __init__(self, url: str, settings: Settings, mailboxes: Iterable[str], busy_timeout_ms: int) -> None:
        self.engine = make_engine(url, sqlite_busy_timeout_ms=busy_timeout_ms)
        self.store = InboundStore(session_factory(self.engine))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ingress-test", daemon=True)
        self.thread.start()
        self.server: IngressServer = self.call(
            start_ingress(settings, self.store, mailboxes, "127.0.0.1", 0)
        ).result(10)
        self.port = self.server.address[1]

    def call(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.call(self.server.shutdown(grace=5)).result(15)
            self.call(self.loop.shutdown_default_executor()).result(15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
            self.engine.dispose()


MakeIngress = Callable[..., LiveIngress]


def ingress_factory() -> Iterator[MakeIngress]:
    """The body of each test module's ``make_ingress`` fixture: ingresses closed afterwards."""
    started: list[LiveIngress] = []

    def make(
        url: str,
        mailboxes: Iterable[str] = (MAILBOX,),
        busy_timeout_ms: int = 5000,
        **settings: Any,
    ) -> LiveIngress:
        ingress = LiveIngress(url, dataclasses.replace(SETTINGS, **settings), mailboxes, busy_timeout_ms)
        started.append(ingress)
        return ingress

    yield make
    for ingress in started:
        ingress.close()


def client(port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10)
    smtp.ehlo()
    return smtp


def deliver(port: int, message: bytes = MESSAGE, rcpts: Iterable[str] = (RCPT,)) -> tuple[int, bytes]:
    """One SMTP transaction on a new connection: the reply to the final dot."""
    with client(port) as smtp:
        assert smtp.mail(SENDER, ["BODY=8BITMIME"])[0] == 250
        for rcpt in rcpts:
            assert smtp.rcpt(rcpt)[0] == 250
        return smtp.data(message)


def rows(url: str) -> list[InboundMessage]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)))
    finally:
        engine.dispose()


def queued_id(reply: tuple[int, bytes]) -> int:
    code, text = reply
    assert code == 250, reply
    prefix = b"2.0.0 Queued as "
    assert text.startswith(prefix), reply
    return int(text.removeprefix(prefix))


def read_reply(sock: socket.socket) -> bytes:
    """Read one CRLF-terminated reply line (b'' at EOF)."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            return data
        data += chunk
    return data


def open_data(port: int, first_part: bytes) -> socket.socket:
    """A raw client inside DATA: the 354 was received and ``first_part`` sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert read_reply(sock).startswith(b"220 ")
    for command, expected in (
        (b"HELO client.test", b"250 "),
        (f"MAIL FROM:<{SENDER}>".encode(), b"250 "),
        (f"RCPT TO:<{RCPT}>".encode(), b"250 "),
        (b"DATA", b"354 "),
    ):
        sock.sendall(command + b"\r\n")
        assert read_reply(sock).startswith(expected)
    sock.sendall(first_part)
    return sock


def open_idle(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert read_reply(sock).startswith(b"220 ")
    sock.sendall(b"EHLO client.test\r\n")
    while not read_reply(sock).startswith(b"250 "):
        pass
    return sock


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
