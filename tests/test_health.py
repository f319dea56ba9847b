"""The operations endpoints in-process (health.py, metrics.py), on SQLite and PostgreSQL: open on
the staff web app without login, readiness of a migrated, an empty and an unreachable database,
queue figures read from the database at scrape time, and the counters' own rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from triage import metrics
from triage.cli import build_parser
from triage.clock import FixedClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundMessage
from triage.engine.loader import load_rules
from triage.errors import ConfigError
from triage.health import Ops, ops_app
from triage.ingress.store import InboundStore
from triage.web.app import create_app
from triage.web.context import WebContext

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def ops_client(url: str, clock: FixedClock | None = None) -> TestClient:
    sessions = session_factory(make_engine(url))
    return TestClient(ops_app(Ops.for_database(sessions, clock or FixedClock(NOW))))


@pytest.mark.db
def test_the_web_app_serves_the_three_endpoints_without_login(migrated_db_url: str) -> None:
    settings = Settings(database_url=migrated_db_url)
    sessions = session_factory(make_engine(migrated_db_url))
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    client = TestClient(
        create_app(WebContext(sessions, settings, rules, FixedClock(NOW))), base_url="https://t"
    )
    assert client.get("/", follow_redirects=False).status_code == 303  # the staff pages stay closed
    health = client.get("/healthz", follow_redirects=False)
    assert (health.status_code, health.text) == (200, "ok\n")
    ready = client.get("/readyz", follow_redirects=False)
    assert (ready.status_code, ready.text) == (200, "ready\n")
    scraped = client.get("/metrics", follow_redirects=False)
    assert scraped.status_code == 200
    assert scraped.headers["cache-control"] == "no-store"
    assert samples(scraped.text)[("triage_database_up", ())] == 1
    assert client.post("/metrics").status_code in {401, 403, 405}  # read-only


@pytest.mark.db
def test_queue_depth_and_oldest_age_come_from_the_database(migrated_db_url: str) -> None:
    sessions = session_factory(make_engine(migrated_db_url))
    store = InboundStore(sessions, now=lambda: NOW - dt.timedelta(seconds=90))
    envelope = ("a@example.jp", ["secure_billing@x.jp"], "1.2.3.4:5", None, False)
    store.insert(b"Subject: a\r\n\r\nx\r\n", *envelope)
    later = InboundStore(sessions, now=lambda: NOW - dt.timedelta(seconds=30))
    later.insert(b"Subject: b\r\n\r\ny\r\n", *envelope)
    figures = samples(ops_client(migrated_db_url).get("/metrics").text)
    assert figures[("triage_inbound_queue_depth", (("status", "pending"),))] == 2
    assert figures[("triage_inbound_queue_depth", (("status", "processing"),))] == 0
    assert figures[("triage_inbound_oldest_unprocessed_age_seconds", ())] == 90
    with sessions.begin() as session:
        session.execute(sa.update(InboundMessage).values(status="done"))
    figures = samples(ops_client(migrated_db_url).get("/metrics").text)
    assert figures[("triage_inbound_queue_depth", (("status", "pending"),))] == 0
    assert figures[("triage_inbound_oldest_unprocessed_age_seconds", ())] == 0


@pytest.mark.db
def test_an_empty_database_is_not_ready(db_url: str) -> None:
    client = ops_client(db_url)
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.text.startswith("database: at no migration, expected ")
    assert "triage db upgrade" in ready.text


def test_an_unreachable_database_is_not_ready_and_the_scrape_still_answers(tmp_path: Path) -> None:
    client = ops_client(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'triage.db'}")
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (503, "database: unreachable (OperationalError)\n")
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    figures = samples(scraped.text)
    assert figures[("triage_database_up", ())] == 0
    assert ("triage_inbound_queue_depth", (("status", "pending"),)) not in figures
    assert ("triage_mail_received_total", ()) in figures


def test_readiness_checks_added_by_roles_are_reported() -> None:
    ops = Ops.for_database(session_factory(make_engine("sqlite://")), FixedClock(NOW))
    ops.probe.add(lambda: "ingress: stopping, not accepting mail")
    problems = ops.probe.problems()
    assert problems[1:] == ["ingress: stopping, not accepting mail"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("550 5.1.1 Recipient address rejected", "unknown_recipient"),
        ("452 4.5.3 Too many recipients", "too_many_recipients"),
        ("451 4.3.0 Temporary failure, please retry", "temporary_failure"),
        ("452 4.3.1 Insufficient system storage", "storage_full"),
        ("421 4.7.0 Too many connections, try again later", "too_many_connections"),
        ("552 Error: Too much mail data", "too_big"),
        ("500 Error: bad syntax", "protocol_error"),
        ("250 2.1.5 OK", None),
        ("250 2.0.0 Queued as 7", None),
    ],
)
def test_smtp_replies_map_to_rejection_reasons(reply: str, reason: str | None) -> None:
    assert metrics.rejection_reason(reply) == reason


def counted(name: str, **labels: str) -> float:
    found = metrics.registry().get_sample_value(name, labels)
    assert found is not None, name
    return found


def test_a_stored_mail_and_a_refusal_move_their_counters() -> None:
    received = counted("triage_mail_received_total")
    too_big = counted("triage_mail_rejected_total", reason="too_big")
    metrics.smtp_reply("250 2.0.0 Queued as 12")
    metrics.smtp_reply("250 2.1.0 OK")
    metrics.smtp_reply("552 5.3.4 message size exceeds fixed maximum message size")
    assert counted("triage_mail_received_total") == received + 1
    assert counted("triage_mail_rejected_total", reason="too_big") == too_big + 1


def test_a_suppressed_reply_counts_only_once_its_transaction_commits(sqlite_url: str) -> None:
    sessions = session_factory(make_engine(sqlite_url))
    start = counted("triage_replies_total", outcome="suppressed")
    with sessions() as session:
        session.execute(sa.text("SELECT 1"))
        metrics.reply_suppressed(session)
        session.rollback()
    assert counted("triage_replies_total", outcome="suppressed") == start
    with sessions() as session:
        session.execute(sa.text("SELECT 1"))
        metrics.reply_suppressed(session)
        session.commit()
        session.execute(sa.text("SELECT 1"))
        session.commit()  # once: a later commit of the same session does not count it again
    assert counted("triage_replies_total", outcome="suppressed") == start + 1


def test_the_metrics_address_from_the_flag_and_the_environment() -> None:
    args = build_parser().parse_args(["serve", "--metrics", "127.0.0.1:9101"])
    assert args.metrics == ("127.0.0.1", 9101)
    assert build_parser().parse_args(["serve"]).metrics is None
    assert Settings.from_env({"TRIAGE_METRICS_LISTEN": ":9100"}).metrics_listen == ("127.0.0.1", 9100)
    assert Settings.from_env({}).metrics_listen is None
    with pytest.raises(ConfigError, match="TRIAGE_METRICS_LISTEN must be HOST:PORT"):
        Settings.from_env({"TRIAGE_METRICS_LISTEN": "9100"})
