"""Which case does a mail follow up? (autoreply.md §5, first match wins)

1. In-Reply-To or References names a reply we sent -> that reply's case;
2. ... or a member mail already in a case -> that case;
3. our case reference (`7Q4K-2M`) in the subject or text -> that case;
4. the same envelope sender to the same mailbox, with a case waiting for the member
   (needs_info or icloud_rejected) updated within the maximum age -> the newest such case.
Every rule stays within the mailbox: a mail to another mailbox is another request.
Also here: identical re-submissions, and lines of our own replies that come back in an answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage import textmatch
from triage.db.models import Case, CaseStatus, InboundMessage, OutboundMessage
from triage.engine.extract import light_normalise

MESSAGE_ID_MAX: Final = 255
# How many of the newest Message-IDs in References are looked up (a long thread is not a reason
# for a long query; RFC 5322 puts the newest last).
REFERENCES_LOOKED_UP: Final = 20
WAITING_STATUSES: Final = (CaseStatus.NEEDS_INFO, CaseStatus.ICLOUD_REJECTED)
# Statements run for (nearly) every mail, made once.
_WAITING_CASE = (
    sa.select(Case)
    .where(
        Case.mailbox == sa.bindparam("mailbox"),
        Case.sender == sa.bindparam("sender"),
        Case.status.in_(WAITING_STATUSES),
        Case.updated_at >= sa.bindparam("since"),
    )
    .order_by(Case.updated_at.desc(), Case.id.desc())
    .limit(1)
)
_SAME_TEXT_CASE = (
    sa.select(Case)
    .join(InboundMessage, InboundMessage.case_id == Case.id)
    .where(
        InboundMessage.text_hash == sa.bindparam("digest"),
        InboundMessage.id != sa.bindparam("exclude"),
        Case.mailbox == sa.bindparam("mailbox"),
        Case.sender == sa.bindparam("sender"),
        Case.status != CaseStatus.RESOLVED,
    )
    .order_by(Case.id.desc())
    .limit(1)
)


_REFERENCE = textmatch.compile(
    r"(?<![0-9A-Za-z])([0-9A-Za-z]{4})[-‐－ー]([0-9A-Za-z]{2})(?![0-9A-Za-z])", name="followup.case-reference"
)


def case_references(texts: Iterable[str]) -> list[str]:
    """Every case reference (`7Q4K-2M`) written in ``texts``, upper-cased and sorted; a text whose
    search runs out of time is skipped (noted), the others still count."""
    found: set[str] = set()
    for text in texts:
        try:
            found.update(f"{a.upper()}-{b.upper()}" for a, b in _REFERENCE.findall(text))
        except textmatch.MatchTimeout:
            textmatch.note_timeout("followup: case reference not looked for in one text")
    return sorted(found)


def clean_message_id(value: str | None) -> str | None:
    """`<abc@host>` -> `abc@host`, capped as stored; None for nothing."""
    if value is None:
        return None
    cleaned = value.strip().strip("<>").strip()
    return cleaned[:MESSAGE_ID_MAX] or None


@dataclass(frozen=True)
class Match:
    case: Case
    rule: str  # "our-reply", "thread", "reference", "same-sender"


def find_case(
    session: Session,
    *,
    mailbox: str,
    sender: str | None,
    thread_ids: Sequence[str],
    texts: Iterable[str],
    exclude_inbound_id: int,
    now: dt.datetime,
    max_age_days: int,
    waiting: Callable[[str, str, dt.datetime], Case | None] | None = None,
) -> Match | None:
    """The case this mail follows up, by the first rule that finds one (see the module).
    ``waiting``: rule 4's answer from rows fetched beforehand (worker/lookups.py), if it has one."""
    ids = [cleaned for cleaned in map(clean_message_id, thread_ids) if cleaned][-REFERENCES_LOOKED_UP:]
    if ids:
        case = session.scalar(
            sa.select(Case)
            .join(OutboundMessage, OutboundMessage.case_id == Case.id)
            .where(OutboundMessage.message_id.in_(ids), Case.mailbox == mailbox)
            .order_by(OutboundMessage.id.desc())
            .limit(1)
        )
        if case is not None:
            return Match(case, "our-reply")
        case = session.scalar(
            sa.select(Case)
            .join(InboundMessage, InboundMessage.case_id == Case.id)
            .where(
                InboundMessage.message_id.in_(ids),
                InboundMessage.id != exclude_inbound_id,
                Case.mailbox == mailbox,
            )
            .order_by(InboundMessage.id.desc())
            .limit(1)
        )
        if case is not None:
            return Match(case, "thread")
    references = case_references(texts)
    if references:
        case = session.scalar(
            sa.select(Case)
            .where(Case.reference.in_(references), Case.mailbox == mailbox)
            .order_by(Case.id.desc())
            .limit(1)
        )
        if case is not None:
            return Match(case, "reference")
    if sender:
        since = now - dt.timedelta(days=max_age_days)
        if waiting is not None:
            case = waiting(mailbox, sender.lower(), since)
        else:
            case = session.scalar(
                _WAITING_CASE, {"mailbox": mailbox, "sender": sender.lower(), "since": since}
            )
        if case is not None:
            return Match(case, "same-sender")
    return None


def text_hash(text: str) -> str:
    """SHA-256 of the member's own text, normalised: blank lines, widths and spacing don't count."""
    lines = [light_normalise(line) for line in text.splitlines()]
    return hashlib.sha256("\n".join(line for line in lines if line).encode("utf-8")).hexdigest()


def identical_submission(
    session: Session, *, mailbox: str, sender: str | None, digest: str, exclude_inbound_id: int
) -> Case | None:
    """An open case that already holds a mail with the same text from the same sender."""
    if not sender:
        return None
    return session.scalar(
        _SAME_TEXT_CASE,
        {"digest": digest, "exclude": exclude_inbound_id, "mailbox": mailbox, "sender": sender.lower()},
    )


def _line_key(line: str) -> str:
    return light_normalise(line.lstrip(" \t>＞|")).casefold()


def strip_our_lines(text: str, replies: Iterable[str], *, min_run: int = 2) -> tuple[str, int]:
    """Remove runs of our own reply's lines that came back in the member's answer.

    The surest quote marker needs no wording (autoreply.md §6): lines of a reply we rendered are
    not the member's words. Only runs of ``min_run`` or more such lines (blank lines between them
    don't break a run) go: a member who pastes one label of our list and writes the value on the
    next line keeps that label. Returns (text, number of lines removed).
    """
    ours = {key for body in replies for key in map(_line_key, body.splitlines()) if len(key) >= 2}
    if not ours:
        return text, 0
    lines = text.splitlines()
    keys = [_line_key(line) for line in lines]
    drop: set[int] = set()
    run: list[int] = []

    def close_run() -> None:
        if len(run) >= min_run:
            drop.update(run)
        run.clear()

    for index, key in enumerate(keys):
        if not key:
            continue
        if key in ours:
            run.append(index)
        else:
            close_run()
    close_run()
    if not drop:
        return text, 0
    kept = [line for index, line in enumerate(lines) if index not in drop]
    return "\n".join(kept), len(drop)
