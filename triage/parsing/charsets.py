"""Bytes plus a declared charset label to text, the way Japanese mail needs it (parsing.md §2).

`decode_bytes` never raises. It returns the text and `how`, the path taken:

=========================  ==================================================================
``ascii``                  no/us-ascii/unknown label, 7-bit data without ESC
``jis``                    JIS label, 7-bit data, own CP5022x decoder (`triage.parsing.jis`)
``replace:jis``            JIS label (or sniffed ESC), 7-bit but broken: U+FFFD where broken
``cp932``                  Shift_JIS-family label, cp932 strict
``euc-jp``                 EUC-JP-family label, euc_jp strict
``euc-jp:cp51932``         EUC-JP-family label, CP51932 extras (①, 髙) via JIS pairs and cp932
``utf-8``                  UTF-8-family label, utf-8-sig strict
``label:<name>``           any other label Python knows, strict (``label:iso-8859-1``,
                           ``label:windows-1252``, ``label:iso8859-15`` ...)
``replace:<name>``         the same codec, but only ``errors="replace"`` got through
``sniff:ascii``            sniffed: 7-bit without ESC (same text as UTF-8)
``sniff:jis``              sniffed: ESC in 7-bit data, JIS strict
``sniff:utf-8``            sniffed: utf-8-sig strict
``sniff:cp932``            sniffed: cp932 strict, fewer suspicious characters than EUC-JP
``sniff:euc-jp``           sniffed: euc_jp strict
``sniff:euc-jp:cp51932``   sniffed: EUC-JP with CP51932 extras
``replace:cp932``          last resort: the best of the cp932 / CP51932 / utf-8 replace decodes
``replace:euc-jp``         (see `sniff`)
``replace:utf-8``
=========================  ==================================================================

Carriers' emoji (`triage.parsing.emoji`) come out as Unicode emoji on every path: au's JIS rows
0x75–0x7E, docomo/KDDI/SoftBank Shift_JIS codes and their private-use UTF-8 code points. The
sender's carrier (an argument, else `emoji.sender_carrier()`) picks the table; without one the
code does.

Labels are lower-cased with quotes and white space removed. Labels outside the table that Python
resolves to a Japanese codec are routed to the matching family, so `shift_jis_2004`,
`shift_jisx0213` and `euc_jis_2004` (which misread cp932 bytes silently) are never used, nor is
`iso2022_jp*` (which rejects the CP5022x extensions). Python codecs that are not mail charsets
(``unicode_escape``, ``idna``, ``punycode``, ``undefined`` ...) count as unknown labels.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Final

from triage import textmatch
from triage.parsing.emoji import Carrier, decode_cp932, fix_unicode, sender_carrier
from triage.parsing.jis import decode_cp51932, decode_jis

__all__ = ["decode_bytes", "normalise_label", "sniff", "suspicion"]

_JIS_LABELS: Final = frozenset(
    {
        "iso-2022-jp",
        "csiso2022jp",
        "iso-2022-jp-1",
        "iso-2022-jp-2",
        "iso-2022-jp-3",
        "iso-2022-jp-2004",
        "iso-2022-jp-ext",
        "iso-2022-jp-ms",
        "cp50220",
        "cp50221",
        "cp50222",
        "x-cp5022x",
        "jis",
    }
)
_SJIS_LABELS: Final = frozenset(
    {
        "shift_jis",
        "shift-jis",
        "sjis",
        "x-sjis",
        "ms_kanji",
        "csshiftjis",
        "windows-31j",
        "cswindows31j",
        "cp932",
        "ms932",
        "x-ms-cp932",
        "sjis-win",
        "sjis-open",
    }
)
_EUC_LABELS: Final = frozenset(
    {"euc-jp", "x-euc-jp", "eucjp", "ujis", "cp51932", "euc-jp-ms", "eucjp-ms", "eucjp-win"}
)
_UTF8_LABELS: Final = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "utf8mb4", "x-utf-8"})
_NONE_LABELS: Final = frozenset({"", "none", "us-ascii", "unknown-8bit", "x-unknown", "unknown"})
_LATIN_LABELS: Final = frozenset({"iso-8859-1", "windows-1252"})

# Python codec names (codecs.lookup(label).name) of labels outside the table -> family.
_JIS_CODECS: Final = frozenset(
    {"iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext"}
)
_SJIS_CODECS: Final = frozenset({"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213"})
_EUC_CODECS: Final = frozenset({"euc_jp", "euc_jis_2004", "euc_jisx0213"})
_UTF8_CODECS: Final = frozenset({"utf-8"})
_NONE_CODECS: Final = frozenset({"ascii"})
_LATIN_CODECS: Final = {"iso8859-1": "iso-8859-1", "cp1252": "windows-1252"}
_NOT_MAIL_CODECS: Final = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "charmap", "mbcs", "oem"}
)

_MAX_LABEL: Final = 64
_SUSPICIOUS: Final = textmatch.compile(
    "[\uff61-\uff9f\ue000-\uf8ff\ufffd\x80-\x9f]", name="charsets.suspicious"
)


def normalise_label(label: str | None) -> str:
    """Lower-case `label` and remove quotes and white space; None gives ""."""
    if label is None:
        return ""
    return "".join(ch for ch in label.lower() if ch not in "\"' \t\r\n\f\v")


def suspicion(text: str) -> int:
    """How many characters of `text` suggest a wrong codec: half-width kana, private use, U+FFFD, C1.

    When the mail's reading budget is spent (the pattern gives up, noted on the budget), the
    characters are counted one by one instead.
    """
    if text.isascii():
        return 0
    try:
        return len(_SUSPICIOUS.findall(text))
    except textmatch.MatchTimeout:
        return sum(1 for ch in text if _is_suspicious(ch))


def _is_suspicious(ch: str) -> bool:
    point = ord(ch)
    return 0xFF61 <= point <= 0xFF9F or 0xE000 <= point <= 0xF8FF or point == 0xFFFD or 0x80 <= point <= 0x9F


def _is_7bit(data: bytes) -> bool:
    return data.isascii()


def _has_kana(text: str) -> bool:
    return any(0x3041 <= ord(ch) <= 0x30FF for ch in text)


def _strict(data: bytes, decoder: Callable[[bytes], str]) -> str | None:
    try:
        return decoder(data)
    except UnicodeDecodeError:
        return None


def _euc(data: bytes, carrier: Carrier | None) -> tuple[str, str] | None:
    """euc_jp strict, else CP51932 strict; None when neither reads the bytes."""
    text = _strict(data, lambda b: b.decode("euc_jp"))
    if text is not None:
        return text, "euc-jp"
    text = _strict(data, lambda b: decode_cp51932(b, "strict", carrier))
    if text is not None:
        return text, "euc-jp:cp51932"
    return None


def _cp932(carrier: Carrier | None) -> Callable[[bytes], str]:
    return lambda b: decode_cp932(b, carrier)


def _utf8(carrier: Carrier | None) -> Callable[[bytes], str]:
    return lambda b: fix_unicode(b.decode("utf-8-sig"), carrier)


def _jis(carrier: Carrier | None) -> Callable[[bytes], str]:
    return lambda b: decode_jis(b, "strict", carrier)


def sniff(data: bytes, carrier: Carrier | None = None) -> tuple[str, str]:
    """Guess the charset of unlabelled (or mislabelled) bytes; `how` starts with sniff: or replace:.

    Order (parsing.md §2): ESC in 7-bit data -> JIS; utf-8 strict; cp932 and euc_jp strict, the
    one with fewer suspicious characters (`suspicion`; a tie keeps cp932); then the best of the
    cp932, EUC-JP (CP51932, per character) and utf-8 `replace` decodes (utf-8 is a third
    candidate: one stray byte in UTF-8 text must not turn it into cp932 garbage). Carriers'
    emoji are read as emoji before the scores are taken, so an emoji never counts as a sign of
    the wrong codec. `carrier` (else `emoji.sender_carrier()`) is the sender's carrier.
    """
    data = bytes(data)
    carrier = carrier if carrier is not None else sender_carrier()
    if _is_7bit(data):
        if b"\x1b" in data:
            text = _strict(data, _jis(carrier))
            if text is not None:
                return text, "sniff:jis"
            return decode_jis(data, "replace", carrier), "replace:jis"
        return data.decode("ascii"), "sniff:ascii"
    text = _strict(data, _utf8(carrier))
    if text is not None:
        return text, "sniff:utf-8"
    sjis = _strict(data, _cp932(carrier))
    euc = _euc(data, carrier)
    if sjis is not None and euc is not None:
        if suspicion(euc[0]) < suspicion(sjis):
            return euc[0], "sniff:" + euc[1]
        return sjis, "sniff:cp932"
    if sjis is not None:
        return sjis, "sniff:cp932"
    if euc is not None:
        return euc[0], "sniff:" + euc[1]
    candidates = [
        (decode_cp932(data, carrier, "replace"), "replace:cp932"),
        (decode_cp51932(data, "replace", carrier), "replace:euc-jp"),  # per character: no desynchronising
        (fix_unicode(data.decode("utf-8-sig", "replace"), carrier), "replace:utf-8"),
    ]
    # min() keeps the first of equal scores: cp932, then euc-jp, then utf-8.
    return min(candidates, key=lambda c: suspicion(c[0]))


def _family(label: str) -> tuple[str, str]:
    """(family, codec name) for a normalised label; family "unknown" means sniff."""
    if label in _JIS_LABELS:
        return "jis", ""
    if label in _SJIS_LABELS:
        return "sjis", ""
    if label in _EUC_LABELS:
        return "euc", ""
    if label in _UTF8_LABELS:
        return "utf8", ""
    if label in _NONE_LABELS:
        return "none", ""
    if label in _LATIN_LABELS:
        return "latin", label
    if len(label) > _MAX_LABEL or not label.isascii() or not label.isprintable():
        return "unknown", ""
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return "unknown", ""
    if name in _JIS_CODECS:
        return "jis", ""
    if name in _SJIS_CODECS:
        return "sjis", ""
    if name in _EUC_CODECS:
        return "euc", ""
    if name in _UTF8_CODECS:
        return "utf8", ""
    if name in _NONE_CODECS:
        return "none", ""
    if name in _LATIN_CODECS:
        return "latin", _LATIN_CODECS[name]
    if name in _NOT_MAIL_CODECS:
        return "unknown", ""
    return "other", name


def _with_codec(data: bytes, name: str) -> tuple[str, str] | None:
    """Decode with a Python codec, strict then replace; None if the codec cannot decode text."""
    try:
        return data.decode(name), "label:" + name
    except UnicodeDecodeError:
        pass  # fall through to errors="replace" below
    except LookupError:  # a bytes-to-bytes codec such as base64 or zlib
        return None
    try:
        return data.decode(name, "replace"), "replace:" + name
    except (LookupError, UnicodeError):
        return None


def decode_bytes(data: bytes, label: str | None, carrier: Carrier | None = None) -> tuple[str, str]:
    """Decode `data` declared as charset `label` (None: no label); returns (text, how). Never raises.

    `carrier` is the sender's phone carrier, if known (else `emoji.sender_carrier()`): it picks
    the table of carrier emoji (see `triage.parsing.emoji`).
    """
    data = bytes(data)
    carrier = carrier if carrier is not None else sender_carrier()
    family, name = _family(normalise_label(label))
    if family == "jis":
        if not _is_7bit(data):
            return sniff(data, carrier)
        text = _strict(data, _jis(carrier))
        if text is not None:
            return text, "jis"
        return decode_jis(data, "replace", carrier), "replace:jis"
    if family == "sjis":
        text = _strict(data, _cp932(carrier))
        if text is not None:
            return text, "cp932"
        return sniff(data, carrier)
    if family == "euc":
        euc = _euc(data, carrier)
        if euc is not None:
            return euc
        return sniff(data, carrier)
    if family == "utf8":
        text = _strict(data, _utf8(carrier))
        if text is not None:
            return text, "utf-8"
        return sniff(data, carrier)
    if family == "none":
        if _is_7bit(data) and b"\x1b" not in data:
            return data.decode("ascii"), "ascii"
        return sniff(data, carrier)
    if family == "latin":
        sniffed = sniff(data, carrier)
        if sniffed[1] == "sniff:jis" or _has_kana(sniffed[0]):
            return sniffed
        decoded = _with_codec(data, name)
        if decoded is not None:
            return decoded
        return sniffed
    if family == "other":
        decoded = _with_codec(data, name)
        if decoded is not None:
            return decoded
    return sniff(data, carrier)
