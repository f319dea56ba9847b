"""Mail structure, corrections, hedges and validity: readings 3, 7, 8, 9, 14, 15 through `extract()`
and `judge()`. All data is invented."""

from __future__ import annotations

import pytest
from enginekit import RULES, TODAY, invalid_of, run

from triage.config import Settings
from triage.engine.emails import broken_tail
from triage.outbound.render import render_reply
from triage.parsing.mime import parse_mail
from triage.verdict import Verdict, judge


def verdict_of(body: str, mailbox: str) -> Verdict:
    raw = (
        f"Return-Path: <taro@example.jp>\nFrom: taro@example.jp\nTo: {mailbox}@example.jp\nSubject: help\n"
        "Message-ID: <m1@example.jp>\nDate: Sat, 21 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body
    ).encode()
    return judge(
        parse_mail(raw), envelope_to=f"{mailbox}@example.jp", settings=Settings(), rules=RULES, today=TODAY
    )


# --- a comma or a Japanese stop in place of a dot: one broken address (reading 9) ----------------


@pytest.mark.parametrize(
    ("text", "end", "want"),
    [
        ("renka.ueno@i.softbank,jp", 21, 24),
        ("taro@gmail、com です", 10, 14),
        ("a@b.example.jp、Plus member IDは", 14, 14),  # a pause before a capital: no address
        ("a@b.example.jp、plusmemberは", 14, 14),  # too long after a Japanese stop
        ("a@b.example.jp,c@d.example.jp", 14, 14),  # the next address
        ("a@b.example.jp, next", 14, 14),
    ],
)
def test_broken_tail(text: str, end: int, want: int) -> None:
    assert broken_tail(text, end) == want


@pytest.mark.parametrize(
    "text",
    [
        "メアド→hana.kudo@i.softbank,jp",
        "メールアドレスは hana.kudo@i.softbank,jp です。",
        "my email is hana.kudo@i.softbank,jp",
    ],
)
def test_an_address_with_a_comma_for_a_dot_is_one_invalid_address(text: str) -> None:
    result = run(text)
    assert result.value("emails") is None
    assert invalid_of(result, "emails") == ["hana.kudo@i.softbank,jp"]


def test_an_address_before_a_japanese_pause_stays_valid() -> None:
    result = run("メールはhana.kudo@example.jp、Plus member IDはE12345678です。")
    assert result.value("emails") == ["hana.kudo@example.jp"]
    assert invalid_of(result, "emails") == []


# --- corrections (reading 7) ---------------------------------------------------------------------


def test_an_english_typo_note_corrects_the_phone_found_by_its_shape() -> None:
    text = "Phone: 080-1111-2093\n\nSorry, typo above, my number is 080-1111-2039, not 2093."
    assert run(text).value("phone") == "08011112039"


def test_the_correct_number_after_the_list_wins() -> None:
    text = "Phone: 090-2222-3333\n\nThe phone above is my old one.\nThe correct number is 080-4444-5555."
    assert run(text).value("phone") == "08044445555"


def test_a_japanese_afterthought_corrects_the_length() -> None:
    text = "【パスワードの桁数】7文字\n\n追記：パスワードの桁数を7桁と書きましたが、見直したら9桁でした。"
    assert run(text, "secure_jo1").value("password_length") == 9


def test_an_english_mistyped_member_number_is_corrected() -> None:
    text = (
        "Member number I typed: 4402217\n\n"
        "Sorry, I mistyped above: the member number is 4420217, not 4402217."
    )
    assert run(text, "secure_lunasea").value("login_member_number") == "4420217"


def test_a_corrected_address_withdraws_the_broken_one() -> None:
    text = (
        "メールアドレスは kei_fan@yahoo.co,jp です。\n\n"
        "上のアドレスは間違いで、正しくは kei_fan@yahoo.co.jp です。"
    )
    result = run(text)
    assert result.value("emails") == ["kei_fan@yahoo.co.jp"]
    assert invalid_of(result, "emails") == []


def test_quotes_around_a_value_before_a_copula_are_stripped() -> None:
    assert run("ログインIDは「kt_fan0101」です。", "secure_billing").value("login_id") == "kt_fan0101"


# --- hedges (reading 8) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("コース ？？", "course"),
        ("コース ?", "course"),
        ("キャリア決済の場合(docomo/au/SoftBank)：親のスマホ払いなのでわからん", "carrier"),
        ("パスワードの桁数 知らん", "password_length"),
        ("Carrier: idk, my mom pays", "carrier"),
    ],
)
def test_hedged_answers_are_not_given(text: str, key: str) -> None:
    result = run(text, "secure_jo1")
    assert result.value(key) is None
    assert invalid_of(result, key) == []


# --- a shop or office signature (reading 15) -----------------------------------------------------


def test_a_salon_tel_in_a_boxed_signature_is_not_the_members() -> None:
    text = "よろしくお願いします。\n\n━━━━━━━━\n美容室 Lien 岐阜店\nTEL 058-000-3190\n担当 上田\n━━━━━━━━"
    assert run(text).value("phone") is None


def test_an_office_block_at_the_end_in_english() -> None:
    text = "My mobile: 070-1234-5678\n\n==========\nHirano Design Office\nTEL 03-0000-7780\n=========="
    assert run(text).value("phone") == "07012345678"


def test_a_rule_before_the_members_own_text_is_no_signature() -> None:
    text = "━━━━━━━━\n担当の方へ\n電話番号：090-1111-2222\n━━━━━━━━\n氏名：山田 太郎"
    assert run(text).value("phone") == "09011112222"


# --- a wrapped building line joins the address ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "住所：神奈川県相模原市中央区相模原6-14-2\n サンハイツ102",
            "神奈川県相模原市中央区相模原6-14-2 サンハイツ102",
        ),
        (
            "住所：広島県広島市南区宇品海岸2-7-15\nグランコート宇品 503号室",
            "広島県広島市南区宇品海岸2-7-15 グランコート宇品 503号室",
        ),
        ("住所：大阪府吹田市千里山東3-4-11\n電話番号：090-1111-2222", "大阪府吹田市千里山東3-4-11"),
        ("住所：大阪府吹田市千里山東3-4-11\nよろしくお願いします。", "大阪府吹田市千里山東3-4-11"),
    ],
)
def test_a_building_line_under_the_address(text: str, want: str) -> None:
    assert run(text, "secure_lunasea").value("address") == want


# --- invalid names only the pack's fields (reading 3, docs/decisions.md) ---------------------------


def test_pack_fields_expand_the_carrier_id() -> None:
    fields = RULES.packs["secure_jo1"].fields
    assert {"password_length", "error_message", "au_billing_id", "carrier"} <= fields
    assert "login_password" not in fields


def test_invalid_outside_the_pack_is_not_reported_nor_asked_for() -> None:
    body = (
        "ログインID：kt_fan0101\nメール：kt@example.jp\n電話番号：090-1111-2222\n"
        "ログイン時に入力したパスワード：0121\n"
    )
    verdict = verdict_of(body, "secure_billing")
    assert verdict.extraction is not None
    assert [item.field for item in verdict.extraction.invalid] == []
    assert verdict.decision.value == "queued"
    reply = render_reply(verdict, RULES, Settings())
    assert reply is not None
    assert "パスワード" not in reply.body


def test_invalid_inside_the_pack_is_still_reported() -> None:
    body = "ログインID：kt_fan0101\nメール：kt@example.jp\n電話番号：090-1111-222\n"
    verdict = verdict_of(body, "secure_billing")
    assert verdict.extraction is not None
    assert [item.field for item in verdict.extraction.invalid] == ["phone"]


# --- a value must look like its field (reading 10) -------------------------------------------------


def test_a_password_label_answered_with_a_count_is_a_length() -> None:
    result = run("Password I entered: 10 characters", "secure_jo1")
    assert result.value("password_length") == 10
    assert run("入力したパスワード：12文字", "secure_jo1").value("password_length") == 12


def test_a_sentence_before_a_dash_is_no_label() -> None:
    result = run(
        "I pay through au - my continuous billing ID (継続課金ID) is 62018843027.",
        "secure_produce101shinsekai",
    )
    assert invalid_of(result, "payment_method") == []
    assert result.value("carrier") == "au"
    assert result.value("au_billing_id") == "62018843027"
