"""Properties over parsing, screening, quote splitting and judge() (issue 12 item 1).

Arbitrary bytes and generated mails (random headers, charsets, transfer encodings, bodies, parts):
no exception but the documented ParseFailure, and every example within the deadline. CI-sized:
a few seconds in all; bench/fuzz_parse.py runs the parser for as long as one likes.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import quopri

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import textmatch
from triage.config import Settings
from triage.decide import Decision
from triage.engine.language import text_language
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.errors import ParseFailure
from triage.parsing.headers import decode_header
from triage.parsing.htmltext import html_to_text
from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail
from triage.parsing.quotes import split_quoted
from triage.screening import screen
from triage.verdict import judge

BOUNDED = settings(
    # CI-sized; for a long run: TRIAGE_HYPOTHESIS_EXAMPLES=2000 ./dev test tests/test_properties.py
    max_examples=int(os.environ.get("TRIAGE_HYPOTHESIS_EXAMPLES", "40")),
    deadline=dt.timedelta(seconds=2),  # "bounded time": any example slower than this fails
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SETTINGS = Settings.from_env({})
TODAY = dt.date(2026, 11, 21)
CHARSETS = ("utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "cp932", "us-ascii", "x-unknown", "")
ENCODINGS = ("7bit", "8bit", "base64", "quoted-printable", "x-bogus")
HEADER_NAMES = (
    "Subject",
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Return-Path",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Auto-Response-Suppress",
    "List-Id",
    "Content-Type",
    "X-Triage-Loop",
)
# Text that looks like mail: Japanese, English, form lines, quotes, addresses, digits, markup.
PIECES = st.sampled_from(
    (
        "お世話になっております。",
        "ログインできません",
        "電話番号：090-1234-5678",
        "生年月日: 平成二年一月二日",
        "Name: Taro Yamada",
        "> quoted line",
        "On Wed, May 1, 2024 at 10:00 Taro <taro@example.jp> wrote:",
        "taro@example.jp",
        "=?UTF-8?B?5bGx55Sw?=",
        "<div><blockquote>",
        "(comment (nested))",
        "①②③",
        "ｶﾀｶﾅ",
        "\u3000",
        "\r\n",
        "\n",
        " ",
    )
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=30).map("".join)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(SETTINGS.rules_dir, SETTINGS.replies_dir)


def _header_value(text: str) -> bytes:
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape")


def _encode_body(text: str, charset: str, encoding: str) -> bytes:
    try:
        data = text.encode(charset or "utf-8", "replace")
    except LookupError:
        data = text.encode("utf-8", "surrogateescape")
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "quoted-printable":
        return quopri.encodestring(data)
    return data


@st.composite
def mails(draw: st.DrawFn) -> bytes:
    """A mail with random headers, charsets, transfer encodings and a one- or two-part body."""
    lines = [
        b"From: " + _header_value(draw(st.sampled_from(("taro@example.jp", "", "<>", "a <b@c> d")))) + b"\r\n"
    ]
    lines.append(b"To: secure_jo1@cc.example.jp\r\n")
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(HEADER_NAMES)).encode()
        lines.append(name + b": " + _header_value(draw(TEXT)) + b"\r\n")
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    text = draw(TEXT)
    part_head = f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n"
    body = _encode_body(text, charset, encoding)
    if draw(st.booleans()):
        html = _encode_body(f"<p>{draw(TEXT)}</p>", "utf-8", "8bit")
        lines.append(b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="x"\r\n\r\n')
        return (
            b"".join(lines)
            + b"--x\r\n"
            + part_head.encode()
            + b"\r\n"
            + body
            + b"\r\n--x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + html
            + b"\r\n--x--\r\n"
        )
    return b"".join(lines) + part_head.encode() + b"\r\n" + body


def _parsed(raw: bytes) -> ParsedMail | None:
    try:
        return parse_mail(raw)
    except ParseFailure as exc:
        assert str(exc)
        return None


@BOUNDED
@given(st.binary(max_size=4096))
def test_any_bytes_parse_or_are_refused_with_the_one_error(raw: bytes) -> None:
    mail = _parsed(raw)
    if mail is not None:
        assert "\x00" not in mail.text
        assert "\r" not in mail.text


@BOUNDED
@given(mails())
def test_generated_mails_are_parsed_and_screened(raw: bytes) -> None:
    mail = _parsed(raw)
    if mail is None:
        return
    result = screen(mail, SETTINGS, mailboxes=frozenset({"secure_jo1"}))
    assert all(len(hit.detail) <= 200 for hit in result.hits)
    assert text_language(mail.text, mail.subject) in {"ja", "en"}


@BOUNDED
@given(raw=mails())
def test_generated_mails_are_judged(rules: RuleSet, raw: bytes) -> None:
    with textmatch.reading():
        mail = _parsed(raw)
        if mail is None:
            return
        verdict = judge(mail, envelope_to=None, settings=SETTINGS, rules=rules, today=TODAY)
    assert isinstance(verdict.decision, Decision)


@BOUNDED
@given(TEXT)
def test_every_line_is_either_the_members_or_quoted(text: str) -> None:
    own, quoted = split_quoted(text)
    lines = [line for line in text.split("\n") if line.strip()]
    split = [line for line in (own + "\n" + quoted).split("\n") if line.strip()]
    assert sorted(split) == sorted(lines)


@BOUNDED
@given(st.one_of(TEXT, st.text(max_size=300)))
def test_headers_decode_to_one_line(raw: str) -> None:
    decoded = decode_header(raw)
    assert not set(decoded) & {"\x00", "\r", "\n"}


@BOUNDED
@given(
    st.lists(
        st.sampled_from(("<", ">", "</", "<!", "<!--", "-->", "<p>", "</p>", "a", "&", "&amp;", " ")),
        max_size=60,
    )
)
def test_any_markup_becomes_text(pieces: list[str]) -> None:
    text = html_to_text("".join(pieces))
    assert "\r" not in text
