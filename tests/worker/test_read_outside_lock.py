"""No parsing or extraction while the SQLite write lock is held (issue 12 item 1).

A real slow mail (50 nested multiparts over a million lines: its structure is read until the
deadline, about a second) is processed by a worker on SQLite while a real SMTP ingress on
loopback, whose busy timeout is shorter than that read, takes new mail. Were the read inside the
worker's write transaction, the ingress would wait for the lock and answer 451.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from pathlib import Path

import pytest
from hostile_mails import nested_lines

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundStatus
from triage.engine.loader import load_rules
from triage.ingress.server import start_ingress
from triage.ingress.store import InboundStore
from triage.worker.batchwrite import ProcessResult
from triage.worker.loop import Worker

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RCPT = "secure_jo1@example.jp"
QUICK = b"From: member@example.com\r\nTo: secure_jo1@example.jp\r\nSubject: hi\r\n\r\nhello\r\n"


def test_the_ingress_answers_250_while_the_worker_reads(sqlite_url: str) -> None:
    settings = Settings(smtp_hostname="ingress.test", database_url=sqlite_url)
    rules = load_rules(ROOT / "rules", ROOT / "replies")
    ingress_engine = make_engine(sqlite_url, sqlite_busy_timeout_ms=300)
    store = InboundStore(session_factory(ingress_engine))
    slow_id = store.insert(
        nested_lines(lines=3_000_000), "taro@example.jp", [RCPT], "127.0.0.1", "client.example.jp", False
    )

    worker_engine = make_engine(sqlite_url)
    worker = Worker(session_factory(worker_engine), settings, rules, clock=SystemClock(), name="w1")
    assert worker.claim(slow_id) == slow_id

    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()
    server = asyncio.run_coroutine_threadsafe(
        start_ingress(settings, store, rules.mailboxes, "127.0.0.1", 0), loop
    ).result(10)
    port = server.address[1]

    outcome: list[ProcessResult] = []
    reader = threading.Thread(target=lambda: outcome.append(worker.process(slow_id)))
    try:
        started = time.monotonic()
        reader.start()
        answers: list[tuple[int, float, bool]] = []
        while reader.is_alive() and len(answers) < 20:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.ehlo("client.example.jp")
                sent = time.monotonic()
                try:
                    client.sendmail("member@example.com", [RCPT], QUICK)
                    code = 250
                except smtplib.SMTPResponseException as exc:
                    code = exc.smtp_code
                answers.append((code, time.monotonic() - sent, reader.is_alive()))
        reader.join(30)
        read_seconds = time.monotonic() - started
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(grace=5), loop).result(15)
        asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(10)
        loop.close()
        ingress_engine.dispose()
        worker_engine.dispose()

    assert read_seconds >= 0.8, "the mail was read too fast to show anything"
    during = [(code, seconds) for code, seconds, alive in answers if alive]
    assert during, "no mail was delivered while the worker was reading"
    assert all(code == 250 for code, _ in during), answers
    assert outcome and outcome[0].status is InboundStatus.DONE
