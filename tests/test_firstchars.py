"""textmatch.with_first_chars: the look-ahead on first characters never changes a match."""

from __future__ import annotations

import functools

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import textmatch
from triage.config import Settings
from triage.engine import detectors
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.firstchars import EXTRA_CASES, first_atoms

_ALL = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)


def test_extra_cases_cover_what_the_engine_and_full_case_folding_match() -> None:
    for letter in "abcdefghijklmnopqrstuvwxyz":
        known = {letter, letter.upper(), *EXTRA_CASES.get(letter, "")}
        for flags in (regex.VERSION0, regex.VERSION1):
            assert set(regex.findall(f"(?i){letter}", _ALL, flags=flags)) <= known, letter
    for ch in _ALL:
        folded = ch.casefold()
        if folded[:1].isascii() and folded[:1].isalpha() and not ch.isascii():
            assert ch in EXTRA_CASES.get(folded[0], ""), hex(ord(ch))


def test_first_atoms() -> None:
    assert first_atoms("株式会社|代表") == ["株", "代"]
    assert first_atoms(r"(?i:\bfax)") == ["f", "F", *EXTRA_CASES["f"]]
    assert first_atoms(r"(?:^|[、。 ])(?P<value>\p{Han}+)") == ["[、。 ]", r"\p{Han}"]
    assert first_atoms(r"(?:私は)?(?P<value>x)") == ["私", "x"]
    assert first_atoms(r"\(a") == [r"\("]
    for source in (".a", r"\1a", "a?", "(?x)a", "(?:a|)", "a*b*", r"\n"):
        assert first_atoms(source) is None, source


@functools.cache
def _rules() -> RuleSet:
    settings = Settings.from_env()
    return load_rules(settings.rules_dir, settings.replies_dir)


def _pairs() -> list[tuple[textmatch.Pattern, regex.Pattern[str]]]:
    rules = _rules()
    faster = [
        textmatch.any_of(rules.not_given, name="not_given"),
        textmatch.any_of(rules.corrections, name="corrections"),
        detectors._COMPANY,
        detectors._BUSINESS,
    ]
    return [(fast, regex.compile(fast.pattern, fast.flags)) for fast in faster if fast is not None]


_TEXT = st.text(
    alphabet="覚えていませんわからない分かりません知らず忘れました設定してない取った記憶"
    "正しくは訂正間違いではなく株式会社代表 Inc Co Ltd LLC FAX fax ﬀ ſ K İ ß"
    "美容室サロン担当岐阜店舗 salon Shop OFFICE"
    " I don't know remember never set not sure forgot haven't correct number sorry my is should be meant"
    ".,'\n0123",
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_faster_patterns_find_the_same_matches(text: str) -> None:
    for fast, plain in _pairs():
        assert fast._compiled.pattern != plain.pattern  # the look-ahead is there
        got = [(m.span(), m.groups()) for m in fast.finditer(text)]
        want = [(m.span(), m.groups()) for m in plain.finditer(text)]
        assert got == want
        assert fast.pattern == plain.pattern


_BELOW = st.text(
    alphabet="下記以次のにとおり通りようになりますでございます記載 as follows below see Below SEE ſ ẞ ß.\n",
    max_size=30,
)


def test_first_chars_of_the_points_below_patterns() -> None:
    starts = [textmatch.first_chars(pattern) for pattern in _rules().points_below]
    assert starts[0] is not None and {"下", "以", "次"} <= starts[0]
    assert all(chars is not None for chars in starts)  # so the reader's skip does skip
    assert textmatch.first_chars(textmatch.compile(r"\p{Han}x")) is None  # a class: unknown


@settings(max_examples=400, deadline=None)
@given(_BELOW)
def test_a_text_not_starting_with_first_chars_never_matches(text: str) -> None:
    for pattern in _rules().points_below:
        chars = textmatch.first_chars(pattern)
        if chars is not None and text[:1] not in chars:
            assert pattern.match(text) is None
