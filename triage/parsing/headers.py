"""Raw header values (compat32 `raw_items()`) to text: unfolding, RFC 2047 and raw 8-bit bytes.

Encoded words are tokenised here, not by `email.header`, because Japanese senders break the
rules: words split in the middle of a character (UTF-8, JIS escapes, Shift_JIS pairs), words
with no space between them, base64 without padding, unknown charsets. Adjacent encoded words
(separated by nothing but white space) with the same charset are joined into one byte string
before decoding, whatever their B/Q encoding; the white space between adjacent words is
dropped. A word that cannot be decoded (cut short, bad base64) stays as literal text. Raw 8-bit
bytes (surrogate-escaped by compat32) and raw JIS escapes go through `decode_bytes(data, None)`.
The result never contains NUL, CR or LF.

Every pattern here is linear (each encoded word is tried only from `=?` and stops at the next
`?`) and runs under the mail's reading budget; should it run out, the value is kept as literal
text, undecoded words and all, and the reader's notes say so.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from triage import textmatch
from triage.parsing.charsets import decode_bytes

__all__ = ["decode_header", "decode_header_with_how"]

_FOLD: Final = textmatch.compile(r"(?:\r\n|\r|\n)([ \t])", name="headers.fold")
_ENCODED_WORD: Final = textmatch.compile(
    r"=\?([^?\s*]*)(?:\*[^?\s]*)?\?([BbQq])\?([^?]*)\?=", name="headers.encoded-word"
)
_Q_ESCAPE: Final = textmatch.compile_bytes(rb"=([0-9A-Fa-f]{2})", name="headers.q-escape")
_B_CHUNK: Final = textmatch.compile(r"[A-Za-z0-9+/]+=*", name="headers.b-chunk")
_B_TEXT: Final = textmatch.compile(r"[A-Za-z0-9+/=\s]*", name="headers.b-text")
_DROP: Final = str.maketrans("", "", "\x00\r\n")


def _to_bytes(text: str) -> bytes:
    """Bytes of a raw header fragment: surrogate escapes back to their bytes, other text as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate outside U+DC80..U+DCFF
        cleaned = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
        return cleaned.encode("utf-8", "surrogateescape")


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _literal(text: str) -> tuple[str, str | None]:
    """Decode a stretch of header text outside encoded words; how is None when nothing was decoded."""
    if text.isascii() and "\x1b" not in text:
        return text, None
    if not text.isascii() and not _has_surrogates(text):
        return text, None  # already text (not from compat32 bytes); keep it
    return decode_bytes(_to_bytes(text), None)


_B64_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b_chunks(text: str) -> list[str] | None:
    """The padded chunks of a B payload; None if not base64 at all. A payload of the alphabet
    with its padding only at the end (nearly every one) is one chunk, found without a pattern."""
    core = text.rstrip("=")
    if core and text.isascii() and not core.strip(_B64_ALPHABET):
        return [text]
    if _B_TEXT.fullmatch(text) is None:
        return None
    compact = "".join(text.split())
    return [match.group() for match in _B_CHUNK.finditer(compact)]


def _b_decode(text: str) -> bytes | None:
    """Lenient base64: padding optional or wrong, several padded chunks; None if not base64 at all."""
    chunks = _b_chunks(text)
    if chunks is None:
        return None
    out = bytearray()
    for whole in chunks:
        chunk = whole.rstrip("=")
        chunk = chunk[: len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
        chunk += "=" * (-len(chunk) % 4)
        try:
            out += base64.b64decode(chunk, validate=True)
        except binascii.Error:
            return None
    return bytes(out)


def _q_decode(text: str) -> bytes:
    """Q encoding: `_` is a space, `=XX` a byte; anything else (even raw 8-bit) is taken as is."""
    raw = _to_bytes(text).replace(b"_", b" ")
    return _Q_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def _charset_key(charset: str) -> str:
    return charset.strip().lower()


def decode_header_with_how(raw: str) -> tuple[str, str]:
    """Decode a raw header value; returns (text, how). Never raises.

    `how` is "ascii" when nothing needed decoding, else the `decode_bytes` paths of the decoded
    pieces, in order, without repeats, joined with "," (e.g. "utf-8", "jis,sniff:cp932"); it is
    "literal" when the reading budget ran out and the value was kept undecoded.
    """
    try:
        return _decode(raw)
    except textmatch.MatchTimeout:
        textmatch.note_timeout("headers: value kept undecoded")
        unfolded = raw.replace("\r\n", "").replace("\r", "").replace("\n", "")
        text, _ = _literal(unfolded)
        return text.translate(_DROP).strip(" \t"), "literal"


def _decode(raw: str) -> tuple[str, str]:
    text = _FOLD.sub(r"\1", raw) if "\n" in raw or "\r" in raw else raw
    if "=?" not in text and "\x1b" not in text and text.isascii():
        # Nothing to decode (most header fields): what the loop below gives for such text.
        return text.translate(_DROP).strip(" \t"), "ascii"
    pieces: list[str] = []
    hows: list[str] = []

    def add(decoded: str, how: str | None) -> None:
        pieces.append(decoded)
        if how is not None and how not in hows:
            hows.append(how)

    # Pending run of adjacent encoded words with the same charset.
    run_charset: str | None = None
    run_bytes = bytearray()

    def flush_run() -> None:
        nonlocal run_charset
        if run_charset is not None:
            add(*decode_bytes(bytes(run_bytes), run_charset or None))
        run_charset = None
        run_bytes.clear()

    pos = 0
    previous_end = -1  # end of the last encoded word, when only white space may follow
    for match in _ENCODED_WORD.finditer(text) if "=?" in text else ():
        charset, encoding, payload = match.group(1), match.group(2), match.group(3)
        if encoding in "Bb":
            data = _b_decode(payload)
        else:
            data = _q_decode(payload)
        gap = text[pos : match.start()]
        adjacent = previous_end == pos and not gap.strip(" \t")  # only blanks between the words
        if data is None:  # not decodable: literal text, ends any run
            continue
        key = _charset_key(charset)
        if not adjacent or key != run_charset:
            flush_run()
            if not adjacent:
                add(*_literal(gap))
        run_charset = key
        run_bytes.extend(data)
        pos = previous_end = match.end()
    flush_run()
    add(*_literal(text[pos:]))
    result = "".join(pieces).translate(_DROP).strip(" \t")
    return result, ",".join(hows) or "ascii"


def decode_header(raw: str) -> str:
    """Decode a raw header value (folded, RFC 2047, raw 8-bit) to one line of text. Never raises."""
    return decode_header_with_how(raw)[0]
