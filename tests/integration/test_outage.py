"""The database goes away under a running `triage serve`, then comes back.

While it is away the SMTP client gets ``451 4.3.0`` with the constant text (a temporary failure:
the sending MTA keeps the mail and retries; no exception text reaches it), and the worker keeps
running, waiting the outage out. After recovery the client's retry of the same bytes is accepted
and the worker in the same process turns it into a case.

PostgreSQL: a database of the test's own stops taking connections and its sessions are ended
(the shared server is never stopped). SQLite: another connection holds ``BEGIN EXCLUSIVE`` (tests
run as root, so file permissions would not stop the server). And in the production shape, with
``--only ingress`` and ``--only worker`` as two processes, a worker locked out of the database
waits, then processes the mail the ingress stored meanwhile.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from servekit import Database, Launcher, ServeProcess, complete_mail, deliver, queued_id, wait_until
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from triage.db.migrate import upgrade
from triage.db.models import Case, CaseStatus, InboundMessage, InboundStatus, OutboundMessage

TEMPORARY_FAILURE = (451, b"4.3.0 Temporary failure, please retry")
WORKER_WAITING = "database unavailable"  # the worker's warning while it waits an outage out
BEFORE = ("before@example.jp", "outage.before@example.jp")
DURING = ("during@example.jp", "outage.during@example.jp")


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


def case_of(db: Database, message_id: str, timeout: float = 20.0) -> Case:
    """The case the worker made from the mail with ``message_id`` (waits for it)."""

    def find() -> Case | None:
        def query(session: Session) -> Case | None:
            row = session.scalars(
                sa.select(InboundMessage).where(InboundMessage.message_id == message_id)
            ).first()
            if row is None or row.status is not InboundStatus.DONE or row.case_id is None:
                return None
            return session.get(Case, row.case_id)

        return db.read(query)

    return wait_until(find, timeout, what=f"a case for {message_id}")


def worker_waited(serve: ServeProcess) -> bool:
    return WORKER_WAITING in serve.output


def check_recovery(serve: ServeProcess, db: Database, raw: bytes) -> None:
    """The retry of ``raw`` is stored once and processed into a queued case with a reply."""
    row_id = queued_id(deliver(serve.port, DURING[0], raw))
    case = case_of(db, DURING[1])
    assert (case.status, case.sender) == (CaseStatus.QUEUED, DURING[0])

    def everything(session: Session) -> tuple[list[InboundMessage], list[OutboundMessage]]:
        inbound = list(session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)))
        outbound = list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))
        return inbound, outbound

    inbound, outbound = db.read(everything)
    # The 451 stored nothing: one row before the outage, one for the accepted retry.
    assert [row.message_id for row in inbound] == [BEFORE[1], DURING[1]]
    assert [row.status for row in inbound] == [InboundStatus.DONE, InboundStatus.DONE]
    assert inbound[1].id == row_id
    assert inbound[1].sha256 == hashlib.sha256(raw).hexdigest()
    assert [row.to_addr for row in outbound] == [BEFORE[0], DURING[0]]
    assert serve.alive()  # the outage stopped nothing
    assert serve.stop() == 0


@pytest.mark.db
def test_postgresql_down_gives_451_and_the_retry_after_recovery_becomes_a_case(
    postgres_db: tuple[str, str], postgres_superuser: Callable[[str], None], launch: Launcher
) -> None:
    url, name = postgres_db
    serve = launch(url)
    db = Database(url)
    try:
        queued_id(deliver(serve.port, BEFORE[0], complete_mail(*BEFORE)))
        case_of(db, BEFORE[1])  # the ingress, worker (and our reader) now hold live connections
        raw = complete_mail(*DURING)

        postgres_superuser(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            postgres_superuser(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
            assert deliver(serve.port, DURING[0], raw) == TEMPORARY_FAILURE
            assert deliver(serve.port, DURING[0], raw) == TEMPORARY_FAILURE  # and again, no 5xx
            wait_until(lambda: worker_waited(serve), 10, what="the worker meeting the outage")
        finally:
            postgres_superuser(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        check_recovery(serve, db, raw)
    finally:
        db.close()
        serve.close()  # before the database is dropped


def test_sqlite_locked_gives_451_and_the_retry_after_recovery_becomes_a_case(
    tmp_path: Path, launch: Launcher
) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    serve = launch(url, SQLITE_BUSY_TIMEOUT_MS="300")
    db = Database(url)
    try:
        queued_id(deliver(serve.port, BEFORE[0], complete_mail(*BEFORE)))
        case_of(db, BEFORE[1])
        raw = complete_mail(*DURING)

        path = make_url(url).database
        assert path
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
            assert deliver(serve.port, DURING[0], raw) == TEMPORARY_FAILURE
            assert deliver(serve.port, DURING[0], raw) == TEMPORARY_FAILURE
            wait_until(lambda: worker_waited(serve), 10, what="the worker meeting the outage")
        finally:
            blocker.rollback()
            blocker.close()

        check_recovery(serve, db, raw)
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.db
def test_separate_worker_waits_out_an_outage_then_processes_what_was_stored(
    postgres_db: tuple[str, str], postgres_superuser: Callable[[str], None], launch: Launcher
) -> None:
    """The production shape: `--only ingress` and `--only worker` as two processes.

    Only the worker's database role is locked out, so mail keeps being stored (250) while the
    worker cannot reach the database; once the role may log in again, the same worker process
    processes the mail that waited.
    """
    url, _ = postgres_db
    role = f"triage_worker_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    worker_url = make_url(url).set(username=role, password=password).render_as_string(hide_password=False)
    upgrade(url)
    postgres_superuser(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    own = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    ingress: ServeProcess | None = None
    worker: ServeProcess | None = None
    db = Database(url)
    try:
        with own.connect() as connection:
            connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
            connection.exec_driver_sql(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            )
            connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        ingress = launch(url, only=["ingress"])
        worker = launch(worker_url, only=["worker"])
        queued_id(deliver(ingress.port, BEFORE[0], complete_mail(*BEFORE)))
        case_of(db, BEFORE[1])

        postgres_superuser(f"ALTER ROLE {role} NOLOGIN")
        try:
            postgres_superuser(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
            wait_until(lambda: worker_waited(worker), 10, what="the worker meeting the outage")
            row_id = queued_id(deliver(ingress.port, DURING[0], complete_mail(*DURING)))
            time.sleep(1.0)
            stored = db.read(lambda session: session.get(InboundMessage, row_id))
            assert stored is not None
            assert stored.status is InboundStatus.PENDING  # stored, waiting for the worker
        finally:
            postgres_superuser(f"ALTER ROLE {role} LOGIN")

        case = case_of(db, DURING[1])
        assert (case.status, case.sender) == (CaseStatus.QUEUED, DURING[0])
        assert worker.alive()
        assert worker.stop() == 0
        assert ingress.stop() == 0
    finally:
        db.close()
        for process in (worker, ingress):
            if process is not None:
                process.close()
        with own.connect() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")  # its grants in this database
        own.dispose()
        postgres_superuser(f"DROP ROLE {role}")
