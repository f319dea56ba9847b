"""Mails built to be slow to read (issue 8 "any mail in under 2 s", issue 12 item 1).

Shared by tests/test_bounded.py and bench/hostile.py, which prints seconds per input. Each is
RFC-valid enough to be parsed and read; none is in the corpus. Built on demand (some are 1 MB).
"""

from __future__ import annotations

import base64
import quopri
from collections.abc import Callable

HEAD = (
    b"Return-Path: <taro@example.jp>\r\n"
    b"From: taro@example.jp\r\n"
    b"To: secure_jo1@cc.example.jp\r\n"
    b"Message-ID: <hostile@example.jp>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def _mail(body: bytes, *, ctype: bytes = b"text/plain; charset=utf-8", cte: bytes = b"8bit") -> bytes:
    return (
        HEAD
        + b"Subject: help\r\nContent-Type: "
        + ctype
        + b"\r\nContent-Transfer-Encoding: "
        + cte
        + b"\r\n\r\n"
        + body
    )


def qp_ascii() -> bytes:
    """200 KB of quoted-printable, 76-column soft-broken lines: one 200,000-character line decoded."""
    return _mail(quopri.encodestring(b"A" * 200_000), cte=b"quoted-printable")


def qp_japanese() -> bytes:
    """The same in Japanese: every character three =XX escapes, one long decoded line."""
    text = ("会員番号と電話番号をお知らせします。" * 4000).encode("utf-8")
    return _mail(quopri.encodestring(text)[:600_000], cte=b"quoted-printable")


def long_line() -> bytes:
    """A single line of 65 KB: words, digits and colons, no line break."""
    unit = b"name: Taro 090-1234-5678 taro@example.jp "
    return _mail((unit * (65_536 // len(unit) + 1))[:65_536] + b"\r\n")


def long_token() -> bytes:
    """A single line of 65 KB with no space at all (an address pattern tried from every position)."""
    return _mail(b"A" * 65_536 + b"\r\n")


def long_line_colons() -> bytes:
    """A 65 KB line of label-like runs that a `label:` pattern would try at every position."""
    return _mail(("電話番号" * 16_384).encode("utf-8") + b"\r\n")


def subject_words() -> bytes:
    """A Subject of 3,000 encoded words (B and Q, UTF-8 and ISO-2022-JP), folded."""
    words = []
    for index in range(3000):
        if index % 3 == 0:
            payload = base64.b64encode("会員番号".encode()).decode()
            words.append(f"=?UTF-8?B?{payload}?=")
        elif index % 3 == 1:
            words.append("=?utf-8?Q?=E3=83=AD=E3=82=B0=E3=82=A4=E3=83=B3?=")
        else:
            jis = base64.b64encode("電話".encode("iso-2022-jp")).decode()
            words.append(f"=?ISO-2022-JP?B?{jis}?=")
    subject = "\r\n ".join(words).encode("ascii")
    return (
        HEAD + b"Subject: " + subject + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nlogin help\r\n"
    )


def deep_nesting() -> bytes:
    """Multiparts nested 2,000 deep, a text part at the bottom."""
    depth = 2000
    out = [HEAD]
    for level in range(depth):
        out.append(f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode())
    out.append(b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n")
    for level in reversed(range(depth)):
        out.append(f"--b{level}--\r\n".encode())
    return b"".join(out)


def nested_lines(depth: int = 50, lines: int = 1_000_000) -> bytes:
    """Multiparts nested `depth` deep over a text part of `lines` empty lines: the stdlib parser
    checks every line against each open boundary (50 deep, a million lines: 4 s)."""
    nesting = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
        for level in range(depth)
    )
    return HEAD + nesting + b"Content-Type: text/plain\r\n\r\nlogin help\r\n" + b"\r\n" * lines


def nested_forwards() -> bytes:
    """Forwarded messages (message/rfc822) nested 500 deep: no boundaries, only recursion."""
    return (
        HEAD
        + b"Subject: fwd\r\n"
        + b"Content-Type: message/rfc822\r\n\r\n" * 500
        + b"Subject: in\r\n\r\nhi\r\n"
    )


def address_headers() -> bytes:
    """Address fields the stdlib's parser is slow on or crashes on: 3,000 recipients in each of
    three To fields, a Cc of quotes, a From of `:;` (AttributeError in 3.11), nested comments."""
    to = b"To: " + b", ".join(b"u%d@example.jp" % i for i in range(3_000)) + b"\r\n"
    return (
        b"Return-Path: <taro@example.jp>\r\nFrom: "
        + b":;" * 20_000
        + b"\r\n"
        + to * 3
        + b"Cc: "
        + b'"' * 40_000
        + b" <a@b>\r\nCc: "
        + b"(" * 20_000
        + b"a@b"
        + b")" * 20_000
        + b"\r\nSubject: help\r\nContent-Type: text/plain\r\n\r\nlogin help\r\n"
    )


def many_parts() -> bytes:
    """10,000 small text parts in one multipart."""
    parts = [
        b"--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\npart %d\r\n" % i for i in range(10_000)
    ]
    body = b"".join(parts) + b"--sep--\r\n"
    return _mail(body, ctype=b'multipart/mixed; boundary="sep"')


def html_nested() -> bytes:
    """1 MB of HTML: tags nested 20,000 deep, quotes inside quotes, long runs of text between."""
    opening = b"<div><blockquote><span>" * 20_000
    text = ("お世話になっております。電話番号は090-1234-5678です。" * 2000).encode()
    closing = b"</span></blockquote></div>" * 20_000
    html = b"<html><body>" + opening + text + closing + b"<p>" * 20_000 + b"</body></html>"
    return _mail(html[: 1024 * 1024], ctype=b"text/html; charset=utf-8")


def quote_markers() -> bytes:
    """200,000 lines that each look like the start of an attribution, and a few that end one."""
    lines = ["On Wed, May 1, 2024 at 10:00 " + "x" * 40 for _ in range(20_000)]
    lines[::1000] = ["Taro <taro@example.jp> wrote:"] * len(lines[::1000])
    return _mail("\n".join(lines).encode())


def html_lone_end_tags() -> bytes:
    """`</` half a million times and no `>`: the stdlib parser rescanned to the end for each (84 s)."""
    return _mail(b"<html><body>" + b"</" * 500_000, ctype=b"text/html; charset=utf-8")


def html_stray_end_tags() -> bytes:
    """20,000 open tags, then 20,000 end tags of a name never opened."""
    return _mail(b"<b>" * 20_000 + b"</x>" * 20_000 + b"text", ctype=b"text/html; charset=utf-8")


def quote_attributions() -> bytes:
    """Ten thousand attributions each followed by a marked quote (the splitter looks ahead each time)."""
    return _mail(b"Taro <taro@example.jp> wrote:\n> x\nanswer\n" * 10_000)


def nested_comments() -> bytes:
    """A structured header whose comments nest 100,000 deep (stripped one level per pass before)."""
    value = b"(" * 100_000 + b"x" + b")" * 100_000 + b" auto-generated"
    return (
        HEAD.replace(b"MIME-Version", b"Auto-Submitted: " + value + b"\r\nMIME-Version")
        + _mail(b"hi")[len(HEAD) :]
    )


def kanji_numerals() -> bytes:
    """A 65,000-character run of kanji numerals with no counter after it."""
    return _mail(("一二三" * 21_000 + "\n生年月日: 平成二年一月二日\n").encode("utf-8"))


HOSTILE: dict[str, Callable[[], bytes]] = {
    "qp_ascii_200k": qp_ascii,
    "qp_japanese_600k": qp_japanese,
    "long_line_65k": long_line,
    "long_token_65k": long_token,
    "long_line_labels": long_line_colons,
    "subject_3000_words": subject_words,
    "deep_nesting": deep_nesting,
    "parts_10000": many_parts,
    "nested_lines": nested_lines,
    "nested_forwards": nested_forwards,
    "address_headers": address_headers,
    "html_1mb_nested": html_nested,
    "quote_markers": quote_markers,
    "html_lone_end_tags": html_lone_end_tags,
    "html_stray_end_tags": html_stray_end_tags,
    "quote_attributions": quote_attributions,
    "nested_comments": nested_comments,
    "kanji_numerals": kanji_numerals,
}
