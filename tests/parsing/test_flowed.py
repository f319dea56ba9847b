"""format=flowed (RFC 3676): soft breaks joined, delsp honoured, quoted lines left alone."""

from __future__ import annotations

import pytest

from triage.parsing.flowed import is_flowed, unflow
from triage.parsing.mime import parse_mail


def build(body: bytes, content_type: str = "text/plain; charset=UTF-8") -> bytes:
    head = (
        "From: taro@example.jp\r\nTo: secure_jo1@example.jp\r\nSubject: test\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode("ascii") + body


@pytest.mark.parametrize(
    ("content_type", "want"),
    [
        ("text/plain; charset=UTF-8; format=flowed; delsp=yes", (True, True)),
        ('text/plain; format="flowed"; DelSp="Yes"', (True, True)),
        ("text/plain; charset=ISO-2022-JP; format=flowed", (True, False)),
        ("text/plain; format=fixed", (False, False)),
        ("text/plain; charset=UTF-8", (False, False)),
    ],
)
def test_is_flowed_reads_the_parameters(content_type: str, want: tuple[bool, bool]) -> None:
    assert is_flowed(content_type) == want


def test_delsp_deletes_the_space_of_a_soft_break() -> None:
    text = "電話番号は090-3318- \r\n7702、メールはtaro \r\n.88@example.jpです。\r\n次の行"
    assert unflow(text, delsp=True) == "電話番号は090-3318-7702、メールはtaro.88@example.jpです。\n次の行"


def test_without_delsp_the_space_stays() -> None:
    assert unflow("My phone number is \n090-1111-2222\nThanks", delsp=False) == (
        "My phone number is 090-1111-2222\nThanks"
    )


def test_quoted_lines_signature_separator_and_stuffing() -> None:
    text = "> quoted \n> more\nanswer \n-- \n sig"
    assert unflow(text, delsp=True) == "> quoted \n> more\nanswer\n-- \nsig"


def test_a_soft_break_before_an_empty_line_keeps_the_paragraphs_apart() -> None:
    assert unflow("Hi, \n\nName: Taro", delsp=True) == "Hi,\n\nName: Taro"


def test_parse_mail_unflows_a_flowed_plain_part() -> None:
    body = b"Phone: 070-3392- \r\n6154\r\nEmail: sora@yah \r\noo.co.jp\r\n"
    mail = parse_mail(build(body, content_type="text/plain; charset=UTF-8; format=flowed; delsp=yes"))
    assert mail.text.splitlines() == ["Phone: 070-3392-6154", "Email: sora@yahoo.co.jp"]


def test_parse_mail_leaves_fixed_text_as_written() -> None:
    body = b"Phone: 070-3392- \r\n6154\r\n"
    mail = parse_mail(build(body))
    assert mail.text.splitlines() == ["Phone: 070-3392- ", "6154"]
