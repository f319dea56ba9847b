"""A full run scanned for personal data: nothing the fixture's members wrote reaches a log line or a
list (issue 12 item 6; security.md §3).

Mails carrying known made-up personal values (name, kana, birth date, phone, payment number,
member id, address local parts) go through a real `triage serve` process: SMTP ingress, worker,
sender to a relay on loopback, with encryption at rest on. Then every list an operator has
(`queue list`, `inbound list`, `outbox list`, with and without ``--json``) runs as a real
command, and a staff member views, reveals and searches in the web UI and exports the audit log
as CSV. The service's whole log, every command's output and the web UI's log records are
searched for each value in every form it could take (privacykit.forms).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from privacykit import JO1, KENTA, MIZUHO, SORA, leaks, mail, out_of_office
from servekit import Database, Launcher, Relay, deliver, queued_id, serve_env, wait_until
from starlette.testclient import TestClient

from triage import crypto
from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from triage.db.staff import StaffRole
from triage.engine.loader import load_rules
from triage.web.accounts import add_staff
from triage.web.app import create_app
from triage.web.context import WebContext
from triage.web.passwords import parse_parameters, passwords

pytestmark = [pytest.mark.db, pytest.mark.slow]

KEY = crypto.new_key()
SORA_ICLOUD = dataclasses.replace(SORA, sender="sora.tanabe31@icloud.com")
MEMBERS = (MIZUHO, KENTA, SORA_ICLOUD)
PASSWORD = "correct horse battery staple"
FAST_ARGON2 = "t=1,m=8192,p=1"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LISTS = (["queue", "list"], ["inbound", "list"], ["outbox", "list"])


def personal_values() -> list[str]:
    return [value for member in MEMBERS for value in member.personal()]


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


def statuses(db: Database) -> tuple[list[InboundStatus], list[OutboundStatus]]:
    """Only the status columns: the test's engine has no keys and never opens a sealed value."""
    return db.read(
        lambda session: (
            list(session.scalars(sa.select(InboundMessage.status))),
            list(session.scalars(sa.select(OutboundMessage.status))),
        )
    )


def run_the_desk(launch: Launcher, relay: Relay, url: str) -> tuple[str, Database]:
    """Every kind of mail through a real `triage serve`; its log once it has stopped."""
    server = launch(url, RELAY=relay.address, OUR_DOMAIN="fc-support.example.jp", ENCRYPTION_KEYS=KEY)
    answer = mail(KENTA, "k2@example.jp").replace(b"Subject: ", b"Subject: Re: ", 1)
    deliveries = [
        (MIZUHO, mail(MIZUHO, "m1@example.jp")),  # complete: queued
        (KENTA, mail(KENTA, "k1@example.jp", birth=False)),  # needs_info: asked for the birth date
        (SORA_ICLOUD, mail(SORA_ICLOUD, "s1@example.jp")),  # iCloud: asked for another address
        (MIZUHO, out_of_office(MIZUHO, "m2@example.jp")),  # an auto-reply: ignored
    ]
    for member, raw in deliveries:
        queued_id(deliver(server.port, member.sender, raw, (JO1,)))
    db = Database(url)
    wait_until(lambda: len(relay.handler.received) >= 3, 30, what="three replies at the relay")
    queued_id(deliver(server.port, KENTA.sender, answer, (JO1,)))  # the follow-up with the birth date

    def settled() -> bool:
        inbound, outbound = statuses(db)
        return (
            len(inbound) == 5
            and all(status is InboundStatus.DONE for status in inbound)
            and bool(outbound)
            and all(status is not OutboundStatus.PENDING for status in outbound)
        )

    wait_until(settled, 30, what="every mail processed and every reply sent")
    assert server.stop() == 0
    return server.output, db


def list_outputs(tmp_path: Path, url: str) -> dict[str, str]:
    """Each list as an operator runs it, with and without --json: stdout and stderr."""
    env = serve_env(url, ENCRYPTION_KEYS=KEY)
    outputs = {}
    for argv in LISTS:
        for extra in ([], ["--json"]):
            command = [sys.executable, "-m", "triage", *argv, *extra]
            done = subprocess.run(
                command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
            )
            assert done.returncode == 0, done.stderr
            outputs[" ".join(command[3:])] = done.stdout + done.stderr
    return outputs


def web_session(url: str) -> tuple[str, str]:
    """A staff admin views and reveals every case, searches by phone and address, and exports
    the audit log: (every page and the CSV, the CSV alone)."""
    settings = Settings.from_env(
        {"TRIAGE_DATABASE_URL": url, "TRIAGE_ARGON2": FAST_ARGON2, "TRIAGE_ENCRYPTION_KEYS": KEY}
    )
    engine = make_engine(url, keys=settings.encryption_keys)
    sessions = session_factory(engine)
    try:
        with sessions() as session:
            hasher = passwords(parse_parameters(settings.argon2))
            add_staff(session, "aiko", StaffRole.ADMIN, PASSWORD, hasher=hasher, now=SystemClock().now())
            session.commit()
        rules = load_rules(settings.rules_dir, settings.replies_dir)
        client = TestClient(
            create_app(WebContext(sessions, settings, rules, SystemClock())), base_url="https://testserver"
        )
        form = client.get("/login")
        token = _TOKEN.search(form.text)
        assert token is not None
        response = client.post(
            "/login",
            data={"name": "aiko", "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        pages = []
        for case_id in (1, 2, 3):
            page = client.get(f"/cases/{case_id}")
            assert page.status_code == 200
            csrf = _TOKEN.search(page.text)
            assert csrf is not None
            fields = ["birth_date", "phone", "docomo_payment_number"]
            revealed = client.post(
                f"/cases/{case_id}/reveal", data={"field": fields, "csrf_token": csrf.group(1)}
            )
            assert revealed.status_code == 200
            assert MIZUHO.payment in revealed.text or case_id != 1  # the reveal did show the value
        for query in (MIZUHO.phone, KENTA.registered):
            search = client.get("/search")
            csrf = _TOKEN.search(search.text)
            assert csrf is not None
            found = client.post("/search", data={"q": query, "csrf_token": csrf.group(1)})
            assert found.status_code == 200
            pages.append(found.text)
        exported = client.get("/admin/audit.csv")
        assert exported.status_code == 200
        assert exported.text.count("\r\n") >= 9  # a login, 3 views, 3 reveals, 2 searches
        assert ",reveal," in exported.text and ",search," in exported.text
        return "\n".join(pages), exported.text
    finally:
        engine.dispose()


def test_no_personal_value_in_any_log_line_or_list_of_a_full_run(
    launch: Launcher,
    relay: Relay,
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    log, db = run_the_desk(launch, relay, db_url)
    try:
        assert "worker" in log and "sending replies through" in log  # the log is the service's own
        outputs = list_outputs(tmp_path, db_url)
        with caplog.at_level(logging.DEBUG):
            search_pages, audit_csv = web_session(db_url)
    finally:
        db.close()

    values = personal_values()
    assert leaks(log, values) == [], "the service's log"
    for command, output in outputs.items():
        assert output.strip(), command
        assert leaks(output, values) == [], command
    assert leaks(audit_csv, values) == [], "the audit log's CSV export"
    assert leaks(caplog.text, values) == [], "the web UI's log records"
    # The lists show the members' cases and mails at all (the scan is not of empty output) ...
    assert outputs["queue list --json"].count('"reference"') == 3
    assert outputs["inbound list --json"].count('"received_at"') == 5
    assert outputs["outbox list --json"].count('"template"') >= 3
    # ... and the search results list the cases with the sender masked.
    assert "mi***@example.jp" in search_pages and leaks(search_pages, values) == []
