"""What `triage queue list`, `triage case show` and `triage outbox list` show, as plain dicts.

Lists mask personal data (security.md §3): the sender and reply recipient as ``ta***@example.jp``,
relay errors through the logging net. One case (the case page equivalent) shows values in full,
except fields marked ``sensitive`` in rules/fields.yaml, which are masked unless revealed; a
reveal is recorded in the case's history (docs/decisions.md "Staff commands").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only, sessionmaker

from triage.authenticity.marks import case_marks_json
from triage.cases.service import add_event
from triage.db.engine import SQLITE_BEGIN
from triage.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseValue,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.engine.spec import FieldDef
from triage.masking import MASKS, mask_email, mask_text, mask_value


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
_OUTBOX_COLUMNS: Final = load_only(
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
_INBOUND_COLUMNS: Final = load_only(
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
    query = sa.select(OutboundMessage).options(_OUTBOX_COLUMNS).order_by(OutboundMessage.id)
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
    query = sa.select(InboundMessage).options(_INBOUND_COLUMNS).order_by(InboundMessage.id)
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


# -- one case ----------------------------------------------------------------------------------


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
            .options(_INBOUND_COLUMNS)
            .where(InboundMessage.case_id == case.id)
            .order_by(InboundMessage.id)
        )
    )
    replies = session.scalars(
        sa.select(OutboundMessage)
        .options(_OUTBOX_COLUMNS)
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
