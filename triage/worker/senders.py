"""Keys for a mail's sender: PostgreSQL's sender locks, and the worker's rule for when a batch's
unflushed rows could be read by a later mail of the batch."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import Case
from triage.decide import Decision
from triage.verdict import reply_recipient
from triage.worker.reading import Reading

MAKES_CASE = (Decision.NEEDS_INFO, Decision.ICLOUD_REJECTED, Decision.QUEUED)
# session.info key: the sender locks lock_senders took (the worker's batch session lasts one transaction).
_LOCKED = "triage.sender_locks"


# The advisory locks of several keys, taken in the order of the locks' own numbers.
_LOCK_IN_ORDER = sa.text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"
)


def _sender_key(mailbox: str, sender: str | None) -> str:
    return f"triage-case:{mailbox}:{(sender or '').lower()}"


def sender_key(reading: Reading) -> str:
    """The reply address whose rows deciding this mail reads (its cases in any mailbox, and the
    replies to it that the reply guard counts across mailboxes), lower-cased."""
    return (reply_recipient(reading.mail) or "").lower()


def case_key(case: Case) -> str:
    """:func:`sender_key` of the mails that reach ``case`` by their sender."""
    return case.sender.lower()


def threaded(reading: Reading) -> bool:
    """Whether the mail names other mails (In-Reply-To, References): its case may be found by them."""
    return bool(reading.mail.in_reply_to or reading.mail.references)


def lock_senders(session: Session, readings: list[Reading]) -> None:
    """PostgreSQL: take the sender locks of a batch's mails up front, in one order (the locks'
    own), so two workers' batches never wait on each other in a cycle (see :func:`_lock_sender`)."""
    keys = sorted(
        {
            _sender_key(reading.verdict.route.mailbox, reply_recipient(reading.mail))
            for reading in readings
            if reading.verdict.decision in MAKES_CASE and reading.verdict.route.mailbox is not None
        }
    )
    if not keys:
        return
    session.execute(_LOCK_IN_ORDER, {"keys": keys})
    session.info.setdefault(_LOCKED, set()).update(keys)


def lock_sender(session: Session, mailbox: str, sender: str | None) -> None:
    """PostgreSQL: serialise the case work of one sender and mailbox across workers.

    Two mails of one member processed at once by two workers must not open two cases. SQLite
    has one writer at a time already (the worker's transaction begins IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = _sender_key(mailbox, sender)
    if key in session.info.get(_LOCKED, ()):
        return  # taken for the whole batch already (held until its transaction ends)
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
