"""The reply breaker: tells a mail loop from a busy day (autoreply.md §3, issue 11).

A renewal day brings thousands of distinct members within the hour, many at the same big carrier
domains (docomo.ne.jp, ezweb.ne.jp, icloud.com, gmail.com): that must flow at full speed, so no
rule counts raw replies per domain or in all. What trips the breaker is what a loop looks like,
in a sliding window over the replies sent or in flight (counted from ``outbound_messages``, so it
holds across senders and restarts):

- **one address**: ``per_address`` replies to one address (the per-recipient rate limit at
  enqueue allows 3 in 10 minutes; only a loop around it gets this far);
- **one domain, few addresses**: ``domain_replies`` replies to one domain that went to at most
  1/``domain_ratio`` as many distinct addresses (a loop among a handful of mailboxes there;
  a carrier with 3,000 distinct members gets 3,000 replies to 3,000 addresses);
- **replies answering our own mail**: ``chain_replies`` replies at ``chain_depth`` or deeper in
  a chain of mail answering our replies (chain.py) — a loop through fresh addresses each time.

The sender reads the window at most once a second (it holds every reply of the last ten minutes:
thousands on a renewal day) and counts its own claims into it as it makes them, a batch row by
row, so a batch lets through no more than one-by-one claims would.

Tripped, the sender sends nothing (replies stay pending) and says why once per trip; as the
window slides past the loop-shaped replies it closes again by itself. Reasons never name an
address or a domain.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.config import Settings
from triage.db.models import OutboundMessage, OutboundStatus

#: A reply counts once it may have left: being sent, sent, or its outcome unknown.
IN_FLIGHT = (OutboundStatus.SENDING, OutboundStatus.DELIVERY_UNKNOWN)


@dataclass(frozen=True)
class BreakerLimits:
    window_seconds: int = 600
    per_address: int = 10
    domain_replies: int = 30
    domain_ratio: float = 3.0
    chain_replies: int = 5
    chain_depth: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerLimits:
        return cls(
            window_seconds=settings.reply_breaker_window_seconds,
            per_address=settings.reply_breaker_per_address,
            domain_replies=settings.reply_breaker_domain_replies,
            domain_ratio=settings.reply_breaker_domain_ratio,
            chain_replies=settings.reply_breaker_chain_replies,
            chain_depth=settings.reply_breaker_chain_depth,
        )


def _domain(addr: str) -> str:
    return addr.rpartition("@")[2]


@dataclass
class ReplyWindow:
    """The replies of one window, as counts: per address, per domain (and its addresses), deep ones."""

    limits: BreakerLimits
    per_address: Counter[str] = field(default_factory=Counter)
    per_domain: Counter[str] = field(default_factory=Counter)
    addresses: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    deep: int = 0

    def add(self, to_addr: str, depth: int) -> None:
        addr = to_addr.lower()
        domain = _domain(addr)
        self.per_address[addr] += 1
        self.per_domain[domain] += 1
        self.addresses[domain].add(addr)
        if depth >= self.limits.chain_depth:
            self.deep += 1

    def remove(self, to_addr: str, depth: int) -> None:
        """Take back one :meth:`add` (its claim was not committed after all)."""
        addr = to_addr.lower()
        domain = _domain(addr)
        self.per_address[addr] -= 1
        if self.per_address[addr] <= 0:
            del self.per_address[addr]
            self.addresses[domain].discard(addr)
        self.per_domain[domain] -= 1
        if self.per_domain[domain] <= 0:
            del self.per_domain[domain]
        if depth >= self.limits.chain_depth:
            self.deep -= 1

    def trip_reason(self, to_addr: str, depth: int) -> str | None:
        """Why one more reply to ``to_addr`` (at chain ``depth``) would look like a loop, or None."""
        limits = self.limits
        seconds = limits.window_seconds
        addr = to_addr.lower()
        domain = _domain(addr)
        to_one = self.per_address[addr] + 1
        if to_one >= limits.per_address:
            return f"{to_one} replies to one address in {seconds} s"
        to_domain = self.per_domain[domain] + 1
        known = self.addresses.get(domain, set())
        distinct = len(known) + (addr not in known)  # not a copy of thousands of carrier members
        if to_domain >= limits.domain_replies and to_domain >= limits.domain_ratio * distinct:
            return f"{to_domain} replies to one domain but only {distinct} addresses there in {seconds} s"
        if depth >= limits.chain_depth and self.deep + 1 >= limits.chain_replies:
            return (
                f"{self.deep + 1} replies answering mail that answered our replies "
                f"({limits.chain_depth} or more deep) in {seconds} s"
            )
        return None


def load_window(session: Session, now: dt.datetime, limits: BreakerLimits) -> ReplyWindow:
    """The replies sent within the window before ``now``, and those in flight."""
    since = now - dt.timedelta(seconds=limits.window_seconds)
    stmt = sa.select(OutboundMessage.to_addr, OutboundMessage.chain_depth).where(
        sa.or_(
            sa.and_(OutboundMessage.status == OutboundStatus.SENT, OutboundMessage.sent_at > since),
            OutboundMessage.status.in_(IN_FLIGHT),
        )
    )
    window = ReplyWindow(limits)
    for to_addr, depth in session.execute(stmt):
        window.add(to_addr, depth)
    return window
