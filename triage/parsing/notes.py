"""What the parser saw, as notes for staff (issue 12 deliverable 4).

Every defect, cap and truncation of the parse (`TooManyParts`, `HeaderSectionTruncated`,
`MessageTruncated`, `AddressFieldTruncated`, the stdlib's `StartBoundaryNotFoundDefect`, …) and
every text part whose declared charset did not fit (read by sniffing, or only with replacement
characters) becomes one line on the stored mail's notes, so `inbound list` and the case page show
it. Lines name the defect and the part, never a value or an address. The reading budget's own
give-ups (`ReadingTimeLimit: …`) are left out here: the worker notes them as `reading time limit`.
"""

from __future__ import annotations

from typing import Final

from triage.parsing.model import ParsedMail, PartInfo

PARSE_PREFIX: Final = "parse: "
CHARSET_PREFIX: Final = "charset: "
MAX_NOTES: Final = 20  # of each kind; a mail is not made unreadable in the list by its own notes
_OWN_TIME_LIMIT: Final = "ReadingTimeLimit:"
_NOTE_CHARS: Final = 200


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_NOTES:
        return lines
    return [*lines[:MAX_NOTES], f"{what}{len(lines) - MAX_NOTES} more not listed"]


def defect_notes(mail: ParsedMail) -> list[str]:
    """One `parse: <defect>` line per distinct defect, in the order found."""
    lines = [
        PARSE_PREFIX + " ".join(defect.split())[:_NOTE_CHARS]
        for defect in mail.defects
        if not defect.startswith(_OWN_TIME_LIMIT)
    ]
    return _capped(list(dict.fromkeys(lines)), PARSE_PREFIX)


def _fallback(part: PartInfo) -> str | None:
    """How a text part's decoding departed from its label, or None when it did not."""
    if part.how.startswith("replace:"):
        return f"decoded with replacement characters ({part.how})"
    if part.declared_charset and part.how.startswith("sniff:"):
        label = " ".join(part.declared_charset.split())[:40]
        return f"labelled {label!r}, read as {part.how.removeprefix('sniff:')}"
    return None


def charset_notes(mail: ParsedMail) -> list[str]:
    """One `charset: …` line per text part whose declared charset was not the way it was read."""
    lines = []
    for part in mail.parts:
        if part.is_attachment or part.how == "binary":
            continue
        why = _fallback(part)
        if why is not None:
            lines.append(f"{CHARSET_PREFIX}part {part.path or '1'} {why}")
    return _capped(lines, CHARSET_PREFIX)


def parse_notes(mail: ParsedMail) -> list[str]:
    """Every defect and charset fallback of ``mail``, for the stored mail's notes."""
    return [*defect_notes(mail), *charset_notes(mail)]
