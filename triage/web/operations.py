"""What admins fix by hand: parked failed mail (retry), dead-lettered replies (retry or drop),
staff sessions (end). Never commits; the page records each in the audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from triage.cases.service import add_event
from triage.config import Settings
from triage.db.models import OutboundMessage, OutboundStatus
from triage.listing import retry_inbound

__all__ = ["drop_reply", "retry_inbound", "retry_reply"]


def retry_reply(
    session: Session, reply_id: int, settings: Settings, *, now: dt.datetime, by: str
) -> str | None:
    """A dead reply goes back to the outbox with a fresh deadline; why not, or None when done."""
    row = session.get(OutboundMessage, reply_id)
    if row is None:
        return f"no reply {reply_id}"
    if row.status is not OutboundStatus.DEAD:
        return f"reply {reply_id} is {row.status.value}, not dead"
    if not row.raw:
        return f"reply {reply_id} was never composed"
    row.status = OutboundStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.give_up_at = now + dt.timedelta(seconds=settings.sender_give_up_seconds)
    row.claimed_by = None
    row.lease_until = None
    if row.case_id is not None:
        add_event(session, row.case_id, "reply_retried", now, outbound_id=row.id, detail={"by": by})
    return None


def drop_reply(session: Session, reply_id: int, *, now: dt.datetime, by: str) -> str | None:
    """A dead reply is given up for good (suppressed, with who dropped it)."""
    row = session.get(OutboundMessage, reply_id)
    if row is None:
        return f"no reply {reply_id}"
    if row.status is not OutboundStatus.DEAD:
        return f"reply {reply_id} is {row.status.value}, not dead"
    row.status = OutboundStatus.SUPPRESSED
    row.last_error = f"dropped by {by}; was: {row.last_error or '-'}"[:1000]
    if row.case_id is not None:
        add_event(session, row.case_id, "reply_dropped", now, outbound_id=row.id, detail={"by": by})
    return None
