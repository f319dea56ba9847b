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
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.db.models import InboundMessage, InboundStatus
from triage.errors import StoreUnavailable
from triage.ingress.spool import has_bare_line_ends

__all__ = ["InboundStore", "NewInbound", "StorageFull", "has_bare_line_ends"]

_PG_DISK_FULL: Final = "53100"
POSTGRESQL_WRITERS: Final = 4


class DatabaseUnavailable(StoreUnavailable):
    """The whole database failed (down, locked past busy_timeout, full): every message would."""


class StorageFull(DatabaseUnavailable):
    """The database has no room for the message (SQLITE_FULL, PostgreSQL 53100 disk_full)."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class NewInbound:
    """One received message and its envelope, ready for the insert.

    ``raw`` is the bytes or a callable that returns them (a spooled message is read back from
    its file only in the writing thread). ``mail_from`` is "" for the null reverse-path.
    """

    raw: bytes | Callable[[], bytes]
    mail_from: str
    rcpt_tos: list[str]
    peer: str
    helo: str | None
    smtp_utf8: bool
    mail_options: Sequence[str] = ()
    tls: bool = False
    origin: str = "smtp"
    sha256: str | None = None
    bare_line_ends: bool | None = None
    notes: Sequence[str] = ()
    size: int | None = None


class InboundStore:
    """Inserts received messages, each committed before its id is returned.

    :meth:`insert_many` writes several messages in one transaction (one commit, one fsync: the
    ingress's group commit); a failing batch is written again one message per transaction, so a
    message that cannot be stored never costs the others their 250.
    """

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

    @property
    def writers(self) -> int:
        """How many batches may be written at once: SQLite has one writer; PostgreSQL overlaps
        concurrent commits (its own group commit), so a few writers keep it busy."""
        bind = self._sessions.kw.get("bind")
        return 1 if bind is None or bind.dialect.name == "sqlite" else POSTGRESQL_WRITERS

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
        message = NewInbound(
            raw, mail_from, rcpt_tos, peer, helo, smtp_utf8, mail_options, tls, origin, sha256,
            bare_line_ends, notes,
        )  # fmt: skip
        return self._write([message])[0]

    def insert_many(self, messages: Sequence[NewInbound]) -> list[int | Exception]:
        """Store ``messages`` in one transaction: an id or an error for each.

        When the database itself fails every message gets that error at once (no retry that
        would make each client wait out another busy_timeout); any other failure (one message's
        bytes or values) is retried one message per transaction, so only that message fails.
        """
        try:
            return list(self._write(messages))
        except DatabaseUnavailable as everyone:
            return [everyone] * len(messages)
        except Exception as batch_error:
            if len(messages) == 1:
                return [batch_error]
        results: list[int | Exception] = []
        for message in messages:
            try:
                results.append(self._write([message])[0])
            except Exception as error:  # reported to that message's client as 451
                results.append(error)
        return results

    def _write(self, messages: Sequence[NewInbound]) -> list[int]:
        # One statement for the batch (SQLAlchemy's "insertmanyvalues": INSERT ... VALUES (...),
        # (...) RETURNING id), ids in the order of the messages.
        statement = sa.insert(InboundMessage).returning(InboundMessage.id, sort_by_parameter_order=True)
        try:
            with self._gate.urgent() if self._gate else contextlib.nullcontext(), self._sessions() as session:
                # IMMEDIATE: take SQLite's write lock first, so a busy database waits up to
                # busy_timeout instead of failing half-way. PostgreSQL ignores the option.
                connection = session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
                rows = [self._row(each) for each in messages]
                ids = [int(row_id) for row_id in connection.execute(statement, rows).scalars()]
                session.commit()
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc
        return ids

    def _row(self, message: NewInbound) -> dict[str, object]:
        raw = message.raw() if callable(message.raw) else message.raw
        return {
            "received_at": self._now(),
            "mail_from": message.mail_from,
            "mail_options": list(message.mail_options),
            "rcpt_tos": list(message.rcpt_tos),
            "peer": message.peer,
            "helo": message.helo,
            "smtp_utf8": message.smtp_utf8,
            "tls": message.tls,
            "size": len(raw),
            "sha256": message.sha256 or hashlib.sha256(raw).hexdigest(),
            "raw": raw,
            "has_bare_line_ends": (
                has_bare_line_ends(raw) if message.bare_line_ends is None else message.bare_line_ends
            ),
            "status": InboundStatus.PENDING,
            "attempts": 0,
            "origin": message.origin,
            "notes": list(message.notes),
        }


def _unavailable(exc: SQLAlchemyError) -> StoreUnavailable:
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    if orig is None:
        if isinstance(exc, (OperationalError, InterfaceError, sa.exc.TimeoutError)):
            return DatabaseUnavailable(f"database error {type(exc).__name__}")
        return StoreUnavailable(f"database error {type(exc).__name__}")
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    sqlstate = getattr(orig, "sqlstate", None)
    code = sqlite_name or sqlstate or "no code"
    what = f"database error {type(orig).__module__}.{type(orig).__name__} ({code})"
    if getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or sqlstate == _PG_DISK_FULL:
        return StorageFull(what)
    if isinstance(exc, (OperationalError, InterfaceError)):
        return DatabaseUnavailable(what)
    return StoreUnavailable(what)
