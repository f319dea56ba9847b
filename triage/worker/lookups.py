"""What deciding a batch's mails reads about their senders, fetched once for the whole batch.

Three questions nearly every mail asks are answered from rows fetched in three queries at the
start of the batch's write transaction, for all its senders together, instead of three queries
a mail: the case waiting for the sender (autoreply.md §5 rule 4), an open case that already
holds the same text from the sender (an identical re-submission), and the sender's recent
replies (the reply guard). An answer stays good for a mail while no earlier mail of the batch
has written rows of that sender; the worker marks each sender a mail writes for (its own, and
the sender of a case it joined by thread or reference: the same keys as its flush rule), and
for a marked sender the live query runs instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.cases.followup import WAITING_STATUSES
from triage.config import Settings
from triage.db.models import Case, CaseStatus, InboundMessage
from triage.outbound.ratelimit import RECENT_REPLIES, RecentReply, guard_horizon

_WAITING = (
    sa.select(Case)
    .where(  # the mailboxes too, so ix_cases_mailbox_sender_status serves it
        Case.mailbox.in_(sa.bindparam("mailboxes", expanding=True)),
        Case.sender.in_(sa.bindparam("senders", expanding=True)),
        Case.status.in_(WAITING_STATUSES),
        Case.updated_at >= sa.bindparam("since"),
    )
    .order_by(Case.updated_at.desc(), Case.id.desc())
)
_SAME_TEXT = (
    sa.select(InboundMessage.id, InboundMessage.text_hash, Case)
    .join(Case, InboundMessage.case_id == Case.id)
    .where(
        InboundMessage.text_hash.in_(sa.bindparam("digests", expanding=True)),
        Case.sender.in_(sa.bindparam("senders", expanding=True)),
        Case.status != CaseStatus.RESOLVED,
    )
    .order_by(Case.id.desc())
)


class SenderRows:
    """The batch's senders' waiting cases, same-text cases and recent replies (see the module)."""

    def __init__(
        self,
        session: Session,
        senders: Sequence[tuple[str, str, str]],
        *,
        now: dt.datetime,
        settings: Settings,
    ) -> None:
        """``senders``: (mailbox, lower-cased reply address, digest of the mail's own text) per mail."""
        self._touched: set[str] = set()
        mailboxes = sorted({mailbox for mailbox, addr, _ in senders if addr})
        addrs = sorted({addr for _, addr, _ in senders if addr})
        digests = sorted({digest for _, addr, digest in senders if addr})
        self._waiting: dict[tuple[str, str], list[Case]] = {}
        self._same: dict[tuple[str, str, str], list[tuple[int, Case]]] = {}
        self._replies: dict[str, list[RecentReply]] = {}
        if not addrs:
            return
        since = now - dt.timedelta(days=settings.followup_max_age_days)
        keys = {"mailboxes": mailboxes, "senders": addrs, "since": since}
        for case in session.scalars(_WAITING, keys):
            self._waiting.setdefault((case.mailbox, case.sender), []).append(case)
        for inbound_id, digest, case in session.execute(_SAME_TEXT, {"digests": digests, "senders": addrs}):
            self._same.setdefault((digest or "", case.mailbox, case.sender), []).append((inbound_id, case))
        earliest = guard_horizon(now, settings.reply_rate_limits)
        for to_addr, status, last_error, created_at in session.execute(
            RECENT_REPLIES, {"addrs": addrs, "earliest": earliest}
        ):
            self._replies.setdefault(to_addr, []).append(RecentReply(status, last_error, created_at))

    def touch(self, sender: str) -> None:
        """An earlier mail of the batch wrote rows of ``sender``: ask the database from now on."""
        self._touched.add(sender)

    def fresh(self, sender: str) -> bool:
        """Whether the rows fetched for ``sender`` (lower-cased) still answer for it."""
        return bool(sender) and sender not in self._touched

    def waiting_case(self, mailbox: str, sender: str, since: dt.datetime) -> Case | None:
        """followup's rule 4 for a fresh sender: its newest waiting case updated since ``since``."""
        for case in self._waiting.get((mailbox, sender), ()):
            if case.updated_at >= since:
                return case
        return None

    def identical(self, mailbox: str, sender: str, digest: str, exclude_inbound_id: int) -> Case | None:
        """followup.identical_submission for a fresh sender."""
        for inbound_id, case in self._same.get((digest, mailbox, sender), ()):
            if inbound_id != exclude_inbound_id:
                return case
        return None

    def replies(self, to_addr: str) -> list[RecentReply]:
        """The recent outbox rows to a fresh sender's address, for ratelimit.guard_from_rows."""
        return self._replies.get(to_addr, [])
