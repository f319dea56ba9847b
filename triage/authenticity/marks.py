"""The sender mark and the "cannot be answered" flag as notes on the stored mail, and back.

The worker writes them (one line each) on the mail's notes, beside the parser's; the case page,
`case show` and `inbound list --json` read them from there, so no column is needed. A case shows
the worst sender mark of its mails (not verified, then unchecked, then verified; the latest mail
on a tie) and every mail of it that cannot be answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from triage.authenticity.check import SEVERITY, SenderCheck, SenderStatus, check_sender
from triage.config import Settings
from triage.decide import Decision
from triage.outbound.compose import address_problem
from triage.parsing.model import ParsedMail
from triage.verdict import Verdict, reply_recipient

SENDER_PREFIX: Final = "sender "
UNANSWERABLE_PREFIX: Final = "cannot be answered: "
_ANSWERED: Final = (Decision.NEEDS_INFO, Decision.ICLOUD_REJECTED, Decision.QUEUED)


@dataclass(frozen=True)
class SenderMark:
    status: SenderStatus
    detail: str
    inbound_id: int

    @property
    def label(self) -> str:
        return f"sender {self.status.value}"


@dataclass(frozen=True)
class Unanswerable:
    inbound_id: int
    why: str


def reply_problem(mail: ParsedMail) -> str | None:
    """Why no reply can reach the member who wrote ``mail``; None when one can."""
    recipient = reply_recipient(mail)
    if recipient is None:
        if mail.return_path == "":
            return "the envelope sender is the null reverse path <>"
        if mail.from_addr is not None and mail.from_ambiguous:
            return "no envelope sender, and the From is ambiguous"
        return "no envelope sender and no From address"
    problem = address_problem(recipient)
    if problem is None:
        return None
    if problem == "is not ASCII":
        return "the reply address is not ASCII (an internationalised address we cannot send to)"
    return f"the reply address {problem}"


def sender_note(check: SenderCheck) -> str:
    return f"{SENDER_PREFIX}{check.status.value}: {check.detail}"


def mail_notes(mail: ParsedMail, verdict: Verdict, settings: Settings) -> list[str]:
    """The sender mark and, if so, why it cannot be answered, for a mail that makes a case."""
    if verdict.decision not in _ANSWERED:
        return []
    notes = [sender_note(check_sender(mail, settings))]
    problem = reply_problem(mail)
    if problem is not None:
        notes.append(UNANSWERABLE_PREFIX + problem)
    return notes


def read_sender_note(note: str) -> tuple[SenderStatus, str] | None:
    """The status and detail of a note written by :func:`sender_note`, else None."""
    if not note.startswith(SENDER_PREFIX):
        return None
    head, colon, detail = note[len(SENDER_PREFIX) :].partition(": ")
    if not colon:
        return None
    status = next((item for item in SenderStatus if item.value == head), None)
    return None if status is None else (status, detail)


def case_marks(mails: Iterable[tuple[int, Sequence[str]]]) -> tuple[SenderMark | None, list[Unanswerable]]:
    """The case's sender mark and its mails that cannot be answered, from (inbound id, notes)."""
    mark: SenderMark | None = None
    unanswerable: list[Unanswerable] = []
    for inbound_id, notes in mails:
        for note in notes:
            if note.startswith(UNANSWERABLE_PREFIX):
                unanswerable.append(Unanswerable(inbound_id, note[len(UNANSWERABLE_PREFIX) :]))
            read = read_sender_note(note)
            if read is None:
                continue
            candidate = SenderMark(read[0], read[1], inbound_id)
            if mark is None or SEVERITY.index(candidate.status) <= SEVERITY.index(mark.status):
                mark = candidate
    return mark, unanswerable


def case_marks_json(mails: Iterable[tuple[int, Sequence[str]]]) -> dict[str, Any]:
    """:func:`case_marks` as `case show --json` prints it."""
    mark, unanswerable = case_marks(mails)
    return {
        "sender_check": None
        if mark is None
        else {"status": mark.status.value, "detail": mark.detail, "inbound_id": mark.inbound_id},
        "cannot_answer": [{"inbound_id": item.inbound_id, "why": item.why} for item in unanswerable],
    }


def case_mark_lines(data: dict[str, Any]) -> list[str]:
    """The lines `case show` prints for :func:`case_marks_json`'s keys of a case."""
    lines = []
    mark = data.get("sender_check")
    if mark:
        lines.append(f"  sender {mark['status']}: {mark['detail']} (inbound {mark['inbound_id']})")
    for item in data.get("cannot_answer") or []:
        lines.append(f"  cannot be answered: {item['why']} (inbound {item['inbound_id']})")
    return lines
