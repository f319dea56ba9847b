"""The reply breaker tells a loop from a busy day (issue 11, deliverable 5), tested both ways.

A renewal day: 3,000 replies to distinct members, most of them at the big carrier domains, went
out in seconds, and the next ones still go out through a real relay on loopback: the breaker
never trips. Loops trip it: many
replies to one address, many replies to one domain that go to a handful of addresses, and a
chain of mail answering our own replies through fresh addresses each time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from relaykit import Relay, free_port
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import FixedClock
from triage.config import Settings
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from triage.outbound.breaker import BreakerLimits, ReplyWindow, load_window
from triage.outbound.chain import chain_depth
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import Sender, SmtpTransport

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
CARRIERS = ("docomo.ne.jp", "ezweb.ne.jp", "icloud.com", "gmail.com", "softbank.ne.jp", "yahoo.co.jp")


@pytest.fixture
def relay() -> Iterator[Relay]:
    made = Relay(free_port()).start()
    try:
        yield made
    finally:
        made.stop()


def settings_for(relay: Relay, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "our_domain": "triage.example",
        "instance_id": "breaker-test",
        "relay": ("127.0.0.1", relay.port),
        "sender_timeout_seconds": 5.0,
        **changes,
    }
    return Settings(**values)


def queue(
    sessions: sessionmaker[Session], settings: Settings, to: str, inbound_id: int | None = None
) -> OutboundMessage:
    with sessions() as session:
        row = enqueue_reply(
            session,
            reply=RenderedReply("queued", "ja", to, "secure_jo1@example.jp", "受付", "本文です。\n"),
            case_id=None,
            inbound_id=inbound_id,
            in_reply_to=None,
            references=(),
            settings=settings,
            now=NOW,
        )
        session.commit()
        return row


def copies(
    sessions: sessionmaker[Session], template: OutboundMessage, addresses: list[str], tag: str, **values: Any
) -> None:
    """Replies like ``template`` to each address (one bulk insert: composing 3,000 is slow)."""
    skip = {"id", "to_addr", "message_id"}
    columns = [c.key for c in OutboundMessage.__table__.columns if c.key not in skip]
    base = {**{key: getattr(template, key) for key in columns}, **values}
    rows = [
        {**base, "to_addr": addr, "message_id": f"r.{tag}{n}.x@triage.example"}
        for n, addr in enumerate(addresses)
    ]
    with sessions() as session:
        session.execute(sa.insert(OutboundMessage), rows)
        session.commit()


def statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        stmt = sa.select(OutboundMessage.status, sa.func.count()).group_by(OutboundMessage.status)
        return {status.value: count for status, count in session.execute(stmt)}


# -- a busy day flows --------------------------------------------------------------------------


def test_a_renewal_day_burst_to_distinct_members_flows(
    sessions: sessionmaker[Session], relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    """3,000 replies to distinct members went out in the last 6 s; the next ones still flow.

    The old flat breaker (500 replies in 10 minutes) stopped such a day at the 500th reply.
    """
    settings = settings_for(relay)
    members = [f"member{n:04d}@{CARRIERS[n % len(CARRIERS)]}" for n in range(3080)]
    first = queue(sessions, settings, members[0])
    burst = {"status": OutboundStatus.SENT, "attempts": 1, "sent_at": NOW - dt.timedelta(seconds=6)}
    copies(sessions, first, members[1:3000], "burst", **burst)
    with sessions() as session:  # the first one went out with the burst too
        session.execute(sa.update(OutboundMessage).where(OutboundMessage.id == first.id).values(**burst))
        session.commit()
    # More members, and members who answered a "please send" reply getting their second reply.
    copies(sessions, first, members[3000:] + members[:20], "next")
    sender = Sender(sessions, settings, SmtpTransport(settings), clock=FixedClock(NOW), name="busy-day")
    caplog.set_level(logging.WARNING, logger="triage")
    results = sender.deliver_due(limit=500)
    assert not sender.breaker_open, sender.breaker_reason
    assert [r.status for r in results] == ["sent"] * 100
    assert statuses(sessions) == {"sent": 3100}
    assert len(relay.handler.received) == 100
    assert "breaker" not in caplog.text
    with sessions() as session:
        window = load_window(session, NOW, BreakerLimits())
    assert sum(window.per_address.values()) == 3100
    assert max(window.per_address.values()) == 2
    assert window.trip_reason("member9999@docomo.ne.jp", 0) is None


def test_the_window_alone_lets_thousands_of_carrier_members_through() -> None:
    window = ReplyWindow(BreakerLimits())
    for n in range(20_000):
        addr = f"m{n}@{CARRIERS[n % len(CARRIERS)]}"
        assert window.trip_reason(addr, 1 if n % 3 else 0) is None
        window.add(addr, 1 if n % 3 else 0)
        if n % 4 == 0:  # a second reply to every fourth member
            assert window.trip_reason(addr, 1) is None
            window.add(addr, 1)


# -- loops trip it -----------------------------------------------------------------------------


def test_many_replies_to_one_address_trip_it() -> None:
    window = ReplyWindow(BreakerLimits(per_address=10))
    for _ in range(9):
        assert window.trip_reason("Loop@Example.jp", 0) is None
        window.add("Loop@Example.jp", 0)
    assert window.trip_reason("loop@example.jp", 0) == "10 replies to one address in 600 s"
    assert window.trip_reason("other@example.jp", 0) is None


def test_a_batch_lets_no_more_through_than_the_breaker_allows(
    sessions: sessionmaker[Session], relay: Relay
) -> None:
    """Twelve replies to one address are due at once: the batch stops where one-by-one would."""
    settings = settings_for(relay, reply_breaker_per_address=4)
    first = queue(sessions, settings, "loop@example.jp")
    copies(sessions, first, ["loop@example.jp"] * 11, "loop")
    sender = Sender(sessions, settings, SmtpTransport(settings), clock=FixedClock(NOW), name="batch")
    results = sender.deliver_due(limit=50)
    assert sender.breaker_reason == "4 replies to one address in 600 s"
    assert [r.status for r in results] == ["sent"] * 3
    assert statuses(sessions) == {"sent": 3, "pending": 9}
    assert len(relay.handler.received) == 3


def test_a_count_taken_back_leaves_the_window_as_it_was() -> None:
    """What a batch counted is taken back when its transaction fails."""
    window = ReplyWindow(BreakerLimits(chain_depth=2))
    window.add("a@example.jp", 0)

    def snapshot() -> tuple[dict[str, int], dict[str, int], dict[str, set[str]], int]:
        addresses = {domain: set(addrs) for domain, addrs in window.addresses.items() if addrs}
        return dict(window.per_address), dict(window.per_domain), addresses, window.deep

    before = snapshot()
    window.add("B@other.example", 3)
    window.add("a@example.jp", 0)
    window.remove("b@other.example", 3)
    window.remove("a@example.jp", 0)
    assert snapshot() == before


def test_a_handful_of_addresses_at_one_domain_trip_it_a_carrier_does_not() -> None:
    limits = BreakerLimits(domain_replies=30, domain_ratio=3.0)
    loop = ReplyWindow(limits)
    for n in range(29):
        addr = f"desk{n % 4}@helpdesk.example.co.jp"
        assert loop.trip_reason(addr, 0) is None, n
        loop.add(addr, 0)
    reason = loop.trip_reason("desk0@helpdesk.example.co.jp", 0)
    assert reason == "30 replies to one domain but only 4 addresses there in 600 s"
    busy = ReplyWindow(limits)
    for n in range(3000):
        busy.add(f"m{n}@docomo.ne.jp", 0)
        busy.add(f"m{n}@docomo.ne.jp", 1)  # everyone twice: still 2 per address
    assert busy.trip_reason("m1@docomo.ne.jp", 1) is None


def _inbound(session: Session, raw: bytes) -> int:
    row = InboundMessage(
        received_at=NOW,
        mail_from="x@example.jp",
        mail_options=[],
        rcpt_tos=["secure_jo1@example.jp"],
        peer="127.0.0.1",
        helo="client",
        smtp_utf8=False,
        tls=False,
        size=len(raw),
        sha256="0" * 64,
        raw=raw,
        has_bare_line_ends=False,
        status=InboundStatus.DONE,
    )
    session.add(row)
    session.flush()
    return row.id


def test_a_chain_of_mail_answering_our_replies_trips_it_through_fresh_addresses(
    sessions: sessionmaker[Session], relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    """An autoresponder answering each reply from a new address: every address is new, the chain grows."""
    settings = settings_for(relay, reply_breaker_chain_replies=3, reply_breaker_chain_depth=2)
    clock = FixedClock(NOW)
    sender = Sender(sessions, settings, SmtpTransport(settings), clock=clock, name="chain")
    previous: str | None = None
    depths: list[int] = []
    caplog.set_level(logging.ERROR, logger="triage")
    for n in range(8):
        head = f"From: ticket{n}@helpdesk.example\r\nSubject: Re\r\nMessage-ID: <t{n}@helpdesk.example>\r\n"
        if previous is not None:
            head += f"In-Reply-To: <{previous}>\r\nReferences: <orig@x> <{previous}>\r\n"
        with sessions() as session:
            inbound_id = _inbound(session, (head + "\r\nありがとうございます\r\n").encode())
            session.commit()
        reply = queue(sessions, settings, f"ticket{n}@helpdesk.example", inbound_id)
        results = sender.deliver_due()
        if sender.breaker_open:
            break
        [result] = results
        assert result.status == "sent"
        sent = load_row(sessions, reply.id)
        depths.append(sent.chain_depth)
        previous = sent.message_id
    assert depths == [0, 1, 2, 3]  # the fifth reply (depth 4) would be the third at depth 2 or more
    assert (
        sender.breaker_reason
        == "3 replies answering mail that answered our replies (2 or more deep) in 600 s"
    )
    assert "reply breaker tripped" in caplog.text
    assert statuses(sessions) == {"sent": 4, "pending": 1}
    # A member answering our "please send" once is depth 1 and flows.
    member = queue(sessions, settings, "member@docomo.ne.jp")
    clock.at = NOW + dt.timedelta(minutes=11)  # the loop's replies have left the window
    assert [r.outbound_id for r in sender.deliver_due()][-1] == member.id
    assert not sender.breaker_open


def load_row(sessions: sessionmaker[Session], row_id: int) -> OutboundMessage:
    with sessions() as session:
        return session.get_one(OutboundMessage, row_id)


def test_chain_depth_reads_our_ids_our_loop_header_and_nothing_else(sessions: sessionmaker[Session]) -> None:
    settings = Settings(our_domain="triage.example", instance_id="breaker-test")
    ours = queue(sessions, settings, "member@example.jp")
    with sessions() as session:
        session.get_one(OutboundMessage, ours.id).chain_depth = 2
        cases = {
            "plain": b"From: a@b.example\r\nSubject: hi\r\n\r\nIn-Reply-To: <"
            + ours.message_id.encode()
            + b">\r\n",
            "answer": b"In-Reply-To: <" + ours.message_id.encode() + b">\r\n\r\nbody",
            "references": b"References: <a@x>\r\n <" + ours.message_id.encode() + b">\r\n\r\nbody",
            "loop header": b"X-Triage-Loop: breaker-test\r\n\r\nbody",
            "auto reply": b"Auto-Submitted: auto-replied; owner=x\r\n\r\nbody",
            "their loop": b"X-Triage-Loop: someone-else\r\n\r\nbody",
            "junk": b"\xff\xfe\x00garbage without headers",
        }
        ids = {name: _inbound(session, raw) for name, raw in cases.items()}
        session.flush()
        got = {name: chain_depth(session, inbound_id, "breaker-test") for name, inbound_id in ids.items()}
        assert chain_depth(session, None, "breaker-test") == 0
        session.rollback()
    assert got == {
        "plain": 0,  # the id is in the body, not in a header
        "answer": 3,
        "references": 3,
        "loop header": 1,
        "auto reply": 1,
        "their loop": 0,
        "junk": 0,
    }
