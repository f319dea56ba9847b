"""What `triage case show` shows of one case (the case page's equivalent), as a plain dict.

Values are shown in full, except fields marked ``sensitive`` in rules/fields.yaml, which are masked
unless revealed; a reveal is recorded in the case's history (docs/decisions.md "Staff commands").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.authenticity.marks import case_marks_json
from triage.cases.service import add_event
from triage.db.engine import SQLITE_BEGIN
from triage.db.models import Case, CaseEvent, CaseValue, InboundMessage, OutboundMessage
from triage.engine.spec import FieldDef
from triage.listing import INBOUND_COLUMNS, OUTBOX_COLUMNS, iso
from triage.masking import MASKS, mask_value


def find_case(session: Session, ident: str) -> Case | None:
    """The case with id ``ident`` (digits) or reference ``ident`` (`7Q4K-2M`, any case)."""
    ident = ident.strip()
    if ident.isascii() and ident.isdigit():
        return session.get(Case, int(ident))
    return session.scalar(sa.select(Case).where(Case.reference == ident.upper()))


def is_sensitive(field: str, fields: Mapping[str, FieldDef]) -> bool:
    """Marked ``sensitive`` in rules/fields.yaml (or in the masking table, to be safe)."""
    definition = fields.get(field)
    return field in MASKS or (definition is not None and definition.sensitive)


def sensitive_fields_held(session: Session, case: Case, fields: Mapping[str, FieldDef]) -> list[str]:
    """The sensitive fields the case holds any value for (current or replaced), sorted."""
    names = session.scalars(sa.select(CaseValue.field).where(CaseValue.case_id == case.id).distinct())
    return sorted(name for name in names if is_sensitive(name, fields))


def record_reveal(
    session: Session, case: Case, revealed: Iterable[str], *, now: dt.datetime, user: str
) -> None:
    """Audit a reveal in the case's history: who, how, which fields (names, never values)."""
    add_event(
        session, case.id, "revealed", now, detail={"via": "cli", "user": user, "fields": list(revealed)}
    )


def _field_order(fields: Mapping[str, FieldDef]) -> dict[str, int]:
    return {name: index for index, name in enumerate(fields)}


def _shown(field: str, value: object, *, masked: bool) -> object:
    if value is None:
        return None
    return mask_value(field, value, sensitive=True) if masked else value


def _value_json(row: CaseValue, fields: Mapping[str, FieldDef], *, reveal: bool) -> dict[str, Any]:
    sensitive = is_sensitive(row.field, fields)
    masked = sensitive and not reveal
    data: dict[str, Any] = {
        "field": row.field,
        "value": _shown(row.field, row.value, masked=masked),
        "written": _shown(row.field, row.written, masked=masked),
        "valid": row.valid,
        "inbound_id": row.inbound_id,
        "source": row.source,
        "line": row.line,
        # Where the value stands in its mail's text (the page highlights it); null before 0003.
        "spans": row.spans,
        "cue": row.cue,
        "recorded_at": iso(row.recorded_at),
        "sensitive": sensitive,
        "masked": masked,
    }
    if not row.valid:
        data["reason_ja"] = row.reason_ja
        data["reason_en"] = row.reason_en
    if not row.current:
        data["superseded_by"] = row.superseded_by
    return data


def case_detail(
    session: Session, case: Case, fields: Mapping[str, FieldDef], *, reveal: bool = False
) -> dict[str, Any]:
    """One case: its verdict, values with their source mail, history, mails and replies.

    ``fields`` holds the current values (valid and invalid, in the order of rules/fields.yaml),
    ``replaced`` the values a later mail changed or retired, each with the mail that did it.
    """
    order = _field_order(fields)
    values = sorted(
        session.scalars(sa.select(CaseValue).where(CaseValue.case_id == case.id)),
        key=lambda row: (order.get(row.field, len(order)), row.field, row.id),
    )
    events = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    mails = list(
        session.scalars(
            sa.select(InboundMessage)
            .options(INBOUND_COLUMNS)
            .where(InboundMessage.case_id == case.id)
            .order_by(InboundMessage.id)
        )
    )
    replies = session.scalars(
        sa.select(OutboundMessage)
        .options(OUTBOX_COLUMNS)
        .where(OutboundMessage.case_id == case.id)
        .order_by(OutboundMessage.id)
    )
    return {
        "id": case.id,
        "reference": case.reference,
        "mailbox": case.mailbox,
        "status": case.status.value,
        "sender": case.sender,
        "language": case.language,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "reason": case.reason,
        "missing": list(case.missing),
        "invalid": list(case.invalid),
        "parent_id": case.parent_id,
        "fields": [_value_json(row, fields, reveal=reveal) for row in values if row.current],
        "replaced": [_value_json(row, fields, reveal=reveal) for row in values if not row.current],
        "history": [
            {
                "id": event.id,
                "at": iso(event.at),
                "kind": event.kind,
                "inbound_id": event.inbound_id,
                "outbound_id": event.outbound_id,
                "detail": dict(event.detail or {}),
            }
            for event in events
        ],
        "mails": [
            {
                "inbound_id": mail.id,
                "received_at": iso(mail.received_at),
                "origin": mail.origin,
                "status": mail.status.value,
                "decision": mail.decision,
                "reason": mail.reason,
                "notes": list(mail.notes or []),
            }
            for mail in mails
        ],
        "replies": [
            {
                "id": reply.id,
                "inbound_id": reply.inbound_id,
                "template": reply.template,
                "language": reply.language,
                "to": reply.to_addr,
                "subject": reply.subject,
                "status": reply.status.value,
                "attempts": reply.attempts,
                "created_at": iso(reply.created_at),
                "next_attempt_at": iso(reply.next_attempt_at),
                "sent_at": iso(reply.sent_at),
                "last_error": reply.last_error,
            }
            for reply in replies
        ],
        # The sender mark and the mails that cannot be answered (triage/authenticity/marks.py).
        **case_marks_json((mail.id, mail.notes or []) for mail in mails),
    }


def show_case(
    sessions: sessionmaker[Session],
    ident: str,
    fields: Mapping[str, FieldDef],
    *,
    reveal: bool,
    user: str,
    now: dt.datetime,
) -> dict[str, Any] | None:
    """:func:`case_detail` of the case ``ident`` names, or None. With ``reveal``, the reveal of
    the sensitive fields the case holds is committed to its history first (security.md §3:
    "each reveal audited"), in a write transaction of its own."""
    with sessions() as session:
        case = find_case(session, ident)
        if case is None:
            return None
        case_id = case.id
        held = sensitive_fields_held(session, case, fields) if reveal else []
    if held:
        with sessions() as session:
            session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            case = session.get(Case, case_id)
            if case is None:  # deleted in between
                return None
            record_reveal(session, case, held, now=now, user=user)
            session.commit()
    with sessions() as session:
        case = session.get(Case, case_id)
        return None if case is None else case_detail(session, case, fields, reveal=reveal)
