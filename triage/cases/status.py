"""The status model of a case: who may move it from which status to which (docs/status.md).

The one place where a staff action is checked against a case's status and the actor's role.
The worker moves open cases among the verdict statuses (``record_verdict``); staff close and
reopen them. Claims are not statuses, but they are checked here too so the rule stays in one place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from triage.db.models import OPEN_CASE_STATUSES, CaseStatus
from triage.errors import TriageError

CLOSED_STATUSES: Final = (CaseStatus.RESOLVED, CaseStatus.NOT_A_REQUEST)


class Action(enum.Enum):
    CLAIM = "claim"
    RELEASE = "release"
    RESOLVE = "resolve"
    NOT_A_REQUEST = "not_a_request"
    REOPEN = "reopen"
    CORRECT = "correct"  # a field by hand; the case is decided again
    ASK = "ask"  # the templated needs_info reply, sent by a person
    MERGE = "merge"  # another case of the same member into this one; decided again


#: Actions with a button of their own on the case page (the others have forms).
BUTTONS: Final = frozenset({"claim", "release", "resolve", "not_a_request", "reopen"})


class Role(enum.Enum):
    """Who acts (the staff roles by value, and the worker)."""

    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True)
class Rule:
    allowed_from: tuple[CaseStatus, ...]
    to: CaseStatus | None  # None: the status does not change
    roles: tuple[Role, ...] = (Role.AGENT, Role.ADMIN)
    # Refused when another person holds the claim (an admin may override).
    needs_own_claim: bool = True


RULES: Final[dict[Action, Rule]] = {
    Action.CLAIM: Rule(OPEN_CASE_STATUSES, None),
    Action.RELEASE: Rule(OPEN_CASE_STATUSES + CLOSED_STATUSES, None),
    Action.RESOLVE: Rule(OPEN_CASE_STATUSES, CaseStatus.RESOLVED),
    Action.NOT_A_REQUEST: Rule(OPEN_CASE_STATUSES, CaseStatus.NOT_A_REQUEST),
    Action.REOPEN: Rule(CLOSED_STATUSES, CaseStatus.QUEUED, needs_own_claim=False),
    # The next three leave the status to the verdict on the case's values (None here).
    Action.CORRECT: Rule(OPEN_CASE_STATUSES, None),
    Action.ASK: Rule(OPEN_CASE_STATUSES, CaseStatus.NEEDS_INFO),
    Action.MERGE: Rule(OPEN_CASE_STATUSES, None),
}


class TransitionRefused(TriageError):
    """A staff action the status model does not allow; ``reason`` is a message key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check(action: Action, status: CaseStatus, role: Role, *, claimed_by_other: bool) -> CaseStatus | None:
    """The status ``action`` moves the case to (None: unchanged), or :class:`TransitionRefused`."""
    rule = RULES[action]
    if role not in rule.roles:
        raise TransitionRefused("refused_role")
    if status not in rule.allowed_from:
        raise TransitionRefused("refused_status")
    if claimed_by_other and rule.needs_own_claim and role is not Role.ADMIN:
        raise TransitionRefused("refused_claimed")
    return rule.to


def allowed_actions(status: CaseStatus, role: Role, *, claimed_by_other: bool) -> list[Action]:
    """The actions a page offers for a case (the same rules as :func:`check`)."""
    out = []
    for action in Action:
        try:
            check(action, status, role, claimed_by_other=claimed_by_other)
        except TransitionRefused:
            continue
        out.append(action)
    return out
