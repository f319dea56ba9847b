"""The birth_date validator: Western, wareki and two-digit years."""

from __future__ import annotations

import datetime

import pytest
from validator_support import bad, ok, run

from triage.engine.fields import Bad, FieldContext

# --- birth date -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("19900102", "19900102"),
        ("1990/1/2", "19900102"),
        ("1990年1月2日生まれです", "19900102"),
        ("平成2年1月2日", "19900102"),
        ("H2.1.2", "19900102"),
        ("March 5, 1995", "19950305"),
        ("1999-08-21", "19990821"),
        ("昭和63年8月15日", "19880815"),
        ("平成元年2月14日", "19890214"),
        ("昭和64年1月8日", "19890108"),  # out of era: still converted
    ],
)
def test_birth_date(written: str, normal: str) -> None:
    assert ok("birth_date", written).value == normal


def test_birth_date_invalid() -> None:
    assert "存在しない日付" in bad("birth_date", "19900230").reason_ja
    assert "未来" in bad("birth_date", "2030年1月1日").reason_ja
    assert "1900" in bad("birth_date", "1850年1月1日").reason_ja
    assert "2桁" in bad("birth_date", "900102").reason_ja
    assert "2桁" in bad("birth_date", "20/01/02").reason_ja  # 1920 and 2020 are both possible


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("90/01/02", "19900102"),
        ("98年4月5日", "19980405"),
        ("05.1.2", "20050102"),
        ("九八年四月五日", "19980405"),
    ],
)
def test_two_digit_year_read_when_one_century_alone_is_possible(written: str, normal: str) -> None:
    """readings.md 14: 2098 is in the future and 1905 more than 110 years ago."""
    assert ok("birth_date", written).value == normal
    assert "年・月・日" in bad("birth_date", "平成2年").reason_ja
    assert "year, month and day" in bad("birth_date", "1990年1月").reason_en


def test_birth_date_without_any_number_is_no_value() -> None:
    assert run("birth_date", "秘密です") is None


def test_birth_date_uses_today_from_context() -> None:
    early = FieldContext(today=datetime.date(1990, 1, 1))
    assert isinstance(run("birth_date", "19900102", early), Bad)
