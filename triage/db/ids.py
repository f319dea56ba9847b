"""Primary keys known before the INSERT, so a row can be written in the batch's one flush.

A reply's Message-ID holds its outbox id and a case's rows point at the case's id: without the
id up front each needs a flush of its own (and the reply an UPDATE after its INSERT). Here the
ids come first:

- PostgreSQL: ``nextval`` of the table's sequence, one at a time and only where the id is
  wanted before the INSERT (``early``: a reply's Message-ID, a case its rows point at); other
  rows get theirs from the batched INSERT … RETURNING the ORM makes there anyway.
- SQLite: the next rowid SQLite itself would give (``max(id) + 1``, or the ``sqlite_sequence``
  counter for tables declared AUTOINCREMENT), counted on in memory. Only safe while this
  transaction holds the write lock, so only in transactions begun IMMEDIATE or EXCLUSIVE (the
  worker's, the web's writes); elsewhere :func:`next_id` returns None and the caller flushes.
  SQLite would give a row inserted without an id the same next rowid, so every new row of a
  table counted here takes its id from :func:`next_id` (cases/service.py, staffedit.py, outbox.py).

What is counted belongs to one transaction: the next one starts over.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.base import Base
from triage.db.engine import SQLITE_BEGIN

_KEY: Final = "triage.ids"


@dataclass
class _Ids:
    transaction: object
    last: dict[str, int] = field(default_factory=dict)  # SQLite: the last id handed out


def next_id(session: Session, model: type[Base], *, early: bool = False) -> int | None:
    """An id for a new row of ``model`` in this transaction, or None: the flush gives it (see the
    module's docstring; ``early``: the caller needs it before the flush)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    transaction = session.get_transaction()
    if transaction is None:
        return None
    ids = session.info.get(_KEY)
    if not isinstance(ids, _Ids) or ids.transaction is not transaction:
        ids = session.info[_KEY] = _Ids(transaction)
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        if not early:
            return None
        return int(connection.execute(_nextval(table.name)).scalar_one())
    if dialect != "sqlite":
        return None
    last = ids.last.get(table.name)
    if last is None:
        mode = str(connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
        if mode not in {"IMMEDIATE", "EXCLUSIVE"}:
            return None
        last = _sqlite_highest(connection, table)
    ids.last[table.name] = last + 1
    return last + 1


@functools.cache
def _nextval(table: str) -> sa.Select[Any]:
    return sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence(table, "id")))


def _sqlite_highest(connection: sa.Connection, table: sa.Table) -> int:
    """The highest id SQLite counts as used: the next rowid it would give is one more."""
    highest = int(connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())
    if table.dialect_options["sqlite"].get("autoincrement"):
        counted = connection.execute(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table.name}
        ).scalar()
        highest = max(highest, int(counted or 0))
    return highest
