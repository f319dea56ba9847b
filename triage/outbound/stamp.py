"""What is fixed when a reply is handed to the relay, not when it is queued.

The Message-ID is fixed when the reply is queued (threading needs it), from the configured
Message-ID domain (``TRIAGE_OUR_DOMAIN``). ``Date:`` is stamped when the sender hands the
message to the relay. Until a domain is configured the default ``triage.invalid`` (RFC 2606)
marks a reply whose Message-ID is a placeholder: the sender does not send at all, and a reply
queued in that time gets its real Message-ID when the sender first takes it (nobody has seen it
yet). ``.invalid`` never goes on the wire.

Both stamps rewrite one header line of our own composed, 7-bit, CRLF message in place; anything
else than exactly one such header is a :class:`ComposeError`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Final

from triage.errors import ComposeError
from triage.outbound.compose import address_problem

PLACEHOLDER_TLD: Final = "invalid"


def message_id_domain(our_domain: str) -> str | None:
    """The configured domain of our Message-IDs, or None while none is (empty, ``*.invalid``)."""
    domain = our_domain.strip().lower().rstrip(".")
    if not domain or domain.rpartition(".")[2] == PLACEHOLDER_TLD:
        return None
    if address_problem(f"r@{domain}") is not None:
        return None
    return domain


def is_placeholder_id(message_id: str) -> bool:
    """True for a Message-ID made before any domain was configured (``…@triage.invalid``)."""
    return message_id.rpartition("@")[2].lower().rpartition(".")[2] == PLACEHOLDER_TLD


def _replace_header(raw: bytes, name: str, value: str) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise ComposeError("composed reply has no header block")
    head, rest = raw[: end + 2], raw[end + 2 :]
    line = re.compile(rb"(?im)^" + re.escape(name.encode("ascii")) + rb":[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*")
    found = line.findall(head)
    if len(found) != 1:
        raise ComposeError(f"composed reply has {len(found)} {name} fields, not one")
    encoded = f"{name}: {value}\r\n".encode("ascii")
    return line.sub(lambda _: encoded, head) + rest


def stamp_date(raw: bytes, when: dt.datetime) -> bytes:
    """``raw`` with its ``Date:`` set to ``when`` (timezone-aware): the moment of hand-off."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ComposeError("Date must be timezone-aware")
    return _replace_header(raw, "Date", email.utils.format_datetime(when))


def stamp_message_id(raw: bytes, message_id: str) -> bytes:
    """``raw`` with its ``Message-ID:`` replaced (``message_id`` without brackets, ASCII)."""
    if not message_id.isascii() or any(ch in message_id for ch in "<>\r\n \t"):
        raise ComposeError("Message-ID is not a plain msg-id without brackets")
    return _replace_header(raw, "Message-ID", f"<{message_id}>")
