"""How deep in a chain of mail answering our own replies a reply is (the breaker's loop signal).

A reply's depth is 0 when the mail it answers answers none of our replies; otherwise one more
than the deepest of our replies that mail names in ``In-Reply-To`` / ``References``. Mail that
carries our own ``X-Triage-Loop`` instance id, or our ``Auto-Submitted: auto-replied``, is
answering us too (depth at least 1) even when the Message-IDs were stripped. A member who
answers our "please send the missing items" gets a depth-1 reply; a mail loop goes 1, 2, 3, …

Only the header block of the stored mail is read (at most 64 KiB), with the standard library's
header parser (no pattern of ours runs over member text).
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import InboundMessage, OutboundMessage

HEADER_BYTES: Final = 64 * 1024
_MAX_IDS: Final = 50
_PARSER: Final = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def _header_block(raw: bytes) -> bytes:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends)] if ends else raw


def _message_ids(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        for token in value.split():
            if token.startswith("<") and token.endswith(">") and len(token) > 2:
                found.append(token[1:-1].strip())
    return found[-_MAX_IDS:]


def _values(headers: email.message.Message, name: str) -> list[str]:
    return [str(value) for value in headers.get_all(name) or []]


def chain_depth(session: Session, inbound_id: int | None, instance_id: str) -> int:
    """The depth of a reply to inbound mail ``inbound_id`` (0 without one)."""
    if inbound_id is None:
        return 0
    head = session.scalar(
        sa.select(sa.func.substr(InboundMessage.raw, 1, HEADER_BYTES)).where(InboundMessage.id == inbound_id)
    )
    if not head:
        return 0
    headers = _PARSER.parsebytes(_header_block(bytes(head)))
    ids = _message_ids(_values(headers, "In-Reply-To") + _values(headers, "References"))
    deepest: int | None = None
    if ids:
        deepest = session.scalar(
            sa.select(sa.func.max(OutboundMessage.chain_depth)).where(OutboundMessage.message_id.in_(ids))
        )
    if deepest is not None:
        return int(deepest) + 1
    loop = {value.strip() for value in _values(headers, "X-Triage-Loop")}
    auto = {value.split(";", 1)[0].strip().lower() for value in _values(headers, "Auto-Submitted")}
    return 1 if instance_id in loop or "auto-replied" in auto else 0
