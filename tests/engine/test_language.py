"""The reply language (product.md "Language"): the member's own words decide."""

from __future__ import annotations

from triage.engine.language import text_language

JAPANESE_FORM = "\n".join(
    [
        "・氏名フルネーム(漢字):山田 太郎",
        "・氏名フルネーム(カナ):ヤマダ タロウ",
        "・ご設定のニックネーム:たろう",
        "・ご生年月日(西暦表記8桁):19900102",
        "・ご登録の住所(都道府県):東京都",
    ]
)


def test_japanese_prose_is_ja() -> None:
    text = "お世話になっております。\nログインできなくなりました。\nよろしくお願いいたします。"
    assert text_language(text) == "ja"


def test_english_prose_with_a_pasted_japanese_form_is_en() -> None:
    text = (
        "Hello, I cannot log in to my account since the renewal.\n"
        f"{JAPANESE_FORM}\n"
        "Please help me recover my account. Thank you."
    )
    assert text_language(text, "ログインできません") == "en"


def test_english_labels_only_is_en() -> None:
    text = "\n".join(
        [
            "Name: 山田 太郎",
            "Date of birth: 1990年1月2日",
            "Phone number: 090-0000-1234",
            "Email address: taro@example.jp",
        ]
    )
    assert text_language(text) == "en"


def test_japanese_prose_with_english_labels_is_ja() -> None:
    text = (
        "ログインできません。調べていただけますか。\n"
        "・Plus member ID:E10000001\n"
        "・EMTG ID:E10000001\n"
        "よろしくお願いいたします。"
    )
    assert text_language(text) == "ja"


def test_addresses_and_urls_are_not_english_words() -> None:
    text = (
        "ログインできません。\n"
        "taro.yamada.example@example.co.jp hanako.sample.test@example.ne.jp\n"
        "https://www.example.com/member/login/help/english/page"
    )
    assert text_language(text) == "ja"


def test_only_addresses_fall_back_to_the_subject() -> None:
    text = "taro.yamada.example@example.co.jp https://www.example.com/member/login/help"
    assert text_language(text, "Cannot log in to my account") == "en"


def test_empty_text_subject_decides() -> None:
    assert text_language("", "I cannot log in to my account") == "en"
    assert text_language("", "ログインできません") == "ja"


def test_reply_prefix_of_the_subject_is_not_a_word() -> None:
    assert text_language("", "Re: Fwd: ログインできません") == "ja"


def test_default_is_ja() -> None:
    assert text_language("") == "ja"
    assert text_language("12345 0000", "") == "ja"


def test_japanese_form_only_is_ja() -> None:
    assert text_language(JAPANESE_FORM, "Cannot log in") == "ja"


def test_form_lines_as_the_pattern_read_them() -> None:
    # `^[ \t\u3000]*(?:[bullets]|[^:：\n]{1,30}[:：])`, which lets the indent stand for the label.
    from triage.engine.language import _is_form_line

    assert _is_form_line("\u3000：x")
    assert not _is_form_line("：x")
    assert _is_form_line("  label: value")
    assert _is_form_line("  " + "a" * 30 + ":")
    assert not _is_form_line("a" * 31 + ":")
    assert _is_form_line("\u3000・name")


def test_latin_words_are_runs_of_two_ascii_letters() -> None:
    from triage.engine.language import _latin_words

    assert _latin_words("abc1de f ｇｈ ij_kl") == ["abc", "de", "ij", "kl"]


def test_a_65_kb_token_is_read_in_linear_time() -> None:
    import time

    started = time.process_time()
    assert text_language("a:" * 32_768 + "\nHello, I cannot log in to my account.") == "en"
    assert time.process_time() - started < 0.5  # was 17 s: `\S+@\S+` from every position
