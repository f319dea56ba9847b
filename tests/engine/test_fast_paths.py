"""The fast paths of the read give exactly what the slow, obvious way gives.

Each whole-text scan or shortcut that replaced a per-line pattern call is checked here against
the per-line reference on generated text built from the characters that matter to it.
"""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from triage import textmatch
from triage.config import Settings
from triage.engine import detectors, reader, resolve, wareki
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.engine.text import Line, normalise_line, split_lines

# Characters every fold of text.py treats specially, and ordinary ones around them.
_FOLD_ALPHABET = (
    "0123456789 -\t\u3000\u00a0\u301c\uff5e\uff01\uff10\uff11\uff21\uff41\uff0d"
    "\u2010\u2013\u2015\u2212\u30fc\uff70\u2500\u2501\u00ad\u200b\ufeff\x00"
    "\u2460\u2473\u2776\u2793\uff76\uff9e\uff9f\uff61"
    "aZ山田ヤマダたろう:：()（）・\n"
)


def _reference(text: str) -> list[tuple[int, str, tuple[int, ...], tuple[int, ...]]]:
    out = []
    base = 0
    for index, raw in enumerate(text.split("\n")):
        line = normalise_line(raw, base, index)
        out.append((line.index, line.text, line.starts, line.ends))
        base += len(raw) + 1
    return out


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_FOLD_ALPHABET, max_size=80))
def test_split_lines_is_normalise_line_per_line(text: str) -> None:
    got = [(line.index, line.text, line.starts, line.ends) for line in split_lines(text)]
    assert got == _reference(text)


def test_split_lines_examples() -> None:
    text = "・電話番号：０９０ー１２３４ー５６７８\n\u3000山田　太郎 \n①氏名:ﾔﾏﾀﾞ\n1 - 2\n\n"
    got = [(line.index, line.text, line.starts, line.ends) for line in split_lines(text)]
    assert got == _reference(text)
    assert [line.text for line in split_lines(text)] == [
        "・電話番号:090-1234-5678",
        "山田 太郎",
        "氏名:ヤマダ",
        "1-2",
        "",
        "",
    ]


_SIGNATURE_ALPHABET = "株式会社代表 Inc.Co Ltd LLC fax FAX-=_━─―＿0123 山田\n"


def _signature_reference(lines: list[Line]) -> set[int]:
    company = textmatch.compile(detectors._COMPANY.pattern)
    rule = textmatch.compile(detectors._SIGNATURE_RULE_ANY_LINE.pattern)  # without MULTILINE: one line
    out = {line.index for line in lines if line.text and company.search(line.text)}
    for line in lines:
        if rule.match(line.text):
            block = [later.index for later in lines[line.index + 1 :]]
            if any(index in out for index in block):
                out.update(block)
            break
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_SIGNATURE_ALPHABET.replace("\n", ""), max_size=12), max_size=8))
def test_signature_lines_is_the_per_line_reading(rows: list[str]) -> None:
    lines = split_lines("\n".join(rows))
    assert detectors.signature_lines(lines) == _signature_reference(lines)


def test_plain_edge_characters_are_never_symbols() -> None:
    """`_plain_edge` lets the resolver skip `_SYMBOLS`: not one of its characters may be a symbol."""
    ranges = (range(0x80), range(0x3041, 0x3100), range(0x4E00, 0xA000), range(0xFF01, 0xFF5F))
    for block in ranges:
        for code in block:
            ch = chr(code)
            if resolve._plain_edge(ch):
                assert resolve._SYMBOLS.sub("", f"{ch}x{ch}") == f"{ch}x{ch}", hex(code)


_CLEAN_ALPHABET = "0123456789#*. \n山ア@a\ufe0f\u20e3\ufffd\ue63e\u2600\U0001f600\u200d"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_CLEAN_ALPHABET, max_size=12))
def test_clean_is_the_two_substitutions(text: str) -> None:
    cleaned = resolve._SYMBOLS.sub("", text).strip()
    expected = resolve._FULL_STOP.sub("", cleaned) if "@" not in cleaned else cleaned
    assert resolve._clean(text) == expected


_LEAD_ALPHABET = "【】[]()※★:=→|-–— 山1a"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_LEAD_ALPHABET, max_size=14))
def test_lead_cut_is_the_two_substitutions(rest: str) -> None:
    assert reader._lead_cut(rest) == reader._LEAD_SEPARATOR.sub("", reader._LATE_HINT.sub("", rest))
    assert reader._may_break(rest) or reader._SENTENCE_BREAK.search(rest) is None


@functools.cache
def _rules() -> RuleSet:
    settings = Settings.from_env()
    return load_rules(settings.rules_dir, settings.replies_dir)


def _corrections_reference(lines: list[Line], rules: RuleSet) -> set[int]:
    pattern = textmatch.any_of(rules.corrections, name="corrections")
    assert pattern is not None
    return {line.index for line in lines if line.text and pattern.search(line.text)}


_CORRECTION_PIECES = (
    "正しくは",
    "訂正",
    "間違い",
    "the correct number",
    "sorry, my ",
    "is",
    "I meant",
    "0",
    " ",
    "\n",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_CORRECTION_PIECES), max_size=12))
def test_correction_lines_are_the_per_line_reading(pieces: list[str]) -> None:
    lines = split_lines("".join(pieces))
    assert detectors.correction_lines(lines, _rules()) == _corrections_reference(lines, _rules())


def test_line_aware_patterns_are_read_line_by_line() -> None:
    assert detectors._line_free(r"(?i)\bcorrect (?:one|number)\b|訂正")
    for source in (r"^正しくは", r"訂正$", r"(?<=\s)訂正", r"(?!x)訂正", r"(?>a+)b", r"a++", r"\A訂正"):
        assert not detectors._line_free(source), source


def _find_every_pattern(text: str) -> tuple[tuple[int, int], dict[str, str | None]] | None:
    best = None
    for pattern in wareki._PATTERNS:
        match = pattern.search(text)
        if match is not None and (
            best is None or (match.start(), -match.end()) < (best.start(), -best.end())
        ):
            best = match
    return None if best is None else (best.span(), best.groupdict())


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789年月日/.- 平成昭和令元HhSsRrMTſmarchMayjuneof,th生まれ", max_size=16))
def test_date_patterns_skipped_by_their_needs_find_the_same_date(text: str) -> None:
    found = wareki._find(text)
    assert (None if found is None else (found.span(), found.groupdict())) == _find_every_pattern(text)
