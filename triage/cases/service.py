"""Cases: open one, merge a follow-up into it, rebuild its merged facts. Never commits.

A case holds values with their provenance (:class:`CaseValue`: which mail gave which value).
Merging a mail (architecture.md "cases"):
- a new valid value of a single-valued field fills the gap, or, when it differs from the value
  the case holds, replaces it; the old value stays, not current, with ``superseded_by`` the mail
  that changed it;
- list fields (e-mail addresses) are unioned;
- a field's invalid values are those of the latest mail that mentions the field: a later mail
  that gives the field again (valid or not) retires the earlier invalid values, so a member who
  corrects an au id is not asked for it again, and a member who repeats the mistake is.
The merged values are turned back into an :class:`Extraction`, so the same requirement code that
`triage check` runs decides the case again.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.ids import next_id
from triage.db.models import Case, CaseEvent, CaseStatus, CaseValue, InboundMessage
from triage.decide import Decision
from triage.engine.extract import Extraction, Found, Invalid
from triage.engine.spec import RuleSet
from triage.engine.text import Span
from triage.verdict import Verdict

# Crockford's base32 without I, L, O, U: nothing a member can misread when retyping it.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_DIGITS = "0123456789"
_REFERENCE_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"

_STATUS_OF: dict[Decision, CaseStatus] = {
    Decision.NEEDS_INFO: CaseStatus.NEEDS_INFO,
    Decision.ICLOUD_REJECTED: CaseStatus.ICLOUD_REJECTED,
    Decision.QUEUED: CaseStatus.QUEUED,
}


def status_for(decision: Decision) -> CaseStatus:
    """The case status a verdict puts a case in (only the three verdicts that make cases)."""
    try:
        return _STATUS_OF[decision]
    except KeyError:
        raise ValueError(f"decision {decision.value!r} makes no case") from None


def _candidate_reference() -> str:
    """`7Q4K-2M`: six characters with at least one letter and one digit, so it is never a number."""
    while True:
        chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        if any(c in _REFERENCE_LETTERS for c in chars) and any(c in _REFERENCE_DIGITS for c in chars):
            return f"{chars[:4]}-{chars[4:]}"


def new_reference(session: Session) -> str:
    """A reference no case has yet (32^6 ≈ 10^9 values; a clash is retried).

    Candidates are checked a block at a time, in one query, and kept for the rest of the
    transaction (another writer taking one of them before this commit would make the commit fail
    on the unique index, and the batch be retried: about one chance in 10^9 per case).
    """
    transaction = session.get_transaction()
    pool = session.info.get(_REFERENCES)
    if not isinstance(pool, _ReferencePool) or pool.transaction is not transaction:
        pool = session.info[_REFERENCES] = _ReferencePool(transaction)
    for _ in range(20):
        if pool.free:
            return pool.free.pop()
        candidates = {_candidate_reference() for _ in range(_REFERENCE_BLOCK)} - pool.given
        taken = set(session.scalars(_REFERENCES_TAKEN, {"references": sorted(candidates)}))
        pool.free = sorted(candidates - taken)
        pool.given |= candidates
    raise RuntimeError("could not find an unused case reference in 20 tries")


@dataclass
class _ReferencePool:
    transaction: object
    free: list[str] = field(default_factory=list)
    given: set[str] = field(default_factory=set)  # checked in this transaction (handed out or taken)


def add_event(
    session: Session,
    case_id: int,
    kind: str,
    now: dt.datetime,
    *,
    inbound_id: int | None = None,
    outbound_id: int | None = None,
    detail: dict[str, object] | None = None,
) -> CaseEvent:
    """Append to the case's history. ``detail`` holds names and reasons, never values."""
    event = CaseEvent(
        id=next_id(session, CaseEvent),  # None: the flush gives it
        case_id=case_id,
        at=now,
        kind=kind,
        inbound_id=inbound_id,
        outbound_id=outbound_id,
        detail=dict(detail or {}),
    )
    session.add(event)
    return event


def open_case(
    session: Session,
    *,
    mailbox: str,
    sender: str,
    language: str,
    inbound: InboundMessage,
    now: dt.datetime,
    parent: Case | None = None,
) -> Case:
    """A new case for ``inbound``, with no values yet (see :func:`merge_values`) and no verdict."""
    case = Case(
        id=next_id(session, Case, early=True),  # None: the flush gives it
        reference=new_reference(session),
        mailbox=mailbox,
        status=CaseStatus.NEEDS_INFO,
        sender=sender.lower(),
        language=language,
        created_at=now,
        updated_at=now,
        reason="",
        missing=[],
        invalid=[],
        parent_id=parent.id if parent is not None else None,
    )
    session.add(case)
    if case.id is None:
        session.flush()
    inbound.case_id = case.id
    add_event(
        session,
        case.id,
        "opened",
        now,
        inbound_id=inbound.id,
        detail={"follows_case": parent.id} if parent is not None else None,
    )
    return case


_REFERENCES_TAKEN = sa.select(Case.reference).where(
    Case.reference.in_(sa.bindparam("references", expanding=True))
)
_REFERENCES = "triage.case_references"  # session.info key
_REFERENCE_BLOCK = 16
_CURRENT_VALUES = (
    sa.select(CaseValue)
    .where(CaseValue.case_id == sa.bindparam("case_id"), CaseValue.current.is_(True))
    .order_by(CaseValue.id)
)


def _current_values(session: Session, case_id: int) -> list[CaseValue]:
    return list(session.scalars(_CURRENT_VALUES, {"case_id": case_id}))


@dataclass(frozen=True)
class MergeResult:
    added: tuple[str, ...]  # fields that had no valid value and now have one
    changed: tuple[str, ...]  # single-valued fields whose value was replaced
    invalid: tuple[str, ...]  # fields the mail gave only invalid values for
    # The values the case holds after the merge, oldest first (what merged_extraction would read
    # back once they are written): the verdict is made again from these, with no query.
    current: tuple[CaseValue, ...] = ()


def merge_values(
    session: Session,
    case: Case,
    extraction: Extraction,
    rules: RuleSet,
    *,
    inbound: InboundMessage,
    now: dt.datetime,
    fresh: bool = False,
) -> MergeResult:
    """Record the values of one mail's extraction in the case, with provenance (added to the
    session, written at its next flush). ``fresh``: the case was just opened and holds nothing."""
    current = [] if fresh else _current_values(session, case.id)
    valid_by_field: dict[str, list[CaseValue]] = {}
    invalid_by_field: dict[str, list[CaseValue]] = {}
    for row in current:
        (valid_by_field if row.valid else invalid_by_field).setdefault(row.field, []).append(row)

    mentioned = set(extraction.found) | {item.field for item in extraction.invalid}
    for field_name in mentioned:  # the latest mail mentioning a field owns its invalid values
        for row in invalid_by_field.get(field_name, ()):
            row.current = False
            row.superseded_by = inbound.id

    added: list[str] = []
    changed: list[str] = []
    made: list[CaseValue] = []

    def keep(row: CaseValue) -> None:
        session.add(row)
        made.append(row)

    for field_name, items in extraction.found.items():
        if not items:
            continue
        field_def = rules.fields.get(field_name)
        is_list = field_def.is_list if field_def is not None else False
        held = valid_by_field.get(field_name, [])
        held_values = [row.value for row in held]
        if not held:
            added.append(field_name)
        if is_list:
            for item in items:
                if item.value not in held_values:
                    keep(_value_row(session, case, item, inbound, now))
                    held_values.append(item.value)
            continue
        item = items[0]
        if held_values and item.value in held_values:
            continue  # the same value again: the first mail that gave it stays its source
        if held:
            changed.append(field_name)
            for row in held:
                row.current = False
                row.superseded_by = inbound.id
        keep(_value_row(session, case, item, inbound, now))

    only_invalid: list[str] = []
    for bad in extraction.invalid:
        keep(_invalid_row(session, case, bad, inbound, now))
        if bad.field not in extraction.found and bad.field not in only_invalid:
            only_invalid.append(bad.field)
    after = tuple(row for row in [*current, *made] if row.current)
    return MergeResult(tuple(sorted(added)), tuple(sorted(changed)), tuple(sorted(only_invalid)), after)


def _value_row(
    session: Session, case: Case, item: Found, inbound: InboundMessage, now: dt.datetime
) -> CaseValue:
    return CaseValue(
        id=next_id(session, CaseValue),
        case_id=case.id,
        field=item.field,
        value=item.value,
        written=item.written,
        valid=True,
        reason_ja=None,
        reason_en=None,
        source=item.source,
        line=item.line,
        spans=_spans_json(item.spans),
        cue=item.cue or None,
        inbound_id=inbound.id,
        recorded_at=now,
        current=True,
    )


def _invalid_row(
    session: Session, case: Case, bad: Invalid, inbound: InboundMessage, now: dt.datetime
) -> CaseValue:
    return CaseValue(
        id=next_id(session, CaseValue),
        case_id=case.id,
        field=bad.field,
        value=None,
        written=bad.written,
        valid=False,
        reason_ja=bad.reason_ja,
        reason_en=bad.reason_en,
        source=bad.source,
        line=bad.line,
        spans=_spans_json(bad.spans),
        cue=None,
        inbound_id=inbound.id,
        recorded_at=now,
        current=True,
    )


def _spans_json(spans: tuple[Span, ...]) -> list[list[int]] | None:
    return [[start, end] for start, end in spans] if spans else None


def _spans_back(stored: object) -> tuple[Span, ...]:
    """The stored JSON back as spans; None (a row older than revision 0003) or anything odd: none."""
    if not isinstance(stored, list):
        return ()
    spans: list[Span] = []
    for pair in stored:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair)):
            return ()
        spans.append((pair[0], pair[1]))
    return tuple(spans)


def merged_extraction(session: Session, case: Case) -> Extraction:
    """The case's current values as one :class:`Extraction`, oldest source first.

    Each value's spans index the text of the mail that gave it (its row's ``inbound_id``), not one
    common text; rows older than revision 0003 have none.
    """
    return extraction_of(_current_values(session, case.id))


def extraction_of(rows: Iterable[CaseValue]) -> Extraction:
    """Current value rows (oldest first) as one :class:`Extraction`."""
    merged = Extraction()
    for row in rows:
        spans = _spans_back(row.spans)
        if row.valid:
            value = row.value if isinstance(row.value, (str, int)) else str(row.value)
            merged.found.setdefault(row.field, []).append(
                Found(row.field, value, row.written, row.line, row.source, spans=spans, cue=row.cue or "")
            )
        else:
            merged.invalid.append(
                Invalid(
                    row.field,
                    row.written,
                    row.reason_ja or "",
                    row.reason_en or "",
                    row.line,
                    spans=spans,
                    source=row.source,
                )
            )
    return merged


def record_verdict(
    session: Session, case: Case, verdict: Verdict, *, inbound_id: int, now: dt.datetime
) -> None:
    """The case takes the verdict (status, reason, what is missing or blocking, language)."""
    case.status = status_for(verdict.decision)
    case.reason = verdict.reason
    case.missing = list(verdict.missing)
    case.invalid = list(verdict.blocking_invalid)
    case.language = verdict.language
    case.updated_at = now
    add_event(
        session, case.id, "decided", now, inbound_id=inbound_id, detail={"decision": verdict.decision.value}
    )
