"""Deliver the outbox to the SMTP relay: claim, send outside any transaction, record the outcome.

One pass (:meth:`Sender.deliver_due`) takes over the claims of dead senders, then claims due
rows one at a time (claims.py), hands each to the transport with no transaction open while the
heartbeat keeps its lease alive (heartbeat.py), and records the outcome in a new transaction
(outcome.py). At least once: a reply whose outcome is unknown is sent again with the same
Message-ID, never dead-lettered for having perhaps arrived. The breaker (breaker.py) stops a pass
when the next reply would look like a loop. A busy database is waited out quietly; one that is
unavailable is reported (busy.py). Logs carry row ids, statuses and reply codes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage import metrics
from triage.clock import Clock
from triage.config import Settings
from triage.errors import (
    PermanentSendError,
    SendError,
    TransientSendError,
    UncertainSendError,
)
from triage.outbound.backoff import backoff_seconds, jittered
from triage.outbound.breaker import BreakerLimits, ReplyWindow, load_window
from triage.outbound.busy import is_busy, retry_while_busy
from triage.outbound.claims import (
    STOPPED_DURING_DELIVERY,
    BreakerOpen,
    Claim,
    begin_write,
    claim_next,
    take_over_expired,
)
from triage.outbound.heartbeat import Heartbeat
from triage.outbound.outcome import MAYBE_TWICE, DeliveryResult, record
from triage.outbound.stamp import message_id_domain
from triage.outbound.transport import ReplyTransport, SmtpTransport
from triage.tokens import claim_token

__all__ = [
    "MAYBE_TWICE",
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

NO_DOMAIN_WARNING: Final = (
    "no Message-ID domain configured (set TRIAGE_OUR_DOMAIN to the domain of the secure_* mailboxes): "
    "replies wait in the outbox, nothing is sent"
)
IDLE_SECONDS: Final = 1.0
# Dead senders' claims are looked for at least this often, even within a long pass.
TAKE_OVER_EVERY_SECONDS: Final = 1.0


Step = Claim | BreakerOpen | None


@dataclass
class _Pass:
    """One pass's state: the breaker's window, the rows it may still take, what it did."""

    window: ReplyWindow
    budget: int
    should_stop: Callable[[], bool] | None
    results: list[DeliveryResult]


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
        #: Why the last pass stopped at the breaker, or None when it did not.
        self.breaker_reason: str | None = None
        #: None until a Message-ID domain is configured: then nothing is sent (stamp.py).
        self.domain = message_id_domain(settings.our_domain)
        self._warned_no_domain = False
        self._limits = BreakerLimits.from_settings(settings)
        self._heartbeat = Heartbeat(sessions, self.name, settings.sender_lease_seconds, clock)
        self._last_take_over = -TAKE_OVER_EVERY_SECONDS

    @property
    def breaker_open(self) -> bool:
        """True when the last pass stopped because the next reply would look like a loop."""
        return self.breaker_reason is not None

    def close(self) -> None:
        self._heartbeat.close()

    # -- one pass -----------------------------------------------------------------------------

    def deliver_due(
        self, limit: int = 50, should_stop: Callable[[], bool] | None = None
    ) -> list[DeliveryResult]:
        """Take over dead senders' claims, then claim, send and record up to ``limit`` due rows.

        ``should_stop`` is asked before each claim, so a stopping process does not start new
        deliveries (the one in hand is finished and recorded). The outcome of one reply and the
        claim of the next share a transaction (one commit per reply), and the transport may keep
        its relay connection open until the pass ends.
        """
        results = self._take_over()
        was_open = self.breaker_open
        self.breaker_reason = None
        if self.domain is None:
            if not self._warned_no_domain:
                log.warning(NO_DOMAIN_WARNING)
                self._warned_no_domain = True
            return results
        with self._sessions() as session:
            window = load_window(session, self._clock.now(), self._limits)
        pass_ = _Pass(window, limit, should_stop, results)
        try:
            step = self._write(lambda session: self._claim(session, pass_), pass_)
            while isinstance(step, Claim):
                claim = step
                error = self._send(claim)
                if time.monotonic() - self._last_take_over >= TAKE_OVER_EVERY_SECONDS:
                    results.extend(self._take_over())

                def record_then_claim(
                    session: Session, claim: Claim = claim, error: SendError | None = error
                ) -> Step:
                    pass_.results.append(self._record(session, claim, error))
                    return self._claim(session, pass_)

                # The outcome is known now: wait out a busy database rather than lose it (a lost
                # outcome would be taken over as unknown and the reply sent again).
                step = retry_while_busy(
                    lambda: self._write(record_then_claim, pass_),
                    f"recording reply {claim.id}",
                    patience_seconds=max(self._settings.sender_lease_seconds * 3.0, 30.0),
                )
        finally:
            close = getattr(self._transport, "close", None)
            if callable(close):
                close()
        if isinstance(step, BreakerOpen):
            self.breaker_reason = step.reason
            if not was_open:
                log.error("reply breaker tripped: %s; sending stopped, replies stay pending", step.reason)
        if was_open and not self.breaker_open:
            log.warning("reply breaker closed: sending again")
        return results

    def _write(self, work: Callable[[Session], Step], pass_: _Pass) -> Step:
        """``work`` in one write transaction; what it settled or claimed counts once committed."""
        mark, budget = len(pass_.results), pass_.budget
        try:
            with self._sessions() as session:
                begin_write(session)
                step = work(session)
                session.commit()
        except BaseException:
            del pass_.results[mark:]
            pass_.budget = budget
            raise
        if isinstance(step, Claim):
            pass_.window.add(step.to_addr, step.chain_depth)
        return step

    def _take_over(self) -> list[DeliveryResult]:
        self._last_take_over = time.monotonic()
        with self._sessions() as session:
            begin_write(session)
            results = take_over_expired(session, self._clock.now())
            session.commit()
        return results

    def _claim(self, session: Session, pass_: _Pass) -> Step:
        """The next claim, or why there is none; rows settled on the way are results of the pass."""
        while pass_.budget > 0 and not (pass_.should_stop is not None and pass_.should_stop()):
            pass_.budget -= 1
            step = claim_next(
                session,
                self._clock.now(),
                name=self.name,
                lease_seconds=self._settings.sender_lease_seconds,
                domain=self.domain,
                window=pass_.window,
                instance_id=self._settings.instance_id,
            )
            if not isinstance(step, DeliveryResult):
                return step
            pass_.results.append(step)
        return None

    def _send(self, claim: Claim) -> SendError | None:
        """Hand ``claim`` to the transport with no transaction open, its lease renewed meanwhile."""
        with self._heartbeat.holding(claim.id):
            try:
                self._transport.send(self._settings.reply_envelope_from, claim.to_addr, claim.raw)
            except SendError as exc:
                return exc
            except Exception as exc:  # a transport bug must not leave the row in "sending"
                log.error("reply %d: transport raised %s", claim.id, type(exc).__name__)
                return TransientSendError(f"transport error ({type(exc).__name__})")
            return None

    def _record(self, session: Session, claim: Claim, error: SendError | None) -> DeliveryResult:
        return record(
            session,
            claim,
            error,
            self._clock.now(),
            name=self.name,
            retry_in=self.backoff_seconds(claim.attempts),
        )

    def backoff_seconds(self, attempts: int) -> float:
        """min(cap, base * 2**(attempts - 1)) with ±20 % jitter."""
        settings = self._settings
        return backoff_seconds(
            attempts, settings.sender_retry_base_seconds, settings.sender_retry_cap_seconds
        )

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; an error is logged (class only) and survived.

        A busy database (another writer holds the lock) is waited out quietly and tried again
        soon; an unavailable one is reported as an error each pass.
        """
        try:
            while not stop.is_set():
                pause = self.idle_seconds
                try:
                    results = await asyncio.to_thread(self.deliver_due, 50, stop.is_set)
                    metrics.replies(results)
                except SQLAlchemyError as exc:  # the sender must outlive a database outage
                    if is_busy(exc):
                        log.info("sender pass: database busy (%s); trying again", type(exc).__name__)
                        pause = jittered(min(self.idle_seconds, 0.2))
                    else:
                        log.error(
                            "sender pass failed: database unavailable (%s); trying again", type(exc).__name__
                        )
                    results = []
                except Exception:  # a bug: logged with its traceback (masked by the log filter), survived
                    log.exception("sender pass failed; trying again")
                    results = []
                if results and not self.breaker_open:
                    await asyncio.sleep(0)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
        finally:
            await asyncio.to_thread(self.close)
