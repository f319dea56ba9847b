"""The member's text as the engine reads it: lines, lightly normalised, that remember where they came from.

Every line is read after a light normalisation that never touches an ideograph (full-width ASCII
to half-width, half-width kana to full-width, dashes between digits, blanks folded). Each
normalised character keeps the offsets of the characters it came from in the member's decoded
text, so a value found in a normalised line has a *span* in the text staff see (issue 8: spans
are character offsets into the text before normalisation).
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

import jaconv

from triage import textmatch

_INVISIBLE = frozenset("\x00\u00ad\u200b\u200c\u200d\u2060\ufeff")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70\u2500\u2501-")
_BLANKS = frozenset(" \t\u3000\u00a0")
_CIRCLED = range(0x2460, 0x2474)  # ① .. ⑳
_BULLET_NUMBERS = (range(0x2460, 0x2474), range(0x2776, 0x2780), range(0x2780, 0x2794))
_WAVES = {"\u301c": "~", "\uff5e": "~"}

Span = tuple[int, int]


@dataclass(frozen=True)
class Line:
    """One normalised line; ``starts[i]``/``ends[i]`` are the source offsets of character i."""

    index: int  # 0-based line number in the member's text
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> Span:
        """The source offsets of the normalised slice [start, end)."""
        if not self.text or end <= start:
            anchor = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return (anchor, anchor)
        start = max(0, min(start, len(self.text) - 1))
        end = max(start + 1, min(end, len(self.text)))
        return (self.starts[start], self.ends[end - 1])

    def locate(self, value: str, start: int = 0) -> Span | None:
        """The source span of the first occurrence of `value` (normalised) at or after `start`."""
        if not value:
            return None
        at = self.text.find(value, max(0, start))
        if at < 0:
            at = self.text.find(value)
        if at < 0:
            return None
        return self.span(at, at + len(value))


def _is_bullet_number(ch: str) -> bool:
    return any(ord(ch) in block for block in _BULLET_NUMBERS)


def _halfwidth_kana(ch: str) -> bool:
    return 0xFF61 <= ord(ch) <= 0xFF9F


_PLAIN = textmatch.compile(
    "[\x00\u00ad\u200b-\u200d\u2060\ufeff\u301c\uff5e\u2460-\u2473\u2776-\u2793\uff01-\uff5e"
    "\uff61-\uff9f\t\u3000\u00a0]|  |^ | $"
    "|[0-9](?: ?[\u2010-\u2015\u2212\u30fc\uff70\u2500\u2501] ?| -|- | - )[0-9]",
    name="text:special",
)


def normalise_line(line: str, base: int = 0, index: int = 0) -> Line:
    """Light normalisation of one line with its offset map (source offsets start at `base`)."""
    try:
        plain = _PLAIN.search(line) is None
    except textmatch.MatchTimeout:
        plain = False  # fold it character by character: slower, never wrong
    if plain:  # nothing to fold: offsets are the identity
        return Line(
            index, line, tuple(range(base, base + len(line))), tuple(range(base + 1, base + len(line) + 1))
        )
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def put(text: str, start: int, end: int) -> None:
        for ch in text:
            out.append(ch)
            starts.append(base + start)
            ends.append(base + end)

    i = 0
    n = len(line)
    # A circled number opening the line is a bullet (① 氏名: …), not a value.
    lead = 0
    while lead < n and line[lead] in " \t\u3000":
        lead += 1
    if lead < n and _is_bullet_number(line[lead]):
        i = lead
        while i < n and _is_bullet_number(line[i]):
            i += 1
    while i < n:
        ch = line[i]
        code = ord(ch)
        if ch in _INVISIBLE:
            i += 1
            continue
        if ch in _WAVES:
            put(_WAVES[ch], i, i + 1)
        elif code in _CIRCLED:
            put(f" {unicodedata.numeric(ch):.0f} ", i, i + 1)
        elif 0xFF01 <= code <= 0xFF5E:
            put(chr(code - 0xFEE0), i, i + 1)
        elif _halfwidth_kana(ch):
            pair = line[i : i + 2]
            if len(pair) == 2 and pair[1] in "\uff9e\uff9f":
                joined = jaconv.h2z(pair, kana=True, ascii=False, digit=False)
                if len(joined) == 1:
                    put(joined, i, i + 2)
                    i += 2
                    continue
            put(jaconv.h2z(ch, kana=True, ascii=False, digit=False), i, i + 1)
        elif ch in _BLANKS:
            put(" ", i, i + 1)
        else:
            put(ch, i, i + 1)
        i += 1
    text = "".join(out)
    keep, dashes = _fold(text)
    folded = "".join("-" if k in dashes else text[k] for k in keep)
    return Line(index, folded, tuple(starts[k] for k in keep), tuple(ends[k] for k in keep))


def _digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _fold(text: str) -> tuple[list[int], set[int]]:
    """Indexes of the characters that survive, and which of them read as ``-``: a dash between
    two digits (with at most one blank either side) is one ``-``, blank runs are one blank, and
    the line is trimmed."""
    keep: list[int] = []
    dashes: set[int] = set()
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if keep and _digit(text[keep[-1]]):
            j = i + 1 if ch == " " else i
            if j < n and text[j] in _DASHES:
                k = j + 1
                if k < n and text[k] == " ":
                    k += 1
                if k < n and _digit(text[k]):
                    keep.append(j)
                    dashes.add(j)
                    i = k
                    continue
        if ch == " ":
            if keep and text[keep[-1]] != " ":
                keep.append(i)
            i += 1
            continue
        keep.append(i)
        i += 1
    while keep and text[keep[-1]] == " ":
        keep.pop()
    return keep, dashes


# Characters the one-for-one table below cannot fold: dropped, widened to several characters, or
# joined with the next one (a half-width kana and its voiced mark). A line holding one is folded
# character by character (normalise_line); every other line by str.translate.
_UNEVEN = textmatch.compile(
    "[\x00\u00ad\u200b-\u200d\u2060\ufeff\u2460-\u2473\u2776-\u2793\uff61-\uff9f]",
    name="text:uneven",
)
# One character for one: full-width ASCII, the two wave dashes, blanks (as normalise_line folds them).
_ONE_FOR_ONE: dict[int, str] = {
    **{code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
    **{ord(ch): folded for ch, folded in _WAVES.items()},
    **{ord(ch): " " for ch in _BLANKS},
}
# After the one-for-one fold, what `_fold` would still change: a run of blanks, a blank at either
# end of a line, a dash between digits that is not a bare `-` between them.
_FOLDS = textmatch.compile(
    "  |^ | $|[0-9](?: ?[\u2010-\u2015\u2212\u30fc\uff70\u2500\u2501\uff0d] ?| -|- | - )[0-9]",
    textmatch.MULTILINE,
    name="text:folds",
)


def _lines_with(pattern: textmatch.Pattern, text: str, starts: list[int]) -> set[int] | None:
    """Indexes of the lines (starting at `starts`) where `pattern` matches; None when it gave up.
    The patterns never match a line break, so a match over the whole text is a match in its line."""
    try:
        matches = pattern.finditer(text)
    except textmatch.MatchTimeout:
        return None
    return {bisect.bisect_right(starts, match.start()) - 1 for match in matches}


def split_lines(text: str) -> list[Line]:
    """The member's text as normalised lines; offsets refer to `text` itself.

    Two patterns over the whole text (not two per line) say which lines need folding at all and
    which need the character-by-character fold; the result is normalise_line's, line by line.
    """
    raws = text.split("\n")
    starts: list[int] = []
    base = 0
    for raw in raws:
        starts.append(base)
        base += len(raw) + 1
    uneven = _lines_with(_UNEVEN, text, starts)
    folded_text = text.translate(_ONE_FOR_ONE)
    folds = _lines_with(_FOLDS, folded_text, starts) if uneven is not None else None
    lines: list[Line] = []
    for index, raw in enumerate(raws):
        base = starts[index]
        if uneven is None or folds is None or index in uneven:
            lines.append(normalise_line(raw, base, index))
            continue
        one_for_one = folded_text[base : base + len(raw)]
        if index not in folds:  # nothing to fold, or the same characters one for one
            lines.append(
                Line(
                    index,
                    one_for_one,
                    tuple(range(base, base + len(raw))),
                    tuple(range(base + 1, base + len(raw) + 1)),
                )
            )
            continue
        keep, dashes = _fold(one_for_one)
        lines.append(
            Line(
                index,
                "".join("-" if k in dashes else one_for_one[k] for k in keep),
                tuple(base + k for k in keep),
                tuple(base + k + 1 for k in keep),
            )
        )
    return lines


def light_normalise(line: str) -> str:
    """Width and dash folding that never touches an ideograph (fields.md global normalisation)."""
    return normalise_line(line).text
