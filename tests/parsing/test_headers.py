"""triage.parsing.headers: unfolding, RFC 2047 the way Japanese senders write it, raw 8-bit."""

from __future__ import annotations

import base64
import email
import email.policy
import random
import time

import pytest

from triage.parsing.headers import decode_header, decode_header_with_how

ESC = b"\x1b"


def b_word(charset: str, data: bytes, *, padding: bool = True) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    if not padding:
        encoded = encoded.rstrip("=")
    return f"=?{charset}?B?{encoded}?="


def q_word(charset: str, data: bytes) -> str:
    encoded = "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{charset}?Q?{encoded}?="


def raw_8bit(data: bytes) -> str:
    """What compat32 raw_items() gives for raw 8-bit header bytes."""
    return data.decode("ascii", "surrogateescape")


def test_plain_ascii() -> None:
    assert decode_header_with_how("Hello world") == ("Hello world", "ascii")


def test_unfolding() -> None:
    assert decode_header("a long\r\n subject\n\tline") == "a long subject\tline"


def test_simple_words() -> None:
    assert decode_header_with_how(b_word("UTF-8", "お問い合わせ".encode())) == ("お問い合わせ", "utf-8")
    assert decode_header(q_word("iso-8859-1", "Café".encode("latin-1"))) == "Café"
    assert decode_header("Re: " + b_word("utf-8", "確認".encode()) + " です") == "Re: 確認 です"


def test_whitespace_between_adjacent_words_is_dropped_across_folds() -> None:
    raw = b_word("UTF-8", "会員".encode()) + "\r\n " + b_word("UTF-8", "番号".encode())
    assert decode_header(raw) == "会員番号"


def test_words_with_no_space_between() -> None:
    raw = b_word("UTF-8", "会員".encode()) + b_word("UTF-8", "番号".encode())
    assert decode_header(raw) == "会員番号"


def test_utf8_split_mid_character() -> None:
    data = "退会のお願い".encode()
    raw = b_word("UTF-8", data[:4]) + "\r\n " + b_word("utf-8", data[4:11]) + " " + b_word("UTF-8", data[11:])
    assert decode_header_with_how(raw) == ("退会のお願い", "utf-8")


def test_iso_2022_jp_split_mid_escape_and_mid_pair() -> None:
    data = ESC + b"$B" + b"\x42\x60\x32\x71\x24\x4e\x2d\x21" + ESC + b"(B"  # 退会の①
    raw = b_word("ISO-2022-JP", data[:2]) + " " + b_word("ISO-2022-JP", data[2:6]) + " "
    raw += b_word("iso-2022-jp", data[6:])
    assert decode_header_with_how(raw) == ("退会の①", "jis")


def test_shift_jis_split_mid_pair() -> None:
    data = "髙橋①の件".encode("cp932")
    raw = b_word("Shift_JIS", data[:3]) + "\n " + b_word("shift_jis", data[3:])
    assert decode_header_with_how(raw) == ("髙橋①の件", "cp932")


def test_b_and_q_words_of_one_charset_are_joined() -> None:
    data = "退会".encode()
    assert decode_header(b_word("UTF-8", data[:2]) + " " + q_word("UTF-8", data[2:])) == "退会"


def test_different_charsets_decode_separately() -> None:
    raw = b_word("UTF-8", "会員".encode()) + " " + b_word("Shift_JIS", "番号".encode("cp932"))
    assert decode_header_with_how(raw) == ("会員番号", "utf-8,cp932")


def test_cp50221_subject() -> None:
    data = ESC + b"$B" + b"\x7c\x62\x36\x36\x2d\x6a" + ESC + b"(I" + b"\x43\x3d\x44" + ESC + b"(B"
    assert decode_header(b_word("ISO-2022-JP", data)) == "髙橋㈱ﾃｽﾄ"


def test_raw_8bit_utf8() -> None:
    raw = raw_8bit("Re: メールエラー通知".encode())
    assert decode_header_with_how(raw) == ("Re: メールエラー通知", "sniff:utf-8")


def test_raw_8bit_shift_jis() -> None:
    raw = raw_8bit("件名：髙橋①".encode("cp932"))
    assert decode_header_with_how(raw) == ("件名：髙橋①", "sniff:cp932")


def test_raw_jis_escapes_without_encoded_words() -> None:
    raw = (ESC + b"$B" + b"\x42\x60\x32\x71" + ESC + b"(B").decode("ascii")
    assert decode_header_with_how(raw) == ("退会", "sniff:jis")


def test_raw_8bit_from_compat32_raw_items() -> None:
    message = b"Subject: " + "テストです".encode("cp932") + b"\r\nFrom: a@example.jp\r\n\r\nbody\r\n"
    parsed = email.message_from_bytes(message, policy=email.policy.compat32)
    values = dict(parsed.raw_items())
    assert decode_header(str(values["Subject"])) == "テストです"


def test_already_decoded_text_is_kept() -> None:
    assert decode_header("すでに文字列 " + b_word("UTF-8", "です".encode())) == "すでに文字列 です"


@pytest.mark.parametrize("charset", ["x-unknown", "NONE", "unknown-8bit", "x-made-up", ""])
def test_unknown_charsets_are_sniffed(charset: str) -> None:
    assert decode_header(b_word(charset, "テスト漢字".encode("euc_jp"))) == "テスト漢字"
    assert decode_header(b_word(charset, "テスト".encode())) == "テスト"


def test_language_suffix() -> None:
    assert decode_header(b_word("UTF-8*ja", "日本".encode())) == "日本"


def test_base64_padding_missing_or_wrong() -> None:
    assert decode_header(b_word("UTF-8", "テスト".encode() + b"a", padding=False)) == "テストa"
    assert decode_header("=?UTF-8?B?YWI=Yw==?=") == "abc"  # two padded chunks in one word
    assert decode_header("=?UTF-8?B?YWJj=?=") == "abc"  # padding that is not needed
    assert decode_header("=?UTF-8?B?YWJjZ?=") == "abc"  # one dangling character


def test_empty_word() -> None:
    assert decode_header("=?UTF-8?B??=") == ""
    assert decode_header("a =?UTF-8?B??= =?UTF-8?Q?b?=") == "a b"  # the space before a word stays


def test_word_cut_short_is_kept_as_text() -> None:
    raw = "Re: " + b_word("UTF-8", "確認".encode()) + " =?UTF-8?B?56K66KqN"
    assert decode_header(raw) == "Re: 確認 =?UTF-8?B?56K66KqN"


def test_bad_base64_is_kept_as_text() -> None:
    assert decode_header("=?UTF-8?B?not*base64?= ok") == "=?UTF-8?B?not*base64?= ok"


def test_q_underscore_is_space() -> None:
    assert decode_header("=?UTF-8?Q?a_b=E3=81=82_c?=") == "a bあ c"
    assert decode_header("=?utf-8?q?50=25_off=?=") == "50% off="


def test_raw_8bit_inside_a_word() -> None:
    raw = "=?UTF-8?Q?" + raw_8bit("お知らせ".encode()) + "?="
    assert decode_header(raw) == "お知らせ"
    raw = "=?UTF-8?B?" + raw_8bit("お知らせ".encode()) + "?="
    assert decode_header(raw) == "=?UTF-8?B?お知らせ?="  # not base64: literal, then sniffed


def test_no_newline_or_nul_in_the_result() -> None:
    assert decode_header("=?UTF-8?Q?a=0D=0Ab=00c?=\r\nX-Injected: 1") == "abcX-Injected: 1"
    assert decode_header("  padded  ") == "padded"


def test_lone_surrogate_does_not_raise() -> None:
    text = decode_header("abc\ud800def")
    assert text == "abc\ufffddef"


def test_ten_thousand_words_in_bounded_time() -> None:
    word = b_word("UTF-8", "あ".encode())
    mixed = " ".join(
        b_word("UTF-8", "い".encode()) if i % 2 else b_word("Shift_JIS", "う".encode("cp932"))
        for i in range(10_000)
    )
    started = time.perf_counter()
    assert decode_header(" ".join([word] * 10_000)) == "あ" * 10_000
    assert decode_header(mixed) == "うい" * 5_000
    assert decode_header("=?" * 10_000 + "?B?" * 10_000) == ("=?" * 10_000 + "?B?" * 10_000).strip()
    assert time.perf_counter() - started < 5.0


def test_fuzz_never_raises() -> None:
    rng = random.Random(7)
    parts = ["=?", "?=", "?B?", "?Q?", "UTF-8", "ISO-2022-JP", "x-unknown", "Shift_JIS", "_", "=E3", "=", " "]
    parts += ["\r\n ", "\n", "\x00", "YQ", "44GC", "\x1b$B", "\x1b(B", "\udc82", "\udca0", "あ", "\ud800"]
    for _ in range(3000):
        raw = "".join(rng.choice(parts) for _ in range(rng.randrange(20)))
        text, how = decode_header_with_how(raw)
        assert "\r" not in text
        assert "\n" not in text
        assert "\x00" not in text
        assert how
