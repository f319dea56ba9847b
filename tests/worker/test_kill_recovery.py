"""Recovery in seconds: three worker processes on PostgreSQL, one killed with SIGKILL midway.

5,000 stored mails (each a complete request of its own member) are decided by three real
`triage serve --only worker` processes. Once a third are done, one worker is killed with
``kill -9`` while it holds a batch: no shutdown, no lease given back. The mail it held must be
decided by the other two within 30 s of the kill (the default lease, 20 s, renewed every 5 s
while it lived), and every mail exactly once: one decision, one case, one reply each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.db.models import Case, CaseEvent, InboundMessage, InboundStatus, OutboundMessage

pytestmark = [pytest.mark.db, pytest.mark.slow]

T = TypeVar("T")
MAILS = 5000
WORKERS = 3
TAKEN_OVER_WITHIN = dt.timedelta(seconds=30)
MAILBOX = "secure_billing@cc.example.jp"
STARTED = re.compile(r"worker (worker-[a-z]+) is processing stored mail")


def complete_mail(n: int) -> bytes:
    head = (
        f"From: m{n}@example.jp\nTo: {MAILBOX}\nSubject: login\nMessage-ID: <k{n}@example.jp>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    body = f"ログインID:member_{n}\nメールアドレス:m{n}@example.jp\n電話番号:090-0000-{n % 10000:04d}\n"
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def store_mails(url: str) -> None:
    """The mails as the ingress stores them, in one Core insert (seconds, not minutes)."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for n in range(MAILS):
        raw = complete_mail(n)
        rows.append(
            {
                "received_at": now,
                "mail_from": f"m{n}@example.jp",
                "mail_options": [],
                "rcpt_tos": [MAILBOX],
                "peer": "127.0.0.1",
                "helo": "client.test",
                "smtp_utf8": False,
                "tls": False,
                "size": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "raw": raw,
                "has_bare_line_ends": False,
                "status": "pending",
                "attempts": 0,
                "origin": "smtp",
                "notes": [],
            }
        )
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(InboundMessage), rows)
    finally:
        engine.dispose()


class WorkerProcess:
    """`python -m triage serve --only worker`, its output in a file; its claim name once started."""

    def __init__(self, workdir: Path, url: str, number: int) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("TRIAGE_")}
        env.update(
            TRIAGE_DATABASE_URL=url,
            TRIAGE_WORKER_IDLE_SECONDS="0.1",
            TRIAGE_REPLY_RATE_LIMITS="1000/600,1000/86400",
            PYTHONUNBUFFERED="1",
        )
        self.log = workdir / f"worker{number}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "triage", "serve", "--only", "worker"],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def name(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.output}")
        found = STARTED.search(self.output)
        return found.group(1) if found else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        time.sleep(0.1)


@pytest.fixture
def database(postgres_db: tuple[str, str]) -> Iterator[tuple[str, sa.Engine]]:
    url, _ = postgres_db
    upgrade(url)
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()


def test_a_killed_workers_mail_is_decided_by_the_others_within_30_s_each_exactly_once(
    database: tuple[str, sa.Engine], tmp_path: Path
) -> None:
    url, engine = database
    store_mails(url)

    def done() -> int:
        with engine.connect() as connection:
            query = sa.select(sa.func.count()).where(InboundMessage.status == InboundStatus.DONE)
            return int(connection.scalar(query) or 0)

    workers = [WorkerProcess(tmp_path, url, number) for number in range(WORKERS)]
    try:
        names = [wait_until(worker.name, 60, "worker started") for worker in workers]
        wait_until(lambda: done() >= MAILS // 3, 600, "a third of the mail decided")
        victim, victim_name = workers[0], names[0]

        def held() -> list[int]:
            with engine.connect() as connection:
                query = sa.select(InboundMessage.id).where(
                    InboundMessage.claimed_by == victim_name,
                    InboundMessage.status == InboundStatus.PROCESSING,
                )
                return list(connection.scalars(query))

        # Frozen first, so that what it holds is known (a batch it was committing has committed
        # 0.5 s later), then killed: a worker that dies between two batches would show nothing.
        orphaned: list[int] = []
        while not orphaned:
            os.kill(victim.process.pid, signal.SIGSTOP)
            time.sleep(0.5)
            orphaned = held()
            if not orphaned:
                os.kill(victim.process.pid, signal.SIGCONT)
                time.sleep(0.2)
        os.kill(victim.process.pid, signal.SIGKILL)
        killed_at = dt.datetime.now(dt.UTC)
        victim.process.wait(10)
        wait_until(lambda: done() == MAILS, 600, "every mail decided")
    finally:
        for worker in workers:
            worker.stop()

    with engine.connect() as connection:
        taken_over = connection.execute(
            sa.select(InboundMessage.status, InboundMessage.attempts, InboundMessage.processed_at).where(
                InboundMessage.id.in_(orphaned)
            )
        ).all()
        decisions = connection.execute(
            sa.select(CaseEvent.inbound_id, sa.func.count())
            .where(CaseEvent.kind == "decided")
            .group_by(CaseEvent.inbound_id)
        ).all()
        replies = connection.execute(
            sa.select(OutboundMessage.inbound_id, sa.func.count()).group_by(OutboundMessage.inbound_id)
        ).all()
        cases = int(connection.scalar(sa.select(sa.func.count()).select_from(Case)) or 0)
        unfinished = int(
            connection.scalar(
                sa.select(sa.func.count()).select_from(InboundMessage).where(InboundMessage.status != "done")
            )
            or 0
        )

    assert len(taken_over) == len(orphaned)
    for status, attempts, processed_at in taken_over:
        assert status is InboundStatus.DONE
        assert attempts == 2  # claimed by the killed worker, then by another one
        assert processed_at is not None
        assert processed_at - killed_at <= TAKEN_OVER_WITHIN, processed_at - killed_at
    assert unfinished == 0
    assert len(decisions) == MAILS and {count for _, count in decisions} == {1}  # each decided once
    assert len(replies) == MAILS and {count for _, count in replies} == {1}  # one reply each
    assert cases == MAILS
    assert sum(1 for worker in workers if "Traceback" in worker.output) == 0, [w.output for w in workers]
