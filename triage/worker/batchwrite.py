"""The worker's write step: one batch of read mail decided and written in one transaction.

As a rule one flush for the whole batch: each mail's rows stay in the session until a later mail's
queries could read them (:func:`_sees_unflushed`) and go out together at the end, with ids known up
front (triage/db/ids.py). Should one mail fail, the transaction is rolled back and the batch written
again with a SAVEPOINT per mail, so the failure is that mail's alone. Only rows the worker still
owns are finished; the caller (worker/loop.py) logs and counts the committed results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, sessionmaker

from triage.clock import Clock
from triage.config import Settings
from triage.db.engine import SQLITE_BEGIN
from triage.db.models import InboundMessage, InboundStatus
from triage.engine.spec import RuleSet
from triage.errors import ParseFailure
from triage.worker import duplicates, pipeline, senders
from triage.worker.lookups import SenderRows
from triage.worker.phases import Phases
from triage.worker.reading import Reading

log = logging.getLogger(__name__)

ERROR_MAX = 2000
LOST = "claim lost to another worker"


@dataclass(frozen=True)
class ProcessResult:
    inbound_id: int
    status: InboundStatus  # done, duplicate, failed, pending (to be retried), processing (lost)
    decision: str | None
    case_id: int | None
    outbound_id: int | None
    detail: str
    case_key: str | None = None  # a follow-up's case, by its sender (senders.case_key)


# What the read step gives the write step per mail: the reading, why it failed, or None when
# the claim was already lost.
Read = Reading | Exception | None


class BatchWriter:
    """Writes a worker's batches; holds what the write step needs of the worker."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        rules: RuleSet,
        *,
        clock: Clock,
        name: str,
        phases: Phases,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._rules = rules
        self._clock = clock
        self.name = name
        self.phases = phases
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"

    def _begin(self, session: Session) -> None:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})

    def write(self, ids: Sequence[int], readings: dict[int, Read]) -> list[ProcessResult]:
        """Write the batch in one transaction. First without savepoints (two statements and a
        flush per mail saved); should one mail fail, that transaction is rolled back whole and
        the batch written again with a savepoint per mail, so the failure is that mail's alone."""
        try:
            return self._write_once(ids, readings, isolated=False)
        except _MailFailed as failed:
            log.warning(
                "%s: inbound %s failed (%s); writing its batch again mail by mail",
                self.name,
                failed.inbound_id,
                type(failed.__cause__).__name__,
            )
            return self._write_once(ids, readings, isolated=True)

    def _write_once(
        self, ids: Sequence[int], readings: dict[int, Read], *, isolated: bool
    ) -> list[ProcessResult]:
        results: list[ProcessResult] = []
        started = time.perf_counter()
        with self._sessions() as session:
            self._begin(session)
            rows = self._owned_rows(session, ids)
            read_ok = [
                reading
                for inbound_id, reading in readings.items()
                if inbound_id in rows and isinstance(reading, Reading)
            ]
            if self._postgres:
                senders.lock_senders(session, read_ok)
            window = self._settings.duplicate_window_days
            copies = duplicates.EarlierCopies(session, list(rows.values()), window)
            lookups = SenderRows(
                session,
                [
                    (reading.verdict.route.mailbox or "", senders.sender_key(reading), reading.text_hash)
                    for reading in read_ok
                ],
                now=self._clock.now(),
                settings=self._settings,
            )
            self.phases.add("write", time.perf_counter() - started)
            unflushed: set[str] = set()  # sender keys with writes not flushed yet
            for inbound_id in ids:
                row, reading = rows.get(inbound_id), readings.get(inbound_id)
                if row is None or reading is None:
                    results.append(_lost(inbound_id))
                elif isinstance(reading, Exception):
                    results.append(self._fail(row, reading, permanent=isinstance(reading, ParseFailure)))
                else:
                    if not isolated and _sees_unflushed(reading, unflushed):
                        self._flush(session, inbound_id)
                        unflushed.clear()
                    result = self._decide(session, row, reading, copies, lookups, isolated=isolated)
                    results.append(result)
                    for key in (senders.sender_key(reading), result.case_key):
                        if key is not None:  # a case joined by thread or reference: its sender too
                            unflushed.add(key)
                            lookups.touch(key)
            started = time.perf_counter()
            self._flush(session, None)
            session.commit()
        self.phases.add("write", time.perf_counter() - started)
        return results

    @staticmethod
    def _flush(session: Session, inbound_id: int | None) -> None:
        """Write what the batch's mails changed so far; a failure is the batch's (:class:`_MailFailed`)."""
        try:
            session.flush()
        except Exception as exc:
            raise _MailFailed(inbound_id) from exc

    def _owned_rows(self, session: Session, ids: Sequence[int]) -> dict[int, InboundMessage]:
        """The batch's rows this worker still owns, locked (PostgreSQL) in id order."""
        query = (
            sa.select(InboundMessage)
            .where(InboundMessage.id.in_(ids))
            .order_by(InboundMessage.id)
            .options(defer(InboundMessage.raw))  # read already; a bounce's search loads it again
        )
        if self._postgres:
            query = query.with_for_update()
        return {
            row.id: row
            for row in session.scalars(query)
            if row.status is InboundStatus.PROCESSING and row.claimed_by == self.name
        }

    def _decide(
        self,
        session: Session,
        row: InboundMessage,
        reading: Reading,
        copies: duplicates.EarlierCopies,
        lookups: SenderRows,
        *,
        isolated: bool,
    ) -> ProcessResult:
        """One mail. ``isolated``: inside its own savepoint, all of it or (on an error) none of it;
        otherwise its writes stay in the session until a later mail needs them (see
        :func:`_sees_unflushed`) or the batch ends, and an error is :class:`_MailFailed`, for the
        whole batch to be written again isolated."""
        inbound_id = row.id
        started = time.perf_counter()
        replying = self.phases.seconds["reply"]
        try:
            with session.begin_nested() if isolated else contextlib.nullcontext():
                # set first, so the row's one UPDATE carries them with the verdict
                row.claimed_by = None
                row.lease_until = None
                row.last_error = None
                outcome = pipeline.process(
                    session,
                    row,
                    settings=self._settings,
                    rules=self._rules,
                    clock=self._clock,
                    reading=reading,
                    phases=self.phases,
                    copies=copies,
                    lookups=lookups,
                )
        except Exception as exc:  # rolled back to the savepoint; recorded on the row and logged
            if not isolated:
                raise _MailFailed(inbound_id) from exc
            log.exception("inbound %s: processing failed (%s)", inbound_id, type(exc).__name__)
            return self._fail(row, exc, permanent=False)
        finally:
            spent = time.perf_counter() - started - (self.phases.seconds["reply"] - replying)
            self.phases.add("decide", spent)
        return ProcessResult(
            inbound_id,
            outcome.status,
            outcome.decision,
            outcome.case_id,
            outcome.outbound_id,
            outcome.detail,
            outcome.case_key,
        )

    def _fail(self, row: InboundMessage, exc: Exception, *, permanent: bool) -> ProcessResult:
        """Record a failure on ``row`` (in the batch's transaction): parked, or pending for a retry."""
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        row.last_error = error
        row.claimed_by = None
        if permanent or row.attempts >= self._settings.worker_max_attempts:
            row.status = InboundStatus.FAILED
            row.lease_until = None
            log.error("inbound %s parked as failed (%s)", row.id, type(exc).__name__)
        else:
            row.status = InboundStatus.PENDING
            delay = min(3600.0, 10.0 * 2 ** max(0, row.attempts - 1))
            row.lease_until = self._clock.now() + dt.timedelta(seconds=delay)
        return ProcessResult(row.id, row.status, None, None, None, error)

    def record_failure(self, ids: Sequence[int], exc: Exception) -> list[ProcessResult]:
        """The batch's transaction failed as a whole: record that on each row still ours."""
        results = []
        with self._sessions() as session:
            self._begin(session)
            rows = self._owned_rows(session, ids)
            for inbound_id in ids:
                row = rows.get(inbound_id)
                if row is None:
                    results.append(_lost(inbound_id))
                else:
                    results.append(self._fail(row, exc, permanent=False))
            session.commit()
        return results


class _MailFailed(Exception):
    """A batch written without savepoints failed: one mail, or the writing of several (None)."""

    def __init__(self, inbound_id: int | None) -> None:
        super().__init__(f"inbound {inbound_id} failed" if inbound_id else "writing the batch failed")
        self.inbound_id = inbound_id


def _sees_unflushed(reading: Reading, unflushed: set[str]) -> bool:
    """Whether deciding this mail could read rows that earlier mails of the batch changed and did
    not flush yet. Its queries look for its own sender's rows (the waiting case, an identical
    submission, the reply rate), or by the mails it names (In-Reply-To, References): the first
    are keyed by sender (a mail that reached another sender's case by thread or reference marks
    that sender too), the second may be any mail of the batch. A case reference in the text can
    only come from a reply, and the batch's replies are not sent before it commits."""
    return senders.threaded(reading) or senders.sender_key(reading) in unflushed


def _lost(inbound_id: int) -> ProcessResult:
    return ProcessResult(inbound_id, InboundStatus.PROCESSING, None, None, None, LOST)
