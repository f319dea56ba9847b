"""The parse-back check of a composed reply: its header block read again as a receiver reads it.

Only the header block is read (a hostile value could break it; the body is base64 or
quoted-printable of text we rendered). The block is split into fields the way RFC 5322 defines
them (a field is ``name:`` with a name of printable ASCII but ``:``; a line starting with a space
or tab continues the field before it), stricter than the stdlib's lenient parser: any other
line is a defect. Then: the same field names and counts as were built, nothing unsafe in any
value once folding is undone and RFC 2047 words are decoded, ``To`` exactly the one recipient,
``From`` the mailbox, ``Message-ID`` unchanged. Any surprise is a :class:`ComposeError`, whose
message names the fault, never the value.

The values that repeat from reply to reply (the desk's From, a template's Subject) are decoded
once and remembered; the rest is a few string operations, a small fraction of the cost of a reply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import getaddresses
from typing import Final

from triage.errors import ComposeError

# CR, LF, NUL, the other C0/C1 controls, DEL and the characters str.splitlines() breaks on.
_UNSAFE: Final = frozenset({*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029"})
# RFC 5322 §2.2: a field name is printable US-ASCII except the colon.
_NAME_CHARS: Final = frozenset(map(chr, (*range(0x21, 0x3A), *range(0x3B, 0x7F))))


def is_unsafe(text: str) -> bool:
    """True if ``text`` holds a line break, a control character or DEL."""
    return not _UNSAFE.isdisjoint(text)


def check_round_trip(
    expected_names: Iterable[str], raw: bytes, *, to_addr: str, from_addr: str, message_id: str
) -> None:
    """Read the header block of ``raw`` back and compare it with what was built (module doc).

    ``expected_names`` are the names of the fields that were built (an EmailMessage iterates
    over its field names, so the message itself will do).
    """
    if not raw.isascii():
        raise ComposeError("serialised reply is not 7-bit")
    line_ends = raw.count(b"\r\n")
    if raw.count(b"\r") != line_ends or raw.count(b"\n") != line_ends:
        raise ComposeError("serialised reply has a bare CR or LF")
    head, separator, _ = raw.partition(b"\r\n\r\n")
    if not separator:
        raise ComposeError("serialised reply has no end of its header block")
    text = head.decode("ascii")
    fields = _fields(text)
    if sorted(name.lower() for name, _ in fields) != sorted(name.lower() for name in expected_names):
        raise ComposeError("header names or counts changed in serialisation")
    clean = not is_unsafe(text.replace("\r\n", ""))  # every value at once, folding undone
    values: dict[str, str] = {}
    for name, value in fields:
        if (not clean and is_unsafe(value)) or ("=?" in value and is_unsafe(_decoded(value))):
            raise ComposeError(f"{name} holds a line break or control character after decoding")
        values[name.lower()] = value
    to = values.get("to", "").strip()
    if to != to_addr and _addresses(to) != (to_addr,):
        raise ComposeError("To does not parse back as the one recipient")
    if _addresses(values.get("from", "")) != (from_addr,):
        raise ComposeError("From does not parse back as the mailbox")
    if values.get("message-id", "").strip() != f"<{message_id}>":
        raise ComposeError("Message-ID does not parse back unchanged")


def _fields(head: str) -> list[tuple[str, str]]:
    """(name, value with folding undone) of each field of a header block without its last CRLF."""
    fields: list[tuple[str, str]] = []
    for line in head.split("\r\n"):
        if line[:1] in {" ", "\t"}:
            if not fields:
                raise ComposeError("serialised reply has structural defects")
            name, value = fields[-1]
            fields[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or not _NAME_CHARS.issuperset(name):
            raise ComposeError("serialised reply has structural defects")
        fields.append((name, value.lstrip(" \t")))
    return fields


@functools.lru_cache(maxsize=1024)
def _addresses(value: str) -> tuple[str, ...]:
    """The addresses a mail client reads in an address field's value."""
    return tuple(addr for _, addr in getaddresses([value]))


@functools.lru_cache(maxsize=1024)
def _decoded(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded, as a mail client shows it."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError) as exc:
        raise ComposeError("a header holds an encoded word that does not decode") from exc
