"""The kinds of mail the reading model must read (issue 8), each in Japanese and English.

One case per line: the member's text, the mailbox, and what must (or must not) be read. All
names and numbers are invented. The corpus under tests/corpus/ has whole mails of each kind.
"""

from __future__ import annotations

import datetime

import pytest
from enginekit import run as extract_text

from triage.engine.extract import Extraction
from triage.engine.normalize import for_report

TODAY = datetime.date(2026, 12, 7)
NOT_READ = object()


def run(text: str, mailbox: str = "secure_jo1") -> Extraction:
    return extract_text(text, mailbox, today=TODAY)


CASES = [
    # labels the FAQ list does not hold, named by their words
    ("labels", "ご登録のお電話番号：090-1111-2222", "secure_jo1", "phone", "09011112222"),
    ("labels", "電話番号（携帯）：080-3333-4444", "secure_jo1", "phone", "08033334444"),
    ("labels", "■ケータイ番号\n070-5555-6666", "secure_jo1", "phone", "07055556666"),
    ("labels", "Mobile - 090 7777 8888", "secure_jo1", "phone", "09077778888"),
    ("labels", "パスワード(桁数)：8", "secure_jo1", "password_length", 8),
    ("labels", "お住まいの都道府県\u3000熊本", "secure_jo1", "prefecture", "熊本県"),
    ("labels", "■お住まいの都道府県\u3000熊本", "secure_jo1", "prefecture", "熊本県"),
    ("labels", "登録ニックネーム\tももち", "secure_lunasea", "nickname", "ももち"),
    ("labels", "ニックネーム\u3000はやて", "secure_jo1", "nickname", "はやて"),
    ("labels", "| フリガナ | シバタ ナオト |", "secure_jo1", "name_kana", "シバタ ナオト"),
    ("labels", "電話番号:【必須】: 090-1111-2222", "secure_jo1", "phone", "09011112222"),
    # translated templates
    ("translated", "Member number I typed - 79591366", "secure_lunasea", "login_member_number", "79591366"),
    ("translated", "Registered address (prefecture): 北海道", "secure_jo1", "prefecture", "北海道"),
    ("translated", "Plus member ID starting with E: E90028173", "secure_jo1", "plus_member_id", "E90028173"),
    ("translated", "Reading - ヤマモトユウト", "secure_jo1", "name_kana", "ヤマモトユウト"),
    # answers in the FAQ's order without labels
    (
        "table",
        "1. 藤田 恵\n2. フジタ メグミ\n3. めぐ\n4. 1988/5/22\n5. 大阪",
        "secure_jo1",
        "prefecture",
        "大阪府",
    ),
    # prose, Japanese and English
    ("prose_ja", "入力したのは12文字のパスワードです。", "secure_jo1", "password_length", 12),
    (
        "prose_ja",
        "ログイン画面では会員番号 8820391 と、パスワードに 19911201 を入れました。",
        "secure_lunasea",
        "login_password",
        "19911201",
    ),
    ("prose_ja", "住んでいるのは千葉県で、電話は090-1212-3434です。", "secure_jo1", "prefecture", "千葉県"),
    ("prose_ja", "まだ購入前なのでログインIDはありません。", "secure_billing", "login_id", "購入前"),
    ("prose_en", "The card I pay with ends in 5521.", "secure_billing", "card_last4", "5521"),
    ("prose_en", "I'm in Hyogo.", "secure_jo1", "prefecture", "兵庫県"),
    ("prose_en", "I pay the monthly fee by credit card.", "secure_jo1", "payment_method", "credit_card"),
    ("prose_en", "I pay the monthly fee by credit card.", "secure_jo1", "course", "monthly"),
    (
        "prose_en",
        "I tried member number 11017903 and password 20040917.",
        "secure_lunasea",
        "login_password",
        "20040917",
    ),
    # two fields on one line
    ("twofields", "氏名：岡本 結衣（オカモト ユイ）", "secure_jo1", "name_kana", "オカモト ユイ"),
    ("twofields", "氏名：西田 真央 ニシダ マオ", "secure_jo1", "name_kanji", "西田 真央"),
    ("twofields", "Name: 松井 玲奈 (Rena Matsui)", "secure_jo1", "name_kanji", "松井 玲奈"),
    ("twofields", "氏名：森 エミリー", "secure_jo1", "name_kanji", "森 エミリー"),
    # hedged answers are not given
    ("hedged", "ニックネーム：設定した記憶がありません", "secure_jo1", "nickname", NOT_READ),
    ("hedged", "ニックネームは娘に聞きましたがわからないそうです", "secure_jo1", "nickname", NOT_READ),
    ("hedged", "Nickname: I never set one", "secure_jo1", "nickname", NOT_READ),
    # garbage is never a value
    ("garbage", "注文番号：I will check later", "secure_jo1", "softbank_order_number", NOT_READ),
    ("garbage", "ご住所：登録した時から引っ越していません", "secure_lunasea", "address", NOT_READ),
    ("garbage", "新姓：酒井です", "secure_lunasea", "new_surname", "酒井"),
    # corrections
    (
        "correction",
        "電話番号：090-1111-0000\n先ほどの電話番号は間違いで、正しくは070-2646-7819です。",
        "secure_jo1",
        "phone",
        "07026467819",
    ),
    (
        "correction",
        "Nickname: piyo\nSorry, the correct nickname is tomoya.",
        "secure_jo1",
        "nickname",
        "tomoya",
    ),
    # emoji beside a value
    ("emoji", "ニックネーム：しゅん \U0001f3ac", "secure_jo1", "nickname", "しゅん"),
    ("emoji", "Login ID: sho_4809 \u2728", "secure_billing", "login_id", "sho_4809"),
    # values split by the client
    ("split", "電話番号：090-3616- \n1284", "secure_jo1", "phone", "09036161284"),
    ("split", "継続課金IDは62849\n339064です。", "secure_jo1", "au_billing_id", "62849339064"),
    ("split", "生年月日：98年4月20日", "secure_jo1", "birth_date", "19980420"),
    ("split", "生年月日：平成三年十二月一日", "secure_jo1", "birth_date", "19911201"),
]


@pytest.mark.parametrize(("kind", "text", "mailbox", "key", "expected"), CASES)
def test_reads_each_kind(kind: str, text: str, mailbox: str, key: str, expected: object) -> None:
    result = run(text, mailbox)
    if expected is NOT_READ:
        assert result.value(key) is None, (kind, result.value(key))
        assert not result.has_invalid(key), (kind, [item.written for item in result.invalid])
    else:
        assert result.value(key) == expected, (kind, result.value(key), result.invalid)


def test_a_company_phone_in_a_signature_is_never_the_members() -> None:
    text = "ログインID：kento_7912\n--\n株式会社見本商事 営業部\nTEL 03-5555-0142 / FAX 03-5555-0143"
    assert run(text, "secure_billing").value("phone") is None


def test_a_corrected_email_withdraws_the_mistyped_one() -> None:
    text = "E-mail: akane.goto981@example.jp\nSorry, the correct email is akane.goto98@example.jp."
    assert run(text, "secure_billing").value("emails") == ["akane.goto98@example.jp"]


def test_an_address_with_a_space_inside_is_one_invalid_address() -> None:
    result = run("お持ちのメールアドレス全て：risa.miura@example.jp、risa 0228@example.com", "secure_lunasea")
    assert result.value("emails") == ["risa.miura@example.jp"]
    assert [item.written for item in result.invalid] == ["risa 0228@example.com"]


def test_a_value_wrapped_over_two_lines_has_two_spans_that_give_it_back() -> None:
    text = "電話番号：090-3616- \n1284"
    (found,) = run(text).found["phone"]
    assert len(found.spans) == 2
    assert for_report("".join(text[start:end] for start, end in found.spans)) == found.written


def test_every_candidate_says_why() -> None:
    result = run("ニックネーム：たろう\nニックネームは「じろう」です", "secure_jo1")
    outcomes = {(item.written, item.outcome) for item in result.considered if item.field == "nickname"}
    assert ("たろう", "chosen") in outcomes
    assert ("じろう", "outranked") in outcomes
