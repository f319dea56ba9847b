"""SQLite has one writer at a time; inside one process the SMTP ingress goes first.

SQLite's busy handler is not a queue: a client waiting in ``busy_timeout`` polls, and a worker
that runs its transactions back to back wins the lock almost every time, so under sustained
load the ingress starved (acceptance fell from hundreds of mails a second to a few, and some
clients got 451 when their wait ran out). Acknowledging mail is the job that must not wait:
stored mail is safe, unstored mail is the sender's problem. So in `triage serve` on SQLite the
ingress marks its inserts urgent, and the worker, before each write transaction, waits until no
insert is waiting (at most ``max_wait`` seconds, so it is slowed, never stopped).

PostgreSQL has row locks and needs none of this: the gate is only made for SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriteGate:
    def __init__(self, max_wait: float = 1.0) -> None:
        self._changed = threading.Condition()
        self._urgent = 0
        self.max_wait = max_wait

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Around an ingress insert (waiting for the lock included)."""
        with self._changed:
            self._urgent += 1
        try:
            yield
        finally:
            with self._changed:
                self._urgent -= 1
                self._changed.notify_all()

    def wait_turn(self) -> bool:
        """Before a background write transaction: wait while inserts are urgent. True if clear."""
        with self._changed:
            return self._changed.wait_for(lambda: self._urgent == 0, timeout=self.max_wait)

    @property
    def waiting(self) -> int:
        return self._urgent
