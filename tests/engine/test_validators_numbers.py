"""Number and ID validators: carrier ids, Plus member ID, member number, passwords, card."""

from __future__ import annotations

import pytest
from validator_support import CTX, bad, ok, run

from triage.engine.fields import FieldContext, Ok

# --- carrier ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("123456789012", "123456789012"),
        ("1234-5678-9012", "123456789012"),
        ("１２３４－５６７８－９０１２", "123456789012"),
        ("2000 0000 0078", "200000000078"),
    ],
)
def test_docomo_payment_number(written: str, normal: str) -> None:
    assert ok("docomo_payment_number", written).value == normal


def test_docomo_payment_number_invalid() -> None:
    result = bad("docomo_payment_number", "1234567890")
    assert "12桁" in result.reason_ja
    assert "10桁" in result.reason_ja
    assert "12 digits" in result.reason_en
    assert "10 were given" in result.reason_en
    assert "数字以外" in bad("docomo_payment_number", "12345678901a").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [("20000003456", "20000003456"), ("2000-000-3456", "20000003456"), ("40000001234", "40000001234")],
)
def test_au_billing_id(written: str, normal: str) -> None:
    assert ok("au_billing_id", written).value == normal


@pytest.mark.parametrize("written", ["090-0000-7878", "08012345678", "07012345678"])
def test_au_billing_id_that_is_a_phone_number(written: str) -> None:
    result = bad("au_billing_id", written)
    assert "継続課金IDではなく電話番号のようです" in result.reason_ja
    assert "phone number" in result.reason_en


def test_au_billing_id_equal_to_the_members_phone() -> None:
    ctx = FieldContext(today=CTX.today, member_phone="0312345678")
    assert "電話番号" in bad("au_billing_id", "0312345678", ctx).reason_ja
    assert isinstance(run("au_billing_id", "03123456789", ctx), Ok)


def test_au_payment_information_number_is_explained() -> None:
    result = bad("au_billing_id", "1234-5678-9012-3456")
    assert "決済情報番号" in result.reason_ja
    assert "16桁" in result.reason_ja
    assert "11桁" in result.reason_ja
    assert "payment information number" in result.reason_en


def test_au_billing_id_too_short() -> None:
    result = bad("au_billing_id", "12345")
    assert "11桁" in result.reason_ja
    assert "5桁" in result.reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("SB0000056789", "SB0000056789"),
        ("SB-2405-1300 43", "SB2405130043"),
        ("A1B2C3D4E5F6", "A1B2C3D4E5F6"),
        ("ＳＢ２４０５", "SB2405"),
    ],
)
def test_softbank_order_number(written: str, normal: str) -> None:
    assert ok("softbank_order_number", written).value == normal


def test_softbank_order_number_invalid() -> None:
    assert "6〜40" in bad("softbank_order_number", "AB12").reason_ja
    assert "6〜40" in bad("softbank_order_number", "A1" * 21).reason_ja
    assert "英数字以外" in bad("softbank_order_number", "SB_123456").reason_ja


# --- ids and numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("E12345678", "E12345678"),
        ("e12345678", "E12345678"),
        ("ｅ２０００００２", "E2000002"),
        ("E 1234 5678", "E12345678"),
        ("E123456", "E123456"),
        ("E123456789012", "E123456789012"),
    ],
)
def test_plus_member_id(written: str, normal: str) -> None:
    assert ok("plus_member_id", written).value == normal


def test_plus_member_id_invalid() -> None:
    missing_e = bad("plus_member_id", "12345678")
    assert "「E」" in missing_e.reason_ja
    assert missing_e.suggestion == "E12345678"
    assert "5桁" in bad("plus_member_id", "E12345").reason_ja
    assert "13桁" in bad("plus_member_id", "E1234567890123").reason_ja
    assert "それ以外" in bad("plus_member_id", "E-1234X").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [("00123456", "00123456"), ("1234", "1234"), ("123456789012", "123456789012"), ("123-4567", "1234567")],
)
def test_digits_4_12(written: str, normal: str) -> None:
    assert ok("digits_4_12", written).value == normal


def test_digits_4_12_invalid() -> None:
    assert "3桁" in bad("digits_4_12", "123").reason_ja
    assert "13桁" in bad("digits_4_12", "1234567890123").reason_ja
    assert "数字以外" in bad("digits_4_12", "A1234").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("19900102", "19900102"),
        ("1990/01/02", "19900102"),
        ("1994/02/03", "19940203"),
        ("1990-01-02", "19900102"),
        ("1990年01月02日", "19900102"),
    ],
)
def test_login_password(written: str, normal: str) -> None:
    assert ok("login_password", written).value == normal


def test_login_password_invalid() -> None:
    assert "6桁" in bad("login_password", "1990/1/2").reason_ja
    assert "数字以外" in bad("login_password", "pass1234").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("10桁", 10),
        ("10文字", 10),
        ("10 characters", 10),
        ("9 characters", 9),
        ("十桁", 10),
        ("十二文字", 12),
        ("8", 8),
        ("１２桁", 12),
        ("64文字", 64),
    ],
)
def test_password_length(written: str, normal: int) -> None:
    result = ok("password_length", written)
    assert result.value == normal
    assert isinstance(result.value, int)


def test_password_length_invalid() -> None:
    assert "1〜64" in bad("password_length", "100桁").reason_ja
    assert "1〜64" in bad("password_length", "0文字").reason_ja
    assert "一つ" in bad("password_length", "8〜10桁").reason_ja
    assert "数字" in bad("password_length", "長め").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [("4321", "4321"), ("****-****-****-1234", "1234"), ("末尾4桁 8765", "8765"), ("１１１１", "1111")],
)
def test_card_last4(written: str, normal: str) -> None:
    assert ok("card_last4", written).value == normal


def test_card_last4_invalid() -> None:
    assert "3桁" in bad("card_last4", "123").reason_ja
    assert "5桁" in bad("card_last4", "12345").reason_ja
    whole = bad("card_last4", "4111 1111 1111 1111")
    assert "末尾4桁だけ" in whole.reason_ja
    assert "last 4 digits" in whole.reason_en
