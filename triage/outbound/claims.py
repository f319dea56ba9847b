"""Claims on outbox rows: take a batch, renew them, give back the unsent, take over a dead sender's.

A claim is a committed transaction: each row taken becomes ``sending`` under the sender's name
with a lease, ``attempts + 1``, its ``Date:`` stamped (the row holds exactly the bytes about to
be handed over). A batch of due rows is claimed in one transaction, with one SELECT of the
columns a delivery needs (never the body) and one executemany UPDATE; PostgreSQL's ``FOR UPDATE
SKIP LOCKED`` lets any number of senders share the outbox, SQLite's ``BEGIN IMMEDIATE``
serialises them. Each row is checked before it is taken (superseded, past ``give_up_at``,
unusable, a recent permanent failure of the recipient, the loop breaker counting the rows taken
before it in the same batch). A live sender renews its leases (the heartbeat, heartbeat.py) and
gives back the rows of a batch it stopped before sending. A row still ``sending`` past its lease
belongs to a sender that died mid-delivery: the relay may or may not have it, so it becomes
``delivery_unknown`` and is sent again at once with the same Message-ID and the same bytes (at
least once).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.engine import SQLITE_BEGIN
from triage.db.models import OutboundMessage, OutboundStatus
from triage.errors import ComposeError
from triage.outbound.breaker import ReplyWindow
from triage.outbound.chain import chain_depths
from triage.outbound.compose import address_problem, new_message_id
from triage.outbound.outcome import UNKNOWN_PREFIX, CaseEvents, DeliveryResult, gave_up_text
from triage.outbound.ratelimit import PERMANENT_FAILURE_DAYS
from triage.outbound.stamp import is_placeholder_id, stamp_date, stamp_message_id
from triage.outbound.supersede import superseded_reason, superseded_reasons
from triage.outbound.transport import REPLY_TEXT_MAX

log = logging.getLogger(__name__)

STOPPED_DURING_DELIVERY: Final = (
    f"{UNKNOWN_PREFIX}: the sender stopped during delivery; "
    "sent again with the same Message-ID (at least once)"
)
#: Rows a sender may claim: due, and either never tried to the end or with an unknown outcome.
CLAIMABLE: Final = (OutboundStatus.PENDING, OutboundStatus.DELIVERY_UNKNOWN)

_T: Final = cast(sa.Table, OutboundMessage.__table__)
#: One UPDATE by primary key, run as executemany: the SET columns are the parameters' other keys.
_BY_ID: Final = sa.update(_T).where(_T.c.id == sa.bindparam("b_id"))
_RENEW: Final = (
    sa.update(_T)
    .where(
        _T.c.id.in_(sa.bindparam("b_ids", expanding=True)),
        _T.c.claimed_by == sa.bindparam("b_name"),
        _T.c.status == OutboundStatus.SENDING,
    )
    .values(lease_until=sa.bindparam("b_until"))
)
_GIVE_BACK: Final = sa.update(_T).where(
    _T.c.id == sa.bindparam("b_id"),
    _T.c.claimed_by == sa.bindparam("b_name"),
    _T.c.status == OutboundStatus.SENDING,
)


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
    """The next due reply would look like a loop (breaker.py): it was not claimed."""

    reason: str


@dataclass(slots=True)
class QueuedRow:
    """The columns of a due row that deciding and claiming need (no body, no subject)."""

    id: int
    to_addr: str
    raw: bytes
    status: OutboundStatus
    attempts: int
    message_id: str
    give_up_at: dt.datetime
    case_id: int | None
    inbound_id: int | None
    template: str
    last_error: str | None
    chain_depth: int


_QUEUED_COLUMNS: Final = tuple(_T.c[name] for name in QueuedRow.__dataclass_fields__)


@dataclass
class Batch:
    """What one claiming transaction did: rows claimed, rows settled instead, why it stopped."""

    claims: list[Claim] = field(default_factory=list)
    settled: list[DeliveryResult] = field(default_factory=list)
    #: The next due row would look like a loop: nothing after it was looked at.
    breaker: BreakerOpen | None = None
    #: ``should_stop`` said so: nothing after it was looked at.
    stopped: bool = False
    #: Due rows looked at (claimed, settled, or stopped at by the breaker).
    considered: int = 0
    #: Fewer due rows than asked for were there.
    exhausted: bool = False
    #: What the claims added to the breaker's window (taken out again if the transaction fails).
    counted: list[tuple[str, int]] = field(default_factory=list)

    def uncount(self, window: ReplyWindow) -> None:
        for to_addr, depth in self.counted:
            window.remove(to_addr, depth)
        self.counted.clear()


def begin_write(session: Session) -> None:
    """Read-then-write: SQLite takes its write lock now (PostgreSQL ignores the option)."""
    session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


def take_over_expired(session: Session, now: dt.datetime, limit: int = 100) -> list[DeliveryResult]:
    """Rows left ``sending`` past their lease: their sender died; due again, outcome unknown.

    ``claimed_by`` stays until the next claim, so a sender that was only slow (its heartbeat
    could not reach the database) still records what it learnt if nobody has taken the row since.
    """
    stmt = (
        sa.select(_T.c.id, _T.c.case_id, _T.c.inbound_id, _T.c.template, _T.c.attempts)
        .where(_T.c.status == OutboundStatus.SENDING, _T.c.lease_until < now)
        .order_by(_T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(stmt).all()
    if not rows:
        return []
    session.execute(
        sa.update(_T)
        .where(_T.c.id.in_([row.id for row in rows]))
        .values(
            status=OutboundStatus.DELIVERY_UNKNOWN,
            lease_until=None,
            next_attempt_at=now,
            last_error=STOPPED_DURING_DELIVERY,
        )
    )
    events = CaseEvents()
    results: list[DeliveryResult] = []
    for row in rows:
        events.add(row, "reply_delivery_unknown", now, reason="sender stopped during delivery")
        log.warning("reply %d: its sender stopped during delivery; sending it again", row.id)
        results.append(DeliveryResult(row.id, OutboundStatus.DELIVERY_UNKNOWN.value, STOPPED_DURING_DELIVERY))
    events.insert(session)
    return results


def renew(session: Session, name: str, ids: Collection[int], until: dt.datetime) -> int:
    """Extend the leases of ``ids`` still ``sending`` under ``name``: how many were renewed."""
    if not ids:
        return 0
    result = session.execute(_RENEW, {"b_ids": list(ids), "b_name": name, "b_until": until})
    return int(getattr(result, "rowcount", 0) or 0)


def give_back(session: Session, name: str, claims: Sequence[Claim]) -> None:
    """Claims never handed to the relay (the sender is stopping): due again as they were before."""
    if not claims:
        return
    session.execute(
        _GIVE_BACK,
        [
            {
                "b_id": claim.id,
                "b_name": name,
                "status": OutboundStatus.DELIVERY_UNKNOWN if claim.after_unknown else OutboundStatus.PENDING,
                "attempts": claim.attempts - 1,
                "lease_until": None,
            }
            for claim in claims
        ],
    )


def permanently_failed_among(session: Session, addrs: Collection[str], now: dt.datetime) -> set[str]:
    """Which of ``addrs`` (lower-cased) had a reply die with a 5xx answer within 60 days.

    The rule of :func:`triage.outbound.ratelimit.recently_failed_permanently`, for a whole batch in
    one query (``ix_outbound_messages_to_addr_created_at``).
    """
    if not addrs:
        return set()
    since = now - dt.timedelta(days=PERMANENT_FAILURE_DAYS)
    stmt = (
        sa.select(_T.c.to_addr)
        .distinct()
        .where(
            _T.c.to_addr.in_(sorted(addrs)),
            _T.c.status == OutboundStatus.DEAD,
            _T.c.last_error.like("5%"),
            _T.c.created_at > since,
        )
    )
    return set(session.scalars(stmt))


def claim_batch(
    session: Session,
    now: dt.datetime,
    *,
    name: str,
    lease_seconds: int,
    domain: str | None,
    window: ReplyWindow,
    instance_id: str,
    limit: int,
    should_stop: Callable[[], bool] | None = None,
) -> Batch:
    """Claim up to ``limit`` due rows, oldest due first; the caller commits.

    Each claim is counted into ``window`` at once, so a later row of the same batch is checked
    against it: a batch lets no more through than the breaker would one by one. Rows that may not
    be tried any more are settled instead and come back in ``settled``. ``should_stop`` is asked
    before each row. A tripped breaker or a stop leaves the rest untouched (at most the chain
    depth of the row the breaker stopped at is filled in).
    """
    batch = Batch()
    if limit <= 0:
        return batch
    stmt = (
        sa.select(*_QUEUED_COLUMNS)
        .where(_T.c.status.in_(CLAIMABLE), _T.c.next_attempt_at <= now)
        .order_by(_T.c.next_attempt_at, _T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = [QueuedRow(*values) for values in session.execute(stmt)]
    batch.exhausted = len(rows) < limit
    if not rows:
        return batch
    checks = _Checks(
        superseded=superseded_reasons(session, rows),
        failed=permanently_failed_among(session, {row.to_addr.lower() for row in rows}, now),
        depths=chain_depths(
            session, {row.inbound_id for row in rows if row.attempts == 0 and row.inbound_id}, instance_id
        ),
    )
    events = CaseEvents()
    claimed: list[dict[str, object]] = []
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    try:
        for row in rows:
            if should_stop is not None and should_stop():
                batch.stopped = True
                break
            batch.considered += 1
            settled = _settle_before_sending(session, row, now, checks, events)
            if settled is not None:
                batch.settled.append(settled)
                checks.settled_cases.add(row.case_id)
                continue
            after_unknown = row.status is OutboundStatus.DELIVERY_UNKNOWN
            depth = row.chain_depth
            if row.attempts == 0:
                depth = checks.depths.get(row.inbound_id or 0, 0)
                if depth != row.chain_depth:
                    session.execute(_BY_ID, {"b_id": row.id, "chain_depth": depth})
            reason = window.trip_reason(row.to_addr, depth)
            if reason is not None:
                batch.breaker = BreakerOpen(reason)
                break
            message_id, raw = row.message_id, row.raw
            try:
                if is_placeholder_id(message_id) and domain is not None:
                    # Queued before a domain was configured; never handed over, so nobody has seen it.
                    message_id = new_message_id(row.id, domain)
                    raw = stamp_message_id(raw, message_id)
                if not after_unknown:
                    # An attempt that may have arrived keeps its bytes, Date included: the same message.
                    raw = stamp_date(raw, now)
            except ComposeError as exc:
                batch.settled.append(
                    _dead(session, row, now, f"not sent: {exc}", reason="not sendable", events=events)
                )
                checks.settled_cases.add(row.case_id)
                continue
            values: dict[str, object] = {
                "b_id": row.id,
                "status": OutboundStatus.SENDING,
                "claimed_by": name,
                "lease_until": lease_until,
                "attempts": row.attempts + 1,
                "raw": raw,
            }
            if message_id != row.message_id:
                session.execute(_BY_ID, {"b_id": row.id, "message_id": message_id})
            claimed.append(values)
            window.add(row.to_addr, depth)
            batch.counted.append((row.to_addr, depth))
            batch.claims.append(Claim(row.id, row.to_addr, raw, row.attempts + 1, after_unknown, depth))
        if claimed:
            session.execute(_BY_ID, claimed)
        events.insert(session)
    except BaseException:
        batch.uncount(window)
        raise
    return batch


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
    """Claim the next due row (:func:`claim_batch` of one); the row settled instead, if it was."""
    batch = claim_batch(
        session,
        now,
        name=name,
        lease_seconds=lease_seconds,
        domain=domain,
        window=window,
        instance_id=instance_id,
        limit=1,
    )
    if batch.claims:
        return batch.claims[0]
    if batch.settled:
        return batch.settled[0]
    return batch.breaker


def _update(session: Session, row: QueuedRow, values: dict[str, object]) -> None:
    session.execute(_BY_ID, {"b_id": row.id, **values})


def _dead(
    session: Session, row: QueuedRow, now: dt.datetime, text: str, *, reason: str, events: CaseEvents
) -> DeliveryResult:
    _update(
        session,
        row,
        {"status": OutboundStatus.DEAD, "lease_until": None, "last_error": text[:REPLY_TEXT_MAX]},
    )
    events.add(row, "reply_dead", now, reason=reason)
    log.error("reply %d dead: %s", row.id, reason)
    return DeliveryResult(row.id, OutboundStatus.DEAD.value, reason)


@dataclass
class _Checks:
    """The checks before sending, made for a whole batch at once."""

    superseded: dict[int, str]
    failed: set[str]
    depths: dict[int, int]
    #: Cases with a row settled in this batch: a newer reply there may no longer replace an older one.
    settled_cases: set[int | None] = field(default_factory=set)

    def superseded_reason(self, session: Session, row: QueuedRow) -> str | None:
        if row.case_id is not None and row.case_id in self.settled_cases:
            return superseded_reason(session, row)  # asked again, after this batch's changes
        return self.superseded.get(row.id)


def _settle_before_sending(
    session: Session, row: QueuedRow, now: dt.datetime, checks: _Checks, events: CaseEvents
) -> DeliveryResult | None:
    superseded = checks.superseded_reason(session, row)
    if superseded is not None:
        _update(
            session, row, {"status": OutboundStatus.SUPERSEDED, "last_error": superseded[:REPLY_TEXT_MAX]}
        )
        events.add(row, "reply_superseded", now, reason=superseded)
        log.info("reply %d superseded (%s)", row.id, superseded)
        return DeliveryResult(row.id, OutboundStatus.SUPERSEDED.value, superseded)
    if now >= row.give_up_at:
        unknown = row.status is OutboundStatus.DELIVERY_UNKNOWN
        text = gave_up_text(row.attempts, row.last_error, unknown=unknown)
        return _dead(session, row, now, text, reason="gave up", events=events)
    problem = address_problem(row.to_addr)
    if problem is not None or not row.raw:
        text = f"not sent: recipient {problem}" if problem else "not sent: nothing composed"
        return _dead(session, row, now, text, reason="not sendable", events=events)
    if row.to_addr.lower() in checks.failed:
        reason = "recipient failed permanently within 60 days"
        _update(session, row, {"status": OutboundStatus.SUPPRESSED, "last_error": reason})
        events.add(row, "reply_suppressed", now, reason=reason)
        log.info("reply %d suppressed (%s)", row.id, reason)
        return DeliveryResult(row.id, OutboundStatus.SUPPRESSED.value, reason)
    return None
