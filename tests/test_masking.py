"""Masks for lists and logs (design: security.md §3), one per sensitive field, and the log net."""

from __future__ import annotations

import pytest

from triage.config import Settings
from triage.engine.loader import load_rules
from triage.masking import FULL_MASK, MASKS, mask_email, mask_text, mask_value


@pytest.mark.parametrize(
    ("field", "value", "masked"),
    [
        ("login_password", "abcd1234", "********"),
        ("password_edge_chars", "a4", "********"),
        ("birth_date", "1990-01-02", "****-**-**"),
        ("birth_date", "19900102", "****-**-**"),
        ("phone", "09012345678", "090-****-5678"),
        ("phone", "090-1234-5678", "090-****-5678"),
        ("phone", "０９０－１２３４－５６７８", "090-****-5678"),  # full-width as written
        ("phone", "0312345678", "031-****-5678"),
        ("phone", "12345", FULL_MASK),  # too short to keep 7 digits visible
        ("docomo_payment_number", "123456789012", "********9012"),
        ("au_billing_id", "40000001234", "********1234"),
        ("au_billing_id", "090-0000-5678", "********5678"),  # an invalid value as written
        ("softbank_order_number", "SB-1234-56789", "********6789"),
        ("softbank_order_number", "1234", FULL_MASK),  # the last 4 would be all of it
        ("card_last4", "4321", "****"),
    ],
)
def test_masking_table(field: str, value: str, masked: str) -> None:
    assert mask_value(field, value) == masked


def test_every_field_marked_sensitive_in_the_rules_has_a_mask_rule() -> None:
    settings = Settings()
    fields = load_rules(settings.rules_dir, settings.replies_dir).fields
    sensitive = {name for name, definition in fields.items() if definition.sensitive}
    assert sensitive == set(MASKS)


def test_other_fields_are_shown_as_they_are() -> None:
    assert mask_value("name_kanji", "山田 太郎") == "山田 太郎"
    assert mask_value("password_length", 8) == "8"
    assert mask_value("phone", None) == ""


def test_an_unknown_sensitive_field_is_masked_whole() -> None:
    assert mask_value("new_secret", "s3cret", sensitive=True) == FULL_MASK
    assert mask_value("new_secret", "s3cret") == "s3cret"


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("taro@example.jp", "ta***@example.jp"),
        ("Taro.Yamada+fc@mail.example.co.jp", "Ta***@mail.example.co.jp"),
        ("abc@example.jp", "a***@example.jp"),
        ("ab@example.jp", "***@example.jp"),
        ("", ""),
        (None, ""),
        ("not an address", "***"),
    ],
)
def test_mask_email(address: str | None, masked: str) -> None:
    assert mask_email(address) == masked


def test_mask_email_is_stable_on_its_own_output() -> None:
    once = mask_email("taro@example.jp")
    assert mask_text(once) == once


def test_mask_text_masks_addresses_and_long_digit_runs() -> None:
    text = "from taro@example.jp, phone 090-1234-5678, au 40000001234, card 4321, inbound 42"
    assert mask_text(text) == (
        "from ta***@example.jp, phone ***-****-****, au ***********, card 4321, inbound 42"
    )


def test_mask_text_keeps_short_numbers_and_times() -> None:
    assert mask_text("inbound 12345 at 10:00:00 took 0.25 s") == "inbound 12345 at 10:00:00 took 0.25 s"
    assert mask_text("生年月日 1990/01/02") == "生年月日 ****/**/**"
    assert mask_text("電話 ０９０１２３４５６７８") == "電話 ***********"
