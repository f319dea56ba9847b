"""The ingress's only write: one inbound row, committed before the client hears 250.

Synchronous SQLAlchemy; the SMTP handler calls :meth:`InboundStore.insert` in a worker thread
(``asyncio.to_thread``) so the event loop keeps serving other sessions. Every database failure
comes out as :class:`StoreUnavailable` (or :class:`StorageFull`) whose message names only the
error class and code: driver messages can quote row values (PostgreSQL's ``DETAIL: Failing row
contains ...``), and rows hold mail bodies and addresses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.db.models import InboundMessage, InboundStatus
from triage.errors import StoreUnavailable
from triage.ingress.spool import has_bare_line_ends

__all__ = ["InboundStore", "StorageFull", "has_bare_line_ends"]

_PG_DISK_FULL: Final = "53100"


class StorageFull(StoreUnavailable):
    """The database has no room for the message (SQLITE_FULL, PostgreSQL 53100 disk_full)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InboundStore:
    """Inserts one received message per call, in its own committed transaction."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        now: Callable[[], dt.datetime] = _utc_now,
        gate: WriteGate | None = None,
    ) -> None:
        self._sessions = sessions
        self._now = now
        self._gate = gate

    def insert(  # noqa: PLR0917 - positional envelope fields: the ingress's one call site
        self,
        raw: bytes,
        mail_from: str,
        rcpt_tos: list[str],
        peer: str,
        helo: str | None,
        smtp_utf8: bool,
        *,
        mail_options: Sequence[str] = (),
        tls: bool = False,
        origin: str = "smtp",
        sha256: str | None = None,
        bare_line_ends: bool | None = None,
        notes: Sequence[str] = (),
    ) -> int:
        """Store the message and return its row id once the commit has returned.

        ``mail_from`` is "" for the null reverse-path. Raises :class:`StorageFull` when the
        database is full and :class:`StoreUnavailable` on any other database failure; nothing
        is stored then. ``sha256`` and ``bare_line_ends`` may come computed while the bytes
        arrived (the ingress's spool); ``notes`` are the ingress's notes on the mail.
        """
        row = InboundMessage(
            received_at=self._now(),
            mail_from=mail_from,
            mail_options=list(mail_options),
            rcpt_tos=list(rcpt_tos),
            peer=peer,
            helo=helo,
            smtp_utf8=smtp_utf8,
            tls=tls,
            size=len(raw),
            sha256=sha256 or hashlib.sha256(raw).hexdigest(),
            raw=raw,
            has_bare_line_ends=has_bare_line_ends(raw) if bare_line_ends is None else bare_line_ends,
            status=InboundStatus.PENDING,
            attempts=0,
            origin=origin,
            notes=list(notes),
        )
        try:
            with self._gate.urgent() if self._gate else contextlib.nullcontext(), self._sessions() as session:
                # IMMEDIATE: take SQLite's write lock first, so a busy database waits up to
                # busy_timeout instead of failing half-way. PostgreSQL ignores the option.
                session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
                session.add(row)
                session.flush()
                row_id = row.id
                session.commit()
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc
        return row_id


def _unavailable(exc: SQLAlchemyError) -> StoreUnavailable:
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if orig is None:
        return StoreUnavailable(f"database error {type(exc).__name__}")
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    sqlstate = getattr(orig, "sqlstate", None)
    code = sqlite_name or sqlstate or "no code"
    what = f"database error {type(orig).__module__}.{type(orig).__name__} ({code})"
    if getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or sqlstate == _PG_DISK_FULL:
        return StorageFull(what)
    return StoreUnavailable(what)
