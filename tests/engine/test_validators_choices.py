"""Choice validators: payment_method, carrier, course."""

from __future__ import annotations

import pytest
from validator_support import bad, ok, run

# --- payment and carrier ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("クレジットカード決済", "credit_card"),
        ("クレジットカード", "credit_card"),
        ("カード", "credit_card"),
        ("credit card", "credit_card"),
        ("Credit Card (VISA)", "credit_card"),
        ("キャリア決済", "carrier"),
        ("携帯決済", "carrier"),
        ("携帯電話料金と合算", "carrier"),
        ("carrier billing", "carrier"),
        ("キャリア決済（ドコモ）", "carrier"),
        ("ドコモ", "carrier"),
        ("docomo", "carrier"),
        ("au", "carrier"),
        ("auかんたん決済", "carrier"),
        ("ソフトバンク", "carrier"),
        ("d払い", "carrier"),
        ("コンビニ決済", "convenience_store"),
        ("コンビニ", "convenience_store"),
        ("convenience store", "convenience_store"),
        ("Convenience store payment", "convenience_store"),
    ],
)
def test_payment_method(written: str, normal: str) -> None:
    assert ok("payment_method", written).value == normal


def test_payment_method_unfilled_list_of_options_is_no_value() -> None:
    assert run("payment_method", "クレジットカード決済/キャリア決済/コンビニ決済") is None


def test_payment_method_invalid() -> None:
    assert "お支払い方法" in bad("payment_method", "銀行振込").reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("ドコモ", "docomo"),
        ("NTTドコモ", "docomo"),
        ("docomo", "docomo"),
        ("DOCOMO", "docomo"),
        ("d払い", "docomo"),
        ("spモード", "docomo"),
        ("au", "au"),
        ("AU", "au"),
        ("KDDI", "au"),
        ("auかんたん決済", "au"),
        ("UQ", "au"),
        ("UQモバイル", "au"),
        ("ソフトバンク", "softbank"),
        ("SoftBank", "softbank"),
        ("ワイモバイル", "softbank"),
        ("Y!mobile", "softbank"),
        ("LINEMO", "softbank"),
        ("【au】", "au"),
    ],
)
def test_carrier(written: str, normal: str) -> None:
    assert ok("carrier", written).value == normal


def test_carrier_unfilled_list_of_options_is_no_value() -> None:
    assert run("carrier", "docomo/au/SoftBank") is None
    assert run("carrier", "ドコモ・au・ソフトバンク") is None


@pytest.mark.parametrize("written", ["楽天モバイル", "Paul", "auto"])
def test_carrier_invalid(written: str) -> None:
    assert "携帯会社" in bad("carrier", written).reason_ja


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("月会費コース", "monthly"),
        ("月額", "monthly"),
        ("monthly", "monthly"),
        ("Monthly Membership Fee Course", "monthly"),
        ("月会費まとめて払いコース", "bundle"),
        ("まとめて払い", "bundle"),
        ("bundle", "bundle"),
        ("lump-sum", "bundle"),
        ("【まとめて払いコース】", "bundle"),
    ],
)
def test_course(written: str, normal: str) -> None:
    assert ok("course", written).value == normal


def test_course_unfilled_list_of_options_is_no_value() -> None:
    assert run("course", "月会費コース/月会費まとめて払いコース") is None


def test_course_invalid() -> None:
    assert "コース" in bad("course", "プレミアム").reason_ja
