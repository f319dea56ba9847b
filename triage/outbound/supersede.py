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

from collections.abc import Sequence
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
    return superseded_reasons(session, [row]).get(row.id)


_NEWEST: Final = (
    sa.select(OutboundMessage.case_id, sa.func.max(OutboundMessage.id))
    .where(
        OutboundMessage.case_id.in_(sa.bindparam("case_ids", expanding=True)),
        OutboundMessage.status.in_(REPLACING),
    )
    .group_by(OutboundMessage.case_id)
)
_CASE_STATUS: Final = (
    sa.select(Case.id, Case.status)
    .where(Case.id.in_(sa.bindparam("case_ids", expanding=True)))
    .order_by(Case.id)
    .with_for_update(read=True)
)
# By case first: ``ix_case_events_case_id_id`` finds the few events of these cases (there is no
# index on outbound_id, and the history grows by thousands of events a day).
_QUEUED_DETAIL: Final = (
    sa.select(CaseEvent.outbound_id, CaseEvent.detail)
    .where(
        CaseEvent.case_id.in_(sa.bindparam("case_ids", expanding=True)),
        CaseEvent.outbound_id.in_(sa.bindparam("ids", expanding=True)),
        CaseEvent.kind == QUEUED_EVENT,
    )
    .order_by(CaseEvent.id)
)


def superseded_reasons(session: Session, rows: Sequence[QueuedReply]) -> dict[int, str]:
    """:func:`superseded_reason` for several replies in three queries: the superseded ones, by id.

    The cases are read ``FOR SHARE`` in id order (PostgreSQL), in one statement.
    """
    with_case = [row for row in rows if row.case_id is not None]
    if not with_case:
        return {}
    case_ids = sorted({row.case_id for row in with_case if row.case_id is not None})
    found = session.execute(_NEWEST, {"case_ids": case_ids})
    newest = {case_id: newest_id for case_id, newest_id in found if case_id is not None}
    reasons: dict[int, str] = {}
    for row in with_case:
        newer = newest.get(row.case_id or 0)
        if newer is not None and newer > row.id:
            reasons[row.id] = f"superseded by reply {newer} (a newer verdict on the case)"
    rest = [row for row in with_case if row.id not in reasons]
    if not rest:
        return reasons
    locked = session.execute(_CASE_STATUS, {"case_ids": sorted({row.case_id or 0 for row in rest})})
    statuses = dict(locked.all())
    rest = [row for row in rest if row.case_id in statuses]  # a deleted case (retention): nothing to compare
    decisions: dict[int, str] = {}
    if rest:
        for outbound_id, detail in session.execute(
            _QUEUED_DETAIL,
            {"case_ids": sorted({row.case_id or 0 for row in rest}), "ids": [row.id for row in rest]},
        ):
            decision = detail.get("decision") if isinstance(detail, dict) else None
            if outbound_id is not None and isinstance(decision, str) and decision:
                decisions.setdefault(outbound_id, decision)
    for row in rest:
        status = statuses[row.case_id or 0]
        decision = decisions.get(row.id, row.template)
        if status.value != decision:
            reasons[row.id] = f"case is now {status.value}; this reply answered {decision}"
    return reasons
