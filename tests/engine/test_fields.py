"""Field validators: normal forms of fields.md, placeholders, and every invalid reason."""

from __future__ import annotations

import datetime

import pytest

from triage.engine.emails import check_email, suggest_domain
from triage.engine.fields import VALIDATORS, Bad, FieldContext, Ok, Result
from triage.engine.prefectures import PREFECTURES, find_prefecture

CTX = FieldContext(
    today=datetime.date(2026, 11, 21),
    member_phone="09000007878",
    our_local_parts=frozenset({"secure_lunasea", "secure_jo1"}),
)

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


def run(name: str, value: str, ctx: FieldContext = CTX) -> Result:
    return VALIDATORS[name](value, ctx)


def ok(name: str, value: str, ctx: FieldContext = CTX) -> Ok:
    result = run(name, value, ctx)
    assert isinstance(result, Ok), (name, value, result)
    return result


def bad(name: str, value: str, ctx: FieldContext = CTX) -> Bad:
    result = run(name, value, ctx)
    assert isinstance(result, Bad), (name, value, result)
    assert result.reason_ja
    assert result.reason_en
    assert result.reason_ja.endswith("。")
    return result


def test_registry_names() -> None:
    assert set(VALIDATORS) == EXPECTED_VALIDATORS


@pytest.mark.parametrize("name", sorted(EXPECTED_VALIDATORS))
@pytest.mark.parametrize("placeholder", ["なし", "未取得", "覚えていません", "none", "N/A", "-", "", "  "])
def test_every_validator_returns_none_for_placeholders(name: str, placeholder: str) -> None:
    assert run(name, placeholder) is None


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("山田 太郎", "山田 太郎"),
        ("山田\u3000太郎", "山田 太郎"),
        ("山田\u3000\u3000 太郎", "山田 太郎"),
        ("山田太郎", "山田太郎"),
        ("「山田 太郎」", "山田 太郎"),
        ("山田太郎です", "山田太郎"),
        ("山田太郎と申します", "山田太郎"),
        ("王 小明", "王 小明"),
        ("髙橋 一郎", "髙橋 一郎"),
        ("山﨑 花子", "山﨑 花子"),
        ("\ufa10本 花子", "\ufa10本 花子"),  # a compatibility ideograph is kept, not NFKC-folded
        ("佐々木 のぞみ", "佐々木 のぞみ"),
    ],
)
def test_name_kanji(written: str, normal: str) -> None:
    assert ok("name_kanji", written).value == normal


def test_name_kanji_invalid() -> None:
    assert "数字" in bad("name_kanji", "山田1郎").reason_ja
    assert "digits" in bad("name_kanji", "山田 太郎 2").reason_en
    assert "漢字が含まれていません" in bad("name_kanji", "やまだ たろう").reason_ja
    bad("name_kanji", "Taro Yamada")


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("やまだ たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ﾊﾅﾁｬﾝ", "ハナチャン"),
        ("ヤマダ\u3000タロウ", "ヤマダ タロウ"),
        ("ワン シャオミン", "ワン シャオミン"),
        ("ヤマダ・タロー", "ヤマダ・タロー"),
        ("やまだ たろうです", "ヤマダ タロウ"),
        ("ヴァン", "ヴァン"),
        ("「ヤマダ タロウ」", "ヤマダ タロウ"),
    ],
)
def test_name_kana(written: str, normal: str) -> None:
    assert ok("name_kana", written).value == normal


def test_name_kana_invalid() -> None:
    assert "漢字" in bad("name_kana", "山田 タロウ").reason_ja
    assert "アルファベット" in bad("name_kana", "Yamada Taro").reason_ja
    assert "数字" in bad("name_kana", "ヤマダ2").reason_ja
    assert "記号" in bad("name_kana", "ヤマダ=タロウ").reason_ja


# --- as written -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("たろう", "たろう"),
        (" ﾊﾅﾁｬﾝ ", "ハナチャン"),
        ("mingming", "mingming"),
        ("購入前", "購入前"),
        ("〒123-4567 北海道札幌市中央区見本町8−9−10", "〒123-4567 北海道札幌市中央区見本町8-9-10"),
        ("ログインIDまたはパスワードが違います。", "ログインIDまたはパスワードが違います"),
        ("「伊藤」", "伊藤"),
        ("ｔｋ０１０２ａｂｃ", "tk0102abc"),
    ],
)
def test_nonempty(written: str, normal: str) -> None:
    assert ok("nonempty", written).value == normal


def test_edge_chars_keep_every_character() -> None:
    assert ok("edge_chars", "s/9").value == "s/9"
    assert ok("edge_chars", "「!/?」").value == "「!/?」"
    assert ok("edge_chars", "a/。").value == "a/。"
    assert ok("edge_chars", "ｓ／９").value == "s/9"


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
    assert "2桁" in bad("birth_date", "90/01/02").reason_ja
    assert "年・月・日" in bad("birth_date", "平成2年").reason_ja
    assert "year, month and day" in bad("birth_date", "1990年1月").reason_en


def test_birth_date_without_any_number_is_no_value() -> None:
    assert run("birth_date", "秘密です") is None


def test_birth_date_uses_today_from_context() -> None:
    early = FieldContext(today=datetime.date(1990, 1, 1))
    assert isinstance(run("birth_date", "19900102", early), Bad)


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


@pytest.mark.parametrize(
    ("key", "written", "normal"),
    [
        ("nickname", "ゆうまです", "ゆうま"),
        ("plain_text", "酒井です", "酒井"),
        ("address", "埼玉県さいたま市浦和区見本町1-2-3", "埼玉県さいたま市浦和区見本町1-2-3"),
        ("login_id", "まだ購入前です", "購入前"),
        ("login_id", "I haven't bought anything yet", "購入前"),
        ("login_id", "guest_77", "guest_77"),
    ],
)
def test_free_text_fields(key: str, written: str, normal: str) -> None:
    assert ok(key, written).value == normal


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
