"""Answers without labels, in the FAQ's order: `1. 藤田 恵`, `①高橋 大翔`, `(3) れんくん`, or one answer
per line under the FAQ's quoted list (readings.md 4: "numbered or bulleted lists that follow the
FAQ's order without repeating its labels").

The mailbox's pack gives the FAQ's items in order (`faq:`, else `reply.order`, the order of a
reply's items, one field an item). A numbered list maps answer n to the n-th item; an unnumbered
block of short lines (bullets left out) maps line by line. An item of several fields (`氏名(漢字/カナ)`)
is split as the compound label of those fields splits its value. Either is only believed when
most of its answers fit the field they land on (a valid value or a "none"), so a list of something
else is never read as the form.
"""

from __future__ import annotations

import datetime as dt

from triage import textmatch
from triage.engine.fields import VALIDATORS, FieldContext, Ok
from triage.engine.normalize import for_report, is_placeholder
from triage.engine.result import Candidate
from triage.engine.spec import CARRIER_ID, RuleSet
from triage.engine.text import Line

_NUMBERED = textmatch.compile(
    r"^[ ]*(?:\(([0-9]{1,2})\)|([0-9]{1,2})[.)．、:]|([\u2460-\u2473]))[ ]?(?P<value>\S.*)$"
)
_BULLETS = textmatch.compile(r"^(?:[・･•●○◆◇■□▼▽▲△◎★☆※*+\-][ ]?)+(?=\S)")
_SENTENCE_END = ("。", "!", "?", "！", "？", "ます", "です", "ました", "でした", "ません")
MIN_ITEMS = 4
MIN_FIT = 0.6


def _number(match: textmatch.Match[str]) -> int:
    if match.group(1) or match.group(2):
        return int(match.group(1) or match.group(2))
    return ord(match.group(3)) - 0x2460 + 1


def read_in_order(
    lines: list[Line],
    raw_lines: list[str],
    layouts: tuple[tuple[tuple[str, ...], ...], ...],
    consumed: set[int],
    rules: RuleSet,
    *,
    today: dt.date,
) -> list[Candidate]:
    """Members number the FAQ's items their own way (`氏名(漢字/カナ)` as one answer or two): of the
    layouts the pack knows, the one whose fields the answers fit best is read."""
    best: tuple[tuple[int, int], tuple[tuple[str, ...], ...], list[tuple[int, str, Line]]] | None = None
    for faq in layouts:
        if len(faq) < MIN_ITEMS:
            continue
        order = tuple(item[0] for item in faq)
        items = _numbered(lines, raw_lines, order, consumed) or _block(lines, order, consumed)
        if not items:
            continue
        fit = _fits(items, rules, today)
        if fit < MIN_FIT * len(items):
            continue
        key = (fit, -abs(len(faq) - len(items)))
        if best is None or key > best[0]:
            best = (key, faq, items)
    if best is None:
        return []
    _, faq, items = best
    out: list[Candidate] = []
    for n, _, line in items:
        fields = faq[n - 1]
        compound = next((c for c in rules.compounds if len(fields) > 1 and c.fields == fields), None)
        pieces = (
            [piece.strip() for piece in compound.split.split(line.text, maxsplit=len(fields) - 1)]
            if compound is not None
            else [line.text]
        )
        at = 0
        for part, piece in zip(fields, pieces, strict=False):
            begin = line.text.find(piece, at)
            if not piece or begin < 0:
                continue
            at = begin + len(piece)
            out.append(
                Candidate(part, piece, line.index + 1, "position", (line.span(begin, at),), f"FAQ item {n}")
            )
    return out


def _numbered(
    lines: list[Line], raw_lines: list[str], order: tuple[str, ...], consumed: set[int]
) -> list[tuple[int, str, Line]]:
    out: list[tuple[int, str, Line]] = []
    seen: set[int] = set()
    for line in lines:
        if line.index in consumed or not line.text:
            continue
        match = _NUMBERED.match(raw_lines[line.index])
        if match is None:
            continue
        n = _number(match)
        if n in seen or not 1 <= n <= len(order):
            continue
        seen.add(n)
        value = line
        inner = _NUMBERED.match(line.text)
        if inner is not None:  # the number is still in the normalised line (circled ones are not)
            value = _slice(line, inner.start("value"))
        out.append((n, order[n - 1], value))
    return out if len(out) >= MIN_ITEMS else []


def _slice(line: Line, start: int) -> Line:
    return Line(line.index, line.text[start:], line.starts[start:], line.ends[start:])


def _answer_like(line: Line) -> bool:
    text = line.text
    return bool(text) and len(text) <= 60 and not text.endswith(_SENTENCE_END) and "。" not in text


def _block(lines: list[Line], order: tuple[str, ...], consumed: set[int]) -> list[tuple[int, str, Line]]:
    """The longest run of short unlabelled lines, as long as the FAQ's list or nearly."""
    best: list[Line] = []
    run: list[Line] = []
    for line in lines:
        if line.index not in consumed and _answer_like(line):
            bullets = _BULLETS.match(line.text) if line.text[:1] in "・･•●○◆◇■□▼▽▲△◎★☆※*+-" else None
            run.append(_slice(line, bullets.end()) if bullets else line)
            continue
        if len(run) > len(best):
            best = run
        run = []
    if len(run) > len(best):
        best = run
    if len(best) < max(MIN_ITEMS, len(order) - 2) or len(best) > len(order):
        return []
    return [(n, order[n - 1], line) for n, line in enumerate(best, start=1)]


def _fits(items: list[tuple[int, str, Line]], rules: RuleSet, today: dt.date) -> int:
    """How many answers fit the field they land on."""
    ctx = FieldContext(today=today)
    fit = 0
    for _, target, line in items:
        written = for_report(line.text)
        if target == CARRIER_ID or is_placeholder(written):
            fit += 1
            continue
        definition = rules.fields.get(target)
        if definition is None:
            continue
        result = VALIDATORS[definition.validator](written, ctx)
        if result is None or isinstance(result, Ok):
            fit += 1
    return fit
