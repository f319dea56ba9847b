"""Contact validators: prefecture, phone, e-mail."""

from __future__ import annotations

import pytest
from validator_support import bad, ok, run

from triage.engine.emails import check_email, suggest_domain
from triage.engine.prefectures import PREFECTURES, find_prefecture

# --- prefecture -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("東京都", "東京都"),
        ("東京", "東京都"),
        ("大阪", "大阪府"),
        ("大阪府", "大阪府"),
        ("京都", "京都府"),
        ("北海道", "北海道"),
        ("神奈川", "神奈川県"),
        ("福岡", "福岡県"),
        ("Tokyo", "東京都"),
        ("tokyo", "東京都"),
        ("Tokyo-to", "東京都"),
        ("Osaka", "大阪府"),
        ("Osaka-fu", "大阪府"),
        ("Kyoto", "京都府"),
        ("Kyoto-fu", "京都府"),
        ("Hokkaido", "北海道"),
        ("Hyogo", "兵庫県"),
        ("Hyōgo Prefecture", "兵庫県"),
        ("Gifu", "岐阜県"),
        ("Chiba-ken", "千葉県"),
        ("OITA", "大分県"),
        ("〒123-4567 大阪府大阪市北区見本町1-2-3", "大阪府"),
        ("〒1234567 東京都世田谷区", "東京都"),
        ("北海道札幌市中央区見本町8-9-10", "北海道"),
        ("神奈川県横浜市", "神奈川県"),
        ("東京 世田谷区", "東京都"),
        ("日本 東京都港区", "東京都"),
        ("1-2-3 Umeda, Kita-ku, Osaka 530-0001, Japan", "大阪府"),
        ("Higashiyama-ku, Kyoto-shi, Kyoto", "京都府"),
    ],
)
def test_prefecture(written: str, normal: str) -> None:
    assert ok("prefecture", written).value == normal


@pytest.mark.parametrize(
    "written", ["大阪市北区見本町1-2-3", "京都市左京区", "札幌市", "火星", "Kita-ku", "Osaka-shi"]
)
def test_prefecture_invalid(written: str) -> None:
    assert "都道府県" in bad("prefecture", written).reason_ja


def test_all_47_prefectures_by_name_and_romaji() -> None:
    assert len(PREFECTURES) == 47
    for name, romaji in PREFECTURES:
        assert find_prefecture(name) == name
        assert find_prefecture(romaji.capitalize()) == name
        bare = name if name == "北海道" else name[:-1]
        assert find_prefecture(bare) == name


def test_tokyo_is_not_read_as_kyoto() -> None:
    assert find_prefecture("東京都") == "東京都"
    assert find_prefecture("京都府京都市") == "京都府"


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("090-1234-5678", "09012345678"),
        ("09012345678", "09012345678"),
        ("090 1234 5678", "09012345678"),
        ("090ー1234ー5678", "09012345678"),
        ("０９０－１２３４－５６７８", "09012345678"),
        ("+81 90 1234 5678", "09012345678"),
        ("+81-90-1234-5678", "09012345678"),
        ("+81 (0)90-1234-5678", "09012345678"),
        ("(03)1234-5678", "0312345678"),
        ("03(1234)5678", "0312345678"),
        ("03-0000-3434", "0300003434"),
        ("075-000-1234", "0750001234"),
        ("0285-00-1234", "0285001234"),
        ("050-1234-5678", "05012345678"),
        ("020-1234-5678", "02012345678"),
        ("0120-123-456", "0120123456"),
        ("090-1234-5678（携帯）", "09012345678"),
        ("090-1234-5678 (10時以降)", "09012345678"),
    ],
)
def test_phone(written: str, normal: str) -> None:
    assert ok("phone", written).value == normal


def test_phone_invalid_lengths_name_the_expected_length() -> None:
    short_mobile = bad("phone", "090-0000-567")
    assert "11桁" in short_mobile.reason_ja
    assert "10桁" in short_mobile.reason_ja
    assert "11 digits" in short_mobile.reason_en
    assert "11桁" in bad("phone", "090-0000-12345").reason_ja
    landline = bad("phone", "03-1234-56789")
    assert "10桁" in landline.reason_ja
    assert "11桁" in landline.reason_ja
    assert "10 digits" in landline.reason_en


def test_phone_must_start_with_zero() -> None:
    assert "0から" in bad("phone", "90-1234-5678").reason_ja


def test_phone_without_digits_is_no_value() -> None:
    assert run("phone", "携帯電話は持っていません") is None


# --- e-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("taro@gmail.com", "taro@gmail.com"),
        ("Taro.Yamada@Gmail.COM", "taro.yamada@gmail.com"),
        ("ｔａｒｏ＠ｄｏｃｏｍｏ．ｎｅ．ｊｐ", "taro@docomo.ne.jp"),
        ("taro..yamada@docomo.ne.jp", "taro..yamada@docomo.ne.jp"),
        ("taro.@ezweb.ne.jp", "taro.@ezweb.ne.jp"),
        (".taro@au.com", ".taro@au.com"),
        ("jiro-sample.0102@ezweb.ne.jp", "jiro-sample.0102@ezweb.ne.jp"),
        ("suzuki_ichiro@yahoo.co.jp", "suzuki_ichiro@yahoo.co.jp"),
        ("emily@outlook.com.", "emily@outlook.com"),  # sentence-final period
        ("<taro@gmail.com>", "taro@gmail.com"),
        ("mailto:taro@gmail.com", "taro@gmail.com"),
        ("x@example.co.jp", "x@example.co.jp"),
    ],
)
def test_email_valid(written: str, normal: str) -> None:
    result = ok("email", written)
    assert result.value == normal
    assert result.suggestion is None


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("taro@gmail.con", "taro@gmail.com"),
        ("taro@gmial.com", "taro@gmail.com"),
        ("taro@gmai.com", "taro@gmail.com"),
        ("taro@docomo.ne.jo", "taro@docomo.ne.jp"),
        ("taro@ezweb.ne.jo", "taro@ezweb.ne.jp"),
        ("taro@yahoo.co.jo", "taro@yahoo.co.jp"),
        ("taro@au.con", "taro@au.com"),
    ],
)
def test_email_typo_is_suggested_not_rewritten(written: str, suggestion: str) -> None:
    result = ok("email", written)
    assert result.value == written
    assert result.suggestion == suggestion


def test_no_suggestion_for_unrelated_domains() -> None:
    for domain in ("example.com", "example.co.jp", "example.ne.jp", "ab.com", "docomo.ne.jp", "me.com"):
        assert suggest_domain(domain) is None, domain


def test_email_comma_for_dot() -> None:
    result = bad("email", "yuki@gmail,com")
    assert "カンマ" in result.reason_ja
    assert "comma" in result.reason_en
    assert result.suggestion == "yuki@gmail.com"


@pytest.mark.parametrize(
    ("written", "word_ja", "word_en"),
    [
        ("たろう@gmail.com", "全角", "full-width"),
        ("taro@gmail。com", "「。」", "full stop"),
        ("tarogmail.com", "「@」がありません", "no '@'"),
        ("taro(at)gmail.com", "文字で書かれて", "in words"),
        ("taro@", "ドメイン", "domain"),
        ("@gmail.com", "前の部分", "before the '@'"),
        ("taro@gmail", "途中で切れて", "cut short"),
        ("taro @gmail.com", "空白", "space"),
        ("taro@gmail. com", "空白", "space"),
        ("a@b@gmail.com", "2つ以上", "more than one"),
        ("taro..x@gmail.com", "ドットが2つ", "two periods"),
        ("taro.@gmail.com", "直前", "before the @"),
        ("taro@gmаil.com", "キリル", "Cyrillic"),  # Cyrillic а
    ],
)
def test_email_invalid_reasons(written: str, word_ja: str, word_en: str) -> None:
    result = bad("email", written)
    assert word_ja in result.reason_ja
    assert word_en in result.reason_en


def test_mixed_script_domain_is_never_corrected() -> None:
    check = check_email("taro@gmаil.com")
    assert check.address is None
    assert check.suggestion is None


def test_our_own_addresses_are_never_the_members() -> None:
    assert run("email", "secure_lunasea@cc.example.jp") is None
    assert run("email", "SECURE_JO1@cc.example.jp") is None
    assert run("email", "secure_produce101shinsekai@cc.example.jp") is None
