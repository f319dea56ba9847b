"""triage.parsing.charsets: the alias table and sniff order of parsing.md §2."""

from __future__ import annotations

import encodings.aliases
import random
from pathlib import Path

import pytest

from triage.parsing import charsets
from triage.parsing.charsets import decode_bytes, normalise_label, sniff

ESC = b"\x1b"
KANJI = ESC + b"$B"
ASCII = ESC + b"(B"

JAPANESE = "髙橋①㈱のテスト、よろしくお願いします。"
# The same text as CP50221 (ISO-2022-JP with NEC row 13 and NEC-selected IBM 髙) and CP51932.
JIS_BYTES = (
    KANJI
    + b"\x7c\x62\x36\x36\x2d\x21\x2d\x6a\x24\x4e\x25\x46\x25\x39\x25\x48\x21\x22\x24\x68\x24\x6d"
    + b"\x24\x37\x24\x2f\x24\x2a\x34\x6a\x24\x24\x24\x37\x24\x5e\x24\x39\x21\x23"
    + ASCII
)
EUC_BYTES = bytes(b | 0x80 for b in JIS_BYTES[3:-3])
HALF_KANA_JIS = ESC + b"(I" + b"\x43\x3d\x44" + ASCII + b"\x0e\x31\x0f"  # ﾃｽﾄ then SO ｱ SI

JIS_LABELS = [
    "iso-2022-jp",
    "csISO2022JP",
    "ISO-2022-JP-1",
    "iso-2022-jp-2",
    "iso-2022-jp-3",
    "iso-2022-jp-2004",
    "iso-2022-jp-ext",
    "iso-2022-jp-ms",
    "cp50220",
    "CP50221",
    "cp50222",
    "x-cp5022x",
    "jis",
]
SJIS_LABELS = [
    "shift_jis",
    "Shift-JIS",
    "sjis",
    "x-sjis",
    "ms_kanji",
    "csShiftJIS",
    "Windows-31J",
    "csWindows31J",
    "cp932",
    "MS932",
    "x-ms-cp932",
    "sjis-win",
    "sjis-open",
]
EUC_LABELS = ["euc-jp", "x-euc-jp", "eucjp", "ujis", "cp51932", "euc-jp-ms", "eucjp-ms", "eucjp-win"]
UTF8_LABELS = ["utf-8", "UTF8", "unicode-1-1-utf-8", "utf8mb4", "x-utf-8"]
NONE_LABELS = [None, "", "us-ascii", "US-ASCII", "unknown-8bit", "x-unknown", "unknown", "NONE"]


def test_jis_fixture_is_what_it_claims() -> None:
    assert JAPANESE.encode("cp932").decode("cp932") == JAPANESE


@pytest.mark.parametrize("label", JIS_LABELS)
def test_row_jis_labels_use_the_own_decoder(label: str) -> None:
    assert decode_bytes(JIS_BYTES, label) == (JAPANESE, "jis")
    assert decode_bytes(HALF_KANA_JIS, label) == ("ﾃｽﾄｱ", "jis")


@pytest.mark.parametrize("label", JIS_LABELS)
def test_row_jis_labels_with_8bit_data_sniff(label: str) -> None:
    assert decode_bytes(JAPANESE.encode("utf-8"), label) == (JAPANESE, "sniff:utf-8")


def test_row_jis_label_broken_7bit_data_is_replaced() -> None:
    assert decode_bytes(KANJI + b"\x36\x36\x29\x21" + ASCII, "iso-2022-jp") == ("橋\ufffd", "replace:jis")


def test_cp5022x_under_iso_2022_jp_label_has_no_replacement_character() -> None:
    text, how = decode_bytes(JIS_BYTES + b" " + HALF_KANA_JIS, "ISO-2022-JP")
    assert "\ufffd" not in text
    assert text == JAPANESE + " ﾃｽﾄｱ"
    assert how == "jis"


def test_full_width_hyphen_decodes_the_same_under_jis_sjis_and_cp51932() -> None:
    jis = decode_bytes(KANJI + b"\x21\x5d" + ASCII, "iso-2022-jp")[0]
    sjis = decode_bytes(b"\x81\x7c", "shift_jis")[0]
    cp51932 = decode_bytes(b"\xa1\xdd\xad\xa1", "cp51932")[0]  # － plus ① to leave euc_jp strict
    assert jis == sjis == "－"
    assert cp51932 == "－①"


@pytest.mark.parametrize("label", SJIS_LABELS)
def test_row_shift_jis_labels_decode_as_cp932(label: str) -> None:
    assert decode_bytes(JAPANESE.encode("cp932"), label) == (JAPANESE, "cp932")


def test_shift_jis_label_with_cp932_only_characters() -> None:
    data = "①㈱髙﨑～".encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    assert decode_bytes(data, "Shift_JIS") == ("①㈱髙﨑～", "cp932")


@pytest.mark.parametrize("label", ["shift_jisx0213", "shift_jis_2004", "euc_jis_2004", "euc_jisx0213"])
def test_jis2004_codecs_are_never_used(label: str) -> None:
    # shift_jisx0213 reads 0xEEE0 as 郄 and 0xED95 as 粼: the labels go to the cp932 family instead.
    assert decode_bytes(b"\xee\xe0\xed\x95", label)[0] == "髙﨑"


def test_shift_jis_label_with_euc_data_sniffs() -> None:
    assert decode_bytes("テスト漢字".encode("euc_jp"), "shift_jis") == ("テスト漢字", "sniff:euc-jp")


@pytest.mark.parametrize("label", EUC_LABELS)
def test_row_euc_labels(label: str) -> None:
    assert decode_bytes("テストです".encode("euc_jp"), label) == ("テストです", "euc-jp")
    assert decode_bytes(EUC_BYTES, label) == (JAPANESE, "euc-jp:cp51932")


def test_euc_label_with_cp932_data_sniffs() -> None:
    assert decode_bytes("テストです".encode("cp932"), "euc-jp") == ("テストです", "sniff:cp932")


@pytest.mark.parametrize("label", UTF8_LABELS)
def test_row_utf8_labels(label: str) -> None:
    assert decode_bytes("\ufeff".encode() + JAPANESE.encode(), label) == (JAPANESE, "utf-8")


def test_utf8_label_with_cp932_data_sniffs() -> None:
    assert decode_bytes(JAPANESE.encode("cp932"), "utf-8") == (JAPANESE, "sniff:cp932")


def test_utf8_label_with_one_stray_byte_stays_utf8() -> None:
    data = "あいう".encode() + b"\xff" + "えお".encode()
    assert decode_bytes(data, "utf-8") == ("あいう\ufffdえお", "replace:utf-8")


@pytest.mark.parametrize("label", NONE_LABELS)
def test_row_no_label_7bit_is_ascii(label: str | None) -> None:
    assert decode_bytes(b"plain text\r\n", label) == ("plain text\r\n", "ascii")


@pytest.mark.parametrize("label", NONE_LABELS)
def test_row_no_label_8bit_or_escapes_are_sniffed(label: str | None) -> None:
    assert decode_bytes(JAPANESE.encode("utf-8"), label) == (JAPANESE, "sniff:utf-8")
    assert decode_bytes(JAPANESE.encode("cp932"), label) == (JAPANESE, "sniff:cp932")
    assert decode_bytes("テストです".encode("euc_jp"), label) == ("テストです", "sniff:euc-jp")
    assert decode_bytes(JIS_BYTES, label) == (JAPANESE, "sniff:jis")


@pytest.mark.parametrize(("label", "name"), [("ISO-8859-1", "iso-8859-1"), ("windows-1252", "windows-1252")])
def test_row_latin_labels_honoured_without_kana(label: str, name: str) -> None:
    assert decode_bytes("Café 10€".encode("cp1252"), "windows-1252") == ("Café 10€", "label:windows-1252")
    assert decode_bytes("Señor".encode("latin-1"), label) == ("Señor", "label:" + name)


@pytest.mark.parametrize("label", ["iso-8859-1", "Windows-1252", "latin1"])
def test_row_latin_labels_on_japanese_text_keep_the_sniff(label: str) -> None:
    assert decode_bytes(JAPANESE.encode("cp932"), label) == (JAPANESE, "sniff:cp932")
    assert decode_bytes(JAPANESE.encode("utf-8"), label) == (JAPANESE, "sniff:utf-8")
    assert decode_bytes(JIS_BYTES, label) == (JAPANESE, "sniff:jis")


def test_row_other_python_label_uses_that_codec() -> None:
    assert decode_bytes("Привет".encode("koi8-r"), "KOI8-R") == ("Привет", "label:koi8-r")
    assert decode_bytes("한국어".encode("euc-kr"), "euc-kr") == ("한국어", "label:euc_kr")


def test_row_other_python_label_replaces_bad_bytes() -> None:
    assert decode_bytes(b"a\xff", "utf-16-le") == ("\uff61", "label:utf-16-le")
    assert decode_bytes(b"a\xffb", "utf-16-le") == ("\uff61\ufffd", "replace:utf-16-le")


@pytest.mark.parametrize("label", ["x-made-up", "base64", "zlib", "unicode_escape", "idna", "undefined"])
def test_row_unknown_or_non_text_label_sniffs(label: str) -> None:
    assert decode_bytes(JAPANESE.encode("utf-8"), label) == (JAPANESE, "sniff:utf-8")


def test_utf8_under_iso_2022_jp_label() -> None:
    # au (KDDI) sends UTF-8 bodies labelled ISO-2022-JP.
    text = "送信先のメールボックスが一杯のため、送信できませんでした。\n"
    assert decode_bytes(text.encode("utf-8"), "ISO-2022-JP") == (text, "sniff:utf-8")


def test_euc_jp_under_iso_2022_jp_label() -> None:
    # ezweb sends EUC-JP bodies labelled iso-2022-jp.
    text = "次のあて先へのメッセージはエラーのため送信できませんでした。\n"
    assert decode_bytes(text.encode("euc_jp"), "iso-2022-jp") == (text, "sniff:euc-jp")


def test_sniff_rejects_euc_read_as_cp932_garbage() -> None:
    data = "テスト".encode("euc_jp")
    assert data.decode("cp932") == "･ﾆ･ｹ･ﾈ"  # decodes without error, which is the trap
    assert sniff(data) == ("テスト", "sniff:euc-jp")


def test_sniff_prefers_cp932_on_a_tie() -> None:
    # 0xE0A1 is a kanji in both cp932 (爍) and EUC-JP (燹): nothing suspicious either way.
    assert sniff(b"\xe0\xa1") == ("爍", "sniff:cp932")


def test_sniff_keeps_a_strict_decode_over_replace_decodes() -> None:
    # By design (parsing.md §2 step 3 before step 4): EUC kana with one bad trailing byte still
    # decodes strictly as cp932, so the cp932 garbage is kept.
    assert sniff("テストです".encode("euc_jp") + b"\xa4") == ("･ﾆ･ｹ･ﾈ､ﾇ､ｹ､", "sniff:cp932")


def test_sniff_last_resort_replace() -> None:
    cp932 = JAPANESE.encode("cp932") + b"\x81\x20"  # lead byte with a bad trail
    text, how = sniff(cp932)
    assert how == "replace:cp932"
    assert text.startswith(JAPANESE)
    euc = "テストです".encode("euc_jp") + b"\xe0"  # cut short: neither strict decode succeeds
    assert sniff(euc) == ("テストです\ufffd", "replace:euc-jp")


def test_sniff_7bit() -> None:
    assert sniff(b"hello") == ("hello", "sniff:ascii")
    assert sniff(b"") == ("", "sniff:ascii")
    assert sniff(b"\x1b[0m") == ("\ufffd[0m", "replace:jis")


def test_label_normalisation() -> None:
    assert normalise_label(' "Shift_JIS" ') == "shift_jis"
    assert normalise_label("'UTF-8'") == "utf-8"
    assert normalise_label("iso-2022-jp\t") == "iso-2022-jp"
    assert normalise_label(None) == ""
    assert decode_bytes(JAPANESE.encode("cp932"), '"x-sjis"') == (JAPANESE, "cp932")


@pytest.mark.parametrize("label", ["x-sjis", "windows-31j", "cp51932", "x-unknown", "X-SJIS", "Windows-31J"])
def test_labels_python_does_not_know_never_raise(label: str) -> None:
    for data in (JAPANESE.encode("cp932"), EUC_BYTES, JIS_BYTES, b"\xff\xfe\x00\x80", b""):
        text, how = decode_bytes(data, label)
        assert isinstance(text, str)
        assert how


def test_empty_data() -> None:
    assert decode_bytes(b"", None) == ("", "ascii")
    assert decode_bytes(b"", "iso-2022-jp") == ("", "jis")
    assert decode_bytes(b"", "shift_jis") == ("", "cp932")


def test_no_forbidden_codec_or_error_handler_in_the_source() -> None:
    source = Path(charsets.__file__).parent
    for name in ("charsets.py", "jis.py", "headers.py"):
        code = (source / name).read_text(encoding="utf-8")
        assert 'errors="ignore"' not in code
        assert '"ignore"' not in code
        for codec in ("shift_jis_2004", "shift_jisx0213", "euc_jis_2004"):
            assert f'decode("{codec}"' not in code


def test_fuzz_random_bytes_and_labels_never_raise() -> None:
    rng = random.Random(20240611)
    labels: list[str | None] = [None]
    labels += sorted(set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()))
    labels += [
        "",
        "x-sjis",
        "windows-31j",
        "cp51932",
        "x-unknown",
        "NONE",
        "a\x00b",
        "\udcff",
        "x" * 300,
    ]
    labels += JIS_LABELS + SJIS_LABELS + EUC_LABELS + UTF8_LABELS
    interesting = [0x1B, 0x24, 0x28, 0x40, 0x42, 0x49, 0x44, 0x26, 0x0E, 0x0F, 0x21, 0x7E, 0x80, 0x8E, 0x8F]
    interesting += [0xA1, 0xDF, 0xE0, 0xEE, 0xFE, 0xFF, 0x0A, 0x20, 0xC3, 0xE3]
    for _ in range(6000):
        size = rng.randrange(16)
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(size))
        else:
            data = bytes(rng.choice(interesting) for _ in range(size))
        label = rng.choice(labels)
        text, how = decode_bytes(data, label)
        assert isinstance(text, str)
        assert how
        sniffed, sniff_how = sniff(data)
        assert isinstance(sniffed, str)
        assert sniff_how.startswith(("sniff:", "replace:"))
