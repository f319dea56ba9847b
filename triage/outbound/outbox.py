"""Put a rendered reply into the outbox, in the caller's transaction (never a commit here).

The send-side guards (autoreply.md §1e) run first; a reply they stop is still stored, with
status ``suppressed`` and the reason in ``last_error``, so staff see what was not sent and why.
A reply that cannot be composed safely (a bad member address, an unsafe header) is stored the
same way with empty ``raw``: a member's bad address never makes the worker fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from triage import metrics
from triage.cases.service import add_event
from triage.config import Settings
from triage.db.ids import next_id
from triage.db.models import OutboundMessage, OutboundStatus
from triage.errors import ComposeError
from triage.outbound.compose import compose, new_message_id
from triage.outbound.ratelimit import RecentReply, guard_from_rows, noreply_recipient, reply_guard
from triage.outbound.render import RenderedReply

log = logging.getLogger(__name__)

ADDRESS_MAX = 320


def _guard(
    session: Session,
    to_addr: str,
    settings: Settings,
    now: dt.datetime,
    recent: Sequence[RecentReply] | None,
) -> str | None:
    """Why no reply may go to ``to_addr`` now (the first guard that trips), or None."""
    reason = noreply_recipient(to_addr)
    if reason is not None:
        return reason
    if recent is not None:
        return guard_from_rows(recent, now, settings.reply_rate_limits)
    return reply_guard(session, to_addr, now, settings.reply_rate_limits)


def enqueue_reply(
    session: Session,
    *,
    reply: RenderedReply,
    case_id: int | None,
    inbound_id: int | None,
    in_reply_to: str | None,
    references: Sequence[str],
    settings: Settings,
    now: dt.datetime,
    recent: Callable[[str], Sequence[RecentReply] | None] | None = None,
) -> OutboundMessage:
    """Store the reply as an outbox row (pending, or suppressed with the reason) and return it.
    ``recent``: the recipient's recent outbox rows fetched beforehand (worker/lookups.py), or
    None when they must be read now."""
    to_addr = reply.to.lower()
    reason = _guard(session, to_addr, settings, now, recent(to_addr) if recent is not None else None)
    row = OutboundMessage(
        id=next_id(session, OutboundMessage, early=True),  # None: the flush gives it
        case_id=case_id,
        inbound_id=inbound_id,
        template=reply.template,
        language=reply.language,
        to_addr=to_addr[:ADDRESS_MAX],
        from_addr=reply.from_mailbox[:ADDRESS_MAX],
        subject=reply.subject,
        body=reply.body,
        # Unique placeholder until the id is known (the Message-ID contains the row id).
        message_id=f"unset.{secrets.token_hex(16)}",
        raw=b"",
        status=OutboundStatus.PENDING,
        created_at=now,
        attempts=0,
        chain_depth=0,  # the sender measures it; given here, every column has a value and SQLite
        # takes a batch's replies in one executemany (a server default to fetch makes it one by one)
        next_attempt_at=now,
        give_up_at=now + dt.timedelta(seconds=settings.sender_give_up_seconds),
    )
    session.add(row)
    if row.id is None:
        session.flush()  # the id could not be known up front
    try:
        row.message_id = new_message_id(row.id, settings.our_domain)
        row.raw = compose(
            dataclasses.replace(reply, to=to_addr),
            message_id=row.message_id,
            in_reply_to=in_reply_to,
            references=references,
            instance_id=settings.instance_id,
            date=now,
        )
    except ComposeError as exc:
        row.raw = b""
        reason = reason or f"reply not composed: {exc}"
    if reason is not None:
        row.status = OutboundStatus.SUPPRESSED
        row.last_error = reason
        metrics.reply_suppressed(session)
    # Not committed yet (the caller owns the transaction, and a worker's batch may be written
    # again mail by mail): the worker logs the reply with its mail once the batch is committed.
    log.debug("reply %d staged (%s)", row.id, reason or "pending")
    if case_id is not None:
        detail: dict[str, object] = {"template": reply.template, "reason": reason}
        if reply.decision:
            detail["decision"] = reply.decision  # what the sender checks is still true (supersede.py)
        add_event(
            session,
            case_id,
            "reply_suppressed" if reason is not None else "reply_queued",
            now,
            inbound_id=inbound_id,
            outbound_id=row.id,
            detail=detail,
        )
    return row  # its id is known; the rest is written at the session's next flush
