"""The staff queue: filters, counts per status and mailbox, keyset pages, the age clock.

Oldest first (case id order: ids grow with arrival), ``PAGE_SIZE`` rows a page, the next page
starting after the last id shown, so a page costs the same at case 100 and at case 100,000.
The age clock runs from the case's arrival against the mailbox's reply target; an open case
past it is overdue. Senders are masked (security.md §3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.config import Settings
from triage.db.models import OPEN_CASE_STATUSES, Case, CaseEvent, CaseStatus
from triage.db.staff import CaseClaim, StaffUser
from triage.masking import mask_email
from triage.web.casedata import NOT_CHANGES

PAGE_SIZE: Final = 50
AGE_CHOICES: Final = (1, 3, 7, 14)
ALL: Final = "all"


@dataclass(frozen=True)
class QueueFilter:
    mailbox: str | None = None
    status: CaseStatus | None = CaseStatus.QUEUED
    min_age_days: int | None = None
    assignee: str | None = None  # a staff name, or "-" for unclaimed cases
    mine: bool = False
    after: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str], mailboxes: frozenset[str]) -> QueueFilter:
        """Filters from the page's query string; unknown values are ignored, never an error."""
        status_raw = query.get("status", CaseStatus.QUEUED.value)
        status: CaseStatus | None
        try:
            status = None if status_raw == ALL else CaseStatus(status_raw)
        except ValueError:
            status = CaseStatus.QUEUED
        mailbox = query.get("mailbox") or None
        age = query.get("age", "")
        after = query.get("after", "")
        assignee = (query.get("assignee") or "").strip().lower() or None
        return cls(
            mailbox=mailbox if mailbox in mailboxes else None,
            status=status,
            min_age_days=int(age) if age.isdigit() and int(age) in AGE_CHOICES else None,
            assignee=assignee[:64] if assignee else None,
            mine=query.get("mine") == "1",
            after=int(after) if after.isdigit() else None,
        )

    def query_string(self, *, after: int | None = None) -> str:
        """The filters (and a cursor) as a query string: no personal data, only names and ids."""
        parts: list[tuple[str, str | int]] = [("status", self.status.value if self.status else ALL)]
        if self.mailbox:
            parts.append(("mailbox", self.mailbox))
        if self.min_age_days:
            parts.append(("age", self.min_age_days))
        if self.assignee:
            parts.append(("assignee", self.assignee))
        if self.mine:
            parts.append(("mine", 1))
        if after is not None:
            parts.append(("after", after))
        return urlencode(parts)


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    mailbox: str
    status: str
    created_at: dt.datetime
    sender: str  # masked
    assignee: str | None
    age_hours: int
    target_days: int
    overdue: bool
    version: int  # for bulk actions: refused when the case changed since the page was loaded


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: int | None
    counts: dict[str, dict[str, int]]  # mailbox -> status -> count
    statuses: list[str]


def counts(session: Session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for mailbox, status, count in session.execute(
        sa.select(Case.mailbox, Case.status, sa.func.count()).group_by(Case.mailbox, Case.status)
    ):
        out.setdefault(mailbox, {})[status.value] = int(count)
    return dict(sorted(out.items()))


def queue_page(
    session: Session, flt: QueueFilter, *, staff_id: int, settings: Settings, now: dt.datetime
) -> QueuePage:
    version = (
        sa.select(sa.func.max(CaseEvent.id))
        .where(CaseEvent.case_id == Case.id, CaseEvent.kind.not_in(NOT_CHANGES))
        .correlate(Case)
        .scalar_subquery()
    )
    query = (
        sa.select(
            Case.id,
            Case.reference,
            Case.mailbox,
            Case.status,
            Case.created_at,
            Case.sender,
            StaffUser.name,
            version,
        )
        .outerjoin(CaseClaim, CaseClaim.case_id == Case.id)
        .outerjoin(StaffUser, StaffUser.id == CaseClaim.staff_id)
        .order_by(Case.id)
        .limit(PAGE_SIZE + 1)
    )
    if flt.status is not None:
        query = query.where(Case.status == flt.status)
    if flt.mailbox:
        query = query.where(Case.mailbox == flt.mailbox)
    if flt.min_age_days:
        query = query.where(Case.created_at <= now - dt.timedelta(days=flt.min_age_days))
    if flt.mine:
        query = query.where(CaseClaim.staff_id == staff_id)
    elif flt.assignee == "-":
        query = query.where(CaseClaim.case_id.is_(None))
    elif flt.assignee:
        query = query.where(StaffUser.name == flt.assignee)
    if flt.after is not None:
        query = query.where(Case.id > flt.after)
    found = session.execute(query).all()
    rows = []
    for case_id, reference, mailbox, status, created_at, sender, assignee, last in found[:PAGE_SIZE]:
        target = settings.reply_target(mailbox)
        age = now - created_at
        rows.append(
            QueueRow(
                id=case_id,
                reference=reference,
                mailbox=mailbox,
                status=status.value,
                created_at=created_at,
                sender=mask_email(sender),
                assignee=assignee,
                age_hours=max(0, int(age.total_seconds() // 3600)),
                target_days=target,
                overdue=status in OPEN_CASE_STATUSES and age > dt.timedelta(days=target),
                version=int(last or 0),
            )
        )
    next_after = rows[-1].id if len(found) > PAGE_SIZE and rows else None
    return QueuePage(rows, next_after, counts(session), [status.value for status in CaseStatus])
