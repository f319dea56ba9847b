"""The bytes of a reply's fields, built directly for the values the desk produces (issue 11).

:mod:`triage.outbound.compose` validates and cleans every value first; this module only turns
clean values into 7-bit, CRLF header fields and the body, without :class:`email.message.EmailMessage`
(its header objects and folding were most of the cost of a reply). What it does not handle it
declines (``None``), and the caller builds that part through the stdlib instead.

- Subject: text already cleaned by ``header_safe`` (no controls, single spaces). Plain ASCII is
  folded between words at 78 columns; anything else (non-ASCII, a word longer than a line)
  becomes RFC 2047 ``=?utf-8?b?…?=`` words, each at most one line and holding whole characters.
  Text containing ``=?`` is declined: the stdlib decodes such look-alikes when a value is set,
  and the reply must read the same whichever path made it.
- In-Reply-To / References: validated msg-ids, folded between ids only (never encoded).
- Body: UTF-8 in base64 (76-column lines) or quoted-printable when ASCII, exactly as
  :meth:`EmailMessage.set_content` encodes it under the 78-column policy.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from email import quoprimime
from typing import Final

MAX_LINE: Final = 78
CRLF: Final = "\r\n"
#: ``=?utf-8?b?`` and ``?=`` around the base64 of each encoded word.
_WORD_FRAME: Final = len("=?utf-8?b??=")
#: UTF-8 bytes per encoded word on a continuation line: `` `` + 12 + base64 of 48 bytes (64) = 77.
_WORD_BYTES_NEXT: Final = (MAX_LINE - 1 - _WORD_FRAME) // 4 * 3

CONTENT_FIELDS: Final = {
    "base64": (
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: base64\r\nMIME-Version: 1.0\r\n"
    ),
    "quoted-printable": (
        b'Content-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n"
    ),
}
CONTENT_NAMES: Final = ("Content-Type", "Content-Transfer-Encoding", "MIME-Version")


def fold_ids(name: str, tokens: Sequence[str], limit: int = MAX_LINE, linesep: str = CRLF) -> str:
    """``Name: <id> <id> …`` folded before an id that would pass ``limit`` (an id longer than a
    line keeps a line of its own); ``tokens`` are validated msg-ids in angle brackets."""
    head = f"{name}:"
    lines: list[str] = []
    line = head
    for token in tokens:
        if line != head and len(line) + 1 + len(token) > limit:
            lines.append(line)
            line = ""
        line += f" {token}"
    lines.append(line)
    return linesep.join(lines) + linesep


def _folded_words(name: str, text: str) -> str | None:
    """ASCII ``text`` folded between its words at 78 columns; None if a word does not fit a line."""
    head = f"{name}:"
    line = head
    lines: list[str] = []
    for word in text.split(" "):
        if len(line) + 1 + len(word) > MAX_LINE:
            if line == head or 1 + len(word) > MAX_LINE:  # the first word or one longer than a line
                return None
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return CRLF.join(lines) + CRLF


def _encoded_words(name: str, text: str) -> str | None:
    """``text`` as RFC 2047 base64 words of whole UTF-8 characters, one word per line of at most
    78 columns (``Subject: `` + 12 + base64 of 42 bytes on the first); None for a too long name."""
    room = (MAX_LINE - len(name) - 2 - _WORD_FRAME) // 4 * 3
    if room < 4:  # not even one character of four bytes fits on the first line
        return None
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        data = char.encode("utf-8")
        if size + len(data) > room:
            words.append(base64.b64encode(b"".join(chunk)).decode("ascii"))
            chunk, size, room = [], 0, _WORD_BYTES_NEXT
        chunk.append(data)
        size += len(data)
    if chunk:
        words.append(base64.b64encode(b"".join(chunk)).decode("ascii"))
    return f"{name}: " + f"{CRLF} ".join(f"=?utf-8?b?{word}?=" for word in words) + CRLF


@functools.lru_cache(maxsize=1024)
def text_field(name: str, text: str) -> bytes | None:
    """An unstructured field (the Subject) holding ``text`` (cleaned by ``header_safe``), or None
    when this encoder declines it (empty text, ``=?`` in the text, text that is not valid Unicode)."""
    if not text or "=?" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    folded = _folded_words(name, text) if text.isascii() else None
    if folded is None:
        folded = _encoded_words(name, text)
    return None if folded is None else folded.encode("ascii")


def body_part(body: str) -> tuple[list[str], bytes]:
    """(the MIME field names, the MIME fields + blank line + encoded body) for ``body``: text with
    ``\\n`` line ends. Raises UnicodeEncodeError for text that is not valid Unicode."""
    lines = body.encode("utf-8").splitlines()
    if body.isascii():
        normal = b"\n".join(lines) + b"\n"
        encoded = quoprimime.body_encode(normal.decode("ascii"), MAX_LINE).replace("\n", CRLF)
        data = encoded.encode("ascii")
        cte = "quoted-printable"
    else:
        data = base64.encodebytes(b"\r\n".join(lines) + b"\r\n").replace(b"\n", b"\r\n")
        cte = "base64"
    return list(CONTENT_NAMES), CONTENT_FIELDS[cte] + b"\r\n" + data
