"""The worker: claim a batch of stored mail, read it, decide it in one transaction, commit.

1. Claim (claims.py): up to ``TRIAGE_WORKER_BATCH_SIZE`` rows (fewer when the last mails took
   long: about ``TRIAGE_WORKER_BATCH_SECONDS`` of work) in one short committed transaction, each
   with a short lease that a heartbeat renews while the worker holds the batch.
2. Read: every mail of the batch is parsed and judged (under its reading budget) outside any
   write transaction: on SQLite no slow step holds the write lock, so the ingress keeps
   answering 250 meanwhile.
3. Write (batchwrite.py): one transaction and, as a rule, one flush for the batch; should one
   mail fail, the batch is written again with a SAVEPOINT per mail, so the failure is that
   mail's alone. Only rows the worker still owns are finished. One commit; then each committed
   result is logged (with its reply) and counted.

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
from triage.worker import claims
from triage.worker.batchwrite import BatchWriter, ProcessResult, Read
from triage.worker.phases import Phases
from triage.worker.reading import bytes_to_parse, envelope_recipient, issued_checker, read

log = logging.getLogger(__name__)


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
        self._writer = BatchWriter(sessions, settings, rules, clock=clock, name=self.name, phases=self.phases)

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
                    results = self._writer.write(ids, readings)
                except Exception as exc:  # recorded on every row of the batch, and logged
                    log.exception("%s: a batch of %s failed (%s)", self.name, len(ids), type(exc).__name__)
                    results = self._writer.record_failure(ids, exc)
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

    def _read_batch(self, ids: Sequence[int]) -> dict[int, Read]:
        """Read each claimed mail before the write transaction (None: the claim is lost).

        The session only reads (the rows, and the Message-IDs screening asks about): no write
        lock is taken, so on SQLite (WAL) the ingress and other writers go on meanwhile.
        """
        out: dict[int, Read] = {}
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


def _count(result: ProcessResult, seconds: float) -> None:
    """The metrics of one committed result (a lost claim is another worker's to count)."""
    if result.status in {InboundStatus.FAILED, InboundStatus.PENDING}:
        metrics.mail_failed(result.status.value)
    elif result.status is not InboundStatus.PROCESSING:
        # the histogram observes the mail's share of its batch
        metrics.mail_decided(result.decision or result.status.value, time.perf_counter() - seconds)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):  # the normal end of an idle wait
        await asyncio.wait_for(stop.wait(), timeout=seconds)
