"""Raw bytes to the compat32 MIME tree, bounded in size and in time before anything else reads it.

The stdlib's feed parser costs time in proportion to the number of lines *times* the nesting
depth (every line is checked against the boundary of each open multipart), and the number of
parts. So before parsing: the message is cut at `max_message_bytes`, the header section at
`max_header_bytes`, the body before the boundary line past two per listed part, and before the
declaration of the multipart past `max_multiparts` (which bounds the depth), and each address
field (From, To, Cc, …: parsed by mail-parser and the stdlib at some 80 µs an address) after
`max_address_bytes`, at an address boundary. Then the bytes are
fed in slices while the mail's reading budget lasts (at most STRUCTURE_SECONDS); whatever was not
fed by then is left out. Each cut is a defect on the stored mail, so staff see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message
from typing import Final

from triage import textmatch

STRUCTURE_SECONDS: Final = 1.0
_SLICE: Final = 8192  # what the stdlib's own parser reads at a time


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 256 * 1024  # CPython's header parser is quadratic (cpython#136063)
    max_message_bytes: int = 32 * 1024 * 1024  # parse at most this much; the raw mail is kept whole
    max_parts: int = 1000
    max_text_chars: int = 200_000  # member text handed to extraction
    max_headers: int = 2000
    max_multiparts: int = 100  # declared boundaries: bounds the nesting depth
    max_address_bytes: int = 8192  # of one From/To/Cc/… field (some 300 addresses)


DEFAULT_LIMITS = Limits()


def header_end(raw: bytes, end: int | None = None) -> int | None:
    """Where the body starts: after the first empty line (LF LF or LF CR LF), else None."""
    stop = len(raw) if end is None else min(end, len(raw))
    pairs = ((raw.find(b"\n\n", 0, stop), 2), (raw.find(b"\n\r\n", 0, stop), 3))
    found = [at + size for at, size in pairs if at >= 0]
    return min(found) if found else None


def _cap_headers(raw: bytes, limits: Limits, defects: list[str]) -> bytes:
    if header_end(raw, limits.max_header_bytes + 4) is not None:
        return raw
    head_end = header_end(raw)
    if head_end is None and len(raw) <= limits.max_header_bytes:
        return raw  # headers only, small: fine
    cut = raw.rfind(b"\n", 0, limits.max_header_bytes)
    cut = cut if cut > 0 else limits.max_header_bytes
    defects.append(f"HeaderSectionTruncated: header section over {limits.max_header_bytes} bytes")
    rest = raw[head_end:] if head_end is not None else b""
    return raw[:cut].rstrip(b"\r\n") + b"\r\n\r\n" + rest


def _nth(data: bytes, needle: bytes, count: int) -> int:
    """Where the `count`-th occurrence of `needle` starts (1-based); -1 if there are fewer."""
    at = -1
    for _ in range(count):
        at = data.find(needle, at + 1)
        if at < 0:
            return -1
    return at


def _cap_delimiters(raw: bytes, limits: Limits, defects: list[str]) -> bytes:
    """At most two lines starting with `--` (opening and closing delimiters) per listed part."""
    allowed = 2 * limits.max_parts
    if raw.count(b"\n--") <= allowed:
        return raw
    defects.append(f"TooManyParts: parsing stopped after {allowed} boundary lines")
    return raw[: _nth(raw, b"\n--", allowed + 1) + 1]


def _cap_multiparts(raw: bytes, limits: Limits, defects: list[str]) -> bytes:
    """At most `max_multiparts` boundary declarations: the rest starts at the line of the next."""
    lowered = raw.lower()
    if lowered.count(b"boundary=") <= limits.max_multiparts:
        return raw
    at = _nth(lowered, b"boundary=", limits.max_multiparts + 1)
    line = raw.rfind(b"\n", 0, at)
    defects.append(f"TooManyParts: parsing stopped at multipart {limits.max_multiparts + 1}")
    return raw[: max(line + 1, 0)]


_ADDRESS_FIELDS: Final = (b"from:", b"to:", b"cc:", b"bcc:", b"reply-to:", b"delivered-to:")


def _cap_address_fields(raw: bytes, limits: Limits, defects: list[str]) -> bytes:
    """Each address field of the header section cut after `max_address_bytes` (after a comma)."""
    end = header_end(raw)
    head, body = (raw, b"") if end is None else (raw[:end], raw[end:])
    if len(head) <= limits.max_address_bytes:
        return raw
    fields: list[bytes] = []  # header fields, each with its continuation lines
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    cut_any = False
    for index, field in enumerate(fields):
        if len(field) > limits.max_address_bytes and field.lower().startswith(_ADDRESS_FIELDS):
            comma = field.rfind(b",", 0, limits.max_address_bytes)
            fields[index] = field[: comma if comma > 0 else limits.max_address_bytes] + b"\r\n"
            cut_any = True
    if not cut_any:
        return raw
    defects.append(f"AddressFieldTruncated: an address field over {limits.max_address_bytes} bytes was cut")
    return b"".join(fields) + body


def bound_bytes(raw: bytes, limits: Limits, defects: list[str]) -> bytes:
    """The bytes the structural parsers may see (the stored mail itself is never changed)."""
    if len(raw) > limits.max_message_bytes:
        defects.append(
            f"MessageTruncated: only the first {limits.max_message_bytes} of {len(raw)} bytes were parsed"
        )
        raw = raw[: limits.max_message_bytes]
    raw = _cap_headers(raw.replace(b"\x00", b""), limits, defects)
    raw = _cap_address_fields(raw, limits, defects)
    raw = _cap_delimiters(raw, limits, defects)
    return _cap_multiparts(raw, limits, defects)


def _deadline() -> float:
    own = textmatch.now() + STRUCTURE_SECONDS
    budget = textmatch.current_budget()
    return own if budget is None else min(own, budget.deadline)


def read_structure(raw: bytes, defects: list[str]) -> Message:
    """The compat32 tree of `raw` (as `email.message_from_bytes`), fed while time lasts.

    Raises RecursionError when the nesting is too deep for the stdlib (the caller refuses it).
    """
    parser = BytesFeedParser(policy=policy.compat32)
    deadline = _deadline()
    for start in range(0, len(raw), _SLICE):
        if start and textmatch.now() > deadline:
            defects.append(f"MessageTruncated: structure read up to byte {start} of {len(raw)} (time limit)")
            textmatch.note_timeout("structure: the rest of the message not parsed")
            break
        parser.feed(raw[start : start + _SLICE])
    message: Message = parser.close()
    return message
