"""Lines a phone shows without reflowing: at most 72 columns (36 full-width characters).

Width counts East Asian wide, full-width and ambiguous characters (■, ※, ①) as two columns,
combining marks as none. A long line is broken between words (Latin text) or between any two
characters (Japanese), never before closing punctuation (、。」) or small kana and never after an
opening bracket (line-breaking rules of JIS X 4051, simplified). A list item's continuation
lines are indented under its text.
"""

from __future__ import annotations

import unicodedata
from typing import Final

import regex

MAX_COLUMNS: Final = 72
# Never at the start of a line.
_NO_START: Final = frozenset(
    "、。，．,.)）」』】〕〉》］｝!！?？:：;；・ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々ゝゞヽヾ…‥"
)
# Never at the end of a line.
_NO_END: Final = frozenset("(（「『【〔〈《［｛")
# Japanese lines rather break after one of these, if one is this few characters back.
_PAUSES: Final = frozenset("、。，．）」』")
_PAUSE_LOOKBACK: Final = 14
# A list marker or note mark at the start of a line: continuation lines are indented past it.
_HANGING: Final = regex.compile(r"^\s*(?:[・※■●◆▶]\s*|[-*]\s+|\(?[0-9]{1,2}[.)]\s+)")
# Units: a run of narrow non-space characters (a word), or one wide character, or spaces.
_UNIT: Final = regex.compile(r"\s+|[^\s]")


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def width(text: str) -> int:
    """Columns ``text`` takes on a Japanese phone screen."""
    return sum(char_width(ch) for ch in text)


def _units(text: str) -> list[str]:
    """Words of narrow characters stay whole; wide characters and spaces are units of their own."""
    units: list[str] = []
    for piece in _UNIT.findall(text):
        narrow = not piece.isspace() and char_width(piece) == 1
        if narrow and units and not units[-1].isspace() and all(char_width(c) == 1 for c in units[-1]):
            units[-1] += piece
        else:
            units.append(piece)
    return units


def _split_long(unit: str, room: int) -> list[str]:
    parts: list[str] = []
    part = ""
    for ch in unit:
        if part and width(part + ch) > room:
            parts.append(part)
            part = ""
        part += ch
    return [*parts, part] if part else parts


def _after_last_pause(current: list[str]) -> list[str]:
    """Japanese text breaks better after 、 or 。 a few characters back than inside a word."""
    for back in range(1, min(_PAUSE_LOOKBACK, len(current) - 1) + 1):
        if current[-back - 1][-1] in _PAUSES and current[-back][0] not in _NO_START:
            return current[-back:]
    return []


def _strip_leading_space(units: list[str]) -> list[str]:
    while units and units[0].isspace():
        units = units[1:]
    return units


def wrap_line(line: str, limit: int = MAX_COLUMNS) -> list[str]:
    """``line`` as one or more lines of at most ``limit`` columns."""
    if width(line) <= limit:
        return [line]  # as written: a signature's "-- " keeps its space
    line = line.rstrip()
    marker = _HANGING.match(line) or regex.match(r"\s*", line)
    prefix = marker.group(0) if marker else ""
    indent = " " * min(width(prefix), limit // 3)
    lines: list[str] = []
    lead = prefix
    current: list[str] = []
    for unit in _units(line[len(prefix) :]):
        room = limit - width(lead)
        if unit.isspace() or width("".join(current) + unit) <= room:
            current.append(unit)
            continue
        # Kinsoku: never start a line with closing punctuation nor end one with an opening
        # bracket; the characters around such a break go down together (at most three).
        carried: list[str] = []
        following = unit
        while (
            len(current) > 1
            and len(carried) < 3
            and (following[0] in _NO_START or current[-1][-1] in _NO_END)
        ):
            following = current.pop()
            carried.insert(0, following)
        if not carried and char_width(unit[0]) == 2:
            carried = _after_last_pause(current)
            del current[len(current) - len(carried) :]
        if "".join(current).strip():
            lines.append(lead + "".join(current).rstrip())
            lead = indent
            room = limit - width(lead)
        current = _strip_leading_space([*carried, unit])
        text = "".join(current)
        while width(text) > limit - width(lead):  # one word longer than a line: cut it
            piece = _split_long(text, limit - width(lead))[0]
            lines.append(lead + piece)
            lead = indent
            text = text[len(piece) :]
        current = [text] if text else []
    if current:
        lines.append(lead + "".join(current).rstrip())
    return lines


def wrap_text(text: str, limit: int = MAX_COLUMNS) -> str:
    """Every line of ``text`` wrapped; blank lines and the final newline kept."""
    out = []
    for line in text.split("\n"):
        out.extend(wrap_line(line, limit))
    return "\n".join(out)
