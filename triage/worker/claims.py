"""Claims and leases on the inbound queue: take a batch, renew its leases, give rows back.

A claim is its own short committed transaction: the rows go to ``processing`` with the worker's
name, a lease and ``attempts + 1``. So a worker that dies while processing - even on a mail that
kills the process - leaves its rows claimable again once the lease runs out, and the attempt has
been counted: a mail that keeps killing workers is parked as failed after ``max_attempts``
instead of looping forever.

Leases are short (``TRIAGE_WORKER_LEASE_SECONDS``, 20 s) and a live worker renews them while it
works on a batch (:class:`Heartbeat`), so a crashed worker's mail is taken over within seconds
and a slow batch is never taken from a worker that is still alive.

PostgreSQL: the claim query uses ``FOR UPDATE SKIP LOCKED``, so any number of workers share the
queue. SQLite: transactions begin IMMEDIATE (one writer).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from triage import metrics
from triage.db.models import InboundMessage, InboundStatus

log = logging.getLogger(__name__)

CLAIMABLE = (InboundStatus.PENDING, InboundStatus.PROCESSING)


@dataclass(frozen=True)
class Claimed:
    """What one claim transaction did: the rows now ours, and rows parked on the way."""

    ids: tuple[int, ...]
    parked: tuple[int, ...]


def claim_batch(
    session: Session,
    *,
    worker: str,
    now: dt.datetime,
    lease_seconds: float,
    max_attempts: int,
    limit: int,
    max_bytes: int,
    postgres: bool,
    only_id: int | None = None,
) -> Claimed:
    """Claim up to ``limit`` claimable rows in id order (at least one, then at most ``max_bytes``
    of stored mail), in the caller's transaction; the caller commits.

    Claimable: pending, or processing with an expired lease, and not before ``lease_until`` (a
    pending row waiting for its retry carries the time of the retry there). A row already claimed
    ``max_attempts`` times is parked as failed instead: the process died on it each time.
    """
    query = (
        sa.select(InboundMessage.id, InboundMessage.attempts, InboundMessage.size)
        .where(
            InboundMessage.status.in_(CLAIMABLE),
            sa.or_(InboundMessage.lease_until.is_(None), InboundMessage.lease_until <= now),
        )
        .order_by(InboundMessage.id)
        .limit(1 if only_id is not None else limit)
    )
    if only_id is not None:
        query = query.where(InboundMessage.id == only_id)
    if postgres:
        query = query.with_for_update(skip_locked=True)
    taken: list[int] = []
    parked: list[int] = []
    total = 0
    for row_id, attempts, size in session.execute(query):
        if attempts >= max_attempts:
            session.execute(
                sa.update(InboundMessage)
                .where(InboundMessage.id == row_id)
                .values(
                    status=InboundStatus.FAILED,
                    lease_until=None,
                    claimed_by=None,
                    last_error=f"gave up after {attempts} attempts: the worker stopped while processing it",
                )
            )
            parked.append(row_id)
            continue
        if taken and total + size > max_bytes:
            break
        taken.append(row_id)
        total += size
    if taken:
        session.execute(
            sa.update(InboundMessage)
            .where(InboundMessage.id.in_(taken))
            .values(
                status=InboundStatus.PROCESSING,
                claimed_by=worker,
                lease_until=now + dt.timedelta(seconds=lease_seconds),
                attempts=InboundMessage.attempts + 1,
            )
        )
    for row_id in parked:
        log.error("inbound %s parked as failed after %s attempts", row_id, max_attempts)
        metrics.mail_failed(InboundStatus.FAILED.value)
    return Claimed(tuple(taken), tuple(parked))


def renew(session: Session, *, worker: str, ids: Sequence[int], until: dt.datetime) -> int:
    """Extend the lease of those of ``ids`` the worker still holds; how many it holds."""
    if not ids:
        return 0
    result = session.execute(
        sa.update(InboundMessage)
        .where(
            InboundMessage.id.in_(ids),
            InboundMessage.claimed_by == worker,
            InboundMessage.status == InboundStatus.PROCESSING,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class Heartbeat:
    """A thread that calls ``beat`` every ``every`` seconds while the ``with`` block runs.

    The worker renews its batch's leases with it while it works on the batch. A failed beat is
    logged and tried again at the next one (the lease is several beats long). A worker killed
    with SIGKILL takes its heartbeat with it: its leases simply run out. No beat runs inside
    :meth:`paused` (the worker's write transaction, which holds those rows' locks itself).
    """

    def __init__(self, beat: Callable[[], None], every: float, name: str = "heartbeat") -> None:
        self._beat = beat
        self._every = max(0.05, every)
        self._stop = threading.Event()
        self._turn = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._turn:
            yield

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                with self._turn:
                    if self._stop.is_set():
                        return
                    self._beat()
            except SQLAlchemyError as exc:
                log.warning("lease renewal failed (%s); trying again", type(exc).__name__)
            except Exception:  # a bug must not end the beats silently; the lease would run out
                log.exception("lease renewal failed unexpectedly")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
