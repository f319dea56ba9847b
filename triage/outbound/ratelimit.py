"""Send-side guards over the outbox (autoreply.md §1e, §3, §4): pure queries, never a commit.

Counts come from ``outbound_messages`` itself, so limits hold across processes and restarts.
Reasons name the rule that tripped, never the address.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.models import OutboundMessage, OutboundStatus

#: Rows that count against a recipient's rate limit: queued, in flight or delivered.
COUNTED_STATUSES: Final = (
    OutboundStatus.PENDING,
    OutboundStatus.SENDING,
    OutboundStatus.DELIVERY_UNKNOWN,
    OutboundStatus.SENT,
)
PERMANENT_FAILURE_DAYS: Final = 60

# Local parts that never get an automatic answer (Zammad's send_no_auto_response_reg_exp).
_NOREPLY_EXACT: Final = ("mailer-daemon", "mailerdaemon", "postmaster", "abuse", "root")
_NOREPLY_PREFIX: Final = re.compile(r"(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply)")


def _count(session: Session, *conditions: sa.ColumnElement[bool]) -> int:
    stmt = sa.select(sa.func.count()).select_from(OutboundMessage).where(*conditions)
    return int(session.scalar(stmt) or 0)


def rate_limited(
    session: Session, to_addr: str, now: dt.datetime, limits: Sequence[tuple[int, int]]
) -> str | None:
    """The window that one more reply to ``to_addr`` would exceed ("3 replies in 600 s"), or None.

    Sliding windows: rows to the address (lower-cased) that are pending, sending or sent and
    were created within the last ``seconds``; ``count`` of them already means no more.
    """
    addr = to_addr.lower()
    for count, seconds in sorted(limits, key=lambda limit: limit[1]):
        since = now - dt.timedelta(seconds=seconds)
        existing = _count(
            session,
            OutboundMessage.to_addr == addr,
            OutboundMessage.status.in_(COUNTED_STATUSES),
            OutboundMessage.created_at > since,
        )
        if existing >= count:
            return f"{count} replies in {seconds} s"
    return None


def noreply_recipient(addr: str) -> str | None:
    """Why ``addr`` is an address no automatic reply goes to (mailer-daemon, no-reply …), or None."""
    local = addr.rpartition("@")[0] if "@" in addr else addr
    local = local.strip().strip('"').lower()
    base = local.split("+", 1)[0]
    for name in _NOREPLY_EXACT:
        if base == name:
            return f"no-reply recipient ({name})"
    if _NOREPLY_PREFIX.match(base):
        return "no-reply recipient (no-reply local part)"
    return None


def recently_failed_permanently(
    session: Session, to_addr: str, now: dt.datetime, days: int = PERMANENT_FAILURE_DAYS
) -> bool:
    """True if a reply to ``to_addr`` died with a 5xx relay answer within the last ``days``."""
    since = now - dt.timedelta(days=days)
    return (
        _count(
            session,
            OutboundMessage.to_addr == to_addr.lower(),
            OutboundMessage.status == OutboundStatus.DEAD,
            OutboundMessage.last_error.like("5%"),
            OutboundMessage.created_at > since,
        )
        > 0
    )


def reply_guard(
    session: Session,
    to_addr: str,
    now: dt.datetime,
    limits: Sequence[tuple[int, int]],
    days: int = PERMANENT_FAILURE_DAYS,
) -> str | None:
    """Why no reply may be queued to ``to_addr`` now, by the outbox's own rows, or None: the checks
    of :func:`recently_failed_permanently` and :func:`rate_limited` in that order, counted in one
    query over the address's recent rows (``ix_outbound_messages_to_addr_created_at``)."""
    windows = sorted(limits, key=lambda limit: limit[1])
    dead_since = now - dt.timedelta(days=days)
    since = {f"since_{n}": now - dt.timedelta(seconds=seconds) for n, (_, seconds) in enumerate(windows)}
    params: dict[str, object] = {
        "addr": to_addr.lower(),
        "dead_since": dead_since,
        "earliest": guard_horizon(now, limits, days),
        **since,
    }
    found = [int(value) for value in session.execute(_guard_statement(len(windows)), params).one()]
    if found[0] > 0:
        return "recipient failed permanently within 60 days"
    for (count, seconds), existing in zip(windows, found[1:], strict=True):
        if existing >= count:
            return f"reply rate-limited: {count} replies in {seconds} s"
    return None


@dataclass(frozen=True)
class RecentReply:
    """What the reply guard looks at in one outbox row."""

    status: OutboundStatus
    last_error: str | None
    created_at: dt.datetime


#: The rows :func:`guard_from_rows` needs for these addresses (lower-cased) since ``earliest``.
RECENT_REPLIES: Final = sa.select(
    OutboundMessage.to_addr, OutboundMessage.status, OutboundMessage.last_error, OutboundMessage.created_at
).where(
    OutboundMessage.to_addr.in_(sa.bindparam("addrs", expanding=True)),
    OutboundMessage.created_at > sa.bindparam("earliest"),
)


def guard_horizon(
    now: dt.datetime, limits: Sequence[tuple[int, int]], days: int = PERMANENT_FAILURE_DAYS
) -> dt.datetime:
    """How far back :func:`reply_guard` looks at ``now``."""
    return min([now - dt.timedelta(days=days), *(now - dt.timedelta(seconds=s) for _, s in limits)])


def guard_from_rows(
    rows: Sequence[RecentReply],
    now: dt.datetime,
    limits: Sequence[tuple[int, int]],
    days: int = PERMANENT_FAILURE_DAYS,
) -> str | None:
    """:func:`reply_guard`'s answer from the address's rows fetched beforehand (at least those
    created after :func:`guard_horizon`): the same checks, in the same order."""
    dead_since = now - dt.timedelta(days=days)
    if any(
        row.status is OutboundStatus.DEAD
        and (row.last_error or "").startswith("5")
        and row.created_at > dead_since
        for row in rows
    ):
        return "recipient failed permanently within 60 days"
    for count, seconds in sorted(limits, key=lambda limit: limit[1]):
        since = now - dt.timedelta(seconds=seconds)
        existing = sum(1 for row in rows if row.status in COUNTED_STATUSES and row.created_at > since)
        if existing >= count:
            return f"reply rate-limited: {count} replies in {seconds} s"
    return None


@functools.cache
def _guard_statement(windows: int) -> sa.Executable:
    """The guard's query for ``windows`` sliding windows, made once (it runs for every reply)."""

    def counted(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    columns = [
        counted(
            OutboundMessage.status == OutboundStatus.DEAD,
            OutboundMessage.last_error.like("5%"),
            OutboundMessage.created_at > sa.bindparam("dead_since"),
        ),
        *(
            counted(
                OutboundMessage.status.in_(COUNTED_STATUSES),
                OutboundMessage.created_at > sa.bindparam(f"since_{number}"),
            )
            for number in range(windows)
        ),
    ]
    statement: sa.Executable = sa.select(*columns).where(
        OutboundMessage.to_addr == sa.bindparam("addr"), OutboundMessage.created_at > sa.bindparam("earliest")
    )
    return statement
