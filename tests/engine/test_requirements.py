"""Each requirement rule of product.md "Requirements", on hand-built member text per mailbox."""

from __future__ import annotations

import datetime
from pathlib import Path

from triage.engine.extract import Extraction, extract
from triage.engine.loader import load_rules
from triage.engine.requirements import evaluate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies")
TODAY = datetime.date(2026, 11, 21)

PERSON = [
    "・氏名フルネーム(漢字):山田 太郎",
    "・氏名フルネーム(カナ):ヤマダ タロウ",
    "・ご設定のニックネーム:たろう",
    "・ご生年月日(西暦表記8桁):19900102",
    "・ご登録のお電話番号:090-0000-1234",
]
PRODUCE = [
    *PERSON,
    "・ご登録の住所(都道府県):東京都",
    "・ご登録のメールアドレス:taro@example.jp",
    "・会費のお支払い方法:クレジットカード決済",
    "・Plus member ID:E10000001",
]
JO1 = [
    *PERSON,
    "・都道府県:大阪府",
    "・ご登録のコース:月会費コース",
    "・会費のお支払い方法:クレジットカード決済",
    "・入力したパスワード(桁数):10桁",
]
LUNASEA = [
    *PERSON,
    "・ご契約の携帯会社:au",
    "・継続課金ID:60000004444",
    "・会員番号:1234567",
    "・パスワード:19900102",
    "・お持ちのメールアドレス全て",
    "taro@example.jp",
    "taro2@example.ne.jp",
    "・ご住所:埼玉県さいたま市浦和区見本町1-2-3",
]
BILLING = ["ログインID:guest_sample77", "登録メールアドレス:taro@example.jp", "電話番号:090-0000-1234"]


def check(mailbox: str, lines: list[str]) -> tuple[tuple[str, ...], tuple[str, ...], Extraction]:
    extraction = extract(
        "\n".join(lines), RULES, today=TODAY, our_local_parts=RULES.mailboxes, mailbox=mailbox
    )
    missing, blocking = evaluate(RULES.packs[mailbox], extraction)
    return missing, blocking, extraction


def without(lines: list[str], prefix: str) -> list[str]:
    return [line for line in lines if not line.startswith(prefix)]


def replaced(lines: list[str], prefix: str, line: str) -> list[str]:
    return [line if old.startswith(prefix) else old for old in lines]


# --- complete requests ---------------------------------------------------------------------------


def test_complete_requests_meet_every_mailbox() -> None:
    for mailbox, lines in (
        ("secure_produce101shinsekai", PRODUCE),
        ("secure_jo1", [*JO1, "・Plus member ID:E10000001"]),
        ("secure_lunasea", LUNASEA),
        ("secure_billing", BILLING),
    ):
        missing, blocking, _ = check(mailbox, lines)
        assert (mailbox, missing, blocking) == (mailbox, (), ())


# --- a required field ----------------------------------------------------------------------------


def test_required_field_missing() -> None:
    missing, blocking, _ = check("secure_produce101shinsekai", without(PRODUCE, "・ご設定のニックネーム"))
    assert missing == ("nickname",)
    assert blocking == ()


def test_placeholder_leaves_the_field_missing() -> None:
    lines = replaced(PRODUCE, "・Plus member ID", "・Plus member ID:未取得")
    assert check("secure_produce101shinsekai", lines)[:2] == (("plus_member_id",), ())


def test_required_field_invalid_blocks() -> None:
    lines = replaced(PRODUCE, "・ご生年月日", "・ご生年月日:1990年2月30日")
    missing, blocking, _ = check("secure_produce101shinsekai", lines)
    assert missing == ()
    assert blocking == ("birth_date",)


def test_an_email_list_with_one_invalid_blocks() -> None:
    lines = replaced(LUNASEA, "taro2@", "taro2@example,jp")
    missing, blocking, extraction = check("secure_lunasea", lines)
    assert extraction.value("emails") == ["taro@example.jp"]
    assert missing == ()
    assert blocking == ("emails",)


def test_billing_missing_everything() -> None:
    missing, blocking, _ = check("secure_billing", ["ログインできません。"])
    assert missing == ("emails", "login_id", "phone")
    assert blocking == ()


def test_billing_before_purchase_is_a_login_id() -> None:
    lines = replaced(BILLING, "ログインID", "ログインID:購入前")
    assert check("secure_billing", lines)[:2] == ((), ())


# --- any_of --------------------------------------------------------------------------------------


def test_any_of_met_by_one_alternative_other_invalid_reported_not_blocking() -> None:
    missing, blocking, extraction = check(
        "secure_jo1", [*JO1, "・Plus member ID:E10000001", "メールアドレス:x@gmail,com"]
    )
    assert (missing, blocking) == ((), ())
    assert [item.field for item in extraction.invalid] == ["emails"]


def test_any_of_met_by_the_email_alone() -> None:
    assert check("secure_jo1", [*JO1, "メールアドレス:taro@example.jp"])[:2] == ((), ())


def test_any_of_neither_given_lists_both_as_missing() -> None:
    missing, blocking, _ = check("secure_jo1", JO1)
    assert missing == ("emails", "plus_member_id")
    assert blocking == ()


def test_any_of_neither_met_invalid_one_blocks_absent_one_missing() -> None:
    missing, blocking, _ = check("secure_jo1", [*JO1, "メールアドレス:x@gmail,com"])
    assert missing == ("plus_member_id",)
    assert blocking == ("emails",)


# --- when ----------------------------------------------------------------------------------------


def test_carrier_payment_with_unknown_carrier_misses_carrier_only() -> None:
    lines = replaced(PRODUCE, "・会費のお支払い方法", "・会費のお支払い方法:キャリア決済")
    missing, blocking, _ = check("secure_produce101shinsekai", lines)
    assert missing == ("carrier",)
    assert blocking == ()


def test_carrier_known_misses_its_own_id() -> None:
    lines = replaced(PRODUCE, "・会費のお支払い方法", "・ご契約の携帯会社:ソフトバンク")
    missing, _, extraction = check("secure_produce101shinsekai", lines)
    assert extraction.value("payment_method") == "carrier"  # implied by the carrier
    assert missing == ("softbank_order_number",)


def test_inferred_carrier_from_its_id_meets_the_requirement() -> None:
    lines = replaced(PRODUCE, "・会費のお支払い方法", "・継続課金ID:60000004444")
    assert check("secure_produce101shinsekai", lines)[:2] == ((), ())


def test_named_carrier_wins_over_an_id_of_another_carrier() -> None:
    lines = replaced(PRODUCE, "・会費のお支払い方法", "・ご契約の携帯会社:docomo\n・継続課金ID:60000004444")
    missing, blocking, extraction = check("secure_produce101shinsekai", lines)
    assert extraction.value("au_billing_id") == "60000004444"
    assert missing == ("docomo_payment_number",)
    assert blocking == ()


def test_invalid_carrier_id_blocks() -> None:
    lines = replaced(PRODUCE, "・会費のお支払い方法", "・継続課金ID:090-0000-5678")
    missing, blocking, _ = check("secure_produce101shinsekai", lines)
    assert missing == ()
    assert blocking == ("au_billing_id",)


def test_credit_card_payment_does_not_need_a_carrier() -> None:
    missing, _, _ = check("secure_jo1", [*JO1, "・Plus member ID:E10000001"])
    assert "carrier" not in missing


def test_bundle_course_requires_member_number() -> None:
    lines = [*PRODUCE, "・ご登録のコース:まとめて払いコース"]
    assert check("secure_produce101shinsekai", lines)[:2] == (("member_number",), ())
    assert check("secure_produce101shinsekai", [*lines, "・会員番号:00123456"])[:2] == ((), ())


def test_monthly_course_does_not_require_member_number() -> None:
    lines = [*PRODUCE, "・ご登録のコース:月会費コース"]
    assert check("secure_produce101shinsekai", lines)[:2] == ((), ())


def test_billing_credit_card_requires_card_last4() -> None:
    lines = [*BILLING, "支払方法:クレジットカード"]
    assert check("secure_billing", lines)[:2] == (("card_last4",), ())
    assert check("secure_billing", [*lines, "カード末尾4桁:8765"])[:2] == ((), ())


def test_billing_convenience_store_does_not_require_card_last4() -> None:
    assert check("secure_billing", [*BILLING, "支払方法:コンビニ決済"])[:2] == ((), ())


# --- lunasea: carrier and carrier id always required, optional fields --------------------------


def test_lunasea_without_carrier_misses_carrier_only() -> None:
    lines = without(without(LUNASEA, "・ご契約の携帯会社"), "・継続課金ID")
    missing, blocking, _ = check("secure_lunasea", lines)
    assert missing == ("carrier",)
    assert blocking == ()


def test_lunasea_optional_plus_member_id_invalid_reported_not_blocking() -> None:
    missing, blocking, extraction = check("secure_lunasea", [*LUNASEA, "・Plus member ID:E12"])
    assert (missing, blocking) == ((), ())
    assert [item.field for item in extraction.invalid] == ["plus_member_id"]
