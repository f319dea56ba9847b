"""Everything the case page shows, read in one transaction: values beside the mails they came
from, the thread of mails and replies in order, the verdict's reasons, the claim, the version.

Sensitive values (rules/fields.yaml ``sensitive``) are masked unless named in ``revealed``, in
the field list and in the highlighted text alike. Mail bodies are plain text here; the template
escapes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.authenticity.marks import SenderMark, Unanswerable, case_marks
from triage.casedetail import is_sensitive
from triage.db.models import Case, CaseEvent, CaseValue, InboundMessage, OutboundMessage
from triage.db.staff import CaseClaim, StaffUser, StaffValue
from triage.engine.spec import FieldDef
from triage.masking import mask_value
from triage.parsing.mime import parse_mail
from triage.web.highlight import Mark, Segment, find_ranges, segments

# History kinds that do not change the case (a version is the last event of any other kind).
NOT_CHANGES = ("revealed",)


@dataclass(frozen=True)
class ValueView:
    id: int
    field: str
    shown: str
    valid: bool
    reason: str | None
    sensitive: bool
    masked: bool
    inbound_id: int
    source: str
    line: int
    current: bool
    found: bool  # highlighted somewhere in its mail's text
    author: str | None = None  # who entered it by hand (source "staff")


@dataclass
class ThreadItem:
    kind: str  # "inbound" or "reply"
    at: dt.datetime
    id: int
    subject: str
    segments: list[Segment] = field(default_factory=list)
    quoted: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = ""
    detail: str = ""


@dataclass
class CaseView:
    case: Case
    values: list[ValueView]
    thread: list[ThreadItem]
    history: list[CaseEvent]
    claimed_by: str | None
    claimed_by_id: int | None
    version: int
    sensitive_held: list[str]
    # The worst sender mark of the case's mails and those that cannot be answered (authenticity/).
    sender_mark: SenderMark | None = None
    unanswerable: list[Unanswerable] = field(default_factory=list)


def version(session: Session, case_id: int) -> int:
    """The id of the case's last change in its history (0 if none): the optimistic version."""
    return int(
        session.scalar(
            sa.select(sa.func.max(CaseEvent.id)).where(
                CaseEvent.case_id == case_id, CaseEvent.kind.not_in(NOT_CHANGES)
            )
        )
        or 0
    )


def claim_of(session: Session, case_id: int) -> tuple[int, str] | None:
    row = session.execute(
        sa.select(StaffUser.id, StaffUser.name)
        .join(CaseClaim, CaseClaim.staff_id == StaffUser.id)
        .where(CaseClaim.case_id == case_id)
    ).first()
    return (int(row[0]), str(row[1])) if row is not None else None


def ranges_for(row: CaseValue, text: str) -> list[tuple[int, int]]:
    """Where the value is in its mail's text: the engine's spans (character offsets into the
    member's own text, one range per piece); rows written before spans were kept are searched."""
    spans = row.spans if isinstance(row.spans, list) else []
    ranges = [
        (int(pair[0]), int(pair[1]))
        for pair in spans
        if isinstance(pair, (list, tuple))
        and len(pair) == 2
        and 0 <= int(pair[0]) < int(pair[1]) <= len(text)
    ]
    return ranges or find_ranges(text, row.written, row.line)


def load_case_view(
    session: Session,
    case: Case,
    fields: Mapping[str, FieldDef],
    *,
    revealed: Collection[str],
    language: str,
) -> CaseView:
    order = {name: index for index, name in enumerate(fields)}
    rows = sorted(
        session.scalars(sa.select(CaseValue).where(CaseValue.case_id == case.id)),
        key=lambda r: (not r.current, order.get(r.field, len(order)), r.field, r.id),
    )
    mails = list(
        session.scalars(
            sa.select(InboundMessage).where(InboundMessage.case_id == case.id).order_by(InboundMessage.id)
        )
    )
    replies = list(
        session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.case_id == case.id).order_by(OutboundMessage.id)
        )
    )
    found_ids: set[int] = set()
    thread: list[ThreadItem] = []
    for mail in mails:
        parsed = parse_mail(mail.raw)
        text = parsed.text.replace("\r\n", "\n").replace("\x00", "")
        marks: list[Mark] = []
        for row in rows:
            if row.inbound_id != mail.id or row.source == "staff":
                continue
            masked = is_sensitive(row.field, fields) and row.field not in revealed
            for start, end in ranges_for(row, text):
                marks.append(Mark(start, end, row.field, masked))
                found_ids.add(row.id)
        thread.append(
            ThreadItem(
                kind="inbound",
                at=mail.received_at,
                id=mail.id,
                subject=parsed.subject.replace("\x00", ""),
                segments=segments(text, marks),
                quoted=parsed.quoted.replace("\x00", ""),
                attachments=[
                    {"name": item.filename or "-", "type": item.content_type, "size": item.size}
                    for item in parsed.attachments
                ],
                notes=list(mail.notes or []),
                status=mail.decision or mail.status.value,
                detail=mail.reason or "",
            )
        )
    for reply in replies:
        thread.append(
            ThreadItem(
                kind="reply",
                at=reply.created_at,
                id=reply.id,
                subject=reply.subject,
                segments=[Segment(reply.body)],
                status=reply.status.value,
                detail=reply.template,
            )
        )
    thread.sort(key=lambda item: (item.at, item.kind != "inbound", item.id))
    authors = dict(
        session.execute(
            sa.select(StaffValue.case_value_id, StaffValue.author).where(
                StaffValue.case_value_id.in_([row.id for row in rows if row.source == "staff"])
            )
        ).all()
    )
    values = []
    for row in rows:
        sensitive = is_sensitive(row.field, fields)
        masked = sensitive and row.field not in revealed
        raw = row.value if row.valid and row.value is not None else row.written
        values.append(
            ValueView(
                id=row.id,
                field=row.field,
                shown=mask_value(row.field, raw, sensitive=True) if masked else str(raw),
                valid=row.valid,
                reason=(row.reason_en if language == "en" else row.reason_ja) if not row.valid else None,
                sensitive=sensitive,
                masked=masked,
                inbound_id=row.inbound_id,
                source=row.source,
                line=row.line,
                current=row.current,
                found=row.id in found_ids or row.source == "staff",
                author=authors.get(row.id),
            )
        )
    history = list(
        session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    )
    claim = claim_of(session, case.id)
    sender_mark, unanswerable = case_marks((mail.id, mail.notes or []) for mail in mails)
    return CaseView(
        case=case,
        values=values,
        thread=thread,
        history=history,
        claimed_by=claim[1] if claim else None,
        claimed_by_id=claim[0] if claim else None,
        version=version(session, case.id),
        sensitive_held=sorted({v.field for v in values if v.sensitive}),
        sender_mark=sender_mark,
        unanswerable=unanswerable,
    )
