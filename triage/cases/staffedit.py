"""Staff edits of a case's values: a field corrected by hand, two cases of one member merged,
and the verdict made again on the result. Never commits; sends nothing (replies from staff
actions are always explicit, see triage/web/ask.py).

A corrected value is a ``case_values`` row with source ``staff`` (its author and time in
``staff_values``); the values it replaces stay, no longer current. A merge moves the other
case's mails, values and replies to this case, each value keeping the mail it came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.cases.service import add_event, merged_extraction, status_for
from triage.config import Settings
from triage.db.ids import next_id
from triage.db.models import Case, CaseStatus, CaseValue, InboundMessage, OutboundMessage
from triage.db.staff import CaseClaim, StaffValue
from triage.decide import Facts, decide, reason
from triage.engine.fields import VALIDATORS, Bad, FieldContext
from triage.engine.requirements import evaluate
from triage.engine.spec import RuleSet
from triage.errors import TriageError

WRITTEN_MAX = 2000


class EditRefused(TriageError):
    """The edit cannot be made; ``key`` names the reason for the page, ``detail`` any text."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True)
class Author:
    staff_id: int | None
    name: str


def redecide(session: Session, case: Case, rules: RuleSet, settings: Settings, *, now: dt.datetime) -> str:
    """The verdict on the case's current values (no reply); the decision's value."""
    session.flush()
    pack = rules.packs.get(case.mailbox)
    if pack is None:
        raise EditRefused("unknown_mailbox", case.mailbox)
    missing, blocking = evaluate(pack, merged_extraction(session, case))
    icloud = case.sender.rpartition("@")[2] in settings.icloud_domains
    facts = Facts(case.mailbox, (), icloud, missing, blocking)
    decision = decide(facts)
    case.status = status_for(decision)
    case.reason = reason(decision, facts)
    case.missing = list(missing)
    case.invalid = list(blocking)
    case.updated_at = now
    return decision.value


def _latest_inbound(session: Session, case_id: int) -> int:
    inbound_id = session.scalar(
        sa.select(sa.func.max(InboundMessage.id)).where(InboundMessage.case_id == case_id)
    )
    if inbound_id is None:
        raise EditRefused("no_mail")
    return int(inbound_id)


def correct_field(
    session: Session,
    case: Case,
    field: str,
    written: str,
    rules: RuleSet,
    *,
    author: Author,
    today: dt.date,
    now: dt.datetime,
) -> None:
    """Replace the field's current values by the staff's value, checked like the member's."""
    definition = rules.fields.get(field)
    if definition is None:
        raise EditRefused("unknown_field", field)
    written = written.strip()[:WRITTEN_MAX]
    if not written:
        raise EditRefused("empty_value")
    result = VALIDATORS[definition.validator](written, FieldContext(today=today))
    if result is None or isinstance(result, Bad):
        raise EditRefused("invalid_value", result.reason_ja if isinstance(result, Bad) else "")
    value = result.value
    inbound_id = _latest_inbound(session, case.id)
    for row in session.scalars(
        sa.select(CaseValue).where(CaseValue.case_id == case.id, CaseValue.field == field, CaseValue.current)
    ):
        row.current = False
    values = value if isinstance(value, list) and definition.is_list else [value]
    for item in values:
        row = CaseValue(
            id=next_id(session, CaseValue),  # as every new value row's (triage/db/ids.py)
            case_id=case.id,
            field=field,
            value=item,
            written=written,
            valid=True,
            reason_ja=None,
            reason_en=None,
            source="staff",
            line=0,
            inbound_id=inbound_id,
            recorded_at=now,
            current=True,
        )
        session.add(row)
        session.flush()
        session.add(StaffValue(case_value_id=row.id, staff_id=author.staff_id, author=author.name, at=now))
    add_event(session, case.id, "corrected", now, detail={"field": field, "by": author.name})


def merge_cases(
    session: Session, into: Case, other: Case, rules: RuleSet, *, author: Author, now: dt.datetime
) -> None:
    """Move ``other``'s mails, values and replies into ``into``; ``other`` is closed as merged.

    Both must be open cases of the same mailbox and sender. Values keep their source mail; a
    single-valued field both hold keeps ``into``'s value current (staff correct it if needed).
    """
    if other.id == into.id:
        raise EditRefused("merge_same")
    if other.mailbox != into.mailbox or other.sender != into.sender:
        raise EditRefused("merge_other_member")
    if other.status not in (CaseStatus.NEEDS_INFO, CaseStatus.ICLOUD_REJECTED, CaseStatus.QUEUED):
        raise EditRefused("refused_status")
    held = set(
        session.scalars(
            sa.select(CaseValue.field).where(CaseValue.case_id == into.id, CaseValue.current, CaseValue.valid)
        )
    )
    for row in session.scalars(sa.select(CaseValue).where(CaseValue.case_id == other.id)):
        row.case_id = into.id
        definition = rules.fields.get(row.field)
        if row.current and row.field in held and not (definition is not None and definition.is_list):
            row.current = False
    session.execute(
        sa.update(InboundMessage).where(InboundMessage.case_id == other.id).values(case_id=into.id)
    )
    session.execute(
        sa.update(OutboundMessage).where(OutboundMessage.case_id == other.id).values(case_id=into.id)
    )
    session.execute(sa.delete(CaseClaim).where(CaseClaim.case_id == other.id))
    other.status = CaseStatus.RESOLVED
    other.reason = f"merged into case {into.id}"
    other.updated_at = now
    add_event(session, other.id, "merged_into", now, detail={"case": into.id, "by": author.name})
    add_event(session, into.id, "merged", now, detail={"case": other.id, "by": author.name})
