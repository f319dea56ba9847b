"""compose(): RFC 3834 headers once each, Japanese round-trips, no header injection, bad recipients."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections import Counter
from email.message import EmailMessage

import pytest

from triage.errors import ComposeError
from triage.outbound.compose import address_problem, compose, header_safe, new_message_id
from triage.outbound.render import RenderedReply

WHEN = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
MID = "r.42.AbCdEfGhIjK@triage.example"
BODY_JA = "山田 太郎 様\n\nお問い合わせありがとうございます。\n会員番号をお知らせください。\n"


def reply(**changes: str) -> RenderedReply:
    fields = {
        "template": "needs_info",
        "language": "ja",
        "to": "member@example.com",
        "from_mailbox": "secure_jo1@example.jp",
        "subject": "お問い合わせについて（受付番号: 7Q4K-2M）",
        "body": BODY_JA,
    }
    fields.update(changes)
    return RenderedReply(**fields)


def build(
    r: RenderedReply | None = None,
    *,
    in_reply_to: str | None = "<orig.1@mail.example.com>",
    references: tuple[str, ...] = ("<a.0@x.example>", "<b.1@x.example>"),
) -> bytes:
    return compose(
        r or reply(),
        message_id=MID,
        in_reply_to=in_reply_to,
        references=references,
        instance_id="triage-test-1",
        date=WHEN,
    )


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_counts(raw: bytes) -> Counter[str]:
    return Counter(name.lower() for name in parse(raw))


REQUIRED = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-auto-response-suppress",
    "x-triage-loop",
    "mime-version",
    "content-type",
)


def test_headers_present_exactly_once() -> None:
    raw = build()
    counts = header_counts(raw)
    for name in REQUIRED:
        assert counts[name] == 1, name
    assert not {"cc", "bcc", "reply-to"} & set(counts)
    msg = parse(raw)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["X-Triage-Loop"] == "triage-test-1"
    assert msg["Message-ID"] == f"<{MID}>"
    assert msg["In-Reply-To"] == "<orig.1@mail.example.com>"
    assert msg["From"].addresses[0].addr_spec == "secure_jo1@example.jp"
    assert [a.addr_spec for a in msg["To"].addresses] == ["member@example.com"]
    assert msg["Date"].datetime == WHEN


def test_seven_bit_crlf_and_japanese_round_trip() -> None:
    raw = build()
    assert raw.isascii()
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", raw) is None
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0]  # RFC 2047 Subject
    msg = parse(raw)
    assert msg["Subject"] == "【自動送信】お問い合わせについて（受付番号: 7Q4K-2M）"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] in {"base64", "quoted-printable"}
    assert msg.get_content().replace("\r\n", "\n") == BODY_JA


def test_english_prefix_and_no_double_prefix() -> None:
    en = parse(build(reply(language="en", subject="About your request", body="Hello\n")))
    assert en["Subject"] == "Auto: About your request"
    assert parse(build(reply(language="en", subject="Auto: already")))["Subject"] == "Auto: already"
    assert parse(build(reply(subject="【自動送信】受付")))["Subject"] == "【自動送信】受付"


@pytest.mark.parametrize(
    "subject",
    [
        "x\r\nBcc: evil@example.com",
        "x\nBcc: evil@example.com",
        "x\rBcc: evil@example.com",
        "x\x00\r\nBcc: evil@example.com",
        "x\u2028Bcc: evil@example.com",
        "x\x0bBcc: evil@example.com",
        # A line break hidden in an RFC 2047 word: the stdlib decodes it when the value is set.
        "=?utf-8?q?x=0D=0ABcc=3A_evil=40example=2Ecom?=",
        "=?utf-8?b?eA0KQmNjOiBldmlsQGV4YW1wbGUuY29t?=",
    ],
)
def test_line_breaks_in_subject_cannot_add_a_header(subject: str) -> None:
    raw = build(reply(subject=subject))
    counts = header_counts(raw)
    assert "bcc" not in counts
    assert counts["subject"] == 1
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)
    decoded = parse(raw)["Subject"]
    assert "\r" not in decoded and "\n" not in decoded
    assert "Bcc: evil@example.com" in decoded  # kept as harmless text on one line


def test_line_breaks_in_display_name_cannot_add_a_header() -> None:
    raw = build(reply(from_mailbox="サポート\r\nBcc: evil@example.com <secure_jo1@example.jp>"))
    counts = header_counts(raw)
    assert "bcc" not in counts
    assert counts["from"] == 1
    sender = parse(raw)["From"].addresses
    assert len(sender) == 1
    assert sender[0].addr_spec == "secure_jo1@example.jp"
    assert "\n" not in sender[0].display_name


def test_echoed_text_is_capped() -> None:
    msg = parse(build(reply(subject="あ" * 500)))
    assert msg["Subject"] == "【自動送信】" + "あ" * 120
    assert header_safe("a\r\n\x00b" + "c" * 300) == "a b" + "c" * 117


@pytest.mark.parametrize(
    "to",
    [
        "",
        "member",
        "a@b@example.com",
        "Member <member@example.com>",
        "<member@example.com>",
        "member@example.com, other@example.com",
        "member@example.com\r\nBcc: evil@example.com",
        "member @example.com",
        " member@example.com",
        "member@example.com\x00",
        "会員@example.com",
        "member@exämple.com",
        '"quoted local"@example.com',
        "member@[127.0.0.1]",
        "member@localhost",
        "member..x@example.com",  # double dots only on carrier domains
        "=?utf-8?q?a?=@example.com",
        "m" * 65 + "@example.com",
    ],
)
def test_bad_recipients_raise(to: str) -> None:
    assert address_problem(to) is not None
    with pytest.raises(ComposeError) as caught:
        build(reply(to=to))
    if "@" in to:  # the message names the fault, never the value
        assert to not in str(caught.value)


def test_carrier_legacy_local_part_is_kept_verbatim() -> None:
    raw = build(reply(to="taro..yamada.@docomo.ne.jp"))
    assert b"\r\nTo: taro..yamada.@docomo.ne.jp\r\n" in raw
    assert [a.addr_spec for a in parse(raw)["To"].addresses] == ["taro..yamada.@docomo.ne.jp"]


def test_bad_from_raises() -> None:
    with pytest.raises(ComposeError):
        build(reply(from_mailbox="not an address"))


def test_references_capped_at_ten_plus_message_id() -> None:
    refs = (*(f"<ref.{i}@x.example>" for i in range(15)), "<ref.14@x.example>", "<orig.1@mail.example.com>")
    msg = parse(build(references=refs))
    ids = str(msg["References"]).split()
    assert ids == [f"<ref.{i}@x.example>" for i in range(5, 15)] + ["<orig.1@mail.example.com>"]
    assert len(ids) == len(set(ids)) == 11


def test_references_accept_bare_ids_and_drop_unsafe_ones() -> None:
    refs = ("a.0@x.example", "<bad id@x>", "<x\r\nBcc: e@x>", "<=?utf-8?q?a?=@x>", "<ü@x>", "<b.1@x.example>")
    raw = build(in_reply_to="orig.1@mail.example.com", references=refs)
    msg = parse(raw)
    assert str(msg["References"]).split() == [
        "<a.0@x.example>",
        "<b.1@x.example>",
        "<orig.1@mail.example.com>",
    ]
    assert msg["In-Reply-To"] == "<orig.1@mail.example.com>"
    assert "bcc" not in header_counts(raw)


def test_long_message_ids_are_folded_not_encoded() -> None:
    long_id = "<CAKZ+y-JvW3yT=2rXJ3k5pX8QW6hKtMcmGFd4cK1g+k3WcXB5Og" + "x" * 40 + "@mail.gmail.com>"
    raw = build(in_reply_to=long_id, references=tuple(f"<{'r' * 70}.{i}@x.example>" for i in range(3)))
    head = raw.split(b"\r\n\r\n", 1)[0]
    ids_block = head[head.index(b"\r\nIn-Reply-To:") : head.index(b"\r\nAuto-Submitted:")]
    assert b"References:" in ids_block
    assert b"=?" not in ids_block
    msg = parse(raw)
    assert msg["In-Reply-To"] == long_id
    assert str(msg["References"]).split()[-1] == long_id
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_no_in_reply_to_and_no_references() -> None:
    counts = header_counts(build(in_reply_to=None, references=()))
    assert counts["in-reply-to"] == 0
    assert counts["references"] == 0


def test_message_id_checks() -> None:
    with pytest.raises(ComposeError):
        compose(
            reply(),
            message_id="<r.1.x@d.example>",
            in_reply_to=None,
            references=(),
            instance_id="t",
            date=WHEN,
        )
    with pytest.raises(ComposeError):
        compose(
            reply(),
            message_id=MID,
            in_reply_to=None,
            references=(),
            instance_id="t",
            date=WHEN.replace(tzinfo=None),
        )


def test_new_message_id_form() -> None:
    first = new_message_id(7, "Triage.Example")
    assert re.fullmatch(r"r\.7\.[A-Za-z0-9_-]{10,12}@triage\.example", first)
    assert first != new_message_id(7, "triage.example")
    with pytest.raises(ComposeError):
        new_message_id(7, "bad domain")
