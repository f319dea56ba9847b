"""The audit log (security.md §2 "Audit"): who saw or did what, from where, when. Never a value.

Append-only: rows are added here and read by the audit page and its CSV export; nothing updates
or deletes them. The CSV neutralises cells a spreadsheet would run as a formula (§1 item 31).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.staff import AuditEvent

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def record(
    session: Session,
    *,
    now: dt.datetime,
    actor: str,
    address: str,
    action: str,
    staff_id: int | None = None,
    case_id: int | None = None,
    fields: Sequence[str] = (),
    detail: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Append one audit row (the caller's transaction commits it)."""
    row = AuditEvent(
        at=now,
        staff_id=staff_id,
        actor=actor[:64],
        address=address[:64],
        action=action,
        case_id=case_id,
        fields=list(fields),
        detail=dict(detail or {}),
    )
    session.add(row)
    return row


def recent(
    session: Session, *, limit: int = 200, case_id: int | None = None, action: str | None = None
) -> list[AuditEvent]:
    """The newest rows first, optionally of one case or one action."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR) gets a ``'``."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def to_csv(rows: Iterable[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "at", "actor", "address", "action", "case_id", "fields", "detail"])
    for row in rows:
        detail = " ".join(f"{key}={value}" for key, value in sorted((row.detail or {}).items()))
        cells = [
            str(row.id),
            row.at.isoformat(),
            row.actor,
            row.address,
            row.action,
            "" if row.case_id is None else str(row.case_id),
            ",".join(row.fields or []),
            detail,
        ]
        writer.writerow([neutralise(cell) for cell in cells])
    return out.getvalue()
