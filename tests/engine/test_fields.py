"""The validator registry: every name, placeholders, reasons, and what a validator does out of time.

Each field kind's own tests are in test_validators_*.py.
"""

from __future__ import annotations

import pytest
from validator_support import CTX, bad, run

from triage import textmatch
from triage.engine.fields import VALIDATORS
from triage.engine.normalize import for_matching, for_report, is_placeholder

EXPECTED_VALIDATORS = {
    "nickname",
    "address",
    "plain_text",
    "login_id",
    "name_kanji",
    "name_kana",
    "nonempty",
    "edge_chars",
    "birth_date",
    "prefecture",
    "phone",
    "email",
    "payment_method",
    "carrier",
    "docomo_payment_number",
    "au_billing_id",
    "softbank_order_number",
    "plus_member_id",
    "digits_4_12",
    "login_password",
    "password_length",
    "course",
    "card_last4",
}


def test_registry_names() -> None:
    assert set(VALIDATORS) == EXPECTED_VALIDATORS


@pytest.mark.parametrize("name", sorted(EXPECTED_VALIDATORS))
@pytest.mark.parametrize("placeholder", ["なし", "未取得", "覚えていません", "none", "N/A", "-", "", "  "])
def test_every_validator_returns_none_for_placeholders(name: str, placeholder: str) -> None:
    assert run(name, placeholder) is None


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("plus_member_id", "Eから始まる番号です"),
        ("softbank_order_number", "I will check later"),
        ("card_last4", "VISAです"),
        ("address", "登録した時から引っ越していません"),
        ("nickname", "たしかひらがなで名前を入れたと思うのですが自信がありません"),
    ],
)
def test_words_where_a_value_goes_are_not_given(key: str, written: str) -> None:
    """readings.md 10: nothing of the field's shape written means the field is missing, not invalid."""
    assert VALIDATORS[{"address": "address", "nickname": "nickname"}.get(key, key)](written, CTX) is None


# --- reasons never carry sample data --------------------------------------------------------------


def test_reasons_do_not_contain_example_values() -> None:
    samples = [
        ("phone", "090-0000-567"),
        ("email", "taro@gmail,com"),
        ("au_billing_id", "1234567890123456"),
        ("docomo_payment_number", "1234567890"),
        ("plus_member_id", "E123"),
        ("birth_date", "900102"),
    ]
    for name, value in samples:
        result = bad(name, value)
        for reason in (result.reason_ja, result.reason_en):
            assert "@" not in reason.replace("'@'", "").replace("「@」", "").replace("@-sign", "")
            assert "例" not in reason
            assert "e.g." not in reason


# --- out of time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED_VALIDATORS))
def test_a_validator_out_of_time_never_raises(name: str) -> None:
    with textmatch.reading(0):
        run(name, "090-1234-5678 山田 太郎 2000年1月2日 ドコモ")


@pytest.mark.parametrize("name", ["phone", "name_kanji", "carrier", "card_last4", "digits_4_12"])
def test_a_validator_out_of_time_reads_no_value(name: str) -> None:
    """A spent budget makes every textmatch pattern give up: the validator reads no value."""
    with textmatch.reading(0):
        assert run(name, "090-1234-5678 山田 太郎 ドコモ") is None


def test_normalising_out_of_time_skips_its_steps() -> None:
    with textmatch.reading(0):
        assert for_report(" ＡＢＣ１２３ ") == "ABC123"
        assert for_matching("a\r\nb") == "a\r\nb"
        assert is_placeholder("なし") is False
