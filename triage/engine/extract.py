"""Find every field of the rule packs in the member's own text. Facts only: nothing is decided here.

The reading model (docs/reading.md):
1. the text is split into lines, lightly normalised, each remembering the offsets it came from
   (text.py), so every value keeps its spans in the member's text;
2. labelled values (reader.py): exact FAQ labels, or any label whose words name a field
   (labels.py), at the start of a line or inside a sentence, with the field's shape;
3. statements and shapes (detectors.py): prose patterns of the rule packs, e-mail addresses
   anywhere, a name written with its reading on one line split in two;
4. one resolver (resolve.py) chooses per field among the candidates, validates every value with
   the field's validator, and records why each candidate was taken or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from triage import textmatch
from triage.engine import detectors, position
from triage.engine.labels import labels_for
from triage.engine.reader import Reader
from triage.engine.resolve import resolve
from triage.engine.result import Candidate, Considered, Extraction, Found, Invalid
from triage.engine.spec import RuleSet
from triage.engine.text import Line, light_normalise, split_lines

__all__ = ["Candidate", "Considered", "Extraction", "Found", "Invalid", "extract", "light_normalise"]

_NAME_FIELDS = frozenset({"name_kanji", "name_kana"})
MAX_LINES = (
    2000  # lines of one mail the engine reads (the parser already cuts the text at 200,000 characters)
)
READ_GRACE = 0.3  # seconds the top of a mail is still read when parsing used up the budget
GRACE_LINES = 200
RESOLVE_GRACE = 0.25  # seconds the resolver may still take when the reading used up the budget
MIN_LABELLED = 3  # with fewer labelled values, unlabelled answers may follow the FAQ's order


T = TypeVar("T")


def _guard(step: str, run: Callable[[], T], fallback: T) -> T:
    """Run one step of the read; when the mail's reading budget runs out, note it and go on
    without that step's answer (the mail is still decided, on what was read)."""
    try:
        return run()
    except textmatch.MatchTimeout:
        textmatch.note_timeout(step)
        return fallback


def _split(candidate: Candidate, lines: list[Line]) -> list[Candidate]:
    if candidate.target not in _NAME_FIELDS:
        return [candidate]
    return _guard("names", lambda: detectors.split_name(candidate, lines), [candidate])


def _first_lines(text: str, most: int) -> str:
    """The text up to its `most`-th line break (all of it when shorter)."""
    at = -1
    for _ in range(most):
        at = text.find("\n", at + 1)
        if at < 0:
            return text
    return text[:at]


def extract(
    text: str,
    rules: RuleSet,
    *,
    today: dt.date,
    our_local_parts: frozenset[str] = frozenset(),
    mailbox: str | None = None,
) -> Extraction:
    with textmatch.reading() as budget:
        most = MAX_LINES
        if budget.remaining() < READ_GRACE:  # the parse used up the budget: read the top at least
            textmatch.note_timeout(f"only the first {GRACE_LINES} lines read, in the grace time")
            budget.deadline = textmatch.Deadline.after(READ_GRACE)
            most = GRACE_LINES
        lines = split_lines(_first_lines(text, most))
        if text.count("\n") >= most:  # no member writes more; a machine-made flood is read in part
            textmatch.note_timeout(f"only the first {most} lines read")
        corrections: set[int] = _guard("corrections", lambda: detectors.correction_lines(lines, rules), set())
        reader = Reader(lines, rules, labels_for(rules, mailbox), corrections, text)
        _guard("labels", reader.read, None)
        found = list(reader.candidates)
        pack = rules.packs.get(mailbox) if mailbox else None
        if pack is not None and sum(1 for c in found if c.source in ("label", "compound")) < MIN_LABELLED:
            one_each = tuple((name,) for name in pack.faq_order)
            faq = (pack.faq_items, one_each) if pack.faq_items != one_each else (one_each,)
            found += _guard(
                "faq order",
                lambda: position.read_in_order(
                    lines, text.split("\n"), faq, reader.consumed, rules, today=today
                ),
                [],
            )
        candidates: list[Candidate] = []
        for candidate in found:
            candidates += _split(candidate, lines)
        claimed: dict[int, set[str]] = {}
        for candidate in candidates:
            claimed.setdefault(candidate.line - 1, set()).add(candidate.target)
        statements: list[Candidate] = _guard(
            "statements", lambda: detectors.prose(lines, rules, claimed, corrections, reader.label_end), []
        )
        for candidate in statements:
            candidates += _split(candidate, lines)
        if any(definition.scan_anywhere for definition in rules.fields.values()):
            taken = [span for c in candidates if c.target == "emails" for span in (*c.spans, *c.more_spans)]
            candidates += _guard("e-mails", lambda: detectors.scan_emails(lines, taken, corrections), [])
        if "phone" in rules.fields:
            held = [span for c in candidates for span in (*c.spans, *c.more_spans)]
            candidates += _guard("phones", lambda: detectors.scan_phones(lines, held, corrections), [])
        signature: set[int] = _guard("signature", lambda: detectors.signature_lines(lines), set())
        candidates = [c for c in candidates if not (c.target == "phone" and c.line - 1 in signature)]
        if budget.remaining() < RESOLVE_GRACE:  # what was found is still validated and chosen
            textmatch.note_timeout("values chosen in the resolver's grace time")
            budget.deadline = textmatch.Deadline.after(RESOLVE_GRACE)
        extraction = _guard(
            "resolve",
            lambda: resolve(candidates, rules, today=today, our_local_parts=our_local_parts, lines=lines),
            Extraction(),
        )
        extraction.timeouts = list(budget.timeouts)
    return extraction
