"""Record what delivery attempts came to (autoreply.md §4), in the caller's transaction.

- accepted → ``sent`` (noted when an earlier attempt's outcome was unknown: the member may have
  it twice);
- the answer to the end of data never came → ``delivery_unknown``: the relay may have it, so it
  is sent again with the same Message-ID after the usual backoff (at least once);
- ``4xx`` or no connection → ``pending`` again after capped exponential backoff with jitter
  (``delivery_unknown`` again if an earlier attempt may have arrived), or ``dead`` past
  ``give_up_at``;
- ``5xx`` → ``dead`` at once, with the relay's answer in ``last_error``.

A batch's outcomes are recorded together (:func:`record_batch`): one SELECT of the rows still
ours, one executemany UPDATE per kind of outcome, one INSERT of their case events. Logs carry
row ids, statuses and reply codes only, never addresses, subjects or bodies.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import CaseEvent, OutboundMessage, OutboundStatus
from triage.errors import PermanentSendError, SendError, UncertainSendError
from triage.outbound.transport import REPLY_TEXT_MAX

if TYPE_CHECKING:
    from triage.outbound.claims import Claim

log = logging.getLogger(__name__)

UNKNOWN_PREFIX: Final = "delivery outcome unknown"
MAYBE_TWICE: Final = (
    "sent again with the same Message-ID after an attempt whose outcome was unknown: "
    "the member may have received it twice"
)
#: A claim's outcome is recorded while the row is ours: sending, or taken over but not yet re-claimed.
_RECORDABLE: Final = (OutboundStatus.SENDING, OutboundStatus.DELIVERY_UNKNOWN)


_T: Final = cast(sa.Table, OutboundMessage.__table__)
_EVENTS: Final = cast(sa.Table, CaseEvent.__table__)
_OURS: Final = (
    sa.select(_T.c.id, _T.c.case_id, _T.c.inbound_id, _T.c.template, _T.c.attempts, _T.c.give_up_at)
    .where(
        _T.c.id.in_(sa.bindparam("b_ids", expanding=True)),
        _T.c.claimed_by == sa.bindparam("b_name"),
        _T.c.status.in_(_RECORDABLE),
    )
    .with_for_update()
)
#: One UPDATE by primary key, run as executemany: the SET columns are the parameters' other keys.
_BY_ID: Final = sa.update(_T).where(_T.c.id == sa.bindparam("b_id"))


@dataclass(frozen=True)
class DeliveryResult:
    """What one pass did with one row: its new status and a short reason (no address)."""

    outbound_id: int
    status: str
    detail: str


@dataclass(frozen=True)
class Outcome:
    """One attempt's outcome: ``error`` None when the relay accepted; ``retry_in`` seconds if retried."""

    claim: Claim
    error: SendError | None
    retry_in: float = 0.0


class EventSource(Protocol):
    """What a case event names of its reply."""

    @property
    def id(self) -> int: ...
    @property
    def case_id(self) -> int | None: ...
    @property
    def inbound_id(self) -> int | None: ...
    @property
    def template(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class CaseEvents:
    """The case events of one transaction's replies, inserted together in one statement."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, row: EventSource, kind: str, at: dt.datetime, **detail: object) -> None:
        """Append to the reply's case history (nothing without a case); ``detail`` names no value."""
        if row.case_id is None:
            return
        self.rows.append(
            {
                "case_id": row.case_id,
                "at": at,
                "kind": kind,
                "inbound_id": row.inbound_id,
                "outbound_id": row.id,
                "detail": {"template": row.template, "attempts": row.attempts, **detail},
            }
        )

    def insert(self, session: Session) -> None:
        if self.rows:
            session.execute(sa.insert(_EVENTS), self.rows)
            self.rows = []


@dataclass(frozen=True, slots=True)
class _Ours:
    id: int
    case_id: int | None
    inbound_id: int | None
    template: str
    attempts: int
    give_up_at: dt.datetime


def reply_code(text: str) -> str | None:
    """The three-digit SMTP code a relay answer starts with ("550 5.1.1 …" → "550"), or None."""
    head, rest = text[:3], text[3:4]
    is_code = len(head) == 3 and head.isascii() and head.isdigit() and head[0] in "2345"
    ends = not rest or not (rest.isalnum() or rest == "_")
    return head if is_code and ends else None


def gave_up_text(attempts: int, last_error: str | None, *, unknown: bool) -> str:
    """Why a row is dead after its last try; says so when an earlier attempt may have arrived."""
    text = f"gave up after {attempts} attempts"
    if last_error:
        text += f"; last error: {last_error}"
    if unknown:
        text = f"{UNKNOWN_PREFIX} (the member may have it); {text}"
    return text[:REPLY_TEXT_MAX]


def record(
    session: Session,
    claim: Claim,
    error: SendError | None,
    now: dt.datetime,
    *,
    name: str,
    retry_in: float,
) -> DeliveryResult:
    """Record ``claim``'s outcome (``error`` None: accepted); ``retry_in`` seconds if it is retried."""
    [result] = record_batch(session, [Outcome(claim, error, retry_in)], now, name=name)
    return result


def record_batch(
    session: Session, outcomes: Sequence[Outcome], now: dt.datetime, *, name: str
) -> list[DeliveryResult]:
    """Record ``outcomes`` of claims ``name`` made, in order; a claim no longer ours is "lost"."""
    if not outcomes:
        return []
    found = session.execute(_OURS, {"b_ids": [outcome.claim.id for outcome in outcomes], "b_name": name})
    ours = {values.id: _Ours(*values) for values in found}
    events = CaseEvents()
    updates: dict[tuple[str, ...], list[dict[str, object]]] = {}
    results: list[DeliveryResult] = []
    for outcome in outcomes:
        row = ours.get(outcome.claim.id)
        if row is None:
            log.error("reply %d: claim lost before the outcome was recorded", outcome.claim.id)
            results.append(DeliveryResult(outcome.claim.id, "lost", "claim lost"))
            continue
        values, result = _settled(row, outcome, now, events)
        values["lease_until"] = None
        values["b_id"] = row.id
        updates.setdefault(tuple(values), []).append(values)
        results.append(result)
    for group in updates.values():
        session.execute(_BY_ID, group)
    events.insert(session)
    return results


def _settled(
    row: _Ours, outcome: Outcome, now: dt.datetime, events: CaseEvents
) -> tuple[dict[str, object], DeliveryResult]:
    error, after_unknown = outcome.error, outcome.claim.after_unknown
    if error is None:
        return _sent(row, now, after_unknown, events)
    if isinstance(error, UncertainSendError):
        return _again(row, now, error.reply_text, outcome.retry_in, events, unknown=True, uncertain=True)
    if isinstance(error, PermanentSendError):
        return _dead(row, now, error.reply_text, after_unknown, events)
    return _again(
        row, now, error.reply_text, outcome.retry_in, events, unknown=after_unknown, uncertain=False
    )


def _sent(
    row: _Ours, now: dt.datetime, after_unknown: bool, events: CaseEvents
) -> tuple[dict[str, object], DeliveryResult]:
    values: dict[str, object] = {
        "status": OutboundStatus.SENT,
        "sent_at": now,
        "last_error": MAYBE_TWICE if after_unknown else None,
    }
    if after_unknown:
        events.add(row, "reply_sent", now, after_unknown_outcome=True)
        log.info(
            "reply %d sent again (attempt %d); an earlier attempt's outcome was unknown", row.id, row.attempts
        )
    else:
        events.add(row, "reply_sent", now)
        log.info("reply %d sent (attempt %d)", row.id, row.attempts)
    return values, DeliveryResult(row.id, OutboundStatus.SENT.value, "sent")


def _dead(
    row: _Ours, now: dt.datetime, text: str, after_unknown: bool, events: CaseEvents
) -> tuple[dict[str, object], DeliveryResult]:
    note = "; an earlier attempt's outcome was unknown (the member may have it)" if after_unknown else ""
    last_error = (text[: REPLY_TEXT_MAX - len(note)] + note)[:REPLY_TEXT_MAX]
    code = reply_code(text)
    events.add(row, "reply_dead", now, reason="relay rejected", code=code)
    log.warning("reply %d dead: relay answered %s", row.id, code or "permanent failure")
    values: dict[str, object] = {"status": OutboundStatus.DEAD, "last_error": last_error}
    return values, DeliveryResult(row.id, OutboundStatus.DEAD.value, text)


def _again(
    row: _Ours,
    now: dt.datetime,
    text: str,
    delay: float,
    events: CaseEvents,
    *,
    unknown: bool,
    uncertain: bool,
) -> tuple[dict[str, object], DeliveryResult]:
    """Try again after ``delay`` (``delivery_unknown`` when the relay may have it), or give up.

    ``uncertain``: this attempt's outcome is unknown; ``unknown``: this one's or an earlier one's.
    """
    code = reply_code(text)
    if now >= row.give_up_at:
        last_error = gave_up_text(row.attempts, text, unknown=unknown)
        events.add(row, "reply_dead", now, reason="gave up", code=code, outcome_unknown=unknown)
        log.warning("reply %d dead: gave up after %d attempts", row.id, row.attempts)
        dead: dict[str, object] = {"status": OutboundStatus.DEAD, "last_error": last_error}
        return dead, DeliveryResult(row.id, OutboundStatus.DEAD.value, last_error)
    status = OutboundStatus.DELIVERY_UNKNOWN if unknown else OutboundStatus.PENDING
    last_error = text[:REPLY_TEXT_MAX]
    if uncertain:
        last_error = f"{UNKNOWN_PREFIX}: {text}"[:REPLY_TEXT_MAX]
    kind = "reply_delivery_unknown" if uncertain else "reply_retry"
    events.add(row, kind, now, code=code, retry_in_seconds=round(delay))
    if uncertain:
        log.warning(
            "reply %d: delivery outcome unknown (%s); sent again in %.0f s",
            row.id,
            code or "no answer",
            delay,
        )
    else:
        log.info("reply %d: temporary failure (%s), retry in %.0f s", row.id, code or "no reply", delay)
    values: dict[str, object] = {
        "status": status,
        "next_attempt_at": now + dt.timedelta(seconds=delay),
        "last_error": last_error,
    }
    return values, DeliveryResult(row.id, status.value, text)
