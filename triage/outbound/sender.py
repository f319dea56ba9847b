"""Deliver the outbox to the SMTP relay: claim a batch, send outside any transaction, record.

One pass (:meth:`Sender.deliver_due`) takes over the claims of dead senders, then claims due
rows a batch at a time (claims.py: one transaction, each row checked before it is taken), hands
them one by one to the transport over one kept relay connection with no transaction open while
the heartbeat keeps the batch's leases alive (heartbeat.py), and records the outcomes together
(outcome.py) in the transaction that claims the next batch. Outcomes never wait long: before the
next reply is handed over, those older than :data:`RECORD_EVERY_SECONDS` are recorded first, so
a sender killed mid-batch leaves at most that much of its work unrecorded (a slow relay: one
reply). At least once: a reply whose outcome is unknown is sent again with the same Message-ID,
never dead-lettered for having perhaps arrived. The breaker (breaker.py) stops a pass when the
next reply would look like a loop; a batch lets no more through than it allows. Its window is
read at most once a second and counts this sender's claims as they are made in between. A
stopping sender finishes the reply in hand and gives the rest of its batch back. A busy database
is waited out quietly; one that is unavailable is reported (busy.py). Logs carry row ids,
statuses and reply codes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

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
    Batch,
    Claim,
    begin_write,
    claim_batch,
    give_back,
    take_over_expired,
)
from triage.outbound.heartbeat import Heartbeat
from triage.outbound.outcome import MAYBE_TWICE, DeliveryResult, Outcome, record_batch
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
#: Rows claimed in one transaction (all of them are taken over as unknown if the sender dies).
CLAIM_BATCH: Final = 50
#: Outcomes known longer than this are recorded before the next reply is handed over.
RECORD_EVERY_SECONDS: Final = 0.05
#: The breaker's window (every reply sent or in flight in the last 10 minutes: thousands on a
#: renewal day) is read from the database at most this often, not at every pass.
WINDOW_REFRESH_SECONDS: Final = 1.0

T = TypeVar("T")


@dataclass
class _Pass:
    """One pass's state: the breaker's window, the rows it may still take, what it did."""

    window: ReplyWindow
    budget: int
    should_stop: Callable[[], bool] | None
    results: list[DeliveryResult]
    stopped: bool = False
    #: When (time.monotonic) the batch in hand was claimed: its leases run from then.
    claimed_at: float = 0.0
    #: Outcomes known but not yet recorded.
    outcomes: list[Outcome] = field(default_factory=list)


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
        #: Keep the relay connection open when a pass ends (:meth:`run` does while there is work,
        #: and closes it when it goes idle); otherwise each pass closes it.
        self.keep_connection = False
        #: The breaker's window, with the clock time and monotonic time it was read at.
        self._window: tuple[ReplyWindow, dt.datetime, float] | None = None

    @property
    def breaker_open(self) -> bool:
        """True when the last pass stopped because the next reply would look like a loop."""
        return self.breaker_reason is not None

    def close(self) -> None:
        self._close_transport()
        self._heartbeat.close()

    def _close_transport(self) -> None:
        close = getattr(self._transport, "close", None)
        if callable(close):
            close()

    # -- one pass -----------------------------------------------------------------------------

    def deliver_due(
        self, limit: int = 50, should_stop: Callable[[], bool] | None = None
    ) -> list[DeliveryResult]:
        """Take over dead senders' claims, then claim, send and record up to ``limit`` due rows.

        ``should_stop`` is asked before each row is claimed and before each reply of a batch but
        the first is handed over, so a stopping process does not start new deliveries (the one in
        hand is finished and recorded, the rest of its batch given back). A batch's outcomes and
        the claim of the next batch share a transaction, and the transport keeps its relay
        connection open until the pass ends (beyond it with :attr:`keep_connection`).
        """
        results = self._take_over()
        was_open = self.breaker_open
        self.breaker_reason = None
        if self.domain is None:
            if not self._warned_no_domain:
                log.warning(NO_DOMAIN_WARNING)
                self._warned_no_domain = True
            return results
        pass_ = _Pass(self._read_window(fresh=was_open), limit, should_stop, results)
        try:
            batch = self._write(lambda session: self._claim(session, pass_), pass_)
            while batch.claims:
                unsent = self._send_batch(batch.claims, pass_)

                def record_then_claim(
                    session: Session, done: Batch = batch, unsent: list[Claim] = unsent
                ) -> Batch:
                    self._record(session, pass_)
                    give_back(session, self.name, unsent)
                    if done.breaker is not None:
                        return Batch(breaker=done.breaker)
                    return self._claim(session, pass_)

                # The outcomes are known now: wait out a busy database rather than lose them (a lost
                # outcome would be taken over as unknown and the reply sent again).
                batch = self._keep_trying(lambda: self._write(record_then_claim, pass_), "recording replies")
        except BaseException:
            self._window = None  # what was counted may not have happened: read it again next time
            self._close_transport()
            raise
        if not self.keep_connection:
            self._close_transport()
        if batch.breaker is not None:
            self.breaker_reason = batch.breaker.reason
            if not was_open:
                log.error(
                    "reply breaker tripped: %s; sending stopped, replies stay pending", batch.breaker.reason
                )
        if was_open and not self.breaker_open:
            log.warning("reply breaker closed: sending again")
        return results

    def _read_window(self, *, fresh: bool) -> ReplyWindow:
        """The breaker's window: read again when ``fresh`` or :data:`WINDOW_REFRESH_SECONDS` old.

        Between reads it counts this sender's own claims as they are made (claims.py); other
        senders' show at the next read, and replies that leave the window or were not sent after
        all are dropped then (until then they count: the breaker errs on the careful side).
        """
        now, tick = self._clock.now(), time.monotonic()
        if self._window is not None and not fresh:
            window, read_at, read_tick = self._window
            age = (now - read_at).total_seconds()
            if 0 <= age < WINDOW_REFRESH_SECONDS and tick - read_tick < WINDOW_REFRESH_SECONDS:
                return window
        with self._sessions() as session:
            window = load_window(session, now, self._limits)
        self._window = (window, now, tick)
        return window

    def _keep_trying(self, work: Callable[[], T], what: str) -> T:
        patience = max(self._settings.sender_lease_seconds * 3.0, 30.0)
        return retry_while_busy(work, what, patience_seconds=patience)

    def _write(self, work: Callable[[Session], T], pass_: _Pass) -> T:
        """``work`` in one write transaction; what it settled, claimed or recorded counts once committed."""
        mark, budget, stopped, outcomes = len(pass_.results), pass_.budget, pass_.stopped, pass_.outcomes
        step: T | None = None
        try:
            with self._sessions() as session:
                begin_write(session)
                step = work(session)
                session.commit()
        except BaseException:
            del pass_.results[mark:]
            pass_.budget, pass_.stopped, pass_.outcomes = budget, stopped, outcomes
            if isinstance(step, Batch):
                step.uncount(pass_.window)
            raise
        return step

    def _take_over(self) -> list[DeliveryResult]:
        self._last_take_over = time.monotonic()
        with self._sessions() as session:
            begin_write(session)
            results = take_over_expired(session, self._clock.now())
            session.commit()
        return results

    def _claim(self, session: Session, pass_: _Pass) -> Batch:
        """The next batch of claims, or why there is none; rows settled on the way are results."""
        batch = Batch()
        pass_.claimed_at = time.monotonic()
        while not batch.claims and pass_.budget > 0 and not pass_.stopped:
            batch = claim_batch(
                session,
                self._clock.now(),
                name=self.name,
                lease_seconds=self._settings.sender_lease_seconds,
                domain=self.domain,
                window=pass_.window,
                instance_id=self._settings.instance_id,
                limit=min(pass_.budget, CLAIM_BATCH),
                should_stop=pass_.should_stop,
            )
            pass_.budget -= batch.considered
            pass_.results.extend(batch.settled)
            pass_.stopped = batch.stopped
            if batch.breaker is not None or batch.exhausted:
                break
        return batch

    def _send_batch(self, claims: Sequence[Claim], pass_: _Pass) -> list[Claim]:
        """Hand ``claims`` over one by one, their leases renewed meanwhile; those not handed over.

        Outcomes are recorded before the next reply goes once :data:`RECORD_EVERY_SECONDS` have
        passed since the last record. Once the batch's leases may have run out
        (:meth:`_leases_hold`), the rest is given back unsent. A reply to a recipient the relay
        refused with a 5xx earlier in the batch is not handed over but given back: claimed again
        after the refusal is recorded, it is suppressed (the 60-day rule, checked before sending).
        """
        recorded_at = time.monotonic()
        unsent: list[Claim] = []
        refused: set[str] = set()  # recipients the relay refused with a 5xx in this batch
        with self._heartbeat.holding([claim.id for claim in claims]):
            for index, claim in enumerate(claims):
                if index and pass_.should_stop is not None and pass_.should_stop():
                    pass_.stopped = True
                    return unsent + list(claims[index:])
                if index and not self._leases_hold(pass_.claimed_at):
                    log.warning(
                        "reply batch: its leases could not be renewed; %d replies not handed over",
                        len(claims) - index,
                    )
                    pass_.stopped = True
                    return unsent + list(claims[index:])
                if claim.to_addr.lower() in refused:
                    # Given back unsent: the next claim finds the recipient failed and suppresses it.
                    unsent.append(claim)
                    continue
                if pass_.outcomes and time.monotonic() - recorded_at >= RECORD_EVERY_SECONDS:
                    self._keep_trying(
                        lambda: self._write(lambda s: self._record(s, pass_), pass_), "recording replies"
                    )
                    recorded_at = time.monotonic()
                error = self._send(claim)
                retry_in = 0.0 if error is None else self.backoff_seconds(claim.attempts)
                pass_.outcomes.append(Outcome(claim, error, retry_in))
                if isinstance(error, PermanentSendError) and error.reply_text.startswith("5"):
                    refused.add(claim.to_addr.lower())
                if time.monotonic() - self._last_take_over >= TAKE_OVER_EVERY_SECONDS:
                    try:
                        pass_.results.extend(self._take_over())
                    except SQLAlchemyError as exc:  # tried again in a second; the outcomes come first
                        log.info("taking over dead senders' claims failed (%s)", type(exc).__name__)
        return unsent

    def _leases_hold(self, claimed_at: float) -> bool:
        """True while the batch's leases surely run: claimed or renewed less than 3/4 lease ago.

        Past that, another sender may take the rest of the batch over (its heartbeat could not
        reach the database), so it is not handed over: sent by both, a reply would arrive twice.
        """
        renewed = self._heartbeat.renewed_at
        since = max(claimed_at, renewed if renewed is not None else claimed_at)
        return time.monotonic() - since < self._settings.sender_lease_seconds * 0.75

    def _send(self, claim: Claim) -> SendError | None:
        """Hand ``claim`` to the transport with no transaction open."""
        try:
            self._transport.send(self._settings.reply_envelope_from, claim.to_addr, claim.raw)
        except SendError as exc:
            return exc
        except Exception as exc:  # a transport bug must not leave the row in "sending"
            log.error("reply %d: transport raised %s", claim.id, type(exc).__name__)
            return TransientSendError(f"transport error ({type(exc).__name__})")
        return None

    def _record(self, session: Session, pass_: _Pass) -> None:
        """Record the outcomes known so far (they count once the transaction commits)."""
        outcomes, pass_.outcomes = pass_.outcomes, []
        pass_.results.extend(record_batch(session, outcomes, self._clock.now(), name=self.name))

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
        soon; an unavailable one is reported as an error each pass. The relay connection stays
        open from one busy pass to the next (no new session, STARTTLS and login every 50
        replies) and is closed when the sender goes idle.
        """
        self.keep_connection = True
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
                await asyncio.to_thread(self._close_transport)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
        finally:
            self.keep_connection = False
            await asyncio.to_thread(self.close)
