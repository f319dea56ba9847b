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
from triage.cases.status import RULES, Action, Role, TransitionRefused, check
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
    staff_id: int | None  # None: an operating-system user at the command line (acts as admin)
    name: str
    role: str
    address: str


def begin(
    session: Session, case_id: int, action: Action, actor: Actor, *, expected_version: int | None
) -> Case | None:
    """Lock the case, check its version (None: a script that takes the case as it is now) and the
    status model; the case, or None if there is none."""
    case = session.scalar(sa.select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        return None
    if expected_version is not None and version(session, case_id) != expected_version:
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
    check(
        action,
        case.status,
        Role(actor.role),
        claimed_by_other=claim is not None and claim[0] != actor.staff_id,
    )
    return case


def finish(
    session: Session,
    case: Case,
    action: Action,
    actor: Actor,
    *,
    now: dt.datetime,
    detail: dict[str, object] | None = None,
    fields: tuple[str, ...] = (),
) -> None:
    """Record a done action: the case's history (unless the edit wrote its own) and the audit log."""
    case.updated_at = now
    if detail is not None:
        add_event(session, case.id, action.value, now, detail={"by": actor.name, **detail})
    audit.record(
        session,
        now=now,
        actor=actor.name,
        address=actor.address,
        action=action.value,
        staff_id=actor.staff_id,
        case_id=case.id,
        fields=fields,
    )
    session.flush()


def act(
    session: Session,
    case_id: int,
    action: Action,
    actor: Actor,
    *,
    expected_version: int | None,
    now: dt.datetime,
    note: str = "",
) -> Case | None:
    """Claim, release, resolve, not a request or reopen; the case, or None when there is none."""
    case = begin(session, case_id, action, actor, expected_version=expected_version)
    if case is None:
        return None
    claim = claim_of(session, case_id)
    target = RULES[action].to
    detail: dict[str, object] = {}
    if action is Action.CLAIM:
        if claim is not None and claim[0] == actor.staff_id:
            raise TransitionRefused("refused_claimed_self")
        session.execute(sa.delete(CaseClaim).where(CaseClaim.case_id == case_id))
        if actor.staff_id is None:
            raise TransitionRefused("refused_no_account")
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
    finish(session, case, action, actor, now=now, detail=detail)
    return case
