"""`triage keys rotate`: every sealed column re-encrypted under the newest key, in batches.

A value sealed with an older key of TRIAGE_ENCRYPTION_KEYS, or stored plain before keys were
configured, is opened and sealed again with the first key; a value already under it is left
alone, so a run stopped half-way is resumed by running it again. The columns are found from the
models (every column of an ``Encrypted*`` type), so a new sealed column is rotated too.

Each batch is one transaction holding its rows against writers (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so the running service may keep writing meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import triage.db.models
import triage.db.staff  # noqa: F401 - registers the staff tables on the metadata too
from triage import crypto
from triage.db.base import Base
from triage.db.engine import SQLITE_BEGIN

BATCH: Final = 200


@dataclass(frozen=True)
class SealedColumn:
    table: sa.Table
    name: str
    kind: type[crypto.EncryptedBytes | crypto.EncryptedText | crypto.EncryptedJSON]

    @property
    def context(self) -> str:
        return f"{self.table.name}.{self.name}"

    def stored_type(self) -> sa.types.TypeEngine[Any]:
        """The column's type below the sealing: what is in the database as it is."""
        if self.kind is crypto.EncryptedBytes:
            return sa.LargeBinary()
        if self.kind is crypto.EncryptedText:
            return sa.Text()
        return sa.JSON()

    def reseal(self, stored: Any, keyring: crypto.Keyring) -> Any:
        if self.kind is crypto.EncryptedBytes:
            return crypto.encode_bytes(
                crypto.decode_bytes(bytes(stored), keyring, self.context), keyring, self.context
            )
        if self.kind is crypto.EncryptedText:
            return crypto.encode_text(
                crypto.decode_text(stored, keyring, self.context), keyring, self.context
            )
        return crypto.encode_json(crypto.decode_json(stored, keyring, self.context), keyring, self.context)


def sealed_columns() -> list[SealedColumn]:
    """Every column of an Encrypted* type, in table and column order."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            kind = type(column.type)
            if kind in (crypto.EncryptedBytes, crypto.EncryptedText, crypto.EncryptedJSON):
                found.append(SealedColumn(table, column.name, kind))
    return found


@dataclass
class ColumnReport:
    """What a run found in one column (counts of rows by the state of their value)."""

    column: str
    rows: int = 0
    current: int = 0  # already under the newest key
    resealed: int = 0  # under an older key, now (or, on a dry run, to be) under the newest
    plain: int = 0  # stored plain, now (or to be) sealed
    empty: int = 0  # NULL or empty (a purged value)
    by_key: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rows": self.rows,
            "current": self.current,
            "resealed": self.resealed,
            "plain": self.plain,
            "empty": self.empty,
            "by_key": dict(sorted(self.by_key.items())),
        }


Progress = Callable[[str, int, int], None]  # column, rows done, rows in all


def rotate(
    sessions: sessionmaker[Session],
    keyring: crypto.Keyring,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> list[ColumnReport]:
    """Re-encrypt every sealed column under ``keyring``'s newest key (or only count, ``dry_run``)."""
    return [
        _rotate_column(sessions, column, keyring=keyring, dry_run=dry_run, progress=progress, batch=batch)
        for column in sealed_columns()
    ]


def _rotate_column(
    sessions: sessionmaker[Session],
    column: SealedColumn,
    *,
    keyring: crypto.Keyring,
    dry_run: bool,
    progress: Progress | None,
    batch: int,
) -> ColumnReport:
    report = ColumnReport(column.context)
    table, ident = column.table, column.table.c.id
    with sessions() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
    for rows in _batches(sessions, column, batch, lock=not dry_run):
        session, chunk = rows
        changes = []
        for row_id, stored in chunk:
            report.rows += 1
            key = crypto.sealed_key_id(stored)
            if stored is None or stored in (b"", ""):
                report.empty += 1
                continue
            if key is not None:
                report.by_key[key.hex()] = report.by_key.get(key.hex(), 0) + 1
            if key == keyring.current_id:
                report.current += 1
                continue
            if key is None:
                report.plain += 1
            else:
                report.resealed += 1
            if not dry_run:
                changes.append({"_id": row_id, "_value": column.reseal(stored, keyring)})
        if changes:
            statement = (
                sa.update(table)
                .where(ident == sa.bindparam("_id"))
                .values({column.name: sa.bindparam("_value", type_=column.stored_type())})
            )
            session.connection().execute(statement, changes)
        if progress is not None:
            progress(column.context, report.rows, total)
    return report


def _batches(
    sessions: sessionmaker[Session], column: SealedColumn, size: int, *, lock: bool
) -> Iterator[tuple[Session, list[tuple[int, Any]]]]:
    """(session, rows) per batch, each batch in its own committed transaction."""
    table, ident = column.table, column.table.c.id
    last = 0
    while True:
        with sessions() as session, session.begin():
            sqlite = session.get_bind().dialect.name == "sqlite"
            options = {SQLITE_BEGIN: "IMMEDIATE"} if lock and sqlite else {}
            connection = session.connection(execution_options=options)
            query = (
                sa.select(ident, sa.type_coerce(table.c[column.name], column.stored_type()))
                .where(ident > last)
                .order_by(ident)
                .limit(size)
            )
            if lock and not sqlite:
                query = query.with_for_update()
            chunk = [(int(row_id), stored) for row_id, stored in connection.execute(query)]
            if not chunk:
                return
            yield session, chunk
            last = chunk[-1][0]
