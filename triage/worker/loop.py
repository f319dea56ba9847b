"""The worker: claim a batch of stored mail, read it, decide it in one transaction, commit.

1. Claim (claims.py): up to ``TRIAGE_WORKER_BATCH_SIZE`` rows (fewer when the last mails took
   long: about ``TRIAGE_WORKER_BATCH_SECONDS`` of work) in one short committed transaction, each
   with a short lease that a heartbeat renews while the worker holds the batch.
2. Read: every mail of the batch is parsed and judged (under its reading budget) outside any
   write transaction: on SQLite no slow step holds the write lock, so the ingress keeps
   answering 250 meanwhile.
3. Write: one transaction and, as a rule, one flush for the batch: each mail's rows stay in the
   session until a later mail's queries could read them (its own sender's rows, or a thread it
   names: :func:`_sees_unflushed`), and go out together at the end, a table at a time, with ids
   known up front (triage/db/ids.py). Should one mail fail, that transaction is rolled back and
   the batch written again with a SAVEPOINT per mail: the failing mail is rolled back to its
   savepoint and recorded as failed (or to be retried); the others are kept. Only rows the
   worker still owns are finished. One commit.

Each mail is decided exactly once: its verdict, case, reply and ``done`` status commit together,
and only while its claim is the worker's own. PostgreSQL: the batch's sender locks are taken up
front in one order, so two workers never wait on each other in a cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer, sessionmaker

from triage import metrics
from triage.clock import Clock
from triage.config import Settings
from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.db.models import InboundMessage, InboundStatus
from triage.engine.spec import RuleSet
from triage.errors import ParseFailure
from triage.tokens import claim_token
from triage.worker import claims, duplicates, pipeline, senders
from triage.worker.lookups import SenderRows
from triage.worker.phases import Phases
from triage.worker.reading import Reading, bytes_to_parse, envelope_recipient, issued_checker, read

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
_Read = Reading | Exception | None


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
        phases: Phases | None = None,
    ) -> None:
        self._sessions = sessions
        self._gate = gate
        self._settings = settings
        self._rules = rules
        self._clock = clock
        self.name = name or f"worker-{claim_token()}"
        self.phases = phases or Phases()
        self._seconds_per_mail = 0.0  # a moving average; sizes the next batch
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"

    # -- claiming -----------------------------------------------------------------------------

    def _begin(self, session: Session) -> None:
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})

    def _yield_to_ingress(self) -> None:
        if self._gate is not None:
            self._gate.wait_turn()

    @property
    def _lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self._settings.worker_lease_seconds)

    def claim_batch(self, limit: int | None = None, *, only_id: int | None = None) -> tuple[int, ...]:
        """Claim a batch (or that one row) and commit the claim; the ids, () when none is claimable."""
        while True:
            self._yield_to_ingress()
            started = time.perf_counter()
            with self._sessions() as session:
                self._begin(session)
                claimed = claims.claim_batch(
                    session,
                    worker=self.name,
                    now=self._clock.now(),
                    lease_seconds=self._settings.worker_lease_seconds,
                    max_attempts=self._settings.worker_max_attempts,
                    limit=max(1, limit or self._batch_limit()),
                    max_bytes=self._settings.worker_batch_bytes,
                    postgres=self._postgres,
                    only_id=only_id,
                )
                session.commit()
            self.phases.add("write", time.perf_counter() - started)
            if claimed.ids or not claimed.parked or only_id is not None:
                return claimed.ids

    def _batch_limit(self) -> int:
        """``worker_batch_size``, or fewer: what the worker decided in ``worker_batch_seconds``
        lately (a moving average of the time per mail; unknown at first: the full size)."""
        size = self._settings.worker_batch_size
        if self._seconds_per_mail <= 0:
            return size
        return max(1, min(size, int(self._settings.worker_batch_seconds / self._seconds_per_mail)))

    def claim(self, inbound_id: int | None = None) -> int | None:
        """Claim the oldest claimable row (or that one row); its id or None."""
        ids = self.claim_batch(1, only_id=inbound_id)
        return ids[0] if ids else None

    def _renew(self, ids: Sequence[int]) -> None:
        with self._sessions() as session:
            self._begin(session)
            held = claims.renew(session, worker=self.name, ids=ids, until=self._clock.now() + self._lease)
            session.commit()
        log.debug("%s renewed the lease of %s of %s mails", self.name, held, len(ids))

    # -- processing ---------------------------------------------------------------------------

    def process(self, inbound_id: int) -> ProcessResult:
        """Process one claimed row (a batch of one)."""
        return self.process_batch([inbound_id])[0]

    def process_batch(self, ids: Sequence[int]) -> list[ProcessResult]:
        """Read, then decide and write the claimed rows in one transaction (a savepoint each).

        Unreadable mail is parked as failed at once; a mail whose processing raises is rolled back
        to its savepoint and retried with backoff until ``worker_max_attempts``, then parked.
        Should the batch's transaction itself fail, every mail of it is recorded that way.
        """
        if not ids:
            return []
        started = time.perf_counter()
        every = min(self._settings.worker_heartbeat_seconds, self._settings.worker_lease_seconds / 3)
        with claims.Heartbeat(lambda: self._renew(ids), every, name=f"{self.name}-leases") as heartbeat:
            readings = self._read_batch(ids)
            self._yield_to_ingress()
            with heartbeat.paused():
                try:
                    results = self._write_batch(ids, readings)
                except Exception as exc:  # recorded on every row of the batch, and logged
                    log.exception("%s: a batch of %s failed (%s)", self.name, len(ids), type(exc).__name__)
                    results = self._record_batch_failure(ids, exc)
        self.phases.mails += len(ids)
        per_mail = (time.perf_counter() - started) / len(ids)
        average = self._seconds_per_mail
        self._seconds_per_mail = per_mail if average <= 0 else 0.7 * average + 0.3 * per_mail
        for result in results:
            outcome = result.decision or result.status.value
            reply = f", reply {result.outbound_id}" if result.outbound_id is not None else ""
            log.info("inbound %s: %s (%s)%s", result.inbound_id, outcome, result.detail, reply)
            _count(result, per_mail)
        return results

    def _read_batch(self, ids: Sequence[int]) -> dict[int, _Read]:
        """Read each claimed mail before the write transaction (None: the claim is lost).

        The session only reads (the rows, and the Message-IDs screening asks about): no write
        lock is taken, so on SQLite (WAL) the ingress and other writers go on meanwhile.
        """
        out: dict[int, _Read] = {}
        with self._sessions() as session:
            issued = issued_checker(session)
            loaded = session.scalars(sa.select(InboundMessage).where(InboundMessage.id.in_(ids)))
            rows = {row.id: row for row in loaded}  # at most worker_batch_bytes of mail
            for inbound_id in ids:
                row = rows.pop(inbound_id, None)
                if row is None or row.status is not InboundStatus.PROCESSING or row.claimed_by != self.name:
                    out[inbound_id] = None
                    continue
                try:
                    reading = read(
                        bytes_to_parse(row),
                        envelope_to=envelope_recipient(row, self._rules.mailboxes),
                        settings=self._settings,
                        rules=self._rules,
                        today=self._clock.today(),
                        issued_message_id=issued,
                    )
                except ParseFailure as exc:
                    out[inbound_id] = exc
                except Exception as exc:  # recorded on the row in the write step; logged here
                    log.exception("inbound %s: reading failed (%s)", inbound_id, type(exc).__name__)
                    out[inbound_id] = exc
                else:
                    self.phases.add("parse", reading.parse_seconds)
                    self.phases.add("read", reading.judge_seconds)
                    out[inbound_id] = reading
                session.expunge(row)  # its bytes are not kept for the rest of the batch
        return out

    def _write_batch(self, ids: Sequence[int], readings: dict[int, _Read]) -> list[ProcessResult]:
        """Write the batch in one transaction. First without savepoints (two statements and a
        flush per mail saved); should one mail fail, that transaction is rolled back whole and
        the batch written again with a savepoint per mail, so the failure is that mail's alone."""
        try:
            return self._write_batch_once(ids, readings, isolated=False)
        except _MailFailed as failed:
            log.warning(
                "%s: inbound %s failed (%s); writing its batch again mail by mail",
                self.name,
                failed.inbound_id,
                type(failed.__cause__).__name__,
            )
            return self._write_batch_once(ids, readings, isolated=True)

    def _write_batch_once(
        self, ids: Sequence[int], readings: dict[int, _Read], *, isolated: bool
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

    def _record_batch_failure(self, ids: Sequence[int], exc: Exception) -> list[ProcessResult]:
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

    # -- loops --------------------------------------------------------------------------------

    def run_batch(self) -> list[ProcessResult]:
        """Claim and process one batch; [] when nothing is claimable."""
        return self.process_batch(self.claim_batch())

    def drain(self, on_result: Callable[[ProcessResult], None] | None = None) -> list[ProcessResult]:
        """Process until nothing is claimable (tests, `triage ingest`)."""
        results: list[ProcessResult] = []
        while batch := self.run_batch():
            results.extend(batch)
            if on_result is not None:
                for result in batch:
                    on_result(result)
        return results

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set (the batch in hand is finished). A database outage is waited
        out, never fatal."""
        log.info("%s started", self.name)
        while not stop.is_set():
            try:
                results = await asyncio.to_thread(self.run_batch)
            except SQLAlchemyError as exc:
                log.warning("%s: database unavailable (%s); retrying", self.name, type(exc).__name__)
                await _wait(stop, max(self._settings.worker_idle_seconds, 2.0))
                continue
            except Exception:  # a bug must not stop the queue; it is logged with its traceback
                log.exception("%s: unexpected error; going on", self.name)
                await _wait(stop, max(self._settings.worker_idle_seconds, 2.0))
                continue
            if not results:
                await _wait(stop, self._settings.worker_idle_seconds)
        log.info("%s stopped", self.name)


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


def _count(result: ProcessResult, seconds: float) -> None:
    """The metrics of one committed result (a lost claim is another worker's to count)."""
    if result.status in {InboundStatus.FAILED, InboundStatus.PENDING}:
        metrics.mail_failed(result.status.value)
    elif result.status is not InboundStatus.PROCESSING:
        # the histogram observes the mail's share of its batch
        metrics.mail_decided(result.decision or result.status.value, time.perf_counter() - seconds)


def _lost(inbound_id: int) -> ProcessResult:
    return ProcessResult(inbound_id, InboundStatus.PROCESSING, None, None, None, LOST)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):  # the normal end of an idle wait
        await asyncio.wait_for(stop.wait(), timeout=seconds)
