"""Deliver the outbox to the SMTP relay: claim, send outside any transaction, record the outcome.

Each due row is claimed in its own committed transaction (``sending``, a lease, ``attempts + 1``;
PostgreSQL ``FOR UPDATE SKIP LOCKED`` so any number of senders share the outbox), sent with no
transaction open, and its outcome recorded in a new transaction (autoreply.md §4):

- accepted → ``sent``;
- ``4xx`` or no connection → ``pending`` again after capped exponential backoff with jitter, or
  ``dead`` once past ``give_up_at``;
- ``5xx`` → ``dead`` at once, with the relay's answer in ``last_error`` (transport.py speaks SMTP).

A reply no longer true when it is claimed (supersede.py) is ``superseded`` and never sent.
``Date:`` is stamped just before the hand-off; without a configured Message-ID domain the sender
sends nothing and says so once (stamp.py).

At most once: a row still ``sending`` after its lease expired belongs to a sender that stopped
mid-delivery; the relay may already have it, so it is dead-lettered, never resent. A global
breaker (too many replies in a window) stops sending and leaves rows pending. Logs carry row
ids, statuses and reply codes only, never addresses, subjects or bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage import metrics
from triage.cases.service import add_event
from triage.clock import Clock
from triage.config import Settings
from triage.db.engine import SQLITE_BEGIN
from triage.db.models import OutboundMessage, OutboundStatus
from triage.errors import (
    ComposeError,
    PermanentSendError,
    SendError,
    TransientSendError,
    UncertainSendError,
)
from triage.outbound.compose import address_problem, new_message_id
from triage.outbound.ratelimit import breaker_tripped, recently_failed_permanently
from triage.outbound.stamp import is_placeholder_id, message_id_domain, stamp_date, stamp_message_id
from triage.outbound.supersede import superseded_reason
from triage.outbound.transport import REPLY_TEXT_MAX, ReplyTransport, SmtpTransport
from triage.tokens import claim_token

__all__ = [
    "STOPPED_DURING_DELIVERY",
    "DeliveryResult",
    "PermanentSendError",
    "ReplyTransport",
    "SendError",
    "Sender",
    "SmtpTransport",
    "TransientSendError",
    "UncertainSendError",
]

log = logging.getLogger(__name__)

STOPPED_DURING_DELIVERY: Final = "sender stopped during delivery; not resent (at most once)"
NO_DOMAIN_WARNING: Final = (
    "no Message-ID domain configured (set TRIAGE_OUR_DOMAIN to the domain of the secure_* mailboxes): "
    "replies wait in the outbox, nothing is sent"
)
IDLE_SECONDS: Final = 1.0
_JITTER: Final = (0.8, 1.2)
_CODE: Final = re.compile(r"^([2-5])\d\d\b")
_RANDOM: Final = secrets.SystemRandom()
# A claim's outcome is recorded while the row is sending, or dead because its lease ran out.
_RECORDABLE: Final = (OutboundStatus.SENDING, OutboundStatus.DEAD)


@dataclass(frozen=True)
class DeliveryResult:
    """What one pass did with one row: its new status and a short reason (no address)."""

    outbound_id: int
    status: str
    detail: str


@dataclass(frozen=True)
class _Claim:
    id: int
    to_addr: str
    raw: bytes
    attempts: int


class _BreakerOpen:
    pass


_BREAKER_OPEN: Final = _BreakerOpen()


def _reply_code(text: str) -> str | None:
    match = _CODE.match(text)
    return match.group(0) if match else None


def _event(session: Session, row: OutboundMessage, kind: str, at: dt.datetime, **detail: object) -> None:
    if row.case_id is None:
        return
    add_event(
        session,
        row.case_id,
        kind,
        at,
        inbound_id=row.inbound_id,
        outbound_id=row.id,
        detail={"template": row.template, "attempts": row.attempts, **detail},
    )


def _default_name(settings: Settings) -> str:
    return f"{settings.instance_id}:{socket.gethostname()}:sender-{claim_token()}"[-64:]


class Sender:
    """Delivers due outbox rows through ``transport``; one pass is :meth:`deliver_due`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        transport: ReplyTransport,
        *,
        clock: Clock,
        name: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self.name = (name or _default_name(settings))[:64]
        self.idle_seconds = IDLE_SECONDS
        #: True when the last pass stopped because the breaker had tripped.
        self.breaker_open = False
        #: None until a Message-ID domain is configured: then nothing is sent (stamp.py).
        self.domain = message_id_domain(settings.our_domain)
        self._warned_no_domain = False

    # -- one pass -----------------------------------------------------------------------------

    def deliver_due(
        self, limit: int = 50, should_stop: Callable[[], bool] | None = None
    ) -> list[DeliveryResult]:
        """Dead-letter stale claims, then claim, send and record up to ``limit`` due rows.

        ``should_stop`` is asked before each claim, so a stopping process does not start new
        deliveries (the one in hand is finished and recorded).
        """
        results = self._reap_stale()
        self.breaker_open = False
        if self.domain is None:
            if not self._warned_no_domain:
                log.warning(NO_DOMAIN_WARNING)
                self._warned_no_domain = True
            return results
        for _ in range(limit):
            if should_stop is not None and should_stop():
                break
            step = self._claim_next()
            if step is None:
                break
            if isinstance(step, _BreakerOpen):
                self.breaker_open = True
                count, seconds = self._settings.reply_breaker
                log.error(
                    "reply breaker tripped: %d replies in %d s; sending stopped, replies stay pending",
                    count,
                    seconds,
                )
                break
            if isinstance(step, DeliveryResult):
                results.append(step)
                continue
            results.append(self._deliver(step))
        return results

    def _begin(self, session: Session) -> None:
        # Read-then-write: SQLite takes its write lock now (PostgreSQL ignores the option).
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})

    def _reap_stale(self) -> list[DeliveryResult]:
        """Rows left ``sending`` past their lease: the sender died mid-delivery; never resend."""
        results: list[DeliveryResult] = []
        with self._sessions() as session:
            self._begin(session)
            now = self._clock.now()
            stmt = (
                sa.select(OutboundMessage)
                .where(OutboundMessage.status == OutboundStatus.SENDING, OutboundMessage.lease_until < now)
                .order_by(OutboundMessage.id)
                .limit(100)
                .with_for_update(skip_locked=True)
            )
            for row in session.scalars(stmt).all():
                row.status = OutboundStatus.DEAD
                row.last_error = STOPPED_DURING_DELIVERY
                _event(session, row, "reply_dead", now, reason="sender stopped during delivery")
                log.error("reply %d dead: sender stopped during delivery (not resent)", row.id)
                results.append(DeliveryResult(row.id, OutboundStatus.DEAD.value, STOPPED_DURING_DELIVERY))
            session.commit()
        return results

    def _claim_next(self) -> _Claim | DeliveryResult | _BreakerOpen | None:
        """Claim the next due row in its own committed transaction.

        Rows that may not be tried any more (past ``give_up_at``, unusable, a recent permanent
        failure of the recipient) are settled here instead and come back as a result.
        """
        with self._sessions() as session:
            self._begin(session)
            now = self._clock.now()
            if breaker_tripped(session, now, self._settings.reply_breaker):
                session.rollback()
                return _BREAKER_OPEN
            stmt = (
                sa.select(OutboundMessage)
                .where(
                    OutboundMessage.status == OutboundStatus.PENDING, OutboundMessage.next_attempt_at <= now
                )
                .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            row = session.scalars(stmt).first()
            if row is None:
                session.rollback()
                return None
            settled = self._settle_before_sending(session, row, now)
            if settled is not None:
                session.commit()
                return settled
            if is_placeholder_id(row.message_id) and self.domain is not None:
                # Queued before a domain was configured; never handed over, so nobody has seen it.
                message_id = new_message_id(row.id, self.domain)
                try:
                    row.raw = stamp_message_id(row.raw, message_id)
                except ComposeError as exc:
                    row.status = OutboundStatus.DEAD
                    row.last_error = f"not sent: {exc}"
                    _event(session, row, "reply_dead", now, reason="not sendable")
                    log.error("reply %d dead: not sendable (%s)", row.id, exc)
                    session.commit()
                    return DeliveryResult(row.id, OutboundStatus.DEAD.value, "not sendable")
                row.message_id = message_id
            row.status = OutboundStatus.SENDING
            row.claimed_by = self.name
            row.lease_until = now + dt.timedelta(seconds=self._settings.sender_lease_seconds)
            row.attempts += 1
            claim = _Claim(row.id, row.to_addr, row.raw, row.attempts)
            session.commit()
        return claim

    def _settle_before_sending(
        self, session: Session, row: OutboundMessage, now: dt.datetime
    ) -> DeliveryResult | None:
        superseded = superseded_reason(session, row)
        if superseded is not None:
            row.status = OutboundStatus.SUPERSEDED
            row.last_error = superseded[:REPLY_TEXT_MAX]
            _event(session, row, "reply_superseded", now, reason=superseded)
            log.info("reply %d superseded (%s)", row.id, superseded)
            return DeliveryResult(row.id, OutboundStatus.SUPERSEDED.value, superseded)
        if now >= row.give_up_at:
            last = f"; last error: {row.last_error}" if row.last_error else ""
            row.status = OutboundStatus.DEAD
            row.last_error = f"gave up after {row.attempts} attempts{last}"[:REPLY_TEXT_MAX]
            _event(session, row, "reply_dead", now, reason="gave up")
            log.warning("reply %d dead: gave up after %d attempts", row.id, row.attempts)
            return DeliveryResult(row.id, OutboundStatus.DEAD.value, "gave up")
        problem = address_problem(row.to_addr)
        if problem is not None or not row.raw:
            row.status = OutboundStatus.DEAD
            row.last_error = f"not sent: recipient {problem}" if problem else "not sent: nothing composed"
            _event(session, row, "reply_dead", now, reason="not sendable")
            log.error("reply %d dead: not sendable", row.id)
            return DeliveryResult(row.id, OutboundStatus.DEAD.value, "not sendable")
        if recently_failed_permanently(session, row.to_addr, now):
            reason = "recipient failed permanently within 60 days"
            row.status = OutboundStatus.SUPPRESSED
            row.last_error = reason
            _event(session, row, "reply_suppressed", now, reason=reason)
            log.info("reply %d suppressed (%s)", row.id, reason)
            return DeliveryResult(row.id, OutboundStatus.SUPPRESSED.value, reason)
        return None

    def _deliver(self, claim: _Claim) -> DeliveryResult:
        """Stamp ``Date:``, send with no transaction open, then record what happened."""
        error: SendError | None
        try:
            claim = dataclasses.replace(claim, raw=stamp_date(claim.raw, self._clock.now()))
            self._transport.send(self._settings.reply_envelope_from, claim.to_addr, claim.raw)
            error = None
        except ComposeError as exc:  # our own stored bytes are unusable: never retried
            error = PermanentSendError(f"not sent: {exc}")
        except SendError as exc:
            error = exc
        except Exception as exc:  # a transport bug must not leave the row in "sending"
            log.error("reply %d: transport raised %s", claim.id, type(exc).__name__)
            error = TransientSendError(f"transport error ({type(exc).__name__})")
        return self._record(claim, error)

    def _record(self, claim: _Claim, error: SendError | None) -> DeliveryResult:
        with self._sessions() as session:
            self._begin(session)
            now = self._clock.now()
            row = session.get(OutboundMessage, claim.id, with_for_update=True)
            if row is None or row.claimed_by != self.name or row.status not in _RECORDABLE:
                session.rollback()
                log.error("reply %d: claim lost before the outcome was recorded", claim.id)
                return DeliveryResult(claim.id, "lost", "claim lost")
            swept = row.status == OutboundStatus.DEAD
            if not swept:
                row.raw = claim.raw  # exactly what was handed over, Date included
            if error is None:
                result = self._sent(session, row, now)
            elif swept:  # our lease ran out mid-send and another pass dead-lettered it
                result = DeliveryResult(row.id, OutboundStatus.DEAD.value, row.last_error or "")
            elif isinstance(error, UncertainSendError):
                result = self._unknown(session, row, now, error.reply_text)
            elif isinstance(error, PermanentSendError):
                result = self._dead(session, row, now, error.reply_text)
            else:
                result = self._retry(session, row, now, error.reply_text)
            session.commit()
        return result

    def _sent(self, session: Session, row: OutboundMessage, now: dt.datetime) -> DeliveryResult:
        row.status = OutboundStatus.SENT
        row.sent_at = now
        row.lease_until = None
        row.last_error = None
        _event(session, row, "reply_sent", now)
        log.info("reply %d sent (attempt %d)", row.id, row.attempts)
        return DeliveryResult(row.id, OutboundStatus.SENT.value, "sent")

    def _dead(self, session: Session, row: OutboundMessage, now: dt.datetime, text: str) -> DeliveryResult:
        row.status = OutboundStatus.DEAD
        row.lease_until = None
        row.last_error = text[:REPLY_TEXT_MAX]
        code = _reply_code(text)
        _event(session, row, "reply_dead", now, reason="relay rejected", code=code)
        log.warning("reply %d dead: relay answered %s", row.id, code or "permanent failure")
        return DeliveryResult(row.id, OutboundStatus.DEAD.value, text)

    def _unknown(self, session: Session, row: OutboundMessage, now: dt.datetime, text: str) -> DeliveryResult:
        row.status = OutboundStatus.DEAD
        row.lease_until = None
        row.last_error = text[:REPLY_TEXT_MAX]
        _event(session, row, "reply_dead", now, reason="delivery unknown")
        log.error("reply %d dead: delivery unknown (connection lost after end of data), not resent", row.id)
        return DeliveryResult(row.id, OutboundStatus.DEAD.value, text)

    def _retry(self, session: Session, row: OutboundMessage, now: dt.datetime, text: str) -> DeliveryResult:
        code = _reply_code(text)
        row.lease_until = None
        if now >= row.give_up_at:
            row.status = OutboundStatus.DEAD
            row.last_error = f"gave up after {row.attempts} attempts; last error: {text}"[:REPLY_TEXT_MAX]
            _event(session, row, "reply_dead", now, reason="gave up", code=code)
            log.warning("reply %d dead: gave up after %d attempts", row.id, row.attempts)
            return DeliveryResult(row.id, OutboundStatus.DEAD.value, row.last_error)
        delay = self.backoff_seconds(row.attempts)
        row.status = OutboundStatus.PENDING
        row.next_attempt_at = now + dt.timedelta(seconds=delay)
        row.last_error = text[:REPLY_TEXT_MAX]
        _event(session, row, "reply_retry", now, code=code, retry_in_seconds=round(delay))
        log.info("reply %d: temporary failure (%s), retry in %.0f s", row.id, code or "no reply", delay)
        return DeliveryResult(row.id, OutboundStatus.PENDING.value, text)

    def backoff_seconds(self, attempts: int) -> float:
        """min(cap, base * 2**(attempts - 1)) with ±20 % jitter."""
        base = self._settings.sender_retry_base_seconds
        cap = self._settings.sender_retry_cap_seconds
        raw = base * 2.0 ** min(max(attempts - 1, 0), 62)
        return min(cap, raw) * _RANDOM.uniform(*_JITTER)

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; an error is logged (class only) and survived."""
        while not stop.is_set():
            try:
                results = await asyncio.to_thread(self.deliver_due, 50, stop.is_set)
                metrics.replies(results)
            except SQLAlchemyError as exc:  # the sender must outlive a database outage
                log.error("sender pass failed: database unavailable (%s); trying again", type(exc).__name__)
                results = []
            except Exception:  # a bug: logged with its traceback (masked by the log filter), survived
                log.exception("sender pass failed; trying again")
                results = []
            if results and not self.breaker_open:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)
