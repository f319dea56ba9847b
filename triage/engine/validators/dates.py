"""Dates: birth_date (Western, wareki and kanji-numeral dates, through engine/wareki.py)."""

from __future__ import annotations

import datetime as dt

from triage import textmatch
from triage.engine.numerals import replace_kanji_numerals
from triage.engine.validators.base import ANY_DIGIT, Bad, FieldContext, Ok, Result, prepare
from triage.engine.wareki import parse_date

_TWO_DIGIT_YEAR = textmatch.compile(
    r"(?<![0-9])(?:[0-9]{6}|[0-9]{1,2}[./\-年][0-9]{1,2}[./\-月][0-9]{1,2})(?![0-9])",
    name="validators.two_digit_year",
)
_KANJI_NUMERAL = textmatch.compile("[一二三四五六七八九十元]", name="validators.kanji_numeral")


_PARTS = textmatch.compile(
    r"^([0-9]{1,2})[./\-年]([0-9]{1,2})[./\-月]([0-9]{1,2})$", name="validators.ymd_parts"
)
OLDEST_AGE = 110  # a birth date more than this many years ago is not a member's


def _one_century(written: str, today: dt.date) -> str | None:
    """`98年4月5日` -> 19980405: a two-digit year is read only when one century alone gives a
    possible birth date (a real date, not in the future, not more than OLDEST_AGE years ago)."""
    parts = _PARTS.match(written)
    if parts is None:
        return None
    yy, month, day = (int(group) for group in parts.groups())
    possible = []
    for century in (1900, 2000):
        try:
            date = dt.date(century + yy, month, day)
        except ValueError:
            continue
        if date <= today and today.year - date.year <= OLDEST_AGE:
            possible.append(date)
    return possible[0].strftime("%Y%m%d") if len(possible) == 1 else None


def birth_date(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    parsed = parse_date(value, ctx.today)
    if parsed is not None:
        if parsed.value is not None:
            return Ok(parsed.value)
        return Bad(parsed.reason_ja or "", parsed.reason_en or "")
    short = _TWO_DIGIT_YEAR.search(replace_kanji_numerals(value, before="年月日"))
    if short is not None:
        only = _one_century(short.group(), ctx.today)
        if only is not None:
            return Ok(only)
        return Bad(
            "生年月日の年が2桁で書かれているため、何年生まれか特定できません。"
            "西暦4桁の年と月・日（8桁）でお書きください。",
            "The year of your date of birth has only two digits, so the year cannot be told. "
            "Please write the year with four digits, then the month and day.",
        )
    if ANY_DIGIT.search(value) or _KANJI_NUMERAL.search(value):
        return Bad(
            "生年月日を年・月・日まで読み取れませんでした。西暦4桁の年と月・日（8桁）でお書きください。",
            "Your date of birth could not be read as a full date (year, month and day). "
            "Please write the year with four digits, then the month and day.",
        )
    return None
