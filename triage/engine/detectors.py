"""Values found by their shape or by a statement, without a label of their own.

* prose statements of the rule packs (`…と申します`, `I live in Hyogo`, `まとめて払いのコースで`),
  tried on every line; on a line a label claimed they only count for other fields;
* e-mail addresses wherever they stand;
* a name written with its reading on one line (`内田 梓（ウチダ アズサ）`, `安藤 花音 アンドウ カノン`,
  `松井 玲奈 (Rena Matsui)`): the kanji and the kana become two candidates, a romaji gloss is dropped.
"""

from __future__ import annotations

import bisect

from triage import textmatch
from triage.engine.result import Candidate
from triage.engine.spec import RuleSet
from triage.engine.text import Line, Span

_EMAIL_TOKEN = textmatch.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", name="scan:emails"
)
_NAME_WITH_READING = textmatch.compile(
    r"^(?P<kanji>[\p{Han}々〆ヶ][\p{Han}々〆ヶ\p{Hiragana}\p{Katakana}ー ]*?)[ ]?"
    r"(?:[(（](?P<paren>[^()（）]{2,40})[)）]|[/／|｜][ ]?(?P<slash>.{2,40})"
    r"|[ ](?P<spaced>[\p{Katakana}\p{Hiragana}ー・ ]{2,40}))$",
    textmatch.VERSION1,
    name="split:name",
)
_KANA = textmatch.compile(r"[\p{Katakana}\p{Hiragana}ー・ ]+", textmatch.VERSION1)
_KATAKANA = textmatch.compile(r"[\p{Katakana}ー・ ]+", textmatch.VERSION1)
_LATIN = textmatch.compile(r"[A-Za-z][A-Za-z .'\-]*", textmatch.VERSION1)
_HAN = textmatch.compile(r"\p{Han}", textmatch.VERSION1)


def prose(
    lines: list[Line],
    rules: RuleSet,
    claimed: dict[int, set[str]],
    corrections: set[int],
    label_end: dict[int, int],
) -> list[Candidate]:
    """Every statement pattern of every field, on each line: not inside a label (its option list
    is not a statement), and not for a field a label on that line gave."""
    out: list[Candidate] = []
    joined = "\n".join(line.text for line in lines)
    starts = []
    at = 0
    for line in lines:
        starts.append(at)
        at += len(line.text) + 1
    for key, definition in rules.fields.items():
        for pattern in definition.prose:
            try:
                matches = pattern.finditer(joined)  # one call per pattern: a statement never spans lines
            except textmatch.MatchTimeout:
                continue
            for match in matches:
                value = match.group("value")
                if not value or "\n" in match.group(0):
                    continue
                line = lines[bisect.bisect_right(starts, match.start("value")) - 1]
                offset = starts[line.index]
                begin, end = match.start("value") - offset, match.end("value") - offset
                if key in claimed.get(line.index, ()) or begin < label_end.get(line.index, 0):
                    continue
                out.append(
                    Candidate(
                        key,
                        value,
                        line.index + 1,
                        "prose",
                        (line.span(begin, end),),
                        "statement",
                        line.index in corrections,
                    )
                )
    return out


def scan_emails(lines: list[Line], taken: list[Span]) -> list[Candidate]:
    """Every address in the text, except inside a labelled e-mail value read as a whole."""
    out = []
    for line in lines:
        if "@" not in line.text:
            continue
        try:
            matches = _EMAIL_TOKEN.finditer(line.text)
        except textmatch.MatchTimeout:
            continue
        for match in matches:
            span = line.span(match.start(), match.end())
            if any(start < span[1] and span[0] < end for start, end in taken):
                continue
            out.append(Candidate("emails", match.group(0), line.index + 1, "scan", (span,), "address"))
    return out


def split_name(candidate: Candidate, lines: list[Line]) -> list[Candidate]:
    """A kanji name with its reading on the same line: two candidates (readings.md 5)."""
    match = _NAME_WITH_READING.match(candidate.text)
    if match is None:
        return [candidate]
    kanji = match.group("kanji").strip()
    reading = (match.group("paren") or match.group("slash") or match.group("spaced") or "").strip()
    if match.group("spaced") and not _reading_beside(kanji, reading):
        return [candidate]
    line = lines[candidate.line - 1]
    at = candidate.spans[0][0] if candidate.spans else 0
    start = next((k for k, s in enumerate(line.starts) if s >= at), 0)
    out = [_part(candidate, "name_kanji", kanji, line, start)]
    if _KANA.fullmatch(reading):
        out.append(_part(candidate, "name_kana", reading, line, start))
    elif not _LATIN.fullmatch(reading):
        return [candidate]
    return out


def _reading_beside(kanji: str, reading: str) -> bool:
    """`安藤 花音 アンドウ カノン` is a name and its reading; `森 エミリー`, `遠藤 まどか`, `佐藤 ユイ`
    are one name with a kana given name: the reading must be all katakana (or kana word for word
    beside a two-word kanji name) and longer than the kanji it reads."""
    han = len(_HAN.findall(kanji))
    if (
        han < 2
        or _KANA.fullmatch(kanji.replace(" ", ""))
        or not _HAN.search(kanji.rsplit(" ", maxsplit=1)[-1])
    ):
        return False
    letters = len(reading.replace(" ", "").replace("・", ""))
    if letters < han + 2:
        return False
    if _KATAKANA.fullmatch(reading):
        return True
    return len(kanji.split()) >= 2 and len(kanji.split()) == len(reading.split())


def _part(candidate: Candidate, target: str, text: str, line: Line, start: int) -> Candidate:
    span = line.locate(text, start)
    return Candidate(
        target,
        text,
        candidate.line,
        "split",
        (span,) if span else candidate.spans,
        candidate.cue,
        candidate.corrected,
    )


def correction_lines(lines: list[Line], rules: RuleSet) -> set[int]:
    """Lines that correct an earlier value (`先ほどの番号は間違いで、正しくは…`, `the correct one is`)."""
    out: set[int] = set()
    for line in lines:
        if not line.text:
            continue
        for pattern in rules.corrections:
            try:
                if pattern.search(line.text):
                    out.add(line.index)
                    break
            except textmatch.MatchTimeout:
                break
    return out
