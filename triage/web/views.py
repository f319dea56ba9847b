"""Saved queue views: a named set of filters per staff member (the filters' query string, which
holds names and ids only). Never commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.staff import SavedView
from triage.web.queue import QueueFilter

NAME_MAX: Final = 64
VIEWS_MAX: Final = 30


def list_views(session: Session, staff_id: int) -> list[SavedView]:
    return list(
        session.scalars(sa.select(SavedView).where(SavedView.staff_id == staff_id).order_by(SavedView.name))
    )


def save_view(
    session: Session, staff_id: int, name: str, filters: Mapping[str, str], mailboxes: frozenset[str]
) -> SavedView | None:
    """Save (or replace) the view ``name``; None when the name is empty or too many are saved."""
    name = " ".join(name.split())[:NAME_MAX]
    if not name:
        return None
    query = QueueFilter.from_query(filters, mailboxes).query_string()  # only known filter values
    row = session.scalar(sa.select(SavedView).where(SavedView.staff_id == staff_id, SavedView.name == name))
    if row is None:
        count = session.scalar(sa.select(sa.func.count(SavedView.id)).where(SavedView.staff_id == staff_id))
        if (count or 0) >= VIEWS_MAX:
            return None
        row = SavedView(staff_id=staff_id, name=name, query=query)
        session.add(row)
    else:
        row.query = query
    session.flush()
    return row


def delete_view(session: Session, staff_id: int, view_id: int) -> bool:
    result = session.execute(
        sa.delete(SavedView).where(SavedView.id == view_id, SavedView.staff_id == staff_id)
    )
    return bool(getattr(result, "rowcount", 0))
