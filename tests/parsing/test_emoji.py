"""Carriers' emoji (issue 8): au ISO-2022-JP rows, docomo/KDDI/SoftBank Shift_JIS, their UTF-8 private use."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from triage import textmatch
from triage.cli import main
from triage.parsing import emoji
from triage.parsing.charsets import decode_bytes, sniff, suspicion
from triage.parsing.emoji import carrier_of_domain, sjis_emoji
from triage.parsing.headers import decode_header
from triage.parsing.jis import decode_cp51932, decode_jis
from triage.parsing.mime import parse_mail

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "emoji"
KANJI, ASCII = b"\x1b$B", b"\x1b(B"
SUN = "\u2600"  # ☀ BLACK SUN WITH RAYS: docomo F89F, KDDI F660 (au JIS 7541), SoftBank F98B


def jis(pairs: bytes) -> bytes:
    return KANJI + pairs + ASCII


def no_bad_characters(text: str) -> bool:
    """No U+FFFD and no private use left."""
    return "\ufffd" not in text and not any(0xE000 <= ord(ch) <= 0xF8FF for ch in text)


# --- the table ------------------------------------------------------------------------------


def test_table_holds_each_carriers_codes() -> None:
    tables = emoji._sjis_tables()
    sizes = {name: len(codes) for name, codes in tables.items()}
    assert sizes == {"docomo": 244, "kddi": 633, "softbank": 469}
    assert sjis_emoji(0xF89F, "docomo") == SUN
    assert sjis_emoji(0xF660, "kddi") == SUN
    assert sjis_emoji(0xF98B, "softbank") == SUN
    assert sjis_emoji(0xF985, "docomo") == "#\u20e3"  # a sequence: keycap number sign
    assert sjis_emoji(0xF040) is None  # user-defined, no carrier's emoji


def test_overlapping_codes_follow_the_documented_order() -> None:
    # F98B is docomo's keycap 5 and SoftBank's sun; F7B2 is SoftBank's NEW and KDDI's heart.
    assert sjis_emoji(0xF98B) == "5\u20e3"
    assert sjis_emoji(0xF7B2) == sjis_emoji(0xF7B2, "softbank") == "\U0001f195"
    assert sjis_emoji(0xF7B2, "kddi") == "\u2764"


@pytest.mark.parametrize(
    ("domain", "carrier"),
    [
        ("docomo.ne.jp", "docomo"),
        ("ezweb.ne.jp", "kddi"),
        ("biz.ezweb.ne.jp", "kddi"),
        ("AU.COM", "kddi"),
        ("softbank.ne.jp", "softbank"),
        ("i.softbank.jp", "softbank"),
        ("disney.ne.jp", "softbank"),
        ("t.vodafone.ne.jp", "softbank"),
        ("gmail.com", None),
        ("notdocomo.ne.jp", None),
        ("", None),
        (None, None),
    ],
)
def test_carrier_of_domain(domain: str | None, carrier: str | None) -> None:
    assert carrier_of_domain(domain) == carrier


def test_sender_hint_ends_with_its_scope() -> None:
    assert emoji.sender_carrier() is None
    with emoji.sender_scope():
        emoji.note_sender("taro@ezweb.ne.jp")
        assert emoji.sender_carrier() == "kddi"
        emoji.note_sender("not an address")
        assert emoji.sender_carrier() is None
        emoji.note_sender("hanako@docomo.ne.jp")
    assert emoji.sender_carrier() is None


# --- au: ISO-2022-JP rows 0x75-0x7E ------------------------------------------------------------


def test_au_jis_rows_decode_to_emoji() -> None:
    assert decode_bytes(jis(b"uA"), "ISO-2022-JP") == (SUN, "jis")  # 7541 -> F660
    assert decode_bytes(jis(b"x4"), "ISO-2022-JP") == ("\u2764", "jis")  # 7834 -> ECB2 -> F7B2 heart
    assert decode_bytes(KANJI + b'$"uA$F' + ASCII, "iso-2022-jp") == ("あ☀て", "jis")


def test_au_rows_shared_with_nec_ibm_kanji_need_the_au_sender() -> None:
    # 7A3C is au's school bag (EDBA -> F3BA); CP50221 reads the same pair as NEC-selected IBM 晗.
    assert decode_jis(jis(b"z<"), "strict", "kddi") == "\U0001f392"
    assert decode_jis(jis(b"z<")) == "晗"
    assert decode_jis(jis(b"|b")) == "髙"  # names written by PC mailers keep their kanji
    assert decode_jis(jis(b"|b"), "strict", "kddi") == "髙"  # no au emoji there: the kanji stays


def test_jis_user_defined_without_emoji_is_private_use_never_replacement() -> None:
    # 7D21: user-defined, no carrier's emoji: CP50221 private use U+E2F0 (cp932 F440).
    assert decode_bytes(jis(b"}!"), "iso-2022-jp") == ("\ue2f0", "jis")
    # An au sign from a docomo sender: private use, as CP50221 reads it.
    assert decode_jis(jis(b"uA"), "strict", "docomo") == "\ue020"


def test_euc_rows_are_au_emoji_only_from_an_au_sender() -> None:
    data = bytes(b | 0x80 for b in b"uA")
    assert decode_cp51932(data, "strict", "kddi") == SUN
    assert decode_cp51932(data) == "\ue020"  # CP51932's private use: garbage must not become emoji


def test_au_encoded_word_subject() -> None:
    word = base64.b64encode(jis(b"uA") + "ログイン".encode("iso-2022-jp")).decode()
    subject = decode_header(f"=?ISO-2022-JP?B?{word}?=")
    assert subject == "☀ログイン"


def test_au_raw_jis_subject() -> None:
    raw = (jis("件名".encode("iso-2022-jp")[3:-3] + b"uA")).decode("ascii")  # escapes, no encoded word
    assert decode_header(raw) == "件名☀"


def test_broken_jis_still_gives_replacement() -> None:
    text, how = decode_bytes(KANJI + b"uA0" + ASCII, "iso-2022-jp")  # a half pair after the emoji
    assert how == "replace:jis"
    assert text == SUN + "\ufffd"


# --- docomo and SoftBank: Shift_JIS ------------------------------------------------------------


def test_docomo_shift_jis() -> None:
    data = "晴れ".encode("cp932") + b"\xf8\x9f" + "です".encode("cp932")
    assert decode_bytes(data, "Shift_JIS") == ("晴れ☀です", "cp932")
    assert decode_bytes(data, "Shift_JIS", "docomo") == ("晴れ☀です", "cp932")
    assert decode_bytes(b"\xf9\x91", "x-sjis") == ("\u2764", "cp932")


def test_softbank_shift_jis_needs_the_sender_where_codes_overlap() -> None:
    assert decode_bytes(b"\xf9\x8b", "Shift_JIS", "softbank") == (SUN, "cp932")
    # FB55 is SoftBank's smile, and an IBM extension kanji to cp932 from anyone else.
    assert decode_bytes(b"A\xfb\x55B", "Shift_JIS", "softbank") == ("A\U0001f604B", "cp932")
    assert decode_bytes(b"\xfb\x55", "Shift_JIS") == (b"\xfb\x55".decode("cp932"), "cp932")


def test_shift_jis_user_defined_without_emoji_stays_private_use() -> None:
    assert decode_bytes(b"\xf0\x40", "Shift_JIS") == ("\ue000", "cp932")
    assert decode_bytes(b"\xf0\x40", "Shift_JIS", "softbank") == ("\ue000", "cp932")


def test_broken_shift_jis_still_gives_replacement() -> None:
    text, how = decode_bytes(b"\xf8\x9f\x82", "Shift_JIS")  # a lead byte cut short
    assert how.startswith("replace:")
    assert "\ufffd" in text


# --- UTF-8 private use -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier", "point", "expected"),
    [
        ("docomo", "\ue63e", SUN),
        ("kddi", "\ue488", SUN),
        ("kddi", "\ueb4a", "\U0001f368"),  # F44E ice cream
        ("softbank", "\ue04a", SUN),
        ("softbank", "\ue415", "\U0001f604"),
    ],
)
def test_utf8_private_use(carrier: emoji.Carrier, point: str, expected: str) -> None:
    data = ("値:" + point).encode()
    assert decode_bytes(data, "UTF-8", carrier) == ("値:" + expected, "utf-8")
    assert decode_bytes(data, "UTF-8") == ("値:" + expected, "utf-8")  # no overlap for these


def test_utf8_private_use_overlap_softbank_first() -> None:
    data = "\ue501".encode()  # SoftBank's hotel (FBA1), KDDI's family (F6C0)
    assert decode_bytes(data, "utf-8") == ("\U0001f3e9", "utf-8")
    assert decode_bytes(data, "utf-8", "kddi") == ("\U0001f46a", "utf-8")


def test_other_private_use_is_left_alone() -> None:
    assert decode_bytes("\uf8ff \ue000".encode(), "utf-8") == ("\uf8ff \ue000", "utf-8")


# --- sniffing ----------------------------------------------------------------------------------


def test_emoji_do_not_make_sniffing_pick_a_wrong_codec() -> None:
    # Two docomo emoji also read as two EUC-JP (CP51932) kanji; as private use they used to count
    # against cp932, so EUC-JP won.
    data = b"\xf9\xa1\xf9\xa2"
    text, how = sniff(data)
    assert how == "sniff:cp932"
    assert text == "\U0001f4a2\U0001f44a"
    assert decode_bytes(data, None, "docomo") == (text, "sniff:cp932")


def test_suspicion_still_counts_private_use() -> None:
    assert suspicion("\ue000\ufffdｱ") == 3
    assert suspicion("☀\U0001f4a2漢字") == 0


def test_ordinary_mail_never_loads_the_table() -> None:
    emoji._sjis_tables.cache_clear()
    emoji._translation.cache_clear()
    text = "髙橋①のテスト、よろしくお願いします。（０９０）"
    assert decode_bytes(text.encode("cp932"), "Shift_JIS")[0] == text
    assert decode_bytes(text.encode("utf-8"), "UTF-8")[0] == text
    assert decode_bytes(b"\x1b$B%F%9%H\x1b(B", "ISO-2022-JP")[0] == "テスト"
    assert emoji._sjis_tables.cache_info().currsize == 0
    assert emoji._translation.cache_info().currsize == 0


# --- whole mails ---------------------------------------------------------------------------------


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_au_mail() -> None:
    mail = parse_mail(read("au_iso2022jp.eml"))
    assert mail.subject == "ログインできません☀\U0001f392"  # the bag is in a row shared with NEC-IBM kanji
    assert mail.text_how == "jis"
    assert "ログインできません☀よろしくお願いします。❤" in mail.text
    assert "電話番号:090-0000-1234☎" in mail.text
    assert no_bad_characters(mail.subject + mail.text)


def test_docomo_mail() -> None:
    mail = parse_mail(read("docomo_shift_jis.eml"))
    assert mail.subject == "お問い合わせ❤"
    assert mail.text_how == "cp932"
    assert "いつもお世話になっております\U0001f603" in mail.text
    assert "電話番号:080-0000-5678☀" in mail.text
    assert no_bad_characters(mail.subject + mail.text)


def test_softbank_mail() -> None:
    mail = parse_mail(read("softbank_shift_jis.eml"))
    assert mail.subject == "ログインの件☀"  # F98B: the sender's domain says SoftBank, not docomo
    assert "ログインできません\U0001f604" in mail.text
    assert "お支払い方法:クレジットカード☀" in mail.text
    assert no_bad_characters(mail.subject + mail.text)


def test_softbank_iphone_utf8_mail() -> None:
    mail = parse_mail(read("softbank_iphone_utf8.eml"))
    assert mail.subject == "ログイン☀"
    assert "ログインできません☀\U0001f604" in mail.text
    assert "2468❤" in mail.text
    assert no_bad_characters(mail.subject + mail.text)


def test_headers_list_gets_the_sender_hint_too() -> None:
    mail = parse_mail(read("softbank_shift_jis.eml"))
    assert dict(mail.headers)["Subject"] == "ログインの件☀"


@pytest.mark.usefixtures("plain_environment")
@pytest.mark.parametrize(
    ("name", "login_id", "phone", "card"),
    [
        ("au_iso2022jp.eml", "taro_sample77", "09000001234", "4321"),
        ("docomo_shift_jis.eml", "hanako_s22", "08000005678", "8765"),
        ("softbank_shift_jis.eml", "jiro_777", "07000004321", "1357"),
        ("softbank_iphone_utf8.eml", "saburo_5", "09000008888", "2468"),
    ],
)
def test_check_json_reads_values_next_to_emoji(
    name: str, login_id: str, phone: str, card: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(FIXTURES / name), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data = json.loads(out)
    assert data["mailbox"] == "secure_billing"
    assert data["decision"] == "queued"
    assert data["fields"]["login_id"] == login_id
    assert data["fields"]["phone"] == phone
    assert data["fields"]["card_last4"] == card
    assert data["fields"]["payment_method"] == "credit_card"
    assert data["missing"] == []
    assert data["invalid"] == []


def test_suspicion_counts_alike_when_the_budget_is_spent() -> None:
    text = "ｱｲ\ue000\ufffd\x85漢字☀"
    assert suspicion(text) == 5
    with textmatch.reading(0.0):
        assert suspicion(text) == 5
