"""Whole messages through `parse_mail`: one test per charset row of parsing.md §2, headers, structure.

Every message is built here from bytes (invented data only) with CRLF line ends.
"""

from __future__ import annotations

import base64
import quopri

import pytest

from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail

BASE_HEADERS = (
    b"Return-Path: <taro@example.jp>\r\n"
    b"From: taro@example.jp\r\n"
    b"To: secure_jo1@cc.example.jp\r\n"
    b"Message-ID: <m1@example.jp>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def build(
    body: bytes,
    *,
    content_type: str = "text/plain; charset=UTF-8",
    cte: str | None = "7bit",
    subject: bytes = b"test",
    headers: bytes = BASE_HEADERS,
) -> bytes:
    head = headers + b"Subject: " + subject + b"\r\n"
    head += b"Content-Type: " + content_type.encode("ascii") + b"\r\n"
    if cte is not None:
        head += b"Content-Transfer-Encoding: " + cte.encode("ascii") + b"\r\n"
    return head + b"\r\n" + body


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def sjis_to_jis(pair: bytes) -> bytes:
    """One Shift_JIS (cp932) pair to its JIS pair (the inverse of jis.jis_pair_to_sjis)."""
    s1, s2 = pair
    j1 = (s1 - (0x70 if s1 < 0xA0 else 0xB0)) * 2
    if s2 < 0x9F:
        j1 -= 1
        j2 = s2 - (0x1F if s2 < 0x80 else 0x20)
    else:
        j2 = s2 - 0x7E
    return bytes((j1, j2))


def jis_kanji(text: str) -> bytes:
    """Two-byte characters as CP50221 bytes: ESC $ B, JIS pairs, ESC ( B."""
    pairs = b"".join(sjis_to_jis(char.encode("cp932")) for char in text)
    return b"\x1b$B" + pairs + b"\x1b(B"


def assert_clean(mail: ParsedMail) -> None:
    for value in (mail.text, mail.quoted, mail.subject):
        assert "\ufffd" not in value
        assert "\x1b" not in value


# --- one test per charset row (parsing.md §2) -------------------------------------------------


def test_iso_2022_jp_7bit_body() -> None:
    body = crlf("氏名:山田 太郎\n電話番号:090-0000-1234\n").encode("iso2022_jp")
    mail = parse_mail(build(body, content_type="text/plain; charset=ISO-2022-JP"))
    assert mail.text == "氏名:山田 太郎\n電話番号:090-0000-1234"
    assert mail.text_how == "jis"
    assert mail.text_source == "text/plain"
    assert [part.how for part in mail.parts] == ["jis"]
    assert_clean(mail)


def test_iso_2022_jp_label_carrying_cp50221_and_halfwidth_kana() -> None:
    body = b"\x1b$B" + sjis_to_jis("氏".encode("cp932")) + b"\x1b(B:" + jis_kanji("①㈱髙橋")
    body += b"\x1b(I" + bytes(ch & 0x7F for ch in "ﾀﾛｳ".encode("cp932")) + b"\x1b(B\r\n"
    mail = parse_mail(build(body, content_type='text/plain; charset="iso-2022-jp"'))
    assert mail.text == "氏:①㈱髙橋ﾀﾛｳ"
    assert mail.text_how == "jis"
    assert_clean(mail)


@pytest.mark.parametrize("cte", ["8bit", "base64"])
def test_shift_jis_label_with_cp932_only_character(cte: str) -> None:
    raw = crlf("氏名:髙橋 一郎\n会社:㈱サンプル①\n").encode("cp932")
    body = base64.encodebytes(raw).replace(b"\n", b"\r\n") if cte == "base64" else raw
    mail = parse_mail(build(body, content_type="text/plain; charset=Shift_JIS", cte=cte))
    assert mail.text == "氏名:髙橋 一郎\n会社:㈱サンプル①"
    assert mail.text_how == "cp932"
    assert mail.parts[0].transfer_encoding == cte
    assert_clean(mail)


def test_euc_jp_with_cp51932_extra() -> None:
    raw = "氏名:山田 太郎".encode("euc_jp") + b"\xad\xa1\r\n"  # \xad\xa1 is CP51932 ①
    mail = parse_mail(build(raw, content_type="text/plain; charset=EUC-JP", cte="8bit"))
    assert mail.text == "氏名:山田 太郎①"
    assert mail.text_how == "euc-jp:cp51932"
    assert_clean(mail)


def test_euc_jp_plain() -> None:
    raw = crlf("氏名:山田 太郎\n").encode("euc_jp")
    mail = parse_mail(build(raw, content_type="text/plain; charset=euc-jp", cte="8bit"))
    assert mail.text == "氏名:山田 太郎"
    assert mail.text_how == "euc-jp"


def test_utf8_base64() -> None:
    raw = crlf("ログインできません。\n電話番号:090-0000-1234\n").encode("utf-8")
    body = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    mail = parse_mail(build(body, content_type="text/plain; charset=utf-8", cte="base64"))
    assert mail.text == "ログインできません。\n電話番号:090-0000-1234"
    assert mail.text_how == "utf-8"
    assert_clean(mail)


def test_utf8_quoted_printable() -> None:
    raw = crlf("ログインできません。 山田 太郎\n").encode("utf-8")
    body = quopri.encodestring(raw).replace(b"\n", b"\r\n")
    assert b"=E3" in body
    mail = parse_mail(build(body, content_type="text/plain; charset=UTF-8", cte="quoted-printable"))
    assert mail.text == "ログインできません。 山田 太郎"
    assert mail.text_how == "utf-8"


def test_no_label_8bit_utf8_is_sniffed() -> None:
    raw = crlf("氏名:山田 太郎\n").encode("utf-8")
    mail = parse_mail(build(raw, content_type="text/plain", cte="8bit"))
    assert mail.text == "氏名:山田 太郎"
    assert mail.text_how == "sniff:utf-8"
    assert_clean(mail)


def test_no_content_type_at_all_pure_ascii() -> None:
    raw = build(b"Phone: 090-0000-1234\r\n", content_type="text/plain", cte=None)
    mail = parse_mail(raw.replace(b"Content-Type: text/plain\r\n", b""))
    assert mail.text == "Phone: 090-0000-1234"
    assert mail.text_how == "ascii"


def test_wrong_label_utf8_bytes_under_iso_2022_jp() -> None:
    raw = crlf("氏名:山田 太郎\n").encode("utf-8")
    mail = parse_mail(build(raw, content_type="text/plain; charset=iso-2022-jp", cte="8bit"))
    assert mail.text == "氏名:山田 太郎"
    assert mail.text_how == "sniff:utf-8"
    assert_clean(mail)


def test_wrong_label_euc_jp_under_iso_2022_jp() -> None:
    raw = crlf("テストです。氏名:山田 太郎\n").encode("euc_jp")
    mail = parse_mail(build(raw, content_type="text/plain; charset=ISO-2022-JP", cte="8bit"))
    assert mail.text == "テストです。氏名:山田 太郎"
    assert mail.text_how == "sniff:euc-jp"
    assert_clean(mail)


@pytest.mark.parametrize(("label", "how"), [("x-sjis", "cp932"), ("windows-31j", "cp932")])
def test_shift_jis_alias_labels(label: str, how: str) -> None:
    raw = crlf("氏名:髙橋 一郎①\n").encode("cp932")
    mail = parse_mail(build(raw, content_type=f"text/plain; charset={label}", cte="8bit"))
    assert mail.text == "氏名:髙橋 一郎①"
    assert mail.text_how == how
    assert_clean(mail)


def test_x_unknown_label_is_sniffed() -> None:
    raw = crlf("氏名:髙橋 一郎です。よろしくお願いします。\n").encode("cp932")
    mail = parse_mail(build(raw, content_type="text/plain; charset=x-unknown", cte="8bit"))
    assert mail.text == "氏名:髙橋 一郎です。よろしくお願いします。"
    assert mail.text_how == "sniff:cp932"
    assert_clean(mail)


# --- headers ----------------------------------------------------------------------------------


def test_rfc2047_subject_split_mid_character() -> None:
    data = "ログインできません".encode()
    first, second = data[:4], data[4:]  # byte 4 is inside the second character
    subject = (
        b"=?UTF-8?B?" + base64.b64encode(first) + b"?=\r\n =?UTF-8?B?" + base64.b64encode(second) + b"?="
    )
    mail = parse_mail(build(b"body\r\n", subject=subject))
    assert mail.subject == "ログインできません"


def test_rfc2047_jis_subject_split_mid_escape() -> None:
    data = "退会について".encode("iso2022_jp")
    first, second = data[:7], data[7:]
    subject = (
        b"=?ISO-2022-JP?B?"
        + base64.b64encode(first)
        + b"?= =?ISO-2022-JP?B?"
        + base64.b64encode(second)
        + b"?="
    )
    mail = parse_mail(build(b"body\r\n", subject=subject))
    assert mail.subject == "退会について"
    assert_clean(mail)


@pytest.mark.parametrize("codec", ["cp932", "utf-8"])
def test_raw_8bit_subject(codec: str) -> None:
    mail = parse_mail(build(b"body\r\n", subject="ログインできません（髙橋）".encode(codec)))
    assert mail.subject == "ログインできません（髙橋）"
    assert mail.header("Subject") == "ログインできません（髙橋）"


def test_from_display_name_looking_like_an_address() -> None:
    headers = BASE_HEADERS.replace(b"From: taro@example.jp", b'From: "alice@icloud.com" <bob@evil.test>')
    mail = parse_mail(build(b"body\r\n", headers=headers))
    assert mail.from_addr is not None
    assert mail.from_addr.addr == "bob@evil.test"
    assert mail.from_addr.domain == "evil.test"


def test_from_with_encoded_display_name() -> None:
    name = base64.b64encode("山田 太郎".encode())
    headers = BASE_HEADERS.replace(
        b"From: taro@example.jp", b"From: =?UTF-8?B?" + name + b"?= <taro@example.jp>"
    )
    mail = parse_mail(build(b"body\r\n", headers=headers))
    assert mail.from_addr is not None
    assert mail.from_addr.display_name == "山田 太郎"
    assert mail.from_addr.addr == "taro@example.jp"
    assert not mail.from_ambiguous


def test_null_return_path() -> None:
    headers = BASE_HEADERS.replace(b"Return-Path: <taro@example.jp>", b"Return-Path: <>")
    mail = parse_mail(build(b"body\r\n", headers=headers))
    assert mail.return_path == ""


def test_return_path_and_ids() -> None:
    mail = parse_mail(build(b"body\r\n"))
    assert mail.return_path == "taro@example.jp"
    assert mail.message_id == "<m1@example.jp>"
    assert [address.addr for address in mail.to] == ["secure_jo1@cc.example.jp"]


# --- choosing the text ------------------------------------------------------------------------

HTML = (
    "<html><head><title>題名</title><style>p { color: red }</style></head><body>"
    "<script>alert('x')</script><p>氏名:山田&nbsp;太郎</p><div>電話番号:090-0000-1234</div>"
    "</body></html>"
)


def test_html_only_mail() -> None:
    mail = parse_mail(build(HTML.encode("utf-8"), content_type="text/html; charset=utf-8", cte="8bit"))
    assert mail.text_source == "text/html"
    assert mail.text_how == "utf-8"
    assert "氏名:山田 太郎" in mail.text
    assert "電話番号:090-0000-1234" in mail.text
    for dropped in ("alert", "color", "題名", "<", "&nbsp;"):
        assert dropped not in mail.text


def multipart(boundary: str, *parts: bytes, subtype: str = "mixed") -> tuple[bytes, str]:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, f'multipart/{subtype}; boundary="{boundary}"'


def test_alternative_with_empty_plain_uses_html() -> None:
    plain = b"Content-Type: text/plain; charset=utf-8\r\n\r\n\r\n"
    html = b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    html += HTML.encode("utf-8")
    body, ctype = multipart("b1", plain, html, subtype="alternative")
    mail = parse_mail(build(body, content_type=ctype, cte=None))
    assert mail.text_source == "text/html"
    assert "氏名:山田 太郎" in mail.text
    assert [part.content_type for part in mail.parts] == ["text/plain", "text/html"]
    assert [part.path for part in mail.parts] == ["1", "2"]


def test_alternative_prefers_filled_plain() -> None:
    plain = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    plain += "氏名:山田 太郎\r\n".encode()
    html = b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>other</p>"
    body, ctype = multipart("b1", plain, html, subtype="alternative")
    mail = parse_mail(build(body, content_type=ctype, cte=None))
    assert mail.text_source == "text/plain"
    assert mail.text == "氏名:山田 太郎"


def test_missing_boundary_falls_back_and_records_defect() -> None:
    body = b"--zzz\r\nContent-Type: text/plain\r\n\r\nPhone: 090-0000-1234\r\n--zzz--\r\n"
    mail = parse_mail(build(body, content_type="multipart/mixed", cte=None))
    assert "090-0000-1234" in mail.text
    assert mail.defects
    assert any("Boundary" in defect for defect in mail.defects)


def test_forwarded_and_report_parts_are_listed_never_read() -> None:
    own = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    own += "転送します。\r\n".encode()
    forwarded = (
        b"Content-Type: message/rfc822\r\n\r\n"
        b"From: someone@example.jp\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n"
        b"Phone: 090-0000-9999\r\n"
    )
    report = (
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        b"Final-Recipient: rfc822; hidden@example.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    )
    body, ctype = multipart("b2", own, forwarded, report)
    mail = parse_mail(build(body, content_type=ctype, cte=None))
    assert mail.text == "転送します。"
    assert "090-0000-9999" not in mail.text + mail.quoted
    assert "hidden@example.jp" not in mail.text + mail.quoted
    types = [part.content_type for part in mail.parts]
    assert types == ["text/plain", "message/rfc822", "message/delivery-status"]
    assert [item.content_type for item in mail.attachments] == ["message/rfc822", "message/delivery-status"]
    assert all(part.how == "binary" for part in mail.parts[1:])


def test_attachment_filename_is_cleaned() -> None:
    own = b"Content-Type: text/plain\r\n\r\nsee attached\r\n"
    evil = (
        b"Content-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="../../etc/invoice\xe2\x80\xaegpj.exe"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
    )
    body, ctype = multipart("b3", own, evil)
    mail = parse_mail(build(body, content_type=ctype, cte=None))
    assert len(mail.attachments) == 1
    name = mail.attachments[0].filename
    assert name is not None
    assert "/" not in name
    assert ".." not in name
    assert "\u202e" not in name
    assert name.endswith("gpj.exe")
    assert mail.text == "see attached"


def test_rfc2231_attachment_name_with_traversal() -> None:
    own = b"Content-Type: text/plain\r\n\r\nhello\r\n"
    evil = (
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''..%2F..%2F%E5%B1%B1%E7%94%B0.pdf\r\n\r\n"
        b"JVBERi0=\r\n"
    )
    body, ctype = multipart("b4", own, evil)
    mail = parse_mail(build(body, content_type=ctype, cte=None))
    assert [item.filename for item in mail.attachments] == ["山田.pdf"]


def test_quoted_reply_split_off() -> None:
    text = crlf(
        "電話番号は090-0000-1234です。\n\n2024/05/10 10:15、secure_x@example.jp のメッセージ:\n\n> 氏名を\n"
    )
    mail = parse_mail(build(text.encode("utf-8"), cte="8bit"))
    assert mail.text == "電話番号は090-0000-1234です。"
    assert "> 氏名を" in mail.quoted
