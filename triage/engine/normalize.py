"""Text normalisation for matching (parsing.md §5) and for reported values (fields.md).

Two different normalisations, on purpose:

* :func:`for_matching` is the wide one used to *find* values: NFKC and friends. It is never
  shown to anyone; it can turn U+FA10 into 塚 and ㍻ into 平成.
* :func:`for_report` is the narrow global normalisation of fields.md applied to every reported
  value: ASCII and kana width, dashes between digits, blanks, enclosing brackets and a trailing
  。/、. It never touches ideographs, so a name keeps the exact characters the member wrote.
"""

from __future__ import annotations

import functools
import unicodedata

import jaconv

from triage import textmatch

# §5 step 1: invisible characters that only get in the way.
_INVISIBLE = textmatch.compile("[\x00\u00ad\u200b-\u200d\u2060\ufeff]", name="normalize.invisible")
# Line separators of every kind become LF; the extractor works line by line.
_LINE_BREAK = textmatch.compile("\r\n|[\r\u2028\u2029\x85]", name="normalize.line_break")
# Blanks inside a line: every white space except LF.
_BLANKS = textmatch.compile(r"[^\S\n]+", name="normalize.blanks")
_WHITE_SPACE = textmatch.compile(r"\s+", name="normalize.white_space")

# Dashes members put between digits (fields.md, parsing.md §5 step 5). After NFKC, U+2011 is
# U+2010 and ｰ is ー, but for_report does not apply NFKC, so both lists carry every form.
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70\u2500\u2501-"
_DASH_BETWEEN_DIGITS = textmatch.compile(
    f"(?<=[0-9])[{textmatch.escape(DASHES)}](?=[0-9])", name="normalize.dash_between_digits"
)

# Circled / parenthesised / full-stop numbers with an NFKC decomposition (①, ⑴, ⒈, ㉑, ㊱ …).
_ENCLOSED_WITH_NFKC = textmatch.compile(
    "[\u2460-\u249b\u24ea-\u24ff\u3251-\u325f\u32b1-\u32bf]", name="normalize.enclosed_digits"
)
# Dingbat circled digits have no decomposition: ❶-❿, ➀-➉, ➊-➓ are 1-10 each.
_DINGBAT_DIGITS = textmatch.compile("[\u2776-\u2793]", name="normalize.dingbat_digits")

_WAVE_AND_MARKS = str.maketrans({"\u301c": "~", "\uff5e": "~", "\u309b": "\u3099", "\u309c": "\u309a"})

# Kana followed by a (combining or spacing) voiced / semi-voiced sound mark.
_KANA_WITH_MARK = textmatch.compile(
    "([\u3041-\u3096\u30a1-\u30fa\u30fd])([\u3099\u309a\u309b\u309c])", name="normalize.kana_with_mark"
)
_SPACING_TO_COMBINING = {"\u309b": "\u3099", "\u309c": "\u309a"}

# Brackets and quotes stripped when they enclose a whole reported value.
_ENCLOSING_PAIRS = {
    "「": "」",
    "『": "』",
    "【": "】",
    "〔": "〕",
    "〈": "〉",
    "《": "》",
    "（": "）",
    "(": ")",
    "[": "]",
    "<": ">",
    '"': '"',
    "'": "'",
    "“": "”",
    "‘": "’",
}
_TRAILING_PUNCTUATION = "。、"


def _sub(pattern: textmatch.Pattern, repl: textmatch.Replacement, text: str) -> str:
    """``pattern.sub``; on :class:`~triage.textmatch.MatchTimeout` the step is skipped (text unchanged).

    Normalising must never stop a read: a step that runs out of time (the mail's budget spent)
    leaves its text as it was, and the timeout is noted on the budget by textmatch.
    """
    try:
        return pattern.sub(repl, text)
    except textmatch.MatchTimeout:
        return text


def normalize_newlines(text: str) -> str:
    """CRLF, CR and Unicode line/paragraph separators to LF (the line count is what the eye sees)."""
    return _sub(_LINE_BREAK, "\n", text)


def _circled(match: textmatch.Match[str]) -> str:
    return f" {unicodedata.normalize('NFKC', match.group())} "


def _dingbat(match: textmatch.Match[str]) -> str:
    offset = ord(match.group()) - 0x2776
    return f" {offset % 10 + 1} "


def fold_digit_dashes(text: str) -> str:
    """Any dash between two ASCII digits becomes ``-`` (``090ー1234`` → ``090-1234``)."""
    return _sub(_DASH_BETWEEN_DIGITS, "-", text)


def for_matching(text: str) -> str:
    """The parsing.md §5 sequence, used to find values; line breaks are kept (as LF)."""
    text = normalize_newlines(text)
    text = _sub(_INVISIBLE, "", text)
    text = text.translate(_WAVE_AND_MARKS)
    text = _sub(_ENCLOSED_WITH_NFKC, _circled, text)
    text = _sub(_DINGBAT_DIGITS, _dingbat, text)
    text = unicodedata.normalize("NFKC", text)
    text = fold_digit_dashes(text)
    return _sub(_BLANKS, " ", text)


def hira_to_kata(text: str) -> str:
    """Hiragana to katakana; everything else unchanged."""
    result: str = jaconv.hira2kata(text)
    return result


def fullwidth_kana(text: str) -> str:
    """Half-width katakana (and ｡｢｣､･) to full width, voiced marks combined (ｶﾞ → ガ)."""
    result: str = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    return combine_voiced_marks(result)


def to_katakana_fullwidth(text: str) -> str:
    """Hiragana and half-width katakana to full-width katakana."""
    return hira_to_kata(fullwidth_kana(text))


def combine_voiced_marks(text: str) -> str:
    """か゛ / か + U+3099 → が, only where a precomposed kana exists.

    Composition is done pair by pair, never by NFC on the whole text: NFC rewrites the
    compatibility ideographs (U+FA10 → 塚), which would change a member's name.
    """

    def compose(match: textmatch.Match[str]) -> str:
        mark = _SPACING_TO_COMBINING.get(match.group(2), match.group(2))
        composed = unicodedata.normalize("NFC", match.group(1) + mark)
        return composed if len(composed) == 1 else match.group()

    return _sub(_KANA_WITH_MARK, compose, text)


def fullwidth_ascii_to_halfwidth(text: str) -> str:
    """Full-width ASCII (U+FF01–U+FF5E) and U+3000 to their ASCII forms; nothing else."""
    return "".join(
        chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else " " if ch == "\u3000" else ch for ch in text
    )


def _strip_enclosing(value: str) -> str:
    """Strip one pair of brackets or quotes if (and only if) it encloses the whole value."""
    if len(value) < 2:
        return value
    opening, closing = value[0], value[-1]
    if _ENCLOSING_PAIRS.get(opening) != closing:
        return value
    inner = value[1:-1]
    if opening == closing:
        return value if opening in inner else inner
    depth = 0
    for ch in inner:
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth < 0:  # the first bracket closes before the end: "(03)1234-(5678)"
                return value
    return inner if depth == 0 else value


def for_report(value: str, *, keep_punctuation: bool = False) -> str:
    """See :func:`_for_report`; short values (every real one) are remembered: the resolver and the
    validators ask for the same ones, and a pattern call costs microseconds under a timeout."""
    if len(value) <= _CACHED_LENGTH and not _out_of_time():
        return _for_report_cached(value, keep_punctuation)
    return _for_report(value, keep_punctuation=keep_punctuation)


_CACHED_LENGTH = 256


def forget() -> None:
    """Drop the remembered values (a test that makes each pattern give up needs them to run)."""
    _for_report_cached.cache_clear()
    _is_placeholder_cached.cache_clear()


def _out_of_time() -> bool:
    """Nothing computed once the mail's budget is spent is remembered (it may be a step short)."""
    budget = textmatch.current_budget()
    return budget is not None and budget.spent


@functools.lru_cache(maxsize=8192)
def _for_report_cached(value: str, keep_punctuation: bool) -> str:
    return _for_report(value, keep_punctuation=keep_punctuation)


def _for_report(value: str, *, keep_punctuation: bool = False) -> str:
    """The global normalisation of fields.md for a reported value.

    Full-width ASCII → half-width, half-width katakana → full-width (voiced marks combined),
    dashes between digits → ``-``, white space runs → one space, trimmed; unless
    ``keep_punctuation`` (password_edge_chars), enclosing brackets/quotes and a trailing 。/、 are
    stripped too. Ideographs are never changed (no NFKC, no NFC).
    """
    value = _sub(_INVISIBLE, "", value)
    value = fullwidth_ascii_to_halfwidth(value)
    value = fullwidth_kana(value)
    value = fold_digit_dashes(value)
    value = _sub(_WHITE_SPACE, " ", value).strip()
    if keep_punctuation:
        return value
    while True:
        stripped = value.rstrip(_TRAILING_PUNCTUATION).strip()
        stripped = _strip_enclosing(stripped).strip()
        if stripped == value:
            return value
        value = stripped


# --- placeholders: "I do not have / know it" ------------------------------------------------

_JA_PLACEHOLDERS = (
    "特になし",
    "特に無し",
    "該当なし",
    "該当無し",
    "なし",
    "無し",
    "ナシ",
    "ない",
    "無い",
    "不明",
    "未取得",
    "未登録",
    "未設定",
    "未発行",
    "未記入",
    "未定",
    "ありません",
    "持っていません",
    "持ってません",
    "持ってない",
    "取得していません",
    "登録していません",
    "わからない",
    "分からない",
    "判らない",
    "わかりません",
    "分かりません",
    "判りません",
    "解りません",
    "わかんない",
    "覚えていません",
    "覚えてません",
    "覚えてない",
    "記憶にありません",
    "忘れました",
    "忘れてしまいました",
    "忘れた",
)
# Single characters that mean "none" only when they stand alone (or before an explanation).
_SINGLE_PLACEHOLDERS = ("無", "未", "×", "x")
_EN_PLACEHOLDERS = (
    "none",
    "nothing",
    "unknown",
    "n/a",
    "n.a.",
    "na",
    "nil",
    "no",
    "not applicable",
    "not available",
    "not received",
    "not registered",
    "not sure",
    "no idea",
    "not yet",
    "don't know",
    "do not know",
    "dont know",
    "don't remember",
    "do not remember",
    "i don't know",
    "i do not know",
    "i don't remember",
    "i do not remember",
    "i dont remember",
    "i can't remember",
    "i cannot remember",
    "i forgot",
    "forgot",
    "forgotten",
    "i don't have one",
    "i don't have",
    "don't have",
)


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(textmatch.escape(w) for w in sorted(words, key=len, reverse=True))


# Leading decorations members put before an answer: ※, *, ・, ▼ …
_LEAD = r"[\s※*＊・▼▽■□●○◆◇→>:：]*"
# Japanese: the word, then the end, or anything that does not continue a kana word, or a
# copula / polite ending (なしです, 不明でした, ありませんでした).
_JA_RE = textmatch.compile(
    rf"{_LEAD}(?:{_alternation(_JA_PLACEHOLDERS)})"
    r"(?:$|(?![\p{Hiragana}\p{Katakana}ー])|(?=です|でした|でし|だ|で|よ|ね|。))",
    textmatch.IGNORECASE,
    name="normalize.placeholder_ja",
)
_SINGLE_RE = textmatch.compile(
    rf"{_LEAD}(?:{_alternation(_SINGLE_PLACEHOLDERS)})(?:$|[\s(（「:：。、,.\-])",
    name="normalize.placeholder_single",
)
# English: the words, then the end, or a separator that is not followed by a number
# ("No. 1234" is a number, "none - I never got one" is not).
_EN_RE = textmatch.compile(
    rf"{_LEAD}\(?(?:{_alternation(_EN_PLACEHOLDERS)})\)?(?:$|[\s,.;:!?(\[\-–—](?![\s.:#-]*[0-9]))",
    textmatch.IGNORECASE,
    name="normalize.placeholder_en",
)
# An answer of dashes, crosses or question marks only (`-`, `×`, `？？`): not given.
_ONLY_DASHES_OR_CROSSES = textmatch.compile(
    rf"[\s{textmatch.escape(DASHES)}~〜―×✕xX/?？]+", textmatch.IGNORECASE, name="normalize.only_dashes"
)


def is_placeholder(value: str) -> bool:
    """See :func:`_is_placeholder` (short values remembered, as for :func:`for_report`)."""
    if len(value) <= _CACHED_LENGTH and not _out_of_time():
        return _is_placeholder_cached(value)
    return _is_placeholder(value)


@functools.lru_cache(maxsize=8192)
def _is_placeholder_cached(value: str) -> bool:
    return _is_placeholder(value)


def _is_placeholder(value: str) -> bool:
    """True when an answer means "not given": なし, 覚えていません, none, N/A, ``-`` …

    An explanation may follow (``なし（まだ取得していません）``, ``none - I never got one``);
    a real value that merely starts with the same letters (なかむら, Nao, Nanako) is not one.
    A pattern that runs out of time (MatchTimeout) counts as no match: the answer is kept as a value.
    """
    text = fullwidth_ascii_to_halfwidth(value).strip()
    text = _strip_enclosing(text).strip()
    if not text:
        return False
    try:
        if _ONLY_DASHES_OR_CROSSES.fullmatch(text):
            return True
        text = text.replace("’", "'").replace("‘", "'")
        return any(pattern.match(text) for pattern in (_JA_RE, _SINGLE_RE, _EN_RE))
    except textmatch.MatchTimeout:
        return False
