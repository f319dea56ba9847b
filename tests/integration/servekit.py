"""Helpers for the integration tests: a real `triage serve` process, mails, an SMTP relay.

Not a test module (pytest collects ``test_*.py`` only); the integration tests import it by name.
Every server here is a real process or a real socket on loopback: nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from triage.db.engine import make_engine, session_factory

T = TypeVar("T")

MAILBOX = "secure_billing@cc.example.jp"
READY_LINE = "SMTP ingress on"
STARTED_LINE = "SIGTERM or Ctrl-C stops"
COMPLETE_BODY = "ログインID:{login}\nメールアドレス:{email}\n電話番号:090-0000-1234\n"


def free_port() -> int:
    """A port nothing listens on now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def complete_mail(
    sender: str,
    message_id: str,
    *,
    login: str = "taro_sample77",
    subject: str = "ログインできません",
    extra_body: str = "",
) -> bytes:
    """A UTF-8 8bit mail to secure_billing with every required field: it becomes a queued case."""
    head = (
        f"From: {sender}\nTo: {MAILBOX}\nSubject: {subject}\nMessage-ID: <{message_id}>\n"
        "Date: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    body = COMPLETE_BODY.format(login=login, email=sender) + extra_body
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def smtp_client(port: int, timeout: float = 30.0) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=timeout)
    smtp.ehlo()
    return smtp


def transaction(
    smtp: smtplib.SMTP, mail_from: str, raw: bytes, rcpts: Iterable[str] = (MAILBOX,)
) -> tuple[int, bytes]:
    """MAIL, RCPT, DATA on an open session: the first reply that is not 250, else DATA's."""
    reply = smtp.mail(mail_from, ["BODY=8BITMIME"])
    if reply[0] != 250:
        smtp.rset()
        return reply
    for rcpt in rcpts:
        reply = smtp.rcpt(rcpt)
        if reply[0] != 250:
            smtp.rset()
            return reply
    return smtp.data(raw)


def deliver(port: int, mail_from: str, raw: bytes, rcpts: Iterable[str] = (MAILBOX,)) -> tuple[int, bytes]:
    """One transaction on a new connection, as a sending MTA would make it."""
    with smtp_client(port) as smtp:
        return transaction(smtp, mail_from, raw, rcpts)


def queued_id(reply: tuple[int, bytes]) -> int:
    """The inbound row id from ``250 2.0.0 Queued as N``."""
    code, text = reply
    prefix = b"2.0.0 Queued as "
    assert code == 250 and text.startswith(prefix), reply
    return int(text.removeprefix(prefix))


def wait_until(condition: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.05)


class Database:
    """Reads the database a `triage serve` process writes (one engine per test)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)

    def read(self, query: Callable[[Session], T]) -> T:
        with self.sessions() as session:
            return query(session)

    def close(self) -> None:
        self.engine.dispose()


def serve_env(database_url: str, **triage: str) -> dict[str, str]:
    """The parent's environment without any TRIAGE_* variable, plus the given ones.

    ``triage`` keys are the names after ``TRIAGE_`` (``RELAY="127.0.0.1:2525"``).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIAGE_")}
    env.update(
        TRIAGE_DATABASE_URL=database_url,
        TRIAGE_SMTP_HOSTNAME="ingress.test",  # no getfqdn() at start
        TRIAGE_WORKER_IDLE_SECONDS="0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"TRIAGE_{key}": value for key, value in triage.items()})
    return env


class ServeProcess:
    """``python -m triage serve --smtp 127.0.0.1:PORT`` in ``workdir``; output in a log file."""

    def __init__(
        self, workdir: Path, env: Mapping[str, str], port: int, only: Sequence[str] = (), name: str = "serve"
    ) -> None:
        self.workdir = workdir
        self.env = dict(env)
        self.port = port
        self.only = tuple(only)
        self.name = name
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"

    def start(self, timeout: float = 30.0) -> ServeProcess:
        """Start (or start again, on the same port) and wait for the "SMTP ingress on" line."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.runs += 1
        command = [sys.executable, "-m", "triage", "serve", "--smtp", f"127.0.0.1:{self.port}"]
        for part in self.only:
            command += ["--only", part]
        with self.log_path.open("ab") as log:
            log.write(f"--- run {self.runs}: {' '.join(command[1:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        # The ingress line, then the line printed once every part has been started.
        ready = [READY_LINE] if not self.only or "ingress" in self.only else []
        ready.append(STARTED_LINE)
        run_marker = f"--- run {self.runs}:"
        deadline = time.monotonic() + timeout
        while not all(line in self.output.rpartition(run_marker)[2] for line in ready):
            if self.process.poll() is not None:
                raise AssertionError(f"triage serve exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"triage serve did not start within {timeout} s:\n{self.output}")
            time.sleep(0.05)
        return self

    @property
    def output(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the exit status (the process is killed if it does not stop)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"triage serve ignored SIGTERM for {timeout} s:\n{self.output}"
                ) from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing the process could still do."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        """For teardown: stop if still running, whatever state the test left it in."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Launcher:
    """Starts `triage serve` processes for one test and stops every one of them afterwards."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[ServeProcess] = []

    def __call__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        only: Sequence[str] = (),
        start: bool = True,
        **triage: str,
    ) -> ServeProcess:
        process = ServeProcess(
            self.workdir,
            serve_env(database_url, **triage),
            port or free_port(),
            only,
            name=f"serve{len(self.started) + 1}",
        )
        self.started.append(process)
        return process.start() if start else process

    def close(self) -> None:
        for process in self.started:
            process.close()


# -- a relay: a real SMTP server on loopback --------------------------------------------------


@dataclass
class Relayed:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RelayHandler:
    """Accepts and records every message, or answers ``rcpt_reply`` to every RCPT."""

    rcpt_reply: str | None = None
    mail_froms: list[str] = field(default_factory=list)
    received: list[Relayed] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self.mail_froms.append(address)  # "<>" for the null reverse-path
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0)
        self.received.append(Relayed(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 OK"


class Relay:
    """An aiosmtpd Controller on 127.0.0.1:``port`` (a free port chosen up front; not started)."""

    def __init__(self, rcpt_reply: str | None = None) -> None:
        self.port = free_port()
        self.handler = RelayHandler(rcpt_reply=rcpt_reply)
        self._controller: Controller | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Relay:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
