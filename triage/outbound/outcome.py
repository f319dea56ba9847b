"""Record what one delivery attempt came to (autoreply.md §4), in the caller's transaction.

- accepted → ``sent`` (noted when an earlier attempt's outcome was unknown: the member may have
  it twice);
- the answer to the end of data never came → ``delivery_unknown``: the relay may have it, so it
  is sent again with the same Message-ID after the usual backoff (at least once);
- ``4xx`` or no connection → ``pending`` again after capped exponential backoff with jitter
  (``delivery_unknown`` again if an earlier attempt may have arrived), or ``dead`` past
  ``give_up_at``;
- ``5xx`` → ``dead`` at once, with the relay's answer in ``last_error``.

Logs carry row ids, statuses and reply codes only, never addresses, subjects or bodies.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy.orm import Session

from triage.cases.service import add_event
from triage.db.models import OutboundMessage, OutboundStatus
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


@dataclass(frozen=True)
class DeliveryResult:
    """What one pass did with one row: its new status and a short reason (no address)."""

    outbound_id: int
    status: str
    detail: str


def reply_code(text: str) -> str | None:
    """The three-digit SMTP code a relay answer starts with ("550 5.1.1 …" → "550"), or None."""
    head, rest = text[:3], text[3:4]
    is_code = len(head) == 3 and head.isascii() and head.isdigit() and head[0] in "2345"
    ends = not rest or not (rest.isalnum() or rest == "_")
    return head if is_code and ends else None


def case_event(session: Session, row: OutboundMessage, kind: str, at: dt.datetime, **detail: object) -> None:
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
    row = session.get(OutboundMessage, claim.id, with_for_update=True)
    if row is None or row.claimed_by != name or row.status not in _RECORDABLE:
        log.error("reply %d: claim lost before the outcome was recorded", claim.id)
        return DeliveryResult(claim.id, "lost", "claim lost")
    row.lease_until = None
    if error is None:
        return _sent(session, row, now, claim.after_unknown)
    if isinstance(error, UncertainSendError):
        return _again(session, row, now, error.reply_text, retry_in, unknown=True, uncertain=True)
    if isinstance(error, PermanentSendError):
        return _dead(session, row, now, error.reply_text, claim.after_unknown)
    return _again(session, row, now, error.reply_text, retry_in, unknown=claim.after_unknown, uncertain=False)


def _sent(session: Session, row: OutboundMessage, now: dt.datetime, after_unknown: bool) -> DeliveryResult:
    row.status = OutboundStatus.SENT
    row.sent_at = now
    row.last_error = MAYBE_TWICE if after_unknown else None
    if after_unknown:
        case_event(session, row, "reply_sent", now, after_unknown_outcome=True)
        log.info(
            "reply %d sent again (attempt %d); an earlier attempt's outcome was unknown", row.id, row.attempts
        )
    else:
        case_event(session, row, "reply_sent", now)
        log.info("reply %d sent (attempt %d)", row.id, row.attempts)
    return DeliveryResult(row.id, OutboundStatus.SENT.value, "sent")


def _dead(
    session: Session, row: OutboundMessage, now: dt.datetime, text: str, after_unknown: bool
) -> DeliveryResult:
    row.status = OutboundStatus.DEAD
    note = "; an earlier attempt's outcome was unknown (the member may have it)" if after_unknown else ""
    row.last_error = (text[: REPLY_TEXT_MAX - len(note)] + note)[:REPLY_TEXT_MAX]
    code = reply_code(text)
    case_event(session, row, "reply_dead", now, reason="relay rejected", code=code)
    log.warning("reply %d dead: relay answered %s", row.id, code or "permanent failure")
    return DeliveryResult(row.id, OutboundStatus.DEAD.value, text)


def _again(
    session: Session,
    row: OutboundMessage,
    now: dt.datetime,
    text: str,
    delay: float,
    *,
    unknown: bool,
    uncertain: bool,
) -> DeliveryResult:
    """Try again after ``delay`` (``delivery_unknown`` when the relay may have it), or give up.

    ``uncertain``: this attempt's outcome is unknown; ``unknown``: this one's or an earlier one's.
    """
    code = reply_code(text)
    if now >= row.give_up_at:
        row.status = OutboundStatus.DEAD
        row.last_error = gave_up_text(row.attempts, text, unknown=unknown)
        case_event(session, row, "reply_dead", now, reason="gave up", code=code, outcome_unknown=unknown)
        log.warning("reply %d dead: gave up after %d attempts", row.id, row.attempts)
        return DeliveryResult(row.id, OutboundStatus.DEAD.value, row.last_error)
    row.status = OutboundStatus.DELIVERY_UNKNOWN if unknown else OutboundStatus.PENDING
    row.next_attempt_at = now + dt.timedelta(seconds=delay)
    row.last_error = text[:REPLY_TEXT_MAX]
    if uncertain:
        row.last_error = f"{UNKNOWN_PREFIX}: {text}"[:REPLY_TEXT_MAX]
    kind = "reply_delivery_unknown" if uncertain else "reply_retry"
    case_event(session, row, kind, now, code=code, retry_in_seconds=round(delay))
    if uncertain:
        log.warning(
            "reply %d: delivery outcome unknown (%s); sent again in %.0f s",
            row.id,
            code or "no answer",
            delay,
        )
    else:
        log.info("reply %d: temporary failure (%s), retry in %.0f s", row.id, code or "no reply", delay)
    return DeliveryResult(row.id, row.status.value, text)
