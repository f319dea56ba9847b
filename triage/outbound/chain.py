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
from collections.abc import Collection
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
    return chain_depths(session, [inbound_id], instance_id).get(inbound_id, 0)


_HEADS: Final = sa.select(InboundMessage.id, sa.func.substr(InboundMessage.raw, 1, HEADER_BYTES)).where(
    InboundMessage.id.in_(sa.bindparam("ids", expanding=True))
)
_DEPTHS: Final = sa.select(OutboundMessage.message_id, OutboundMessage.chain_depth).where(
    OutboundMessage.message_id.in_(sa.bindparam("message_ids", expanding=True))
)


def chain_depths(session: Session, inbound_ids: Collection[int], instance_id: str) -> dict[int, int]:
    """:func:`chain_depth` of replies to each of ``inbound_ids``, in two queries (missing mail: 0)."""
    if not inbound_ids:
        return {}
    named: dict[int, list[str]] = {}
    answering_us: dict[int, bool] = {}
    for inbound_id, head in session.execute(_HEADS, {"ids": sorted(set(inbound_ids))}):
        if not head:
            continue
        headers = _PARSER.parsebytes(_header_block(bytes(head)))
        named[inbound_id] = _message_ids(_values(headers, "In-Reply-To") + _values(headers, "References"))
        loop = {value.strip() for value in _values(headers, "X-Triage-Loop")}
        auto = {value.split(";", 1)[0].strip().lower() for value in _values(headers, "Auto-Submitted")}
        answering_us[inbound_id] = instance_id in loop or "auto-replied" in auto
    wanted = sorted({message_id for ids in named.values() for message_id in ids})
    ours: dict[str, int] = {}
    if wanted:
        ours.update(session.execute(_DEPTHS, {"message_ids": wanted}).all())
    depths: dict[int, int] = {}
    for inbound_id, ids in named.items():
        found = [ours[message_id] for message_id in ids if message_id in ours]
        if found:
            depths[inbound_id] = int(max(found)) + 1
        else:
            depths[inbound_id] = 1 if answering_us[inbound_id] else 0
    return depths
