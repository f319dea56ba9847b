"""Engines with durable settings, and the session factory.

SQLite: every connection gets ``journal_mode=WAL``, ``synchronous=FULL`` (in WAL mode NORMAL may
lose the last commits on power loss), a ``busy_timeout`` and ``foreign_keys=ON``; transactions
are begun explicitly so that a transaction really is one. PostgreSQL: every new connection must
run with ``synchronous_commit`` on (or stricter), checked when the engine is made and again on
each new connection; otherwise :class:`ConfigError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.crypto import attach_keyring
from triage.errors import ConfigError, StoreUnavailable

DEFAULT_SQLITE_BUSY_TIMEOUT_MS: Final = 5000

# "local" and "off" acknowledge a commit before it is safe on every configured copy (ingress.md §4).
DURABLE_SYNCHRONOUS_COMMIT: Final = frozenset({"on", "remote_write", "remote_apply"})

# Execution option naming the SQLite BEGIN mode of a transaction: "DEFERRED" (default),
# "IMMEDIATE" (take the write lock at once; for read-then-write work such as claiming a row)
# or "EXCLUSIVE".  ``session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})``.
SQLITE_BEGIN: Final = "sqlite_begin"
_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    keys: Sequence[bytes] = (),
) -> Engine:
    """An engine for ``url`` (``sqlite:///file.db`` or ``postgresql+psycopg://...``).

    A relative SQLite path is taken relative to the working directory at this call. Statement
    parameters are never put into error messages (they hold mail bodies and addresses).
    ``keys`` (Settings.encryption_keys, newest first) seal raw mail and case values at rest.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, sqlite_busy_timeout_ms)
    elif backend == "postgresql":
        engine = _postgresql_engine(parsed)
    else:
        raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    attach_keyring(engine, keys)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values readable after commit (the caller owns the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_engine(parsed: sa.URL, busy_timeout_ms: int) -> Engine:
    if busy_timeout_ms < 0:
        raise ConfigError(f"SQLite busy timeout must not be negative, not {busy_timeout_ms}")
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file:")
    if not in_memory:
        parsed = parsed.set(database=str(Path(database).absolute()))
    engine = sa.create_engine(
        parsed,
        hide_parameters=True,
        connect_args={"timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level; BEGIN is emitted below, so a transaction covers reads
        # too (pysqlite's own implicit BEGIN only precedes writes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            mode = str(cursor.fetchone()[0]).lower()
            if mode != "wal" and not in_memory:
                raise ConfigError(f"SQLite refused journal_mode=WAL (it is {mode!r})")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = str(connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
        if mode not in _BEGIN_MODES:
            raise ConfigError(f"{SQLITE_BEGIN} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgresql_engine(parsed: sa.URL) -> Engine:
    engine = sa.create_engine(parsed, hide_parameters=True, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SHOW synchronous_commit")
            value = str(cursor.fetchone()[0]).lower()
        finally:
            cursor.close()
        dbapi_connection.rollback()
        if value not in DURABLE_SYNCHRONOUS_COMMIT:
            raise ConfigError(
                f"PostgreSQL synchronous_commit is {value!r}; it must be 'on' so that a commit "
                "is durable before the SMTP client is told 250"
            )

    # At start: refuse a non-durable server now rather than at the first message.
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot connect to PostgreSQL ({type(exc).__name__})") from exc
    except ConfigError:
        engine.dispose()
        raise
    return engine
