"""Kanji numerals (二〇〇〇, 五十五, 千九百九十) to Arabic digits.

A run of numerals is tried once, from its first character and without giving characters back
(a run of 65,000 numerals followed by no counter would otherwise be retried from every one of
them). Should the reading budget run out, the text is left as written.
"""

from __future__ import annotations

from triage import textmatch

_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)


def kanji_to_int(text: str) -> int | None:
    """``五十五`` → 55, ``二〇〇〇`` → 2000, ``十`` → 10; None if ``text`` is not a numeral."""
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    if not any(ch in _UNITS for ch in text):  # positional: 一九九〇
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, pending = 0, None
    for ch in text:
        if ch in _DIGITS:
            if pending is not None:  # two digits in a row in a unit numeral: 十二三
                return None
            pending = _DIGITS[ch]
        else:
            total += (1 if pending is None else pending) * _UNITS[ch]
            pending = None
    return total + (pending or 0)


def replace_kanji_numerals(text: str, *, before: str) -> str:
    """Replace every kanji numeral run that is followed by one of ``before`` with its digits.

    Only runs followed by a counter (年, 月, 日, 桁 …) are touched, so words that merely contain
    a numeral character (一郎, 千葉) are left alone. A run of ○ only is a mask, not a zero.
    """

    def convert(match: textmatch.Match[str]) -> str:
        run: str = match.group()
        if set(run) <= {"○"}:
            return run
        number = kanji_to_int(run)
        return run if number is None else str(number)

    numeral = f"[{KANJI_NUMERAL_CHARS}]"
    pattern = textmatch.compile(
        f"(?<!{numeral}){numeral}++(?=\\s*[{textmatch.escape(before)}])", name="numerals.counted-run"
    )
    try:
        return pattern.sub(convert, text)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("numerals: kanji numerals left as written")
        return text
