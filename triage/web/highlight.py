"""Where each extracted value was found in the member's text, as marked segments.

The page takes, per value, a list of (start, end) character ranges in the text. Until the
engine records spans, :func:`find_ranges` finds the written value in the text (preferring the
line the value came from); once spans are stored they are passed in instead, unchanged here.
:func:`segments` cuts the text into plain and marked pieces; the template escapes every piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    field: str
    masked: bool = False  # a sensitive value not revealed: the piece is shown masked


@dataclass(frozen=True)
class Segment:
    text: str
    field: str | None = None
    masked: bool = False


def _line_bounds(text: str, line: int) -> tuple[int, int] | None:
    if line < 1:
        return None
    start = 0
    for _ in range(line - 1):
        nl = text.find("\n", start)
        if nl < 0:
            return None
        start = nl + 1
    end = text.find("\n", start)
    return start, len(text) if end < 0 else end


def find_ranges(text: str, written: str, line: int | None = None) -> list[tuple[int, int]]:
    """Ranges of ``written`` in ``text``: on line ``line`` if it is there, else everywhere."""
    needle = written.strip()
    if not needle:
        return []
    if line is not None:
        bounds = _line_bounds(text, line)
        if bounds is not None:
            at = text.find(needle, bounds[0], bounds[1])
            if at >= 0:
                return [(at, at + len(needle))]
    out = []
    at = text.find(needle)
    while at >= 0:
        out.append((at, at + len(needle)))
        at = text.find(needle, at + len(needle))
    return out


def segments(text: str, marks: Sequence[Mark]) -> list[Segment]:
    """``text`` cut at the marks; overlapping marks: the earlier (then the longer) one wins."""
    out: list[Segment] = []
    pos = 0
    for mark in sorted(marks, key=lambda m: (m.start, -(m.end - m.start))):
        if mark.start < pos or mark.end <= mark.start or mark.end > len(text):
            continue
        if mark.start > pos:
            out.append(Segment(text[pos : mark.start]))
        out.append(Segment(text[mark.start : mark.end], mark.field, mark.masked))
        pos = mark.end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out
