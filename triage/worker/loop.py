"""The worker: claim a stored mail, run the pipeline in one transaction, record what happened.

A claim is its own short committed transaction (status processing, a lease, attempts + 1), so a
worker that dies while processing - even a mail that crashes the whole process - leaves the row
claimable again once the lease runs out, and the attempt has been counted: a mail that keeps
killing workers is parked as failed after ``worker_max_attempts`` instead of looping forever.
Processing is a second transaction that only finishes a row the worker still owns. The mail is
read (parsed and judged, under its reading budget) between the two, outside any transaction: on
SQLite no slow step holds the write lock, so the ingress keeps answering 250 meanwhile.

PostgreSQL: claims use ``FOR UPDATE SKIP LOCKED``, so any number of workers on any number of
machines share the queue. SQLite: one worker; transactions begin IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage import metrics
from triage.clock import Clock
from triage.config import Settings
from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.db.models import InboundMessage, InboundStatus
from triage.engine.spec import RuleSet
from triage.errors import ParseFailure
from triage.tokens import claim_token
from triage.worker import pipeline

log = logging.getLogger(__name__)

ERROR_MAX = 2000


@dataclass(frozen=True)
class ProcessResult:
    inbound_id: int
    status: InboundStatus  # done, duplicate, failed, or pending (to be retried)
    decision: str | None
    case_id: int | None
    outbound_id: int | None
    detail: str


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        rules: RuleSet,
        *,
        clock: Clock,
        name: str | None = None,
        gate: WriteGate | None = None,
    ) -> None:
        self._sessions = sessions
        self._gate = gate
        self._settings = settings
        self._rules = rules
        self._clock = clock
        self.name = name or f"worker-{claim_token()}"
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"

    # -- claiming -----------------------------------------------------------------------------

    def _begin(self, session: Session) -> None:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})

    def _yield_to_ingress(self) -> None:
        if self._gate is not None:
            self._gate.wait_turn()

    def claim(self, inbound_id: int | None = None) -> int | None:
        """Claim the oldest claimable row (or that one row) and commit the claim; its id or None.

        Claimable: pending, or processing with an expired lease, and not before ``lease_until``
        (a pending row waiting for its retry carries the time of the retry there).
        """
        while True:
            self._yield_to_ingress()
            now = self._clock.now()
            with self._sessions() as session:
                self._begin(session)
                query = (
                    sa.select(InboundMessage)
                    .where(
                        InboundMessage.status.in_((InboundStatus.PENDING, InboundStatus.PROCESSING)),
                        sa.or_(InboundMessage.lease_until.is_(None), InboundMessage.lease_until <= now),
                    )
                    .order_by(InboundMessage.id)
                    .limit(1)
                )
                if inbound_id is not None:
                    query = query.where(InboundMessage.id == inbound_id)
                if self._postgres:
                    query = query.with_for_update(skip_locked=True)
                row = session.scalars(query).first()
                if row is None:
                    return None
                if row.attempts >= self._settings.worker_max_attempts:
                    # Claimed that often and never finished: the process died on it each time.
                    row.status = InboundStatus.FAILED
                    row.lease_until = None
                    row.claimed_by = None
                    row.last_error = (
                        f"gave up after {row.attempts} attempts: the worker stopped while processing it"
                    )
                    session.commit()
                    metrics.mail_failed(InboundStatus.FAILED.value)
                    log.error("inbound %s parked as failed after %s attempts", row.id, row.attempts)
                    if inbound_id is not None:
                        return None
                    continue
                row.status = InboundStatus.PROCESSING
                row.claimed_by = self.name
                row.lease_until = now + dt.timedelta(seconds=self._settings.worker_lease_seconds)
                row.attempts += 1
                claimed = row.id
                session.commit()
                return claimed

    # -- processing ---------------------------------------------------------------------------

    def process(self, inbound_id: int) -> ProcessResult:
        """Run one claimed row through the pipeline in one transaction and commit it.

        On an exception the transaction is rolled back (nothing of it remains) and the failure
        is recorded in a new one: unreadable mail is parked as failed at once; anything else is
        retried with backoff until ``worker_max_attempts``, then parked.
        """
        started = metrics.started()
        try:
            reading = self._read(inbound_id)
            self._yield_to_ingress()
            with self._sessions() as session:
                self._begin(session)
                row = session.get(InboundMessage, inbound_id, with_for_update=self._postgres)
                if row is None or row.status is not InboundStatus.PROCESSING or row.claimed_by != self.name:
                    session.rollback()
                    return ProcessResult(
                        inbound_id, InboundStatus.PROCESSING, None, None, None, "claim lost to another worker"
                    )
                outcome = pipeline.process(
                    session,
                    row,
                    settings=self._settings,
                    rules=self._rules,
                    clock=self._clock,
                    reading=reading,
                )
                row.claimed_by = None
                row.lease_until = None
                row.last_error = None
                session.commit()
            metrics.mail_decided(outcome.decision or outcome.status.value, started)
        except ParseFailure as exc:
            return self._record_failure(inbound_id, exc, permanent=True)
        except Exception as exc:  # recorded on the row and logged; the mail is never dropped
            log.exception("inbound %s: processing failed (%s)", inbound_id, type(exc).__name__)
            return self._record_failure(inbound_id, exc, permanent=False)
        log.info("inbound %s: %s (%s)", inbound_id, outcome.decision or outcome.status.value, outcome.detail)
        return ProcessResult(
            inbound_id, outcome.status, outcome.decision, outcome.case_id, outcome.outbound_id, outcome.detail
        )

    def _read(self, inbound_id: int) -> pipeline.Reading | None:
        """Read the claimed row's mail before the write transaction; None when the claim is lost
        (the write transaction says so).

        The session here only reads (the row, and the Message-IDs screening asks about): no write
        lock is taken, so on SQLite (WAL) the ingress and other writers go on meanwhile.
        """
        with self._sessions() as session:
            row = session.get(InboundMessage, inbound_id)
            if row is None or row.status is not InboundStatus.PROCESSING or row.claimed_by != self.name:
                return None
            return pipeline.read(
                pipeline.bytes_to_parse(row),
                envelope_to=pipeline.envelope_recipient(row, self._rules.mailboxes),
                settings=self._settings,
                rules=self._rules,
                today=self._clock.today(),
                issued_message_id=pipeline.issued_checker(session),
            )

    def _record_failure(self, inbound_id: int, exc: Exception, *, permanent: bool) -> ProcessResult:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        now = self._clock.now()
        with self._sessions() as session:
            self._begin(session)
            row = session.get(InboundMessage, inbound_id, with_for_update=self._postgres)
            if row is None or row.claimed_by != self.name:
                session.rollback()
                return ProcessResult(inbound_id, InboundStatus.PROCESSING, None, None, None, error)
            row.last_error = error
            row.claimed_by = None
            if permanent or row.attempts >= self._settings.worker_max_attempts:
                row.status = InboundStatus.FAILED
                row.lease_until = None
            else:
                row.status = InboundStatus.PENDING
                delay = min(3600.0, 10.0 * 2 ** max(0, row.attempts - 1))
                row.lease_until = now + dt.timedelta(seconds=delay)
            status = row.status
            session.commit()
        metrics.mail_failed(status.value)
        if status is InboundStatus.FAILED:
            log.error("inbound %s parked as failed (%s)", inbound_id, type(exc).__name__)
        return ProcessResult(inbound_id, status, None, None, None, error)

    # -- loops --------------------------------------------------------------------------------

    def run_once(self) -> ProcessResult | None:
        """Claim and process one row; None when nothing is claimable."""
        claimed = self.claim()
        return None if claimed is None else self.process(claimed)

    def drain(self, on_result: Callable[[ProcessResult], None] | None = None) -> list[ProcessResult]:
        """Process until nothing is claimable (tests, `triage ingest`)."""
        results = []
        while (result := self.run_once()) is not None:
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set. A database outage is waited out, never fatal."""
        log.info("%s started", self.name)
        while not stop.is_set():
            try:
                result = await asyncio.to_thread(self.run_once)
            except SQLAlchemyError as exc:
                log.warning("%s: database unavailable (%s); retrying", self.name, type(exc).__name__)
                await _wait(stop, max(self._settings.worker_idle_seconds, 2.0))
                continue
            except Exception:  # a bug must not stop the queue; it is logged with its traceback
                log.exception("%s: unexpected error; going on", self.name)
                await _wait(stop, max(self._settings.worker_idle_seconds, 2.0))
                continue
            if result is None:
                await _wait(stop, self._settings.worker_idle_seconds)
        log.info("%s stopped", self.name)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):  # the normal end of an idle wait
        await asyncio.wait_for(stop.wait(), timeout=seconds)
