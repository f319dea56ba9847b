"""Dates of birth in the forms members write them, to ``YYYYMMDD`` (parsing.md §6).

Western (19900102, 1990/1/2, 1990年1月2日, 1995-03-05), wareki (平成2年1月2日, H2.1.2, H02.01.02,
㍻2年1月2日, S550115, 元年, kanji numerals) and English (March 5, 1995; 5 March 1995;
03/05/1995). Numeric day-month-year order: ``NN/NN/YYYY`` is read month/day/year (the US
order English mails use) when the first number is at most 12, and day/month/year when it is
greater than 12. A year written with fewer than four digits and no era (``90/1/2``, ``900102``)
is not a date at all: the century is a guess we do not make.

Each pattern starts only where an era, a month name or a run of digits starts, so the search is
linear in the text. Should the reading budget run out, no date is found (and the notes say so).
"""

from __future__ import annotations

import calendar
import datetime
import unicodedata
from dataclasses import dataclass
from typing import Final

from triage import textmatch
from triage.engine.numerals import replace_kanji_numerals


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    first_day: datetime.date
    last_day: datetime.date | None

    @property
    def offset(self) -> int:
        """Era year N is the Gregorian year ``offset + N``."""
        return self.first_day.year - 1


# parsing.md §6. The squared characters (㍾㍽㍼㍻㋿) reach this table through NFKC.
ERAS = (
    Era("明治", "M", datetime.date(1868, 1, 25), datetime.date(1912, 7, 29)),
    Era("大正", "T", datetime.date(1912, 7, 30), datetime.date(1926, 12, 24)),
    Era("昭和", "S", datetime.date(1926, 12, 25), datetime.date(1989, 1, 7)),
    Era("平成", "H", datetime.date(1989, 1, 8), datetime.date(2019, 4, 30)),
    Era("令和", "R", datetime.date(2019, 5, 1), None),
)
_ERA_BY_KEY = {key: era for era in ERAS for key in (era.name, era.letter, era.letter.lower())}

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_BY_PREFIX = {name[:3].lower(): number for number, name in enumerate(MONTHS_EN, start=1)}

EARLIEST_YEAR = 1900


@dataclass(frozen=True)
class DateParse:
    value: str | None  # YYYYMMDD if valid
    reason_ja: str | None
    reason_en: str | None
    out_of_era: bool = False


_NB = r"(?<![0-9])"  # no digit before
_NA = r"(?![0-9])"  # no digit after
_ERA_NAME = "|".join(era.name for era in ERAS)
_ERA_LETTER = "[MTSHRmtshr]"
_SEP = r"\s*[./\-]\s*"
_EN_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_EN_DAY = r"(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?"

# Each pattern has named groups: era (optional), y, m, d; or mon for English month names.
_PATTERNS = tuple(
    textmatch.compile(p, textmatch.IGNORECASE, name=f"wareki.date-{number}")
    for number, p in enumerate(
        (
            # 平成2年1月2日, 平成元年1月8日, 昭和55年01月15日生まれ
            rf"(?P<era>{_ERA_NAME})\s*(?P<y>元|[0-9]{{1,2}})\s*年\s*(?P<m>[0-9]{{1,2}})\s*月\s*(?P<d>[0-9]{{1,2}}){_NA}",
            # H2.1.2, H02/01/02, 平成2.1.2, h元.1.8
            rf"(?:(?<![a-z])(?P<era>{_ERA_LETTER})|(?P<era>{_ERA_NAME}))\s?(?P<y>元|[0-9]{{1,2}})"
            rf"(?:{_SEP}|\s*年\s*)(?P<m>[0-9]{{1,2}})(?:{_SEP}|\s*月\s*)(?P<d>[0-9]{{1,2}}){_NA}",
            # S550115, 平成020102
            rf"(?:(?<![a-z])(?P<era>{_ERA_LETTER})|(?P<era>{_ERA_NAME}))(?P<y>[0-9]{{2}})(?P<m>[0-9]{{2}})(?P<d>[0-9]{{2}}){_NA}",
            # 1990年1月2日, 1990/1/2, 1990-01-02, 1990.1.2, 1990 1 2
            rf"{_NB}(?P<y>[0-9]{{4}})(?:{_SEP}|\s*年\s*|\s)(?P<m>[0-9]{{1,2}})(?:{_SEP}|\s*月\s*|\s)(?P<d>[0-9]{{1,2}}){_NA}",
            # 19900102
            rf"{_NB}(?P<y>[0-9]{{4}})(?P<m>[0-9]{{2}})(?P<d>[0-9]{{2}}){_NA}",
            # March 5, 1995 / Mar. 5th 1995
            rf"(?<![a-z]){_EN_MONTH}\s*{_EN_DAY},?\s*(?P<y>[0-9]{{4}}){_NA}",
            # 5 March 1995 / 5th of March, 1995 / 05-Mar-1995
            rf"{_NB}{_EN_DAY}(?:\s*of)?[\s\-/]*{_EN_MONTH},?[\s\-/]*(?P<y>[0-9]{{4}}){_NA}",
            # 03/05/1995 (see the module docstring for the order)
            rf"{_NB}(?P<a>[0-9]{{1,2}}){_SEP}(?P<b>[0-9]{{1,2}}){_SEP}(?P<y>[0-9]{{4}}){_NA}",
        )
    )
)


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # full-width digits, ㍻ → 平成, ㋿ → 令和
    return replace_kanji_numerals(text, before="年月日")


# What each pattern needs somewhere in the text (a pattern call costs microseconds): an era name
# (0), an era name or a letter (1, 2: an era letter), a letter (5, 6: a month name). A "letter" is
# any alphabetic character outside Japanese script, as case-insensitive matching may read ſ as s.
_NEEDS_ERA_NAME: Final = frozenset({0})
_NEEDS_ERA_OR_LETTER: Final = frozenset({1, 2})
_NEEDS_LETTER: Final = frozenset({5, 6})


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() and not ("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff") for ch in text)


def _find(text: str) -> textmatch.Match[str] | None:
    """The earliest date-like match in ``text`` (the longest one at that position)."""
    best: textmatch.Match[str] | None = None
    era_name = any(era.name in text for era in ERAS)
    letter = _has_letter(text)
    for number, pattern in enumerate(_PATTERNS):
        if (
            (number in _NEEDS_ERA_NAME and not era_name)
            or (number in _NEEDS_ERA_OR_LETTER and not (era_name or letter))
            or (number in _NEEDS_LETTER and not letter)
        ):
            continue
        match = pattern.search(text)
        if match is None:
            continue
        if best is None or (match.start(), -match.end()) < (best.start(), -best.end()):
            best = match
    return best


def _fields(match: textmatch.Match[str]) -> tuple[Era | None, int, int, int]:
    """(era, year as written, month, day) from a match of any pattern."""
    groups = match.groupdict()
    era = _ERA_BY_KEY[groups["era"]] if groups.get("era") else None
    year = 1 if groups["y"] == "元" else int(groups["y"])
    if groups.get("mon"):
        return era, year, _MONTH_BY_PREFIX[groups["mon"][:3].lower()], int(groups["d"])
    if groups.get("a"):
        first, second = int(groups["a"]), int(groups["b"])
        if first > 12:
            return era, year, second, first  # day/month/year
        return era, year, first, second  # month/day/year
    return era, year, int(groups["m"]), int(groups["d"])


def parse_date(text: str, today: datetime.date) -> DateParse | None:
    """Find a date in ``text``; None when it holds no date at all.

    A found date is valid (``value`` set) or invalid (``value`` None, member-facing reasons).
    Dates outside their era (昭和64年1月8日, 平成31年5月1日) are converted and flagged.
    """
    try:
        match = _find(_prepare(text))
    except textmatch.MatchTimeout:
        textmatch.note_timeout("wareki: no date read")
        return None
    if match is None:
        return None
    era, year_written, month, day = _fields(match)
    year = year_written if era is None else era.offset + year_written
    if era is not None and year_written == 0:
        return _invalid(
            f"{era.name}0年という年はありません。生年月日の年をご確認ください。",
            f"There is no year 0 in the {era.name} era. Please check the year of your date of birth.",
        )
    if not 1 <= month <= 12:
        return _invalid(
            f"{month}月という月はありません。生年月日の月をご確認ください。",
            f"There is no month {month}. Please check the month of your date of birth.",
        )
    if day < 1 or day > calendar.monthrange(year, month)[1]:
        return _impossible_day(year, month, day)
    date = datetime.date(year, month, day)
    if year < EARLIEST_YEAR:
        return _invalid(
            f"生年月日の年が{year}年（1900年より前）になっています。西暦4桁の年をご確認ください。",
            f"The year of your date of birth reads as {year}, before 1900. "
            "Please check the year (four digits).",
        )
    if date > today:
        return _invalid(
            f"生年月日が{year}年{month}月{day}日と未来の日付になっています。生年月日をご確認ください。",
            f"Your date of birth reads as {MONTHS_EN[month - 1]} {day}, {year}, which is in the future. "
            "Please check it.",
        )
    out_of_era = era is not None and not (
        era.first_day <= date and (era.last_day is None or date <= era.last_day)
    )
    return DateParse(date.strftime("%Y%m%d"), None, None, out_of_era)


def _invalid(reason_ja: str, reason_en: str) -> DateParse:
    return DateParse(None, reason_ja, reason_en, False)


def _impossible_day(year: int, month: int, day: int) -> DateParse:
    month_en = MONTHS_EN[month - 1]
    if month == 2 and day == 29:
        return _invalid(
            f"{year}年はうるう年ではないため、2月29日は存在しない日付です。生年月日をご確認ください。",
            f"{year} is not a leap year, so February 29 does not exist. Please check your date of birth.",
        )
    return _invalid(
        f"{month}月{day}日は存在しない日付です。生年月日をご確認ください。",
        f"{month_en} {day} does not exist in the calendar. Please check your date of birth.",
    )
