"""Reply sender throughput: a renewal-day burst to distinct members, against the relay's own speed.

    .venv/bin/python bench/sender.py [--replies N] [--cases] [--window N] [--pass-limit N]
                                     [--database URL] [--json]

Queues N replies to distinct members (spread over the big carrier domains, as on a renewal day),
then delivers them with one sender (claims, leases, the loop breaker, outcomes recorded) to a
sink relay (aiosmtpd's ``Sink``, in a process of its own on loopback). The baseline, in the same
run and against the same relay, is bare smtplib sending the same N messages over one connection
with no database at all; it runs before and after the sender and the mean is used. Prints
replies/s, the baseline's messages/s, the ratio, this process's CPU milliseconds per reply (the
sender's threads; the relay and the database server are other processes) beside the baseline's,
and whether the breaker ever opened (it must not).

Passes of ``--pass-limit`` replies (50, as ``triage serve`` makes them), the relay connection
kept from pass to pass as ``serve`` keeps it. ``--window N`` puts N replies sent three minutes
earlier in the outbox first (a renewal day under way: the loop breaker's window holds them).

``--cases`` gives every reply what a renewal day's replies have: the member's mail it answers
(``inbound_messages``) and a case whose verdict it answers (``cases``, with the ``reply_queued``
event), so the checks before sending (superseded? chain depth for the breaker) and the case
events of the outcomes are measured too.

``--database`` with a PostgreSQL URL runs in a fresh database made (and dropped) next to the one
the URL names, so the outbox holds only the bench's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from netkit import free_port, postgres_scratch

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply
from triage.outbound.sender import Sender, SmtpTransport

CARRIERS = ("docomo.ne.jp", "ezweb.ne.jp", "icloud.com", "gmail.com", "softbank.ne.jp", "yahoo.co.jp")


def start_sink(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-l",
        f"127.0.0.1:{port}",
        "-c",
        "aiosmtpd.handlers.Sink",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the sink relay did not start")


def queue(url: str, settings: Settings, count: int, member: str = "member") -> bytes:
    """``count`` pending replies to distinct members; the composed bytes of the first."""
    sessions = session_factory(make_engine(url))
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        first = enqueue_reply(
            session,
            reply=RenderedReply(
                "queued", "ja", f"{member}0@docomo.ne.jp", "secure_jo1@example.jp", "受付", "本文\n"
            ),
            case_id=None,
            inbound_id=None,
            in_reply_to=None,
            references=(),
            settings=settings,
            now=now,
        )
        session.flush()
        skip = {"id", "to_addr", "message_id"}
        base = {c.key: getattr(first, c.key) for c in OutboundMessage.__table__.columns if c.key not in skip}
        rows = [
            {
                **base,
                "to_addr": f"{member}{n}@{CARRIERS[n % len(CARRIERS)]}",
                "message_id": f"r.{member}{n}.x@triage.example",
            }
            for n in range(1, count)
        ]
        if rows:
            session.execute(sa.insert(OutboundMessage), rows)
        session.commit()
        return first.raw


def already_sent(url: str) -> None:
    """Every reply queued so far was sent three minutes ago (the breaker's window holds them)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        sent_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
        connection.execute(
            sa.update(OutboundMessage).values(status=OutboundStatus.SENT, attempts=1, sent_at=sent_at)
        )
    engine.dispose()


def attach_cases(url: str) -> None:
    """Give every queued reply the member's mail it answers and its case (status ``queued``)."""
    sessions = session_factory(make_engine(url))
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        stmt = (
            sa.select(OutboundMessage.id, OutboundMessage.to_addr)
            .where(OutboundMessage.status == OutboundStatus.PENDING)
            .order_by(OutboundMessage.id)
        )
        replies = session.execute(stmt).all()
        mails = []
        for n, (_, to_addr) in enumerate(replies):
            raw = (
                f"From: {to_addr}\r\nTo: secure_jo1@example.jp\r\nSubject: renewal\r\n"
                f"Message-ID: <m{n}.bench@{to_addr.partition('@')[2]}>\r\n"
                f"Date: Mon, 7 Dec 2026 09:00:00 +0900\r\n\r\nbody\r\n"
            ).encode("ascii")
            mails.append(
                {
                    "received_at": now,
                    "mail_from": to_addr,
                    "mail_options": [],
                    "rcpt_tos": ["secure_jo1@example.jp"],
                    "peer": "127.0.0.1",
                    "helo": "bench",
                    "smtp_utf8": False,
                    "tls": False,
                    "size": len(raw),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                    "raw": raw,
                    "has_bare_line_ends": False,
                    "status": InboundStatus.DONE,
                }
            )
        inbound_ids = list(
            session.scalars(
                sa.insert(InboundMessage).returning(InboundMessage.id, sort_by_parameter_order=True), mails
            )
        )
        cases = [
            {
                "reference": f"B{n}",
                "mailbox": "secure_jo1",
                "status": CaseStatus.QUEUED,
                "sender": to_addr,
                "language": "ja",
                "created_at": now,
                "updated_at": now,
                "reason": "complete",
                "missing": [],
                "invalid": [],
            }
            for n, (_, to_addr) in enumerate(replies)
        ]
        case_ids = list(
            session.scalars(sa.insert(Case).returning(Case.id, sort_by_parameter_order=True), cases)
        )
        session.execute(
            sa.update(OutboundMessage),
            [
                {"id": reply_id, "case_id": case_id, "inbound_id": inbound_id}
                for (reply_id, _), case_id, inbound_id in zip(replies, case_ids, inbound_ids, strict=True)
            ],
        )
        session.execute(
            sa.insert(CaseEvent),
            [
                {
                    "case_id": case_id,
                    "at": now,
                    "kind": "reply_queued",
                    "inbound_id": inbound_id,
                    "outbound_id": reply_id,
                    "detail": {"template": "queued", "reason": None, "decision": "queued"},
                }
                for (reply_id, _), case_id, inbound_id in zip(replies, case_ids, inbound_ids, strict=True)
            ],
        )
        session.commit()


def baseline(port: int, raw: bytes, count: int) -> tuple[float, float]:
    """Messages per second of bare smtplib over one connection to the same relay, and its CPU s."""
    started, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for n in range(count):
            client.sendmail("", [f"member{n}@{CARRIERS[n % len(CARRIERS)]}"], raw)
    return count / (time.perf_counter() - started), time.process_time() - cpu


@contextmanager
def database(url: str | None, folder: str) -> Iterator[str]:
    """A temporary SQLite file, or a fresh PostgreSQL database beside ``url``'s (dropped after)."""
    if url is None or not url.startswith("postgresql"):
        yield url or f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    with postgres_scratch(url, "triage_sender") as scratch:
        yield scratch


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--cases", action="store_true", help="replies with their mail and case")
    parser.add_argument("--pass-limit", type=int, default=50, help="replies per pass (serve: 50)")
    parser.add_argument("--window", type=int, default=0, help="replies sent 3 minutes before")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as folder, database(args.database, folder) as url:
            upgrade(url)
            settings = Settings(our_domain="triage.example", relay=("127.0.0.1", port), database_url=url)
            if args.window:
                queue(url, settings, args.window, member="earlier")
                already_sent(url)
            raw = queue(url, settings, args.replies)
            if args.cases:
                attach_cases(url)
            before, before_cpu = baseline(port, raw, args.replies)
            engine = make_engine(url)
            sender = Sender(session_factory(engine), settings, SmtpTransport(settings), clock=SystemClock())
            sender.keep_connection = True  # as `serve` does from one busy pass to the next
            breaker_opened = False
            sent = 0
            started, cpu = time.perf_counter(), time.process_time()
            while batch := sender.deliver_due(limit=args.pass_limit):
                breaker_opened |= sender.breaker_open
                sent += sum(result.status == "sent" for result in batch)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            sender.close()
            engine.dispose()
            after, after_cpu = baseline(port, raw, args.replies)
    finally:
        sink.terminate()
        sink.wait(10)
    relay_rate = (before + after) / 2
    figures = {
        "database": url.partition(":")[0] if args.database else "sqlite",
        "replies": args.replies,
        "cases": args.cases,
        "pass_limit": args.pass_limit,
        "window": args.window,
        "sent": sent,
        "seconds": round(seconds, 2),
        "replies_per_second": round(sent / seconds, 1),
        "baseline_smtplib_per_second": round(relay_rate, 1),
        "ratio": round(sent / seconds / relay_rate, 2),
        "cpu_ms_per_reply": round(cpu * 1000 / max(sent, 1), 3),
        "baseline_cpu_ms_per_message": round((before_cpu + after_cpu) * 1000 / (2 * args.replies), 3),
        "breaker_opened": breaker_opened,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"sender: {figures['sent']} of {args.replies} replies in {figures['seconds']} s = "
            f"{figures['replies_per_second']}/s; bare smtplib to the same relay "
            f"{figures['baseline_smtplib_per_second']}/s "
            f"(ratio {figures['ratio']}); CPU {figures['cpu_ms_per_reply']} ms per reply "
            f"(bare smtplib {figures['baseline_cpu_ms_per_message']} ms); breaker opened: {breaker_opened}"
        )
    return 0 if sent == args.replies and not breaker_opened else 1


if __name__ == "__main__":
    raise SystemExit(main())
