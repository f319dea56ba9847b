"""The parse-back check of a composed reply (headers only): what it refuses, and what it passes."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest

from triage.errors import ComposeError
from triage.outbound.compose import compose
from triage.outbound.compose_check import check_round_trip
from triage.outbound.compose_policy import POLICY
from triage.outbound.render import RenderedReply

WHEN = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
MID = "r.42.AbCdEfGhIjK@triage.example"
TO = "member@example.com"
FROM = "secure_jo1@example.jp"


def built() -> tuple[EmailMessage, bytes]:
    """A reply as compose() builds it, and its bytes."""
    reply = RenderedReply("needs_info", "ja", TO, f"会員サポート <{FROM}>", "お問い合わせ", "本文です。\n")
    raw = compose(reply, message_id=MID, in_reply_to=None, references=(), instance_id="t", date=WHEN)
    msg = EmailMessage(policy=POLICY)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for line in head.replace("\r\n ", " ").split("\r\n"):
        name, _, _ = line.partition(":")
        msg[name] = "x"  # only the names and counts of what was built are compared
    return msg, raw


def check(msg: EmailMessage, raw: bytes) -> None:
    check_round_trip(msg, raw, to_addr=TO, from_addr=FROM, message_id=MID)


def test_a_composed_reply_passes_and_its_display_name_is_encoded() -> None:
    msg, raw = built()
    check(msg, raw)
    assert b"From: =?utf-8?" in raw


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        # an encoded word that decodes to a line break: an injected header for the reader
        ((b"Subject: ", b"Subject: =?utf-8?q?a=0D=0ABcc=3A_x=40evil=2Eexample?= "), "line break"),
        ((b"Subject: ", b"Bcc: x@evil.example\r\nSubject: "), "names or counts"),
        ((b"To: member@example.com", b"To: member@example.com, other@example.com"), "one recipient"),
        ((b"To: member@example.com", b"To: other@example.com"), "one recipient"),
        ((f"Message-ID: <{MID}>".encode(), b"Message-ID: <r.1.x@evil.example>"), "Message-ID"),
        ((b"To: ", b"To:\x01 "), "control character"),
        ((b"\r\nTo: ", b"\nTo: "), "bare CR or LF"),
        ((b"\r\n\r\n", b"\r\n"), "header block"),
        # lines that are no field: a stray line, a name with a space, a continuation first
        ((b"\r\nTo: ", b"\r\nno colon on this line\r\nTo: "), "structural"),
        ((b"\r\nTo: ", b"\r\nTo : "), "structural"),
        ((b"From: ", b" From: "), "structural"),
        ((b"\r\nTo: ", b"\r\n To: "), "names or counts"),  # To folded into the field before it
        ((b"Subject: ", b"Subject: =?x-unknown?q?a?= "), "does not decode"),
        ((b"Subject: ", b"Subject: =?utf-8?q?=FF?= "), "does not decode"),
        ((b"Subject: ", b"Subject: \x7f"), "control character"),
    ],
)
def test_a_changed_header_block_is_refused(change: tuple[bytes, bytes], fault: str) -> None:
    msg, raw = built()
    old, new = change
    assert old in raw
    with pytest.raises(ComposeError, match=fault):
        check(msg, raw.replace(old, new, 1))
