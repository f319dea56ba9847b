"""Own text versus quoted text (decisions.md "Quoted text")."""

from __future__ import annotations

import pytest

from triage.parsing.quotes import split_quoted


def test_angle_bracket_lines_are_quoted() -> None:
    own, quoted = split_quoted(
        "電話番号:090-0000-1234\n> 氏名をお知らせください。\n＞ 全角の引用\n| bar quote"
    )
    assert own == "電話番号:090-0000-1234"
    assert quoted == "> 氏名をお知らせください。\n＞ 全角の引用\n| bar quote"


def test_english_attribution_wrapped_on_two_lines_like_gmail() -> None:
    text = (
        "My phone is 090-0000-1234.\n\n"
        "On Fri, May 10, 2024 at 10:15 AM Support Desk <secure_x@example.jp>\n"
        "wrote:\n\n"
        "Please send your name.\n"
    )
    own, quoted = split_quoted(text)
    assert own == "My phone is 090-0000-1234."
    assert quoted.startswith("On Fri, May 10, 2024")
    assert "Please send your name." in quoted


def test_english_attribution_on_one_line() -> None:
    own, quoted = split_quoted("Thanks.\nOn Fri, May 10, 2024, Desk wrote:\nPlease send your name.")
    assert own == "Thanks."
    assert "Please send your name." in quoted


@pytest.mark.parametrize(
    "attribution",
    [
        "2024/05/10 10:15、secure_x@example.jp のメッセージ:",
        "2024年5月10日(金) 10:15 サポート <secure_x@example.jp>:",
        "サポートデスク様からのメール:",
        "2024/05/10 10:15 secure_x@example.jp のメール:",
        "-----Original Message-----",
        "----- 元のメッセージ -----",
        "---------- Forwarded message ---------",
    ],
)
def test_japanese_and_english_attribution_lines(attribution: str) -> None:
    text = f"山田 太郎です。\n電話番号:090-0000-1234\n\n{attribution}\n氏名をお知らせください。\n会員番号:"
    own, quoted = split_quoted(text)
    assert own == "山田 太郎です。\n電話番号:090-0000-1234"
    assert quoted.splitlines()[0] == attribution
    assert quoted.endswith("会員番号:")


def test_gmail_japanese_attribution_wrapped() -> None:
    text = (
        "山田です。\n\n2024年5月10日(金) 10:15 サポートデスク\n"
        "<secure_x@example.jp>:\n\n氏名を教えてください。"
    )
    own, quoted = split_quoted(text)
    assert own == "山田です。"
    assert "氏名を教えてください。" in quoted


def test_outlook_header_block_after_underscore_rule() -> None:
    text = (
        "電話番号:090-0000-1234\n\n"
        "________________________________\n"
        "差出人: サポートデスク <secure_x@example.jp>\n"
        "送信日時: 2024年5月10日 10:15\n"
        "宛先: taro@example.jp\n"
        "件名: ログインについて\n\n"
        "会員番号をお知らせください。\n"
    )
    own, quoted = split_quoted(text)
    assert own == "電話番号:090-0000-1234"
    assert "差出人:" in quoted
    assert "会員番号をお知らせください。" in quoted


def test_outlook_header_block_without_rule() -> None:
    text = (
        "電話番号:090-0000-1234\n"
        "From: Support <secure_x@example.jp>\n"
        "Sent: Friday, May 10, 2024 10:15 AM\n"
        "To: taro@example.jp\n"
        "Subject: Login\n"
        "Please tell us your member number.\n"
    )
    own, quoted = split_quoted(text)
    assert own == "電話番号:090-0000-1234"
    assert "Please tell us your member number." in quoted


def test_inline_answers_after_marked_quote_stay_own() -> None:
    text = (
        "2024/05/10 10:15、secure_x@example.jp のメッセージ:\n"
        "> 氏名:\n"
        "山田 太郎\n"
        "> 電話番号:\n"
        "090-0000-1234\n"
    )
    own, quoted = split_quoted(text)
    assert own == "山田 太郎\n090-0000-1234"
    assert quoted.splitlines() == [
        "2024/05/10 10:15、secure_x@example.jp のメッセージ:",
        "> 氏名:",
        "> 電話番号:",
    ]


def test_colon_and_time_is_not_an_attribution() -> None:
    text = "受付時間 10:00\n電話番号:090-0000-1234\n氏名:山田 太郎"
    own, quoted = split_quoted(text)
    assert own == text
    assert quoted == ""


def test_single_from_label_is_not_a_header_block() -> None:
    text = "From: 山田 太郎\n電話番号:090-0000-1234"
    assert split_quoted(text) == (text, "")


def test_no_quote() -> None:
    assert split_quoted("氏名:山田 太郎") == ("氏名:山田 太郎", "")
