"""Claims on outbox rows: take one, renew it, and take over the ones a dead sender left.

A claim is its own committed transaction: the row becomes ``sending`` under the sender's name
with a lease, ``attempts + 1``, its ``Date:`` stamped (the row holds exactly the bytes about to
be handed over); PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of senders share the
outbox, SQLite's ``BEGIN IMMEDIATE`` serialises them. A live sender renews its leases (the
heartbeat, heartbeat.py). A row still ``sending`` past its lease belongs to a sender that died
mid-delivery: the relay may or may not have it, so it becomes ``delivery_unknown`` and is sent
again at once with the same Message-ID and the same bytes (at least once).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.engine import SQLITE_BEGIN
from triage.db.models import OutboundMessage, OutboundStatus
from triage.errors import ComposeError
from triage.outbound.breaker import ReplyWindow
from triage.outbound.chain import chain_depth
from triage.outbound.compose import address_problem, new_message_id
from triage.outbound.outcome import UNKNOWN_PREFIX, DeliveryResult, case_event, gave_up_text
from triage.outbound.ratelimit import recently_failed_permanently
from triage.outbound.stamp import is_placeholder_id, stamp_date, stamp_message_id
from triage.outbound.supersede import superseded_reason
from triage.outbound.transport import REPLY_TEXT_MAX

log = logging.getLogger(__name__)

STOPPED_DURING_DELIVERY: Final = (
    f"{UNKNOWN_PREFIX}: the sender stopped during delivery; "
    "sent again with the same Message-ID (at least once)"
)
#: Rows a sender may claim: due, and either never tried to the end or with an unknown outcome.
CLAIMABLE: Final = (OutboundStatus.PENDING, OutboundStatus.DELIVERY_UNKNOWN)


@dataclass(frozen=True)
class Claim:
    """A row in hand: what to send, and whether an earlier attempt may already have arrived."""

    id: int
    to_addr: str
    raw: bytes
    attempts: int
    after_unknown: bool
    chain_depth: int = 0


@dataclass(frozen=True)
class BreakerOpen:
    """The next due reply would look like a loop (breaker.py): nothing was claimed."""

    reason: str


def begin_write(session: Session) -> None:
    """Read-then-write: SQLite takes its write lock now (PostgreSQL ignores the option)."""
    session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


def take_over_expired(session: Session, now: dt.datetime, limit: int = 100) -> list[DeliveryResult]:
    """Rows left ``sending`` past their lease: their sender died; due again, outcome unknown.

    ``claimed_by`` stays until the next claim, so a sender that was only slow (its heartbeat
    could not reach the database) still records what it learnt if nobody has taken the row since.
    """
    results: list[DeliveryResult] = []
    stmt = (
        sa.select(OutboundMessage)
        .where(OutboundMessage.status == OutboundStatus.SENDING, OutboundMessage.lease_until < now)
        .order_by(OutboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    for row in session.scalars(stmt).all():
        row.status = OutboundStatus.DELIVERY_UNKNOWN
        row.lease_until = None
        row.next_attempt_at = now
        row.last_error = STOPPED_DURING_DELIVERY
        case_event(session, row, "reply_delivery_unknown", now, reason="sender stopped during delivery")
        log.warning("reply %d: its sender stopped during delivery; sending it again", row.id)
        results.append(DeliveryResult(row.id, OutboundStatus.DELIVERY_UNKNOWN.value, STOPPED_DURING_DELIVERY))
    return results


def renew(session: Session, name: str, ids: Collection[int], until: dt.datetime) -> int:
    """Extend the leases of ``ids`` still ``sending`` under ``name``: how many were renewed."""
    if not ids:
        return 0
    result = session.execute(
        sa.update(OutboundMessage)
        .where(
            OutboundMessage.id.in_(list(ids)),
            OutboundMessage.claimed_by == name,
            OutboundMessage.status == OutboundStatus.SENDING,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_next(
    session: Session,
    now: dt.datetime,
    *,
    name: str,
    lease_seconds: int,
    domain: str | None,
    window: ReplyWindow,
    instance_id: str,
) -> Claim | DeliveryResult | BreakerOpen | None:
    """Claim the next due row; the caller commits, then counts the claim into ``window``.

    Rows that may not be tried any more (superseded, past ``give_up_at``, unusable, a recent
    permanent failure of the recipient) are settled here instead and come back as a result.
    ``BreakerOpen`` and ``None`` change nothing that matters (at most the row's chain depth is
    filled in), so the transaction may commit whatever else it did.
    """
    stmt = (
        sa.select(OutboundMessage)
        .where(OutboundMessage.status.in_(CLAIMABLE), OutboundMessage.next_attempt_at <= now)
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = session.scalars(stmt).first()
    if row is None:
        return None
    settled = _settle_before_sending(session, row, now)
    if settled is not None:
        return settled
    after_unknown = row.status is OutboundStatus.DELIVERY_UNKNOWN
    if row.attempts == 0:
        row.chain_depth = chain_depth(session, row.inbound_id, instance_id)
    reason = window.trip_reason(row.to_addr, row.chain_depth)
    if reason is not None:
        return BreakerOpen(reason)
    try:
        if is_placeholder_id(row.message_id) and domain is not None:
            # Queued before a domain was configured; never handed over, so nobody has seen it.
            row.message_id = new_message_id(row.id, domain)
            row.raw = stamp_message_id(row.raw, row.message_id)
        if not after_unknown:
            # An attempt that may have arrived keeps its bytes, Date included: the same message.
            row.raw = stamp_date(row.raw, now)
    except ComposeError as exc:
        return _dead(session, row, now, f"not sent: {exc}", "not sendable")
    row.status = OutboundStatus.SENDING
    row.claimed_by = name
    row.lease_until = now + dt.timedelta(seconds=lease_seconds)
    row.attempts += 1
    return Claim(row.id, row.to_addr, row.raw, row.attempts, after_unknown, row.chain_depth)


def _dead(session: Session, row: OutboundMessage, now: dt.datetime, text: str, reason: str) -> DeliveryResult:
    row.status = OutboundStatus.DEAD
    row.lease_until = None
    row.last_error = text[:REPLY_TEXT_MAX]
    case_event(session, row, "reply_dead", now, reason=reason)
    log.error("reply %d dead: %s", row.id, reason)
    return DeliveryResult(row.id, OutboundStatus.DEAD.value, reason)


def _settle_before_sending(session: Session, row: OutboundMessage, now: dt.datetime) -> DeliveryResult | None:
    superseded = superseded_reason(session, row)
    if superseded is not None:
        row.status = OutboundStatus.SUPERSEDED
        row.last_error = superseded[:REPLY_TEXT_MAX]
        case_event(session, row, "reply_superseded", now, reason=superseded)
        log.info("reply %d superseded (%s)", row.id, superseded)
        return DeliveryResult(row.id, OutboundStatus.SUPERSEDED.value, superseded)
    if now >= row.give_up_at:
        unknown = row.status is OutboundStatus.DELIVERY_UNKNOWN
        return _dead(
            session, row, now, gave_up_text(row.attempts, row.last_error, unknown=unknown), "gave up"
        )
    problem = address_problem(row.to_addr)
    if problem is not None or not row.raw:
        text = f"not sent: recipient {problem}" if problem else "not sent: nothing composed"
        return _dead(session, row, now, text, "not sendable")
    if recently_failed_permanently(session, row.to_addr, now):
        reason = "recipient failed permanently within 60 days"
        row.status = OutboundStatus.SUPPRESSED
        row.last_error = reason
        case_event(session, row, "reply_suppressed", now, reason=reason)
        log.info("reply %d suppressed (%s)", row.id, reason)
        return DeliveryResult(row.id, OutboundStatus.SUPPRESSED.value, reason)
    return None
