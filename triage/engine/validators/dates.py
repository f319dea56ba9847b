"""Dates: birth_date (Western, wareki and kanji-numeral dates, through engine/wareki.py)."""

from __future__ import annotations

from triage import textmatch
from triage.engine.numerals import replace_kanji_numerals
from triage.engine.validators.base import ANY_DIGIT, Bad, FieldContext, Ok, Result, prepare
from triage.engine.wareki import parse_date

_TWO_DIGIT_YEAR = textmatch.compile(
    r"(?<![0-9])(?:[0-9]{6}|[0-9]{1,2}[./\-年][0-9]{1,2}[./\-月][0-9]{1,2})(?![0-9])",
    name="validators.two_digit_year",
)
_KANJI_NUMERAL = textmatch.compile("[一二三四五六七八九十元]", name="validators.kanji_numeral")


def birth_date(raw: str, ctx: FieldContext) -> Result:
    value = prepare(raw)
    if value is None:
        return None
    parsed = parse_date(value, ctx.today)
    if parsed is not None:
        if parsed.value is not None:
            return Ok(parsed.value)
        return Bad(parsed.reason_ja or "", parsed.reason_en or "")
    if _TWO_DIGIT_YEAR.search(replace_kanji_numerals(value, before="年月日")):
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
