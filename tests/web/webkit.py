"""Helpers for the staff web tests: a desk with real cases (through `triage ingest`'s pipeline),
staff accounts, and logging in through the real login form. Not a test module."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from triage.clock import Clock, FixedClock, SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.staff import StaffRole
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.ingest import Ingester, discover
from triage.web.accounts import add_staff
from triage.web.app import create_app
from triage.web.context import WebContext
from triage.web.passwords import parse_parameters, passwords

PASSWORD = "correct horse battery staple"
# Small argon2 parameters keep the tests quick; the production defaults are tested on their own.
FAST_ARGON2 = "t=1,m=8192,p=1"
BASE_URL = "https://testserver"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

COMPLETE = (
    "ログインできません。よろしくお願いします。\n"
    "ログインID:taro_sample77\n"
    "メールアドレス:taro@example.jp\n"
    "電話番号:090-1111-2345\n"
    "お支払い方法:クレジットカード\n"
    "クレジットカードの末尾4桁:4321\n"
)
NEEDS_INFO = "ログインできません。\nログインID:hana_sample88\nメールアドレス:hana@example.jp\n"


def mail(body: str, *, sender: str, message_id: str, to: str = "secure_billing@cc.example.jp") -> bytes:
    head = (
        f"From: {sender}\nTo: {to}\nSubject: ログインできません\nMessage-ID: <{message_id}>\n"
        "Date: Fri, 10 May 2024 10:00:00 +0900\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    return (head + "\n" + body).replace("\n", "\r\n").encode("utf-8")


def ingest(sessions: sessionmaker[Session], settings: Settings, rules: RuleSet, folder: Path) -> list[int]:
    """Every .eml in ``folder`` through the whole pipeline; the case id of each, in order."""
    ingester = Ingester(sessions, settings, rules, clock=SystemClock())
    found = discover([str(folder)], settings.max_message_bytes)
    ids = []
    for source in found.sources:
        result = ingester.ingest(source)
        assert result.case_id is not None, result
        ids.append(result.case_id)
    return ids


def add_user(sessions: sessionmaker[Session], name: str, role: str, settings: Settings) -> None:
    hasher = passwords(parse_parameters(settings.argon2))
    with sessions() as session:
        add_staff(session, name, StaffRole(role), PASSWORD, hasher=hasher, now=SystemClock().now())
        session.commit()


def token_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> int:
    """Log in through the form; the status of the POST (303 on success)."""
    form = client.get("/login")
    assert form.status_code == 200
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token_of(form.text)},
        follow_redirects=False,
    )
    return response.status_code


@dataclass
class Desk:
    url: str
    settings: Settings
    rules: RuleSet
    sessions: sessionmaker[Session]
    cases: list[int]
    clock: FixedClock

    def client(self, clock: Clock | None = None) -> TestClient:
        ctx = WebContext(self.sessions, self.settings, self.rules, clock or self.clock)
        return TestClient(create_app(ctx), base_url=BASE_URL)

    def later(self, days: float) -> FixedClock:
        return FixedClock(SystemClock().now() + dt.timedelta(days=days))


def rules_for(settings: Settings) -> RuleSet:
    return load_rules(settings.rules_dir, settings.replies_dir)


@contextmanager
def open_desk(url: str, tmp_path: Path) -> Iterator[Desk]:
    """Case 0: complete (queued); case 1: needs_info. Staff: aiko (admin), ben and cho (agents).

    ``url`` is a migrated database; each test module wraps this in its ``desk`` fixture.
    """
    settings = Settings.from_env({"TRIAGE_DATABASE_URL": url, "TRIAGE_ARGON2": FAST_ARGON2})
    rules = rules_for(settings)
    engine = make_engine(url)
    sessions = session_factory(engine)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail(COMPLETE, sender="taro@example.jp", message_id="t1@example.jp"))
    (folder / "2.eml").write_bytes(mail(NEEDS_INFO, sender="hana@example.jp", message_id="h1@example.jp"))
    cases = ingest(sessions, settings, rules, folder)
    for name, role in (("aiko", "admin"), ("ben", "agent"), ("cho", "agent")):
        add_user(sessions, name, role, settings)
    try:
        yield Desk(url, settings, rules, sessions, cases, FixedClock(SystemClock().now()))
    finally:
        engine.dispose()


# -- a real `triage serve --only web` process on loopback ---------------------------------------

WEB_READY = "staff web UI on"
STARTED = "SIGTERM or Ctrl-C stops"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class WebProcess:
    """``python -m triage serve --only web --web 127.0.0.1:PORT``; output in a log file."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        *,
        extra_env: Mapping[str, str] | None = None,
        smtp_port: int | None = None,
    ) -> None:
        """``--only web``; with ``smtp_port``, the whole service plus ``--web`` on one event loop."""
        self.port = free_port()
        self.log_path = workdir / "web.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
        env.update(
            {"TRIAGE_DATABASE_URL": database_url, "TRIAGE_ARGON2": FAST_ARGON2, **dict(extra_env or {})}
        )
        command = [sys.executable, "-m", "triage", "serve", "--web", f"127.0.0.1:{self.port}"]
        command += ["--smtp", f"127.0.0.1:{smtp_port}"] if smtp_port else ["--only", "web"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while STARTED not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"triage serve exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"triage serve --only web did not start:\n{self.output}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"triage serve ignored SIGTERM:\n{self.output}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def seed_cases(desk: Desk, count: int, *, mailbox: str, days_ago: float = 0, prefix: str = "S") -> list[int]:
    """``count`` queued cases of ``mailbox`` made ``days_ago`` (no mail behind them): queue data."""
    from triage.db.models import Case, CaseStatus

    created = SystemClock().now() - dt.timedelta(days=days_ago)
    with desk.sessions() as session:
        cases = [
            Case(
                reference=f"{prefix}{index:03d}-X{index % 10}",
                mailbox=mailbox,
                status=CaseStatus.QUEUED,
                sender=f"member{index}@example.jp",
                language="ja",
                created_at=created,
                updated_at=created,
                reason="complete",
                missing=[],
                invalid=[],
            )
            for index in range(count)
        ]
        session.add_all(cases)
        session.commit()
        return [case.id for case in cases]
