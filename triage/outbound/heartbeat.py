"""The sender's heartbeat: while a batch of claims is in hand, their leases are renewed (issue 11).

Leases are short (``TRIAGE_SENDER_LEASE_SECONDS``, 20 s by default) so that a dead sender's
claims are taken over within seconds; a live sender renews the claims it holds (the batch being
sent, in one UPDATE) every quarter lease from a thread of its own, whatever the relay is doing to
the delivering thread. A renewal that fails (the database busy or away) is logged and tried
again at the next beat; if the lease runs out all the same, the row is taken over as
``delivery_unknown`` and sent again (at least once), and this sender's late outcome is still
recorded if nobody has claimed the row since.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import Clock
from triage.outbound.busy import is_busy
from triage.outbound.claims import begin_write, renew

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews the leases of the rows ``name`` holds, every ``lease_seconds / 4``, while any are held."""

    def __init__(
        self, sessions: sessionmaker[Session], name: str, lease_seconds: float, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._name = name
        self._lease = dt.timedelta(seconds=lease_seconds)
        self.interval = max(lease_seconds / 4, 0.05)
        self._clock = clock
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Renewals that reached the database (for tests and metrics).
        self.beats = 0
        #: When (time.monotonic) a renewal last reached the database, or None before the first.
        self.renewed_at: float | None = None

    @contextmanager
    def holding(self, outbound_ids: Collection[int]) -> Iterator[None]:
        """Keep the leases of ``outbound_ids`` (a claimed batch) alive for the duration of the block."""
        with self._lock:
            self._held.update(outbound_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._beat, name=f"heartbeat-{self._name}", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.difference_update(outbound_ids)
                self._wake.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(5)

    def _beat(self) -> None:
        while True:
            with self._lock:
                self._wake.wait(self.interval)
                if self._closed or not self._held:
                    self._thread = None
                    return
                ids = set(self._held)
            self._renew(ids)

    def _renew(self, ids: set[int]) -> None:
        started = time.monotonic()
        try:
            with self._sessions() as session:
                begin_write(session)
                renewed = renew(session, self._name, ids, self._clock.now() + self._lease)
                session.commit()
            self.beats += 1
            self.renewed_at = started
            if renewed < len(ids):
                log.debug("heartbeat: %d of %d claims no longer ours", len(ids) - renewed, len(ids))
        except SQLAlchemyError as exc:
            if is_busy(exc):
                log.info("heartbeat: database busy; lease renewal tried again in %.1f s", self.interval)
            else:
                log.error(
                    "heartbeat: database unavailable (%s); lease renewal tried again", type(exc).__name__
                )
