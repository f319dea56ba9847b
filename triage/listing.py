"""What `triage queue list`, `triage outbox list` and `triage inbound list` show, as plain dicts.

Lists mask personal data (security.md §3): the sender and reply recipient as ``ta***@example.jp``,
relay errors through the logging net; they never load raw bodies. One case is triage/casedetail.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from triage.db.models import (
    Case,
    CaseStatus,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.masking import mask_email, mask_text


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC (``2026-11-21T01:02:03.456789+00:00``), or None."""
    if value is None:
        return None
    if value.tzinfo is None:  # the models give aware UTC values; be safe with anything else
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


# -- the queue ---------------------------------------------------------------------------------


def queue_rows(
    session: Session, *, status: CaseStatus | None = None, mailbox: str | None = None
) -> list[dict[str, Any]]:
    """Every case (oldest first), or those in ``status`` / to ``mailbox``; the sender masked."""
    query = sa.select(Case).order_by(Case.id)
    if status is not None:
        query = query.where(Case.status == status)
    if mailbox is not None:
        query = query.where(Case.mailbox == mailbox.strip().lower())
    return [
        {
            "id": case.id,
            "reference": case.reference,
            "mailbox": case.mailbox,
            "status": case.status.value,
            "created_at": iso(case.created_at),
            "updated_at": iso(case.updated_at),
            "sender": mask_email(case.sender),
            "language": case.language,
            "missing": list(case.missing),
            "invalid": list(case.invalid),
            "parent_id": case.parent_id,
        }
        for case in session.scalars(query)
    ]


# -- the outbox --------------------------------------------------------------------------------


# Lists load only the columns they show: never a stored mail's or a reply's bytes (a 10 MB mail
# times a day's mail is the process's memory), nor a reply's body. Any other column read raises.
OUTBOX_COLUMNS: Final = load_only(
    OutboundMessage.id,
    OutboundMessage.case_id,
    OutboundMessage.inbound_id,
    OutboundMessage.template,
    OutboundMessage.language,
    OutboundMessage.status,
    OutboundMessage.attempts,
    OutboundMessage.to_addr,
    OutboundMessage.subject,
    OutboundMessage.created_at,
    OutboundMessage.next_attempt_at,
    OutboundMessage.sent_at,
    OutboundMessage.last_error,
    raiseload=True,
)
INBOUND_COLUMNS: Final = load_only(
    InboundMessage.id,
    InboundMessage.received_at,
    InboundMessage.origin,
    InboundMessage.status,
    InboundMessage.attempts,
    InboundMessage.mailbox,
    InboundMessage.decision,
    InboundMessage.reason,
    InboundMessage.case_id,
    InboundMessage.duplicate_of,
    InboundMessage.size,
    InboundMessage.notes,
    InboundMessage.last_error,
    raiseload=True,
)


def outbox_rows(session: Session, *, status: OutboundStatus | None = None) -> list[dict[str, Any]]:
    """Every reply (oldest first), or those in ``status``; the recipient masked."""
    query = sa.select(OutboundMessage).options(OUTBOX_COLUMNS).order_by(OutboundMessage.id)
    if status is not None:
        query = query.where(OutboundMessage.status == status)
    return [
        {
            "id": row.id,
            "case_id": row.case_id,
            "inbound_id": row.inbound_id,
            "template": row.template,
            "language": row.language,
            "status": row.status.value,
            "attempts": row.attempts,
            "to": mask_email(row.to_addr),
            "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at),
            "sent_at": iso(row.sent_at),
            # A relay's answer may quote the recipient (`550 <taro@…>: unknown user`).
            "last_error": mask_text(row.last_error) if row.last_error else None,
        }
        for row in session.scalars(query)
    ]


# -- received mail -----------------------------------------------------------------------------


def inbound_rows(
    session: Session, *, status: InboundStatus | None = None, decision: str | None = None
) -> list[dict[str, Any]]:
    """Every stored mail (oldest first), or those in ``status`` / with ``decision``; no addresses.

    What an operator looks at for mail parked as failed (``last_error``) and for mail ignored on
    weak signals only, which a person may want to rescue (its notes say so).
    """
    query = sa.select(InboundMessage).options(INBOUND_COLUMNS).order_by(InboundMessage.id)
    if status is not None:
        query = query.where(InboundMessage.status == status)
    if decision is not None:
        query = query.where(InboundMessage.decision == decision)
    return [
        {
            "id": row.id,
            "received_at": iso(row.received_at),
            "origin": row.origin,
            "status": row.status.value,
            "attempts": row.attempts,
            "mailbox": row.mailbox,
            "decision": row.decision,
            "reason": row.reason,
            "case_id": row.case_id,
            "duplicate_of": row.duplicate_of,
            "size": row.size,
            "notes": list(row.notes or []),
            "last_error": mask_text(row.last_error) if row.last_error else None,
        }
        for row in session.scalars(query)
    ]


def retry_inbound(session: Session, inbound_id: int) -> str | None:
    """Put a failed mail back in the queue (after a fix); why not, or None when done. No commit."""
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        return f"no inbound mail {inbound_id}"
    if row.status is not InboundStatus.FAILED:
        return f"inbound {inbound_id} is {row.status.value}, not failed"
    if not row.raw:  # the retention purge removed its bytes (triage/purge.py): nothing to read again
        return f"inbound {inbound_id} was purged (retention): its mail is gone, nothing to retry"
    row.status = InboundStatus.PENDING
    row.attempts = 0
    row.lease_until = None
    row.claimed_by = None
    return None
