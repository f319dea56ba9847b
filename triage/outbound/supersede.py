"""Is a queued reply still true when the sender takes it? (issue 10, "the member's reply")

A reply answers one verdict on its case. It is superseded, and never sent, when by the time the
sender claims it

- a newer reply to the same case is waiting, being sent or sent (the member's follow-up was
  decided again and answered: "please send the missing items" must not arrive beside "all
  received"), or
- the case no longer stands where the reply says it does (the case moved on without a new reply,
  e.g. staff resolved it while the acknowledgement waited for the relay).

Pure queries in the caller's transaction; the answer names ids and statuses, never values.
"""

from __future__ import annotations

from typing import Final, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import Case, CaseEvent, OutboundMessage, OutboundStatus

#: A newer reply in one of these statuses replaces an older one (suppressed or dead ones do not).
REPLACING: Final = (
    OutboundStatus.PENDING,
    OutboundStatus.SENDING,
    OutboundStatus.DELIVERY_UNKNOWN,
    OutboundStatus.SENT,
)
QUEUED_EVENT: Final = "reply_queued"


class QueuedReply(Protocol):
    """What the checks read of a reply (an ``OutboundMessage`` or the sender's lighter row)."""

    @property
    def id(self) -> int: ...
    @property
    def case_id(self) -> int | None: ...
    @property
    def template(self) -> str: ...


def reply_decision(session: Session, row: QueuedReply) -> str:
    """The verdict the reply answers: recorded when it was queued, else its template's name."""
    detail = session.scalar(
        sa.select(CaseEvent.detail)
        .where(CaseEvent.outbound_id == row.id, CaseEvent.kind == QUEUED_EVENT)
        .order_by(CaseEvent.id)
        .limit(1)
    )
    decision = detail.get("decision") if isinstance(detail, dict) else None
    return decision if isinstance(decision, str) and decision else row.template


def superseded_reason(session: Session, row: QueuedReply) -> str | None:
    """Why ``row`` is no longer true (one line, no personal data), or None while it still is.

    On PostgreSQL the case row is read ``FOR SHARE``: a worker merging a follow-up into the case
    (which locks it ``FOR UPDATE``) either finished before this claim or waits for it.
    """
    if row.case_id is None:
        return None
    newer = session.scalar(
        sa.select(OutboundMessage.id)
        .where(
            OutboundMessage.case_id == row.case_id,
            OutboundMessage.id > row.id,
            OutboundMessage.status.in_(REPLACING),
        )
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )
    if newer is not None:
        return f"superseded by reply {newer} (a newer verdict on the case)"
    status = session.scalar(sa.select(Case.status).where(Case.id == row.case_id).with_for_update(read=True))
    if status is None:
        return None  # the case was deleted (retention): nothing newer to compare with
    decision = reply_decision(session, row)
    if status.value != decision:
        return f"case is now {status.value}; this reply answered {decision}"
    return None
