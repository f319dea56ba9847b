"""Extraction through `extract()` on member text, with the shipped rules (fields.md, decisions.md).

Validators have their own tests (test_fields.py); here every case goes through the text reader:
labels on the line, on the next line, in prose, compounds, carriers, placeholders and every
invalid reason. All data is invented.
"""

from __future__ import annotations

import pytest
from enginekit import RULES, invalid_of, run

# --- label and value on one line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("・氏名フルネーム(漢字):山田 太郎", "name_kanji", "山田 太郎"),
        ("【生年月日】1990年1月2日", "birth_date", "19900102"),
        ("お名前→山田太郎", "name_kanji", "山田太郎"),
        ("氏名 = 山田　太郎", "name_kanji", "山田 太郎"),
        ("・ご設定のニックネーム:たろう", "nickname", "たろう"),
        ("ふりがな:やまだ たろう", "name_kana", "ヤマダ タロウ"),
        ("・ご登録の住所(都道府県):東京", "prefecture", "東京都"),
        (
            "・ご住所:〒330-0000 埼玉県さいたま市浦和区見本町1-2-3",
            "address",
            "〒330-0000 埼玉県さいたま市浦和区見本町1-2-3",
        ),
        ("・ご登録のお電話番号:090-0000-1234", "phone", "09000001234"),
        ("・会費のお支払い方法:クレジットカード決済", "payment_method", "credit_card"),
        ("・ご登録のコース:月会費コース", "course", "monthly"),
        ("・ご登録のコース【まとめて払いコース】", "course", "bundle"),
        ("・会員番号:00123456", "member_number", "00123456"),
        ("・ログイン時に入力した会員番号:1234567", "login_member_number", "1234567"),
        ("・ログイン時に入力したパスワード8桁:1994/02/03", "login_password", "19940203"),
        ("・入力したパスワード(桁数):10桁", "password_length", 10),
        ("・入力したパスワード(先頭/最後の文字):s/9", "password_edge_chars", "s/9"),
        (
            "・表示されたエラーメッセージ:会員情報が確認できません",
            "error_message",
            "会員情報が確認できません",
        ),
        ("旧姓:伊藤", "old_surname", "伊藤"),
        ("新姓:渡辺", "new_surname", "渡辺"),
        ("ログインID:購入前", "login_id", "購入前"),
        ("カード末尾4桁:8765", "card_last4", "8765"),
        ("・Plus member ID:e12345678", "plus_member_id", "E12345678"),
        ("・注文番号:SB-2405 1300-43", "softbank_order_number", "SB2405130043"),
        ("決済番号:1234-5678-9012", "docomo_payment_number", "123456789012"),
        ("・継続課金ID:600-0000-4444", "au_billing_id", "60000004444"),
    ],
)
def test_label_and_value_on_one_line(text: str, key: str, value: object) -> None:
    assert run(text).value(key) == value


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("Name: 山田 太郎", "name_kanji", "山田 太郎"),
        ("Date of birth: March 5, 1995", "birth_date", "19950305"),
        ("Phone: +81 90 0000 4567", "phone", "09000004567"),
        ("Email: taro@example.jp", "emails", ["taro@example.jp"]),
        ("Prefecture: Osaka", "prefecture", "大阪府"),
        ("Payment method: credit card", "payment_method", "credit_card"),
        ("Carrier: au", "carrier", "au"),
        ("User ID: guest_sample77", "login_id", "guest_sample77"),
        ("Password length: 9 characters", "password_length", 9),
    ],
)
def test_english_labels_and_values(text: str, key: str, value: object) -> None:
    assert run(text).value(key) == value


def test_english_name_in_latin_letters_is_invalid_for_kanji() -> None:
    result = run("Name: Taro Yamada")
    assert result.value("name_kanji") is None
    assert invalid_of(result, "name_kanji") == ["Taro Yamada"]


# --- value on the next line ----------------------------------------------------------------------


def test_value_on_the_next_line() -> None:
    result = run("・氏名フルネーム(漢字)\n山田 太郎\n・ご生年月日\n1990/01/02")
    assert result.value("name_kanji") == "山田 太郎"
    assert result.value("birth_date") == "19900102"


def test_several_emails_on_following_lines_in_order() -> None:
    result = run("・お持ちのメールアドレス全て\ntaro@example.jp\nhanako@example.co.jp\nTARO2@Example.NE.JP")
    assert result.value("emails") == ["taro@example.jp", "hanako@example.co.jp", "taro2@example.ne.jp"]


def test_emails_in_order_of_first_appearance_whatever_found_them() -> None:
    text = "連絡先は first@example.jp です。\n・メールアドレス:second@example.jp\nfirst@example.jp"
    assert run(text).value("emails") == ["first@example.jp", "second@example.jp"]


def test_next_line_that_is_a_bullet_is_not_the_value() -> None:
    result = run("・ご設定のニックネーム\n・ご生年月日:1990年1月2日")
    assert result.value("nickname") is None
    assert result.value("birth_date") == "19900102"


# --- prose ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("ヤマダタロウと申します", "name_kana", "ヤマダタロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ と申します", "name_kana", "ヤマダ タロウ"),
        ("小林秋子(コバヤシアキコ)と申します。", "name_kanji", "小林秋子"),
        ("1990年1月2日生まれです", "birth_date", "19900102"),
        ("平成2年1月2日生まれです。", "birth_date", "19900102"),
        ("継続課金IDは40000001234です", "au_billing_id", "40000001234"),
        ("ニックネームは「あきこ」で登録したと思います。", "nickname", "あきこ"),
        ("会費はコンビニ決済で支払っています。", "payment_method", "convenience_store"),
        ("auを使っていて、ログインできません。", "carrier", "au"),
        ("I was born on March 5, 1995.", "birth_date", "19950305"),
        ("I paid with my credit card but I still can't log in.", "payment_method", "credit_card"),
        ("My name is 佐藤 恵美 (Emily Sato).", "name_kanji", "佐藤 恵美"),
    ],
)
def test_prose(text: str, key: str, value: object) -> None:
    assert run(text).value(key) == value


def test_phone_and_address_in_one_sentence() -> None:
    result = run("電話番号は080-0000-2323、住所は千葉県千葉市中央区見本町1-2です。")
    assert result.value("phone") == "08000002323"
    assert result.value("address") == "千葉県千葉市中央区見本町1-2"
    assert result.value("prefecture") == "千葉県"  # derived from the address


def test_table_line() -> None:
    assert run("電話番号 | 090-0000-1234").value("phone") == "09000001234"


def test_name_changed_sentence_gives_no_name() -> None:
    result = run("名前が変わりました")
    assert result.value("name_kanji") is None
    assert result.invalid == []


def test_password_in_prose_is_not_a_birth_date() -> None:
    assert run("パスワードは19900102と入力しました").value("birth_date") is None


# --- full-width forms and wareki -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("電話番号：０９０－００００－１２３４", "phone", "09000001234"),
        ("生年月日：１９９０年１月２日", "birth_date", "19900102"),
        ("・継続課金ＩＤ：６００００００４４４４", "au_billing_id", "60000004444"),
        ("カナ:ﾔﾏﾀﾞ ﾀﾛｳ", "name_kana", "ヤマダ タロウ"),
        ("・Ｐｌｕｓ　ｍｅｍｂｅｒ　ＩＤ：Ｅ１２３４５６７８", "plus_member_id", "E12345678"),
        ("生年月日:平成2年1月2日", "birth_date", "19900102"),
        ("生年月日:H2.1.2", "birth_date", "19900102"),
        ("生年月日:昭和64年1月7日", "birth_date", "19890107"),
        ("生年月日:令和元年5月1日", "birth_date", "20190501"),
    ],
)
def test_full_width_and_wareki(text: str, key: str, value: object) -> None:
    assert run(text).value(key) == value


def test_full_width_address_folds_and_is_valid() -> None:
    result = run("メールアドレス:ｈａｎａ＠ｅｘａｍｐｌｅ．ｊｐ")
    assert result.value("emails") == ["hana@example.jp"]
    assert result.invalid == []


# --- placeholders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("・ご設定のニックネーム:なし", "nickname"),
        ("・Plus member ID:未取得", "plus_member_id"),
        ("・ご設定のニックネーム:覚えていません", "nickname"),
        ("・氏名フルネーム(漢字):不明", "name_kanji"),
        ("・決済番号:なし", "docomo_payment_number"),
        ("メールアドレス:覚えていません", "emails"),
        ("・注文番号:わからない", "softbank_order_number"),
        ("Plus member ID: N/A", "plus_member_id"),
    ],
)
def test_placeholder_is_no_value_and_not_invalid(text: str, key: str) -> None:
    result = run(text)
    assert result.value(key) is None
    assert result.invalid == []


# --- carriers ------------------------------------------------------------------------------------


def test_au_id_alone_infers_au_and_carrier_payment() -> None:
    result = run("・継続課金ID:60000004444")
    assert result.value("carrier") == "au"
    assert result.value("payment_method") == "carrier"
    assert result.value("au_billing_id") == "60000004444"


def test_named_docomo_with_an_au_id_keeps_the_id_but_not_as_docomo() -> None:
    result = run("・ご契約の携帯会社:docomo\n・継続課金ID:60000004444")
    assert result.value("carrier") == "docomo"
    assert result.value("au_billing_id") == "60000004444"
    assert result.value("docomo_payment_number") is None


def test_two_carrier_ids_infer_no_carrier() -> None:
    result = run("・継続課金ID:60000004444\n・決済番号:123456789012")
    assert result.value("carrier") is None


def test_bracket_after_label_is_the_value() -> None:
    result = run("・ご契約の携帯会社【au】")
    assert result.value("carrier") == "au"
    assert result.value("payment_method") == "carrier"


def test_label_listing_options_gives_nothing() -> None:
    result = run("・キャリア決済の場合(docomo/au/SoftBank):")
    assert result.fields_json(list(RULES.fields)) == {}
    assert result.invalid == []


def test_payment_option_list_without_answer_gives_nothing() -> None:
    assert run("・会費のお支払い方法(クレジットカード決済/キャリア決済):").value("payment_method") is None


def test_carrier_named_by_payment_method() -> None:
    result = run("支払方法:auかんたん決済")
    assert result.value("carrier") == "au"
    assert result.value("payment_method") == "carrier"


def test_generic_carrier_id_label_goes_to_the_members_carrier() -> None:
    result = run("・ご契約の携帯会社:ドコモ\n・各キャリアの決済情報:1234-5678-9012")
    assert result.value("docomo_payment_number") == "123456789012"


def test_carrier_never_read_from_an_email_domain() -> None:
    assert run("メールアドレス:taro@docomo.ne.jp").value("carrier") is None


# --- compounds -----------------------------------------------------------------------------------


def test_compound_on_one_line() -> None:
    result = run("氏名(漢字/カナ): 森 桜子/モリ サクラコ")
    assert result.value("name_kanji") == "森 桜子"
    assert result.value("name_kana") == "モリ サクラコ"


def test_compound_on_two_lines() -> None:
    result = run("氏名(漢字/カナ)\n森 桜子\nモリ サクラコ")
    assert result.value("name_kanji") == "森 桜子"
    assert result.value("name_kana") == "モリ サクラコ"


# --- every invalid reason, through the text ------------------------------------------------------


def test_au_id_that_is_a_phone_number() -> None:
    result = run("・継続課金ID:090-0000-1234")
    assert result.value("au_billing_id") is None
    (item,) = result.invalid
    assert item.field == "au_billing_id"
    assert "電話番号" in item.reason_ja
    assert "phone number" in item.reason_en


def test_au_id_equal_to_the_members_phone() -> None:
    result = run("・電話番号:050-0000-1234\n・継続課金ID:05000001234")
    assert result.value("phone") == "05000001234"
    assert invalid_of(result, "au_billing_id") == ["05000001234"]


def test_au_id_that_is_a_longer_payment_information_number() -> None:
    result = run("・継続課金ID:1234567890123456")
    (item,) = result.invalid
    assert item.field == "au_billing_id"
    assert "決済情報番号" in item.reason_ja
    assert "16" in item.reason_en


def test_docomo_number_of_the_wrong_length() -> None:
    result = run("・決済番号:1234567890")
    (item,) = result.invalid
    assert item.field == "docomo_payment_number"
    assert "12" in item.reason_ja and "10" in item.reason_ja


def test_impossible_date() -> None:
    result = run("生年月日:1990年2月30日")
    assert result.value("birth_date") is None
    (item,) = result.invalid
    assert item.field == "birth_date"
    assert "February 30" in item.reason_en


def test_future_date() -> None:
    result = run("生年月日:2030年1月2日")
    (item,) = result.invalid
    assert item.field == "birth_date"
    assert "future" in item.reason_en


def test_email_with_a_comma_for_a_dot_suggests_the_address() -> None:
    result = run("メールアドレス:taro@gmail,com")
    assert result.value("emails") is None
    (item,) = result.invalid
    assert item.field == "emails"
    assert item.suggestion == "taro@gmail.com"
    assert "comma" in item.reason_en


def test_email_with_full_width_letters() -> None:
    (item,) = run("メールアドレス:たろう@example.jp").invalid
    assert item.field == "emails"
    assert "full-width" in item.reason_en


def test_email_without_a_domain() -> None:
    (item,) = run("メールアドレス:taro@").invalid
    assert item.field == "emails"
    assert "domain" in item.reason_en


def test_email_domain_typo_is_valid_with_a_suggestion() -> None:
    result = run("メールアドレス:taro@gmail.con")
    assert result.value("emails") == ["taro@gmail.con"]
    assert result.invalid == []
    assert result.found["emails"][0].suggestion == "taro@gmail.com"


@pytest.mark.parametrize(
    "text",
    [
        "メールアドレス\ntaro@example.jp\nhanako@example,jp",
        "メールアドレス:taro@example.jp、hanako@example,jp",
    ],
)
def test_invalid_labelled_email_is_reported_beside_valid_ones(text: str) -> None:
    result = run(text)
    assert result.value("emails") == ["taro@example.jp"]
    assert invalid_of(result, "emails") == ["hanako@example,jp"]


def test_note_beside_a_labelled_email_is_not_an_address() -> None:
    result = run("メールアドレス:PC: taro@example.jp (携帯)")
    assert result.value("emails") == ["taro@example.jp"]
    assert result.invalid == []


def test_first_valid_value_stands_and_earlier_invalid_is_not_reported() -> None:
    result = run("・電話番号:090-0000-123\n・電話番号:090-0000-1234")
    assert result.value("phone") == "09000001234"
    assert invalid_of(result, "phone") == []


# --- our own addresses ---------------------------------------------------------------------------


def test_our_own_secure_address_is_never_an_email() -> None:
    text = "secure_lunasea@example.jp 宛に送ります。\nメールアドレス:secure_jo1@example.jp\ntaro@example.jp"
    assert run(text).value("emails") == ["taro@example.jp"]


# --- mailbox wording -----------------------------------------------------------------------------


def test_lunasea_reads_plain_member_number_and_password_as_login_ones() -> None:
    text = "会員番号:1234567\nパスワード:1990/01/02"
    lunasea = run(text, mailbox="secure_lunasea")
    assert lunasea.value("login_member_number") == "1234567"
    assert lunasea.value("login_password") == "19900102"
    other = run(text, mailbox="secure_produce101shinsekai")
    assert other.value("member_number") == "1234567"
    assert other.value("login_member_number") is None


# --- a whole form --------------------------------------------------------------------------------


def test_whole_pasted_form_in_field_order() -> None:
    text = "\n".join(
        [
            "お世話になっております。ログインできません。",
            "・氏名フルネーム(漢字):山田 太郎",
            "・氏名フルネーム(カナ):ﾔﾏﾀﾞ ﾀﾛｳ",
            "・ご設定のニックネーム:たろう",
            "・ご生年月日(西暦表記8桁):19900102",
            "・ご登録の住所(都道府県):神奈川",
            "・ご登録のお電話番号:090-0000-1234",
            "・ご登録のメールアドレス:taro@example.jp",
            "・会費のお支払い方法:キャリア決済",
            "・ご契約の携帯会社【au】",
            "・継続課金ID:60000004444",
            "・Plus member ID:E10000001",
        ]
    )
    result = run(text, mailbox="secure_produce101shinsekai")
    assert result.fields_json(list(RULES.fields)) == {
        "name_kanji": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "nickname": "たろう",
        "birth_date": "19900102",
        "prefecture": "神奈川県",
        "phone": "09000001234",
        "emails": ["taro@example.jp"],
        "payment_method": "carrier",
        "carrier": "au",
        "au_billing_id": "60000004444",
        "plus_member_id": "E10000001",
    }
    assert result.invalid == []
    assert result.found["name_kanji"][0].line == 2
