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
from triage.engine.emails import broken_tail
from triage.engine.result import Candidate
from triage.engine.spec import RuleSet
from triage.engine.text import Line, Span

_EMAIL_TOKEN = textmatch.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", name="scan:emails"
)
_NAME_WITH_READING = textmatch.compile(
    r"^(?P<kanji>[\p{Han}々〆ヶ][\p{Han}々〆ヶ\p{Hiragana}\p{Katakana}ー ]*?)[ ]?"
    r"(?:[(（\[](?P<paren>[^()（）\[\]]{2,40})[)）\]]|[/／|｜、,][ ]?(?P<slash>.{2,40})"
    r"|[ ](?P<spaced>[\p{Katakana}\p{Hiragana}ー・ ]{2,40}))$",
    textmatch.VERSION1,
    name="split:name",
)
_KANA = textmatch.compile(r"[\p{Katakana}\p{Hiragana}ー・ ]+", textmatch.VERSION1)
_READING_FIRST = textmatch.compile(
    r"^(?P<kana>[\p{Katakana}\p{Hiragana}ー・][\p{Katakana}\p{Hiragana}ー・ ]{1,30}?)[ ]?"
    r"[(（](?P<kanji>[\p{Han}々〆ヶ][\p{Han}々〆ヶ\p{Hiragana}\p{Katakana}ー ]{0,20})[)）]$",
    textmatch.VERSION1,
    name="split:reading-first",
)
_KATAKANA = textmatch.compile(r"[\p{Katakana}ー・ ]+", textmatch.VERSION1)
_LATIN = textmatch.compile(
    r"(?:(?i:r[oō]maji|romaji|english)[ ]?:[ ]?)?[A-Za-zÀ-ɏ][A-Za-zÀ-ɏ .'\-]*", textmatch.VERSION1
)
_HAN = textmatch.compile(r"\p{Han}", textmatch.VERSION1)
# `サトウ ユナ (Sato Yuna)`: a reading followed by a romaji gloss in brackets.
_ROMAJI_GLOSS = textmatch.compile(r"[ ]?[(（\[][A-Za-z][A-Za-z .'\-]*[)）\]]$", textmatch.VERSION1)


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
            try:  # one call per pattern (a statement never spans lines), skipping where none can start
                matches = textmatch.with_first_chars(pattern).finditer(joined)
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


def scan_emails(lines: list[Line], taken: list[Span], corrections: set[int]) -> list[Candidate]:
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
            stop = broken_tail(line.text, match.end())  # `a.b@i.softbank,jp` is one broken address
            span = line.span(match.start(), stop)
            if any(start < span[1] and span[0] < end for start, end in taken):
                continue
            corrected = line.index in corrections
            out.append(
                Candidate(
                    "emails",
                    line.text[match.start() : stop],
                    line.index + 1,
                    "scan",
                    (span,),
                    "address",
                    corrected,
                )
            )
    return out


_PHONE_SHAPE = textmatch.compile(
    r"(?<![0-9A-Za-z+\-])(?:\+81[ -]?\(?[0-9]{1,4}\)?|\(?0[0-9]{1,4}\)?)"
    r"[ -]?[0-9]{1,4}[ -]?[0-9]{3,4}(?![0-9])",
    name="scan:phone",
)
_SIGNATURE_RULE_ANY_LINE = textmatch.compile(
    r"^(?:--[ ]?|[-=_━─―＿]{3,})$", textmatch.MULTILINE, name="signature-rule"
)
_COMPANY = textmatch.with_first_chars(
    textmatch.compile(
        r"株式会社|有限会社|合同会社|\b(?:Inc|Co|Ltd|LLC|Corp)\b\.?|\bFAX\b|(?i:fax)|代表", name="company"
    )
)


# A shop, salon or office: a signature only inside a block set off by rule lines.
_BUSINESS = textmatch.with_first_chars(
    textmatch.compile(
        r"美容室|美容院|サロン|クリニック|医院|事務所|営業時間|定休日|担当|店舗|店(?<=[\p{Han}\p{Katakana}]店)(?![\p{Han}\p{Hiragana}])"
        r"|(?i:\b(?:salon|clinic|office|shop|store|opening hours|business hours)\b)",
        name="business",
    )
)


def scan_phones(
    lines: list[Line], taken: list[Span], corrections: set[int] | frozenset[int] = frozenset()
) -> list[Candidate]:
    """A phone-shaped number anywhere the member wrote it without a label (`call me at +81 70-…`)."""
    out = []
    for line in lines:
        if not line.text or not any(map(str.isdigit, line.text)):
            continue
        try:
            matches = _PHONE_SHAPE.finditer(line.text)
        except textmatch.MatchTimeout:
            continue
        for match in matches:
            if sum(ch.isdigit() for ch in match.group()) < 10:
                continue
            span = line.span(match.start(), match.end())
            if any(start < span[1] and span[0] < end for start, end in taken):
                continue
            corrected = line.index in corrections  # `Sorry, typo above, my number is 080-…`
            out.append(
                Candidate("phone", match.group(), line.index + 1, "scan", (span,), "phone number", corrected)
            )
    return out


def signature_lines(lines: list[Line]) -> set[int]:
    """Lines of a company signature: never the member's phone (readings.md 15).

    Each pattern runs once over the whole text (neither matches a line break, so a match is a
    match in its line), not once per line."""
    joined, starts = _joined(lines)
    out = {bisect.bisect_right(starts, match.start()) - 1 for match in _COMPANY.finditer(joined)}
    rule = _SIGNATURE_RULE_ANY_LINE.search(joined)
    if rule is not None:
        first = bisect.bisect_right(starts, rule.start())  # the line after the rule
        block = [later.index for later in lines[first:]]
        if any(index in out for index in block):
            out.update(block)
        out.update(_business_blocks(joined, starts, lines))
    return out


def _business_blocks(joined: str, starts: list[int], lines: list[Line]) -> set[int]:
    """A block set off by rule lines at the end of the mail that names a shop, salon or office
    (`美容室 Lien 岐阜店`, `担当 上田`, `営業時間`): the member's workplace signature, its TEL is not
    the member's. The words count only there: `担当の方へ` in the member's text is no signature."""
    out: set[int] = set()
    cues = [bisect.bisect_right(starts, match.start()) - 1 for match in _BUSINESS.finditer(joined)]
    if not cues:
        return out
    rules = [
        bisect.bisect_right(starts, match.start()) - 1 for match in _SIGNATURE_RULE_ANY_LINE.finditer(joined)
    ]
    for cue in cues:
        before = [rule for rule in rules if rule < cue]
        if not before:
            continue
        after = [rule for rule in rules if rule > cue]
        end = after[0] if after else len(lines)
        if any(line.text.strip() for line in lines[end:] if line.index not in rules):
            continue  # the member's text goes on below: a separator, not a signature
        out.update(range(before[-1] + 1, end))
    return out


def _joined(lines: list[Line]) -> tuple[str, list[int]]:
    """The normalised lines as one text, and where each line starts in it."""
    starts = []
    at = 0
    for line in lines:
        starts.append(at)
        at += len(line.text) + 1
    return "\n".join(line.text for line in lines), starts


def split_name(candidate: Candidate, lines: list[Line]) -> list[Candidate]:
    """A kanji name with its reading on the same line: two candidates (readings.md 5); the reading
    may come first (`キタムラ ユイ（北村 結衣）`)."""
    match = _NAME_WITH_READING.match(candidate.text)
    if match is None:
        first = _READING_FIRST.match(candidate.text)
        if first is None:
            return [candidate]
        line = lines[candidate.line - 1]
        at = candidate.spans[0][0] if candidate.spans else 0
        start = next((k for k, s in enumerate(line.starts) if s >= at), 0)
        return [
            _part(candidate, "name_kanji", first.group("kanji").strip(), line, start),
            _part(candidate, "name_kana", first.group("kana").strip(), line, start),
        ]
    kanji = match.group("kanji").strip()
    reading = (match.group("paren") or match.group("slash") or match.group("spaced") or "").strip()
    if match.group("spaced") and not _reading_beside(kanji, reading):
        return [candidate]
    line = lines[candidate.line - 1]
    at = candidate.spans[0][0] if candidate.spans else 0
    start = next((k for k, s in enumerate(line.starts) if s >= at), 0)
    out = [_part(candidate, "name_kanji", kanji, line, start)]
    if match.group("slash") and ("(" in reading or "[" in reading) and not _KANA.fullmatch(reading):
        gloss = _ROMAJI_GLOSS.search(reading)
        reading = reading[: gloss.start()] if gloss is not None else reading
    if _KANA.fullmatch(reading):
        out.append(_part(candidate, "name_kana", reading, line, start))
    elif not _LATIN.fullmatch(reading):
        return [candidate]
    return out


def _reading_beside(kanji: str, reading: str) -> bool:
    """`安藤 花音 アンドウ カノン` is a name and its reading; `森 エミリー`, `遠藤 まどか`, `佐藤 ユイ`
    are one name with a kana given name: the reading goes word for word beside a two-word kanji
    name and is longer than it, or is one katakana word at least two longer than the kanji."""
    han = len(_HAN.findall(kanji))
    if (
        han < 2
        or _KANA.fullmatch(kanji.replace(" ", ""))
        or not _HAN.search(kanji.rsplit(" ", maxsplit=1)[-1])
    ):
        return False
    letters = len(reading.replace(" ", "").replace("・", ""))
    word_for_word = len(kanji.split()) >= 2 and len(kanji.split()) == len(reading.split())
    if word_for_word:  # `西田 真央 ニシダ マオ`, `安藤 花音 あんどう かのん`
        return letters > han
    return letters >= han + 2 and bool(_KATAKANA.fullmatch(reading))


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


# What lets a pattern tell one line alone from the same line inside the whole text: anchors,
# lookarounds, atomic groups and possessive quantifiers (and a `^` inside a class, to be safe).
_LINE_AWARE = ("^", "$", "\\A", "\\Z", "\\z", "\\G", "(?=", "(?!", "(?<", "(?>", "++", "*+", "?+", "}+")


def _line_free(source: str) -> bool:
    """True when a pattern that matches in a line alone surely matches in the whole text too:
    without anchors, lookarounds or atomic matching, the same path is there, and `\\b` sees a
    line break as it sees the end of the text. (Rule patterns are data: any other one is run
    line by line.)"""
    return not any(token in source for token in _LINE_AWARE)


def correction_lines(lines: list[Line], rules: RuleSet) -> set[int]:
    """Lines that correct an earlier value (`先ほどの番号は間違いで、正しくは…`, `the correct one is`)."""
    out: set[int] = set()
    pattern = textmatch.any_of(rules.corrections, name="corrections")
    if pattern is None:
        return out
    if _line_free(pattern.pattern):
        try:
            if pattern.search(_joined(lines)[0]) is None:
                return out  # most mails: one call instead of one per line
        except textmatch.MatchTimeout:
            pass
    for line in lines:
        if not line.text:
            continue
        try:
            if pattern.search(line.text):
                out.add(line.index)
        except textmatch.MatchTimeout:
            continue
    return out
