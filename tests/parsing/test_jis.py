"""triage.parsing.jis: ISO-2022-JP with the CP50220/50221/50222 extensions, and CP51932."""

from __future__ import annotations

import random

import pytest

from triage.parsing.charsets import decode_bytes
from triage.parsing.jis import decode_cp51932, decode_jis, jis_pair_to_sjis

ESC = b"\x1b"
KANJI = ESC + b"$B"
ASCII = ESC + b"(B"
ROMAN = ESC + b"(J"
KANA = ESC + b"(I"
X0212 = ESC + b"$(D"
SO = b"\x0e"
SI = b"\x0f"

# JIS X 0208 pairs written by CP50221 encoders (computed by hand from the cp932 tables).
CIRCLED_1 = b"\x2d\x21"  # ①  NEC row 13
KABU = b"\x2d\x6a"  # ㈱  NEC row 13
TAKA = b"\x7c\x62"  # 髙  NEC-selected IBM extension (cp932 0xEEE0)
SAKI = b"\x79\x75"  # 﨑  NEC-selected IBM extension (cp932 0xED95)
HASHI = b"\x36\x36"  # 橋
TESUTO = b"\x25\x46\x25\x39\x25\x48"  # テスト
FULLWIDTH_HYPHEN = b"\x21\x5d"  # cp932 0x817C


def test_pair_arithmetic_matches_cp932_for_every_pair_the_stdlib_knows() -> None:
    # The stdlib iso2022_jp and cp932 disagree on six code points by design (〜‖−¢£¬).
    differ = {(0x21, 0x41), (0x21, 0x42), (0x21, 0x5D), (0x21, 0x71), (0x21, 0x72), (0x22, 0x4C)}
    checked = 0
    for j1 in range(0x21, 0x7F):
        for j2 in range(0x21, 0x7F):
            try:
                expected = (KANJI + bytes((j1, j2)) + ASCII).decode("iso2022_jp")
            except UnicodeDecodeError:
                continue
            if (j1, j2) in differ:
                continue
            assert jis_pair_to_sjis(j1, j2).decode("cp932") == expected
            assert decode_jis(KANJI + bytes((j1, j2)) + ASCII) == expected
            checked += 1
    assert checked > 6800


def test_plain_iso_2022_jp_round_trip() -> None:
    text = "日本語のテストです。\r\nご確認ください。abc 123\r\n"
    assert decode_jis(text.encode("iso2022_jp")) == text


def test_cp50221_nec_and_ibm_extensions() -> None:
    data = b"Name: " + KANJI + TAKA + HASHI + CIRCLED_1 + KABU + SAKI + ASCII + b"\r\n"
    assert decode_jis(data) == "Name: 髙橋①㈱﨑\r\n"


def test_esc_dollar_at_is_jis_x0208_too() -> None:
    assert decode_jis(ESC + b"$@" + TESUTO + ASCII) == "テスト"


def test_esc_ampersand_at_is_ignored() -> None:
    assert decode_jis(ESC + b"&@" + KANJI + TESUTO + ASCII) == "テスト"


def test_half_width_kana_by_esc_paren_i() -> None:
    data = b"a" + KANA + b"\x31\x32\x33\x43\x3d\x44" + ASCII + b"b"
    assert decode_jis(data) == "aｱｲｳﾃｽﾄb"


def test_the_ends_of_the_half_width_katakana_range() -> None:
    """0x21 is U+FF61 ｡ and 0x5F, the top of the range, U+FF9F ﾟ (a mutation run found the top
    unguarded); 0x60 is past it."""
    assert decode_jis(KANA + b"\x21\x5f" + ASCII) == "\uff61\uff9f"
    assert decode_jis(KANA + b"\x36\x5e\x5f" + ASCII) == "ｶﾞﾟ"
    assert decode_jis(SO + b"\x5f" + SI) == "\uff9f"
    assert decode_jis(KANA + b"\x5f\x60" + ASCII, "replace") == "\uff9f\ufffd"
    with pytest.raises(UnicodeDecodeError):
        decode_jis(KANA + b"\x60" + ASCII)
    text, how = decode_bytes(b"Ta" + KANA + b"\x5f" + ASCII, "iso-2022-jp")
    assert (text, how) == ("Ta\uff9f", "jis")


def test_half_width_kana_by_so_si_cp50222() -> None:
    data = ROMAN + SO + b"\x43\x3d\x44" + SI + b"ok" + KANJI + CIRCLED_1 + ASCII
    assert decode_jis(data) == "ﾃｽﾄok①"


def test_so_si_inside_two_byte_mode_returns_to_it() -> None:
    data = KANJI + HASHI + SO + b"\x31" + SI + HASHI + ASCII
    assert decode_jis(data) == "橋ｱ橋"


def test_jis_roman_keeps_backslash_and_tilde() -> None:
    assert decode_jis(ROMAN + b"C:\\dir ~user" + ASCII) == "C:\\dir ~user"


def test_jis_x0212() -> None:
    assert decode_jis(X0212 + b"\x30\x21" + ASCII) == "丂"


def test_full_width_hyphen_pair_is_consistent() -> None:
    via_jis = decode_jis(KANJI + FULLWIDTH_HYPHEN + ASCII)
    assert via_jis == "－"
    assert via_jis == b"\x81\x7c".decode("cp932")
    assert decode_cp51932(b"\xa1\xdd") == via_jis


def test_line_end_inside_two_byte_mode_passes_through() -> None:
    assert decode_jis(KANJI + HASHI + b"\r\n" + HASHI + ASCII) == "橋\r\n橋"


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (b"abc\x80", 3),  # 8-bit byte
        (b"ab" + ESC + b"(Z", 2),  # unknown escape
        (b"ab" + ESC, 2),  # escape cut short
        (KANJI + b"\x36", 3),  # half a pair at the end
        (KANJI + b"\x36" + ASCII, 3),  # half a pair before an escape
        (b"x" + KANJI + HASHI + b"\x29\x21" + ASCII, 6),  # pair with no character (row 9)
        (KANA + b"\x60", 3),  # not a half-width kana byte
        (X0212 + b"\x21\x21", 4),  # JIS X 0212 pair with no character
    ],
)
def test_strict_raises_with_the_source_position(data: bytes, start: int) -> None:
    with pytest.raises(UnicodeDecodeError) as info:
        decode_jis(data)
    assert info.value.start == start
    assert info.value.object == data


def test_replace_writes_one_replacement_per_bad_unit_and_keeps_going() -> None:
    data = KANJI + HASHI + b"\x29\x21" + HASHI + ASCII + b"a\xffb" + ESC + b"[0m"
    assert decode_jis(data, "replace") == "橋\ufffd橋a\ufffdb\ufffd[0m"


def test_replace_does_not_desynchronise_after_a_bad_pair() -> None:
    data = KANJI + b"\x29\x21" + TAKA + HASHI + ASCII
    assert decode_jis(data, "replace") == "\ufffd髙橋"


def test_unknown_error_handler_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        decode_jis(b"", "ignore")


def test_empty_input() -> None:
    assert decode_jis(b"") == ""
    assert decode_cp51932(b"") == ""


def test_cp51932_extensions_and_kana() -> None:
    # EUC-JP bytes: 髙 (0xFCE2), 橋, ① (0xADA1), ㈱ (0xADEA), テスト, ｱ (0x8E 0xB1), 丂 (0x8F...).
    data = b"\xfc\xe2\xb6\xb6\xad\xa1\xad\xea\xa5\xc6\xa5\xb9\xa5\xc8\x8e\xb1\x8f\xb0\xa1 ok"
    assert decode_cp51932(data) == "髙橋①㈱テストｱ丂 ok"


def test_cp51932_strict_and_replace() -> None:
    with pytest.raises(UnicodeDecodeError) as info:
        decode_cp51932(b"ab\xb6")
    assert info.value.start == 2
    assert decode_cp51932(b"\xb6\xb6\x8e\x21\xb6\xb6", "replace") == "橋\ufffd!橋"


# --- the C-codec path for plain ISO-2022-JP gives what the walk gives -----------------------------

WALK = b"\x1b&@"  # the JIS X 0208-1990 announcer: ignored, but it keeps the text off the C-codec path


def _both(data: bytes) -> tuple[str, str]:
    def run(raw: bytes) -> str:
        try:
            return decode_jis(raw)
        except UnicodeDecodeError:
            return "ERROR"

    return run(data), run(WALK + data)


def test_plain_path_matches_the_walk_for_every_pair() -> None:
    differing = []
    for designation in (b"\x1b$B", b"\x1b$@"):  # JIS X 0208-1983 and -1978 read alike
        for j1 in range(0x21, 0x7F):
            for j2 in range(0x21, 0x7F):
                fast, walked = _both(designation + bytes((j1, j2)) + b"\x1b(B")
                if fast != walked:
                    differing.append((designation, hex(j1), hex(j2), fast, walked))
    assert differing == []
    assert _both(b'\x1b$B!A!B!]!q!r"L\x1b(B')[0] == "～∥－￠￡￢"  # cp932's, not JIS's 〜‖−¢£¬


def test_plain_path_matches_the_walk_on_mixed_text() -> None:
    rnd = random.Random(2024)
    pieces = [b"\x1b$B", b"\x1b$@", b"\x1b(B", b"\r\n", b"\n", b"\t", b" ", b"abc", b"~\\", b"\x7f", b"\x00"]
    for _ in range(3000):
        data = b"".join(
            bytes((rnd.randint(0x21, 0x7E), rnd.randint(0x21, 0x7E)))
            if rnd.random() < 0.5
            else rnd.choice(pieces)
            for _ in range(rnd.randint(1, 10))
        )
        fast, walked = _both(data)
        assert fast == walked, data
