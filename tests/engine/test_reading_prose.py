"""Prose and two fields on one line (readings.md 5 and 6): the capabilities branch fix-prose added.

One case per line: the member's text, the mailbox, and what must (or must not) be read. All names
and numbers are invented; tests/corpus/mails/261-269 hold whole mails of these kinds.
"""

from __future__ import annotations

import datetime

import pytest
from enginekit import run as extract_text

from triage.engine.extract import Extraction

TODAY = datetime.date(2026, 12, 7)
NOT_READ = object()


def run(text: str, mailbox: str = "secure_jo1") -> Extraction:
    return extract_text(text, mailbox, today=TODAY)


CASES = [
    # the prefecture stated in a sentence, before a city or without its suffix
    ("住まいは長崎県佐世保市です。", "secure_jo1", "prefecture", "長崎県"),
    ("岐阜県大垣市に住んでいます。", "secure_jo1", "prefecture", "岐阜県"),
    ("名古屋に住んでます", "secure_jo1", "prefecture", NOT_READ),
    ("愛知に住んでます", "secure_jo1", "prefecture", "愛知県"),
    ("I live in Sendai, Miyagi.", "secure_jo1", "prefecture", "宮城県"),
    ("My registered address is in Nara and my phone is 090-1212-3434.", "secure_jo1", "prefecture", "奈良県"),
    # the error message quoted in a sentence
    ("エラーは「認証できませんでした」と出ます。", "secure_jo1", "error_message", "認証できませんでした"),
    ('The error message is "Member not found"', "secure_jo1", "error_message", "Member not found"),
    ("画面には「エラーコード E-3001」と表示されます。", "secure_jo1", "error_message", NOT_READ),
    ('My nickname on the site is "momo".', "secure_jo1", "error_message", NOT_READ),
    # values in quotes after a label inside a sentence
    ('My login ID is "rin_0922".', "secure_billing", "login_id", "rin_0922"),
    ("旧姓は「池田」で、新しい姓は「小西」です。", "secure_lunasea", "old_surname", "池田"),
    ("旧姓は「池田」で、新しい姓は「小西」です。", "secure_lunasea", "new_surname", "小西"),
    # both login fields in one English sentence; a pronoun is never a nickname
    (
        "I typed my member number, 3318420, and my birthday, 19870611, as the password.",
        "secure_lunasea",
        "login_member_number",
        "3318420",
    ),
    (
        "I typed my member number, 3318420, and my birthday, 19870611, as the password.",
        "secure_lunasea",
        "login_password",
        "19870611",
    ),
    ('The nickname I used on the old site was "hoshi_k".', "secure_lunasea", "nickname", "hoshi_k"),
    # a length of the password in prose or under a password label
    ("入力したパスワードは本人いわく11文字とのことです。", "secure_jo1", "password_length", 11),
    ("Password I entered: 7 characters", "secure_jo1", "password_length", 7),
    ("Password I entered: 7 characters", "secure_jo1", "login_password", NOT_READ),
    # a sentence with a dash is not a label
    ("I can't reset my password - the e-mail never comes.", "secure_jo1", "login_password", NOT_READ),
    (
        "I pay through au - my continuous billing ID (継続課金ID) is 41180293377.",
        "secure_jo1",
        "carrier",
        "au",
    ),
    (
        "I pay through au - my continuous billing ID (継続課金ID) is 41180293377.",
        "secure_jo1",
        "au_billing_id",
        "41180293377",
    ),
    # the payment method in prose
    ("paid at Ministop, a convenience store", "secure_billing", "payment_method", "convenience_store"),
    ("クレジットカードで2,200円を決済しました。", "secure_billing", "payment_method", "credit_card"),
    ("昨日クレジットカードで買いました。", "secure_billing", "payment_method", "credit_card"),
    # an answer that points to the next line
    (
        "住所は下記のとおりです。\n〒100-0001 東京都千代田区千代田1-1",
        "secure_lunasea",
        "address",
        "〒100-0001 東京都千代田区千代田1-1",
    ),
    # a two-digit year in prose; an id after は on a label's line
    ("96年2月1日生まれです", "secure_jo1", "birth_date", "19960201"),
    ("Plus member ID は E55012874 です。", "secure_jo1", "plus_member_id", "E55012874"),
    # two fields on one line
    ("名前は木村みなみ(キムラミナミ)です!", "secure_jo1", "name_kanji", "木村みなみ"),
    ("名前は木村みなみ(キムラミナミ)です!", "secure_jo1", "name_kana", "キムラミナミ"),
    ("氏名: 堀 拓海 / ホリ タクミ (Hori Takumi)", "secure_jo1", "name_kana", "ホリ タクミ"),
    ("氏名: 堀 拓海 / ホリ タクミ (Hori Takumi)", "secure_jo1", "name_kanji", "堀 拓海"),
    ("名前: 辻 彩 [ツジ アヤ]", "secure_jo1", "name_kana", "ツジ アヤ"),
    ("おなまえ：辻 彩（ﾂｼﾞ ｱﾔ）", "secure_jo1", "name_kana", "ツジ アヤ"),
    ("辻彩(ツジアヤ)", "secure_jo1", "name_kanji", "辻彩"),
    ("名前は辻 彩、ツジ アヤです。", "secure_jo1", "name_kana", "ツジ アヤ"),
    ("My name is 辻 彩, which is ツジ アヤ in katakana.", "secure_jo1", "name_kana", "ツジ アヤ"),
]


@pytest.mark.parametrize(("text", "mailbox", "key", "expected"), CASES)
def test_reads_prose_and_pairs(text: str, mailbox: str, key: str, expected: object) -> None:
    result = run(text, mailbox)
    if expected is NOT_READ:
        assert result.value(key) is None, result.value(key)
        assert not result.has_invalid(key), [item.written for item in result.invalid]
    else:
        assert result.value(key) == expected, (result.value(key), result.invalid)
