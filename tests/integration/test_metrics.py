"""/metrics, /healthz and /readyz of real `triage serve` processes after real SMTP traffic.

SQLite: one process with every part and the web UI; its web port and its --metrics listener
show the same counters. PostgreSQL: ingress, worker and sender as separate processes, each
scraped on its own listener: each shows what its own role did. Mail goes in with smtplib and
replies out to a real aiosmtpd relay on loopback.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from servekit import (
    MAILBOX,
    Database,
    Launcher,
    Relay,
    complete_mail,
    deliver,
    free_port,
    queued_id,
    smtp_client,
    wait_until,
)

from triage.db.models import InboundMessage

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

MEMBER = "hanako@example.jp"


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    started = Relay().start()
    try:
        yield started
    finally:
        started.stop()


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET; 4xx/5xx are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read().decode()


def scrape(base: str) -> Samples:
    """Every sample of ``base``/metrics, parsed by prometheus-client's own text parser."""
    status, content_type, body = get(f"{base}/metrics")
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def decisions(url: str) -> Counter[str]:
    """The verdict of every stored mail, as the database has it."""
    db = Database(url)
    try:
        return Counter(db.read(lambda session: list(session.scalars(sa.select(InboundMessage.decision)))))
    finally:
        db.close()


def incomplete_mail(sender: str, message_id: str) -> bytes:
    """A mail to secure_billing with no phone number and no login id: needs_info."""
    head = (
        f"From: {sender}\r\nTo: {MAILBOX}\r\nSubject: =?UTF-8?B?5pWZ44GI44Gm?=\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    )
    return (head + "\r\n" + "ログインできません。よろしくお願いします。\r\n").encode()


def auto_reply(sender: str, message_id: str) -> bytes:
    """An out-of-office answer: ignored, no reply of ours."""
    return (
        f"From: {sender}\r\nTo: {MAILBOX}\r\nSubject: Out of office\r\nMessage-ID: <{message_id}>\r\n"
        "Auto-Submitted: auto-replied\r\nDate: Sat, 21 Nov 2026 10:00:00 +0900\r\n\r\nAway.\r\n"
    ).encode()


def test_one_serve_process_counts_mail_in_decisions_and_replies_on_both_endpoints(
    tmp_path: Path, launch: Launcher, relay: Relay
) -> None:
    web, ops = free_port(), free_port()
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    serve = launch(
        url,
        only=("ingress", "worker", "sender", "web"),
        RELAY=relay.address,
        OUR_DOMAIN="cc.example.jp",
        WEB_LISTEN=f"127.0.0.1:{web}",
        METRICS_LISTEN=f"127.0.0.1:{ops}",
    )
    web_base, ops_base = f"http://127.0.0.1:{web}", f"http://127.0.0.1:{ops}"
    before = scrape(web_base)
    assert value(before, "triage_mail_received_total") == 0
    assert value(before, "triage_database_up") == 1
    assert value(before, "triage_reply_breaker_open") == 0

    queued_id(deliver(serve.port, MEMBER, complete_mail(MEMBER, "m.1@example.jp")))
    queued_id(deliver(serve.port, "jiro@example.jp", incomplete_mail("jiro@example.jp", "m.2@example.jp")))
    queued_id(deliver(serve.port, "away@example.jp", auto_reply("away@example.jp", "m.3@example.jp")))
    with smtp_client(serve.port) as smtp:
        assert smtp.mail(MEMBER)[0] == 250
        assert smtp.rcpt("info@cc.example.jp")[0] == 550
        assert smtp.rcpt("secure_nosuch@cc.example.jp")[0] == 550

    def settled() -> Samples | None:
        now = scrape(ops_base)
        depth = "triage_inbound_queue_depth"
        unfinished = sum(value(now, depth, status=s) for s in ("pending", "processing"))
        done = value(now, "triage_replies_total", outcome="sent") >= 2
        return now if done and unfinished == 0 else None

    after = wait_until(settled, 60, what="every mail decided, two replies sent")
    assert value(after, "triage_mail_received_total") == 3
    assert value(after, "triage_mail_rejected_total", reason="unknown_recipient") == 2
    # Each verdict counted once, as the database has it (on a starved machine a reading budget
    # may run out and change a verdict; the counters must still tell the truth).
    assert sum(decisions(url).values()) == 3
    for verdict, count in decisions(url).items():
        assert value(after, "triage_mail_decided_total", verdict=verdict) == count, verdict
    assert value(after, "triage_mail_processing_seconds_count") == 3
    assert value(after, "triage_replies_total", outcome="sent") == 2
    assert value(after, "triage_replies_total", outcome="dead") == 0
    assert value(after, "triage_inbound_oldest_unprocessed_age_seconds") == 0
    assert value(after, "triage_outbox_queue_depth", status="pending") == 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert len(relay.handler.received) == 2
    # The web port shows the same process: the same counters, without a login.
    on_web = scrape(web_base)
    for name, labels in (("triage_mail_received_total", {}), ("triage_replies_total", {"outcome": "sent"})):
        assert value(on_web, name, **labels) == value(after, name, **labels)
    for base in (web_base, ops_base):
        assert get(f"{base}/healthz")[::2] == (200, "ok\n")
        assert get(f"{base}/readyz")[::2] == (200, "ready\n")
    assert serve.stop() == 0


def test_each_role_in_its_own_process_shows_its_own_work(
    postgres_db: tuple[str, str], launch: Launcher, relay: Relay
) -> None:
    url = postgres_db[0]
    ports = {role: free_port() for role in ("ingress", "worker", "sender")}
    started = {
        role: launch(
            url,
            only=(role,),
            METRICS_LISTEN=f"127.0.0.1:{port}",
            RELAY=relay.address,
            OUR_DOMAIN="cc.example.jp",
        )
        for role, port in ports.items()
    }
    ingress = started["ingress"]
    base = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}

    for n in range(3):
        sender = f"member{n}@example.jp"
        queued_id(deliver(ingress.port, sender, complete_mail(sender, f"r.{n}@example.jp")))

    def sent() -> Samples | None:
        now = scrape(base["sender"])
        return now if value(now, "triage_replies_total", outcome="sent") == 3 else None

    on_sender = wait_until(sent, 60, what="three replies sent")
    on_ingress, on_worker = scrape(base["ingress"]), scrape(base["worker"])
    assert value(on_ingress, "triage_mail_received_total") == 3
    assert value(on_worker, "triage_mail_received_total") == 0
    assert sum(decisions(url).values()) == 3
    for verdict, count in decisions(url).items():
        assert value(on_worker, "triage_mail_decided_total", verdict=verdict) == count, verdict
        assert value(on_ingress, "triage_mail_decided_total", verdict=verdict) == 0
    assert value(on_sender, "triage_reply_breaker_open") == 0
    assert ("triage_smtp_sessions", ()) in on_ingress
    assert ("triage_smtp_sessions", ()) not in on_worker
    # The queues are read from the database: every role sees the same.
    for samples in (on_ingress, on_worker, on_sender):
        assert value(samples, "triage_inbound_queue_depth", status="pending") == 0
        assert value(samples, "triage_outbox_queue_depth", status="pending") == 0
    for role_base in base.values():
        assert get(f"{role_base}/readyz")[::2] == (200, "ready\n")
        assert get(f"{role_base}/healthz")[0] == 200
        assert get(f"{role_base}/")[0] == 404  # nothing else on this listener
