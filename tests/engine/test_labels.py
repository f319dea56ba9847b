"""Labels the engine reads by their words after normalisation (branch fix-labels): kana labels,
typos, short English labels, arrows, two labels on one line, option brackets, quoted FAQ labels,
a bare `ID`, and unlabelled answers in the FAQ's items. All names and numbers are invented."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from triage.engine.extract import Extraction, extract
from triage.engine.labels import _one_edit, _respell, labels_for
from triage.engine.loader import load_rules

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies")
TODAY = datetime.date(2026, 12, 7)
NOT_READ = object()


def run(text: str, mailbox: str) -> Extraction:
    return extract(text, RULES, today=TODAY, our_local_parts=frozenset(RULES.packs), mailbox=mailbox)


CASES = [
    # `8桁` after a label is part of it only when something follows (reading 4); alone it is the answer
    ("【パスワードの桁数】8桁", "secure_jo1", "password_length", 8),
    ("パスワードの桁数 10桁", "secure_jo1", "password_length", 10),
    ("パスワード8桁：19900102", "secure_lunasea", "login_password", "19900102"),
    # hiragana and half-width katakana labels: compared as katakana
    ("なまえ：村上 理沙", "secure_jo1", "name_kanji", "村上 理沙"),
    ("【たんじょうび】1995年3月8日", "secure_jo1", "birth_date", "19950308"),
    ("けん：長野", "secure_jo1", "prefecture", "長野県"),
    ("しはらい：クレジットカード", "secure_jo1", "payment_method", "credit_card"),
    ("ﾅﾏｴ:村上 理沙", "secure_lunasea", "name_kanji", "村上 理沙"),
    ("ｾｲﾈﾝｶﾞｯﾋﾟ:1995/3/8", "secure_lunasea", "birth_date", "19950308"),
    ("ｼﾞｭｳｼｮ:長野県松本市中央1-2-3", "secure_lunasea", "address", "長野県松本市中央1-2-3"),
    ("ｹｲﾀｲｶﾞｲｼｬ:ｿﾌﾄﾊﾞﾝｸ", "secure_lunasea", "carrier", "softbank"),
    ("ﾁｭｳﾓﾝﾊﾞﾝｺﾞｳ:CD1234567890", "secure_lunasea", "softbank_order_number", "CD1234567890"),
    ("ﾆｯｸﾈ-ﾑ:りさ", "secure_jo1", "nickname", "りさ"),
    # short and colloquial labels
    ("Nick: risa_m", "secure_jo1", "nickname", "risa_m"),
    ("Pref: Nagano", "secure_jo1", "prefecture", "長野県"),
    ("住まい：長野県松本市", "secure_jo1", "prefecture", "長野県"),
    ("住んでるところ：長野", "secure_produce101shinsekai", "prefecture", "長野県"),
    ("サイトでの呼び名（ニックネーム）は「りさ」です。", "secure_lunasea", "nickname", "りさ"),
    (
        "・エラー ログインIDまたはパスワードが違います",
        "secure_jo1",
        "error_message",
        "ログインIDまたはパスワードが違います",
    ),
    # English labels one typo away
    ("Nmae: 村上 理沙", "secure_jo1", "name_kanji", "村上 理沙"),
    ("Cource: monthly", "secure_jo1", "course", "monthly"),
    ("Birthdey: 1995/03/08", "secure_jo1", "birth_date", "19950308"),
    ("Password lenght: 11", "secure_jo1", "password_length", 11),
    # separators and layouts
    ("Name (Katakana) -> ムラカミ リサ", "secure_jo1", "name_kana", "ムラカミ リサ"),
    ("Nickname => risa", "secure_jo1", "nickname", "risa"),
    ("Kanji: 村上 理沙 / Katakana: ムラカミ リサ", "secure_jo1", "name_kana", "ムラカミ リサ"),
    ("Kanji: 村上 理沙 / Katakana: ムラカミ リサ", "secure_jo1", "name_kanji", "村上 理沙"),
    (
        "- Payment method [Credit card / Carrier billing / Convenience store]: キャリア決済",
        "secure_jo1",
        "payment_method",
        "carrier",
    ),
    ("- If carrier billing [carrier / payment info]: au / 61234567890", "secure_jo1", "carrier", "au"),
    (
        "Carrier payment info ★1: 注文番号 CD1234567890",
        "secure_lunasea",
        "softbank_order_number",
        "CD1234567890",
    ),
    # a bare ID names the one id the mailbox asks for, only as a label
    ("ID：E12345678", "secure_jo1", "plus_member_id", "E12345678"),
    ("ID→risa_0308", "secure_billing", "login_id", "risa_0308"),
    ("ID or password is incorrect", "secure_billing", "login_id", NOT_READ),
    # quoted FAQ lines are labels, never values
    (
        "> ・ご契約の携帯会社\nau\n> ・auの継続課金ID(11桁)\n61234567890",
        "secure_lunasea",
        "au_billing_id",
        "61234567890",
    ),
    ("> ----- Original Message -----\n> From: someone@example.jp", "secure_jo1", "error_message", NOT_READ),
]


@pytest.mark.parametrize(("text", "mailbox", "key", "expected"), CASES)
def test_reads_the_label(text: str, mailbox: str, key: str, expected: object) -> None:
    result = run(text, mailbox)
    if expected is NOT_READ:
        assert result.value(key) is None, result.value(key)
        assert not result.has_invalid(key)
    else:
        assert result.value(key) == expected, (result.value(key), result.invalid)


def test_numbered_answers_follow_the_faqs_items_with_a_name_pair_in_one() -> None:
    text = "FAQの順に書きます\n1. 村上 理沙／ムラカミ リサ\n2. りさ\n3. 19950308\n4. 長野県\n5. 090-1234-5678"
    result = run(text, "secure_jo1")
    assert result.value("name_kanji") == "村上 理沙"
    assert result.value("name_kana") == "ムラカミ リサ"
    assert result.value("prefecture") == "長野県"


def test_numbered_answers_one_field_each_still_follow_the_reply_order() -> None:
    text = "1. 村上 理沙\n2. ムラカミ リサ\n3. りさ\n4. 19950308\n5. 長野県\n6. 090-1234-5678"
    result = run(text, "secure_jo1")
    assert result.value("name_kana") == "ムラカミ リサ"
    assert result.value("birth_date") == "19950308"


def test_bulleted_answers_without_labels_follow_the_faq() -> None:
    text = "FAQの順番で\n\n◆risa_0308\n◆risa.m@example.jp\n◆090-1234-5678\n◆4821\n"
    result = run(text, "secure_billing")
    assert result.value("login_id") == "risa_0308"
    assert result.value("card_last4") == "4821"


def test_a_typo_is_one_edit_with_the_same_first_letter() -> None:
    assert _one_edit("nmae", "name") and _one_edit("cource", "course") and _one_edit("lenght", "length")
    assert not _one_edit("nmea", "name")
    assert _respell("same", ("name",)) == "same"  # another first letter: another word
    assert _respell("password lenght", ("length", "password")) == "password length"


def test_kana_folding_keeps_the_words_found_in_sentences() -> None:
    labels = labels_for(RULES, "secure_jo1")
    assert labels.classify("おなまえ") == "name_kanji"
    assert [m.group() for m in labels.words("ふりがなは")] == ["ふりがな"]
