"""for_matching (parsing.md §5), for_report (fields.md global normalisation), placeholders."""

from __future__ import annotations

import pytest

from triage.engine.normalize import (
    fold_digit_dashes,
    for_matching,
    for_report,
    hira_to_kata,
    is_placeholder,
    to_katakana_fullwidth,
)

# --- for_matching ---------------------------------------------------------------------------


def test_invisible_characters_are_dropped() -> None:
    assert for_matching("0\x0090\u00ad1\u200b2\u200c3\u200d4\u2060\ufeff5") == "09012345"


def test_wave_dashes_of_both_codecs_become_tilde() -> None:
    assert for_matching("10時〜18時") == "10時~18時"
    assert for_matching("10時～18時") == "10時~18時"


def test_spacing_voiced_mark_combines_instead_of_becoming_a_space() -> None:
    assert for_matching("か゛") == "が"
    assert for_matching("ハ゜") == "パ"


def test_circled_number_is_not_glued_to_the_next_digits() -> None:
    assert for_matching("電話①09012345678") == "電話 1 09012345678"
    assert for_matching("⑫") == " 12 "
    assert for_matching("❶") == " 1 "


def test_nfkc_folds_width_and_squared_eras() -> None:
    assert for_matching("０９０ＡＢｃ＠") == "090ABc@"
    assert for_matching("㍻2年") == "平成2年"
    assert for_matching("㋿元年") == "令和元年"
    assert for_matching("ｶﾞｷﾞ") == "ガギ"


@pytest.mark.parametrize("dash", ["‐", "‑", "‒", "–", "—", "―", "−", "－", "ー", "ｰ", "─", "━"])
def test_every_dash_between_digits_becomes_hyphen(dash: str) -> None:
    assert for_matching(f"090{dash}1234{dash}5678") == "090-1234-5678"


def test_dash_not_between_digits_is_kept() -> None:
    assert for_matching("ヤマダ タロー") == "ヤマダ タロー"
    assert for_matching("A−1") == "A−1"


def test_blanks_collapse_but_line_breaks_are_kept() -> None:
    assert for_matching("氏名\t\u3000 山田  太郎\r\n次の行\r最後") == "氏名 山田 太郎\n次の行\n最後"


def test_for_matching_may_change_compatibility_ideographs() -> None:
    # Matching text only: the reported value comes from the original (see for_report).
    assert for_matching("\ufa10") == "\u585a"


# --- kana helpers -----------------------------------------------------------------------------


def test_kana_helpers() -> None:
    assert hira_to_kata("やまだ たろう") == "ヤマダ タロウ"
    assert to_katakana_fullwidth("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ タロウ"
    assert to_katakana_fullwidth("ぱｳﾞｧ") == "パヴァ"


# --- for_report -------------------------------------------------------------------------------


def test_report_width_and_kana() -> None:
    assert for_report("ＴＡＲＯ＠ＧＭＡＩＬ．ＣＯＭ") == "TARO@GMAIL.COM"
    assert for_report("ﾊﾅﾁｬﾝ") == "ハナチャン"
    assert for_report("ﾀﾞｲｽｹ") == "ダイスケ"


def test_report_keeps_ideographs_exactly() -> None:
    for name in ("髙橋 一郎", "山﨑 花子", "\ufa10田", "\ufa19田", "\u9686"):
        assert for_report(name) == name
    assert for_report("\ufa10") != "\u585a"


def test_report_combines_spacing_voiced_marks_without_nfc() -> None:
    assert for_report("か゛\ufa10") == "が\ufa10"


@pytest.mark.parametrize("dash", ["‐", "‑", "‒", "–", "—", "―", "−", "－", "ー", "ｰ"])
def test_report_folds_dashes_between_digits(dash: str) -> None:
    assert for_report(f"見本町1{dash}2{dash}3") == "見本町1-2-3"


def test_report_keeps_dashes_elsewhere() -> None:
    assert for_report("ヤマダ・タロー") == "ヤマダ・タロー"


def test_report_white_space() -> None:
    assert for_report("  山田\u3000\u3000太郎\t ") == "山田 太郎"


@pytest.mark.parametrize(
    ("written", "reported"),
    [
        ("「山田 太郎」", "山田 太郎"),
        ("『たろう』", "たろう"),
        ("【E12345678】", "E12345678"),
        ('"taro"', "taro"),
        ("“taro”", "taro"),
        ("‘taro’", "taro"),
        ("'taro'", "taro"),
        ("（山田）", "山田"),
        ("(山田)", "山田"),
        ("「『山田』」。", "山田"),
        ("東京都。", "東京都"),
        ("東京都、", "東京都"),
    ],
)
def test_report_strips_enclosing_brackets_and_trailing_punctuation(written: str, reported: str) -> None:
    assert for_report(written) == reported


@pytest.mark.parametrize("value", ["(03)1234-5678", "(株)山田(花子)", "「a」と「b」", "山田(やまだ)"])
def test_report_keeps_brackets_that_do_not_enclose_the_whole_value(value: str) -> None:
    assert for_report(value) == value


def test_report_keep_punctuation_keeps_every_character() -> None:
    assert for_report("「s/9」。", keep_punctuation=True) == "「s/9」。"
    assert for_report("ｓ／９", keep_punctuation=True) == "s/9"


def test_report_is_idempotent() -> None:
    for value in ("「『山田』」。", "ﾔﾏﾀﾞ", "090ー1234", "(03)1234-5678"):
        assert for_report(for_report(value)) == for_report(value)


def test_fold_digit_dashes_only_between_digits() -> None:
    assert fold_digit_dashes("1ー2 aー3 4ーb") == "1-2 aー3 4ーb"


# --- placeholders -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "なし",
        "無し",
        "不明",
        "未取得",
        "未登録",
        "未定",
        "ありません",
        "わからない",
        "分かりません",
        "わかりません",
        "覚えていません",
        "忘れました",
        "特になし",
        "-",
        "ー",
        "―",
        "--",
        "×",
        "無",
        "未",
        "none",
        "None",
        "unknown",
        "N/A",
        "n/a",
        "na",
        "NA",
        "(not received)",
        "not received",
        "no",
        "nothing",
        "don't know",
        "I don't remember",
        "I don’t remember",
        "I forgot",
        "ｎｏｎｅ",
        "なし（まだ取得していません）",
        "覚えていません。たぶん…",
        "none - I never got one",
        "なしです",
        "未取得です。",
        "不明でした",
        "ありませんでした",
        "「なし」",
        "※なし",
        "no, I have not received it",
    ],
)
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize(
    "value",
    [
        "なかむら",
        "なしもと",
        "ないとう",
        "Nao",
        "Nanako",
        "Nobuko",
        "nonomi",
        "0901234",
        "09012345678",
        "No.12345678",
        "no. 1234",
        "山田 太郎",
        "未来",
        "E12345678",
        "購入前",
        "",
    ],
)
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)
