"""Dates of birth: western, wareki and English forms; invalid dates; out-of-era dates."""

from __future__ import annotations

import datetime

import pytest

from triage.engine.normalize import for_matching
from triage.engine.wareki import ERAS, DateParse, parse_date

TODAY = datetime.date(2026, 11, 21)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19900102", "19900102"),
        ("1990/1/2", "19900102"),
        ("1990-01-02", "19900102"),
        ("1990.1.2", "19900102"),
        ("1990 1 2", "19900102"),
        ("1990年1月2日", "19900102"),
        ("1990年 1月 2日", "19900102"),
        ("1990年01月02日生まれ", "19900102"),
        ("1990年1月2日生まれです。", "19900102"),
        ("平成2年1月2日", "19900102"),
        ("平成 2 年 1 月 2 日", "19900102"),
        ("H2.1.2", "19900102"),
        ("H2/1/2", "19900102"),
        ("H2-1-2", "19900102"),
        ("H02.01.02", "19900102"),
        ("h2.1.2", "19900102"),
        ("H2年1月2日", "19900102"),
        ("平成2.1.2", "19900102"),
        ("㍻2年1月2日", "19900102"),
        ("昭和55年1月15日", "19800115"),
        ("S55.1.15", "19800115"),
        ("S55/01/15", "19800115"),
        ("㍼55年1月15日", "19800115"),
        ("S550115", "19800115"),
        ("昭和五十五年一月十五日", "19800115"),
        ("昭和63年8月15日", "19880815"),
        ("平成元年1月8日", "19890108"),
        ("H元年1月8日", "19890108"),
        ("H元.1.8", "19890108"),
        ("令和元年5月1日", "20190501"),
        ("R2.3.4", "20200304"),
        ("㋿2年3月4日", "20200304"),
        ("大正15年12月24日", "19261224"),
        ("T15.12.24", "19261224"),
        ("㍽15年12月24日", "19261224"),
        ("明治45年7月29日", "19120729"),
        ("M45.7.29", "19120729"),
        ("㍾45年7月29日", "19120729"),
        ("二〇〇〇年四月一日", "20000401"),
        ("千九百九十年一月二日", "19900102"),
        ("March 5, 1995", "19950305"),
        ("march 5 1995", "19950305"),
        ("March 5th, 1995", "19950305"),
        ("Mar. 5, 1995", "19950305"),
        ("Sept. 21, 1999", "19990921"),
        ("5 March 1995", "19950305"),
        ("5th of March, 1995", "19950305"),
        ("05-Mar-1995", "19950305"),
        ("1995-03-05", "19950305"),
        ("03/05/1995", "19950305"),  # month/day/year when the first number is at most 12
        ("25/03/1995", "19950325"),  # day/month/year when it is greater than 12
        ("12/25/1995", "19951225"),
        ("Date of birth: H2.1.2", "19900102"),
        ("１９９０年１月２日", "19900102"),
    ],
)
def test_valid_forms(text: str, expected: str) -> None:
    assert parse_date(text, TODAY) == DateParse(expected, None, None, False)


def test_forms_after_for_matching() -> None:
    parsed = parse_date(for_matching("１９９０ー０１ー０２"), TODAY)
    assert parsed is not None
    assert parsed.value == "19900102"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昭和64年1月8日", "19890108"),  # 平成 had begun
        ("平成31年5月1日", "20190501"),  # 令和 had begun
        ("平成1年1月7日", "19890107"),  # before 平成 began
        ("S64.1.8", "19890108"),
        ("大正15年12月25日", "19261225"),
    ],
)
def test_out_of_era_dates_convert_and_are_flagged(text: str, expected: str) -> None:
    parsed = parse_date(text, TODAY)
    assert parsed == DateParse(expected, None, None, True)


def test_last_days_of_eras_are_in_era() -> None:
    for text in ("昭和64年1月7日", "平成31年4月30日", "平成元年1月8日", "令和元年5月1日"):
        parsed = parse_date(text, TODAY)
        assert parsed is not None
        assert not parsed.out_of_era, text


def test_era_table() -> None:
    assert [era.name for era in ERAS] == ["明治", "大正", "昭和", "平成", "令和"]
    assert [era.offset for era in ERAS] == [1867, 1911, 1925, 1988, 2018]


def _invalid(text: str) -> DateParse:
    parsed = parse_date(text, TODAY)
    assert parsed is not None
    assert parsed.value is None
    assert parsed.reason_ja
    assert parsed.reason_en
    return parsed


def test_impossible_day() -> None:
    parsed = _invalid("1990年2月30日")
    assert parsed.reason_ja is not None
    assert "2月30日は存在しない日付です" in parsed.reason_ja
    assert "February 30" in (parsed.reason_en or "")
    _invalid("19900230")
    _invalid("H2.2.30")
    _invalid("April 31, 1990")


def test_february_29_only_in_leap_years() -> None:
    assert "うるう年" in (_invalid("2023年2月29日").reason_ja or "")
    assert "leap year" in (_invalid("2023年2月29日").reason_en or "")
    parsed = parse_date("2000年2月29日", TODAY)
    assert parsed is not None
    assert parsed.value == "20000229"


def test_impossible_month() -> None:
    assert "13月" in (_invalid("1990年13月1日").reason_ja or "")
    _invalid("13/13/1990")


def test_era_year_zero() -> None:
    assert "0年" in (_invalid("平成0年1月1日").reason_ja or "")


def test_future_date() -> None:
    parsed = _invalid("2026年11月22日")
    assert "未来" in (parsed.reason_ja or "")
    assert "future" in (parsed.reason_en or "")
    _invalid("令和10年1月1日")
    today = parse_date("2026年11月21日", TODAY)
    assert today is not None
    assert today.value == "20261121"


def test_year_before_1900() -> None:
    assert "1900" in (_invalid("1899年12月31日").reason_ja or "")
    _invalid("明治20年1月1日")
    parsed = parse_date("1900年1月1日", TODAY)
    assert parsed is not None
    assert parsed.value == "19000101"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "生年月日",
        "900102",  # two-digit year: not a date
        "90/1/2",
        "90年1月2日",
        "1990年1月",  # no day
        "1月2日",  # no year
        "1990",
        "090-1234-5678",
        "199001020",  # nine digits
        "BIRTH2.1.2",  # H is the end of a word, not an era
        "一郎",
    ],
)
def test_not_a_date(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_first_date_in_text_wins() -> None:
    parsed = parse_date("平成2年1月2日（1990年1月2日）、登録は2020/05/06", TODAY)
    assert parsed is not None
    assert parsed.value == "19900102"
