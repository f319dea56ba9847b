"""Staff actions on a case: claim, release, resolve, not a request, reopen. Never commits.

Each action locks the case row, refuses when the case changed since the page was loaded (the
page's version is the id of the last change in the case's history: never last-write-wins),
asks the status model (triage.cases.status) whether this person may do it now, then records the
change in the case's history and the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.cases.service import add_event
from triage.cases.status import Action, Role, TransitionRefused, check
from triage.db.models import Case, CaseEvent
from triage.db.staff import CaseClaim
from triage.errors import TriageError
from triage.web import audit
from triage.web.casedata import NOT_CHANGES, claim_of, version

NOTE_MAX: Final = 2000


class VersionConflict(TriageError):
    """The case changed after the page was loaded; ``changes`` are the events since."""

    def __init__(self, changes: list[CaseEvent]) -> None:
        super().__init__("case changed")
        self.changes = changes


@dataclass(frozen=True)
class Actor:
    staff_id: int
    name: str
    role: str
    address: str


def act(
    session: Session,
    case_id: int,
    action: Action,
    actor: Actor,
    *,
    expected_version: int,
    now: dt.datetime,
    note: str = "",
) -> Case | None:
    """Do ``action``; the case, or None when there is no such case."""
    case = session.scalar(sa.select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        return None
    current_version = version(session, case_id)
    if current_version != expected_version:
        changes = list(
            session.scalars(
                sa.select(CaseEvent)
                .where(
                    CaseEvent.case_id == case_id,
                    CaseEvent.id > expected_version,
                    CaseEvent.kind.not_in(NOT_CHANGES),
                )
                .order_by(CaseEvent.id)
            )
        )
        raise VersionConflict(changes)
    claim = claim_of(session, case_id)
    claimed_by_other = claim is not None and claim[0] != actor.staff_id
    target = check(action, case.status, Role(actor.role), claimed_by_other=claimed_by_other)
    detail: dict[str, object] = {"by": actor.name}
    if action is Action.CLAIM:
        if claim is not None and not claimed_by_other:
            raise TransitionRefused("refused_claimed_self")
        session.execute(sa.delete(CaseClaim).where(CaseClaim.case_id == case_id))
        session.add(CaseClaim(case_id=case_id, staff_id=actor.staff_id, claimed_at=now))
        if claim is not None:
            detail["from"] = claim[1]
    elif action is Action.RELEASE:
        if claim is None:
            raise TransitionRefused("refused_not_claimed")
        session.execute(sa.delete(CaseClaim).where(CaseClaim.case_id == case_id))
    else:
        if target is not None:
            detail["from_status"] = case.status.value
            case.status = target
        if action in (Action.RESOLVE, Action.NOT_A_REQUEST):
            session.execute(sa.delete(CaseClaim).where(CaseClaim.case_id == case_id))
        if note.strip():
            detail["note"] = note.strip()[:NOTE_MAX]
    case.updated_at = now
    add_event(session, case_id, action.value, now, detail=detail)
    audit.record(
        session,
        now=now,
        actor=actor.name,
        address=actor.address,
        action=action.value,
        staff_id=actor.staff_id,
        case_id=case_id,
    )
    session.flush()
    return case
