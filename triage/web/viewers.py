"""Who else has a case open ("also viewing"): a row per (case, staff) refreshed by the page
load and by the page's heartbeat; rows older than ``WINDOW`` no longer count. Never commits."""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.staff import CaseViewer, StaffUser

WINDOW: Final = dt.timedelta(minutes=2)


def seen(session: Session, case_id: int, staff_id: int, *, now: dt.datetime) -> list[str]:
    """Record that ``staff_id`` has the case open; the names of the others who have it open."""
    session.execute(
        sa.delete(CaseViewer).where(CaseViewer.case_id == case_id, CaseViewer.staff_id == staff_id)
    )
    session.add(CaseViewer(case_id=case_id, staff_id=staff_id, seen_at=now))
    return list(
        session.scalars(
            sa.select(StaffUser.name)
            .join(CaseViewer, CaseViewer.staff_id == StaffUser.id)
            .where(
                CaseViewer.case_id == case_id,
                CaseViewer.staff_id != staff_id,
                CaseViewer.seen_at >= now - WINDOW,
            )
            .order_by(StaffUser.name)
        )
    )
