"""A busy database is not an unavailable one (issue 12): tell them apart, wait out the first.

Busy: SQLite's ``database is locked`` / ``SQLITE_BUSY`` / ``SQLITE_LOCKED`` (another writer holds
the lock past the busy timeout), PostgreSQL's lock-not-available, deadlock and serialization
failures. Everything else (cannot connect, cannot open the file, read-only) is unavailable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from triage.outbound.backoff import jittered

T = TypeVar("T")
log = logging.getLogger(__name__)

_SQLITE_BUSY_CODES: Final = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes)
_SQLITE_BUSY_TEXT: Final = ("database is locked", "database table is locked", "database is busy")
# lock_not_available, deadlock_detected, serialization_failure
_POSTGRES_BUSY_STATES: Final = frozenset({"55P03", "40P01", "40001"})


def is_busy(exc: BaseException) -> bool:
    """True when ``exc`` says another transaction holds what we wanted, not that the store is gone."""
    if not isinstance(exc, SQLAlchemyError):
        return False
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in _POSTGRES_BUSY_STATES
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_BUSY_CODES:
        return True
    return isinstance(exc, OperationalError) and str(orig).strip().lower() in _SQLITE_BUSY_TEXT


def retry_while_busy(work: Callable[[], T], what: str, *, patience_seconds: float) -> T:
    """``work()``, tried again (short, growing, jittered pauses) while the database is busy.

    Gives up after ``patience_seconds`` by raising the last busy error; any other error at once.
    """
    deadline = time.monotonic() + patience_seconds
    pause = 0.05
    waited = False
    while True:
        try:
            return work()
        except SQLAlchemyError as exc:
            if not is_busy(exc) or time.monotonic() + pause > deadline:
                raise
            if not waited:
                log.info("database busy while %s; trying again", what)
                waited = True
        time.sleep(jittered(pause))
        pause = min(pause * 2, 1.0)
