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


FAQ_JA = (
    "FAQの項目に回答します。\n\n"
    "> ・氏名(漢字)\n福田 健太\n"
    "> ・氏名(カナ)\nフクダ ケンタ\n"
    "> ・ご生年月日(西暦表記8桁)\n19910418\n"
    "> ・お電話番号\n09026618834\n\n"
    "> 以上、ご確認のほどよろしくお願いいたします。\n> サポートデスク\n"
)
FAQ_EN = (
    "Answers below.\n\n"
    "On Mon, 9 Nov 2026 at 10:00, Support <secure_jo1@example.jp> wrote:\n"
    "> Name (kanji):\nFukuda Kenta is 福田 健太\n"
    "> Name (katakana):\nフクダ ケンタ\n"
    "> Date of birth:\n1991/04/18\n"
    "> Best regards,\n> the desk\n"
)


@pytest.mark.parametrize("text", [FAQ_JA, FAQ_EN])
def test_questions_answered_between_the_lines_stay_with_the_answers(text: str) -> None:
    own, quoted = split_quoted(text)
    assert "> ・氏名(漢字)" in own or "> Name (kanji):" in own
    assert "フクダ ケンタ" in own
    # the rest of the quoted mail, which nothing answers, is still quoted
    assert "サポートデスク" in quoted or "the desk" in quoted
    assert "the desk" not in own and "サポートデスク" not in own


def test_one_or_two_answered_quotes_are_an_ordinary_reply() -> None:
    text = "> ・氏名(漢字)\n福田 健太\n> ・氏名(カナ)\nフクダ ケンタ\n"
    own, quoted = split_quoted(text)
    assert ">" not in own
    assert quoted.count(">") == 2


def test_a_quote_under_the_answer_is_quoted_as_before() -> None:
    text = "電話番号は09026618834です。\n\n> ・氏名(漢字)\n> ・氏名(カナ)\n> ・お電話番号\n"
    own, quoted = split_quoted(text)
    assert own == "電話番号は09026618834です。"
    assert quoted.count(">") == 3


def test_answers_between_quoted_faq_labels_are_read_end_to_end() -> None:
    import datetime as dt

    from triage.config import Settings
    from triage.engine.loader import load_rules
    from triage.parsing.mime import parse_mail
    from triage.verdict import judge

    settings = Settings.from_env({})
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    raw = (
        "From: kenta@example.jp\nTo: secure_jo1@example.jp\nSubject: re\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" + FAQ_JA
    ).encode()
    verdict = judge(
        parse_mail(raw), envelope_to=None, settings=settings, rules=rules, today=dt.date(2026, 12, 7)
    )
    assert verdict.extraction is not None
    assert verdict.extraction.value("name_kanji") == "福田 健太"
    assert verdict.extraction.value("name_kana") == "フクダ ケンタ"
    assert verdict.extraction.value("birth_date") == "19910418"
    assert verdict.extraction.value("phone") == "09026618834"
