"""Transport duplicates (ingress.md §5): the same bytes and envelope stored twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import InboundMessage

# Run for every batch, made once.
_COPIES = (
    sa.select(
        InboundMessage.id,
        InboundMessage.sha256,
        InboundMessage.received_at,
        InboundMessage.mail_from,
        InboundMessage.rcpt_tos,
    )
    .where(
        InboundMessage.sha256.in_(sa.bindparam("hashes", expanding=True)),
        InboundMessage.received_at >= sa.bindparam("since"),
    )
    .order_by(InboundMessage.id)
)


class EarlierCopies:
    """Transport duplicates (ingress.md §5): the rows that share bytes with a batch's mails,
    fetched in one query for the whole batch (its own rows among them: a copy earlier in the
    batch counts). "Earlier" means a smaller id, so of two copies the first one stored is always
    the one that is processed, whichever worker sees which copy first."""

    def __init__(self, session: Session, rows: Sequence[InboundMessage], window_days: int) -> None:
        self._window = dt.timedelta(days=window_days)
        self._by_hash: dict[str, list[tuple[int, dt.datetime, str, tuple[str, ...]]]] = {}
        if not rows:
            return
        since = min(row.received_at for row in rows) - self._window
        found = session.execute(_COPIES, {"hashes": sorted({row.sha256 for row in rows}), "since": since})
        for copy_id, sha256, received_at, mail_from, rcpt_tos in found:
            copies = self._by_hash.setdefault(sha256, [])
            copies.append((int(copy_id), received_at, mail_from, tuple(sorted(rcpt_tos))))

    def of(self, row: InboundMessage) -> int | None:
        """The earliest copy of ``row`` stored before it within the window, or None."""
        since = row.received_at - self._window
        key = row.envelope_key()
        for copy_id, received_at, mail_from, rcpt_tos in self._by_hash.get(row.sha256, ()):
            if copy_id >= row.id:
                break
            if received_at >= since and (mail_from, rcpt_tos) == key:
                return copy_id
        return None
