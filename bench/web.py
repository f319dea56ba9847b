"""Server time of the staff pages over 100,000 cases, on SQLite and PostgreSQL.

    .venv/bin/python bench/web.py [--cases N] [--requests N] [--postgres URL | --no-postgres] [--json]

Seeds N cases (default 100,000; a quarter per mailbox, a mix of statuses, one history event
each, a few claims) with one real mail behind each of the first 200, then times through the
in-process client, logged in: the queue page (default filter), a filtered queue page (mailbox +
age + a page further on), "mine", and a case page. Prints median and p99 in milliseconds
(target p99 < 100 ms). PostgreSQL: its own schema in the given database (default: the tests' one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import Case, CaseEvent, CaseStatus, CaseValue, InboundMessage, InboundStatus
from triage.db.staff import CaseClaim, StaffRole
from triage.engine.loader import load_rules
from triage.web.accounts import add_staff
from triage.web.app import create_app
from triage.web.context import WebContext
from triage.web.passwords import parse_parameters, passwords

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MAILBOXES = ("secure_billing", "secure_jo1", "secure_lunasea", "secure_produce101shinsekai")
STATUSES = (CaseStatus.QUEUED,) * 5 + (CaseStatus.NEEDS_INFO,) * 3 + (CaseStatus.RESOLVED,) * 2
PASSWORD = "bench passphrase 1"
BODY = "ログインID:taro_sample77\nメールアドレス:taro{n}@example.jp\n電話番号:090-1111-{n:04d}\n"


def _raw(n: int) -> bytes:
    head = (
        f"From: taro{n}@example.jp\nTo: secure_billing@cc.example.jp\nSubject: help\n"
        f"Message-ID: <b{n}@example.jp>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return (head + BODY.format(n=n % 10000)).replace("\n", "\r\n").encode()


def seed(url: str, count: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    now = SystemClock().now()
    try:
        with session_factory(engine)() as session:
            hasher = passwords(parse_parameters("t=1,m=8192,p=1"))
            staff = add_staff(session, "bench", StaffRole.AGENT, PASSWORD, hasher=hasher, now=now)
            session.flush()
            rows: list[dict[str, object]] = [
                {
                    "reference": f"{n:06X}-B"[-9:],
                    "mailbox": MAILBOXES[n % 4],
                    "status": STATUSES[n % len(STATUSES)].value,
                    "sender": f"member{n}@example.jp",
                    "language": "ja",
                    "created_at": now - dt.timedelta(minutes=(count - n) * 3),
                    "updated_at": now,
                    "reason": "complete",
                    "missing": [],
                    "invalid": [],
                }
                for n in range(count)
            ]
            for start in range(0, count, 5000):
                session.execute(sa.insert(Case), rows[start : start + 5000])
            ids = list(session.scalars(sa.select(Case.id).order_by(Case.id)))
            events = [{"case_id": i, "at": now, "kind": "decided", "detail": {}} for i in ids]
            for start in range(0, len(events), 5000):
                session.execute(sa.insert(CaseEvent), events[start : start + 5000])
            for n, case_id in enumerate(ids[:200]):
                raw = _raw(n)
                inbound = InboundMessage(
                    received_at=now, mail_from=f"taro{n}@example.jp", mail_options=[],
                    rcpt_tos=["secure_billing@cc.example.jp"], peer="bench", helo=None, smtp_utf8=False,
                    tls=False, size=len(raw), sha256=f"{n:064d}", raw=raw, has_bare_line_ends=False,
                    status=InboundStatus.DONE, case_id=case_id,
                )  # fmt: skip
                session.add(inbound)
                session.flush()
                session.add(
                    CaseValue(
                        case_id=case_id, field="login_id", value="taro_sample77", written="taro_sample77",
                        valid=True, reason_ja=None, reason_en=None, source="label", line=1,
                        inbound_id=inbound.id, recorded_at=now, current=True,
                    )
                )  # fmt: skip
            for case_id in ids[1000:count:997]:
                session.add(CaseClaim(case_id=case_id, staff_id=staff.id, claimed_at=now))
            session.commit()
        # What autovacuum / a running service would have done by now: statistics and (PostgreSQL)
        # the visibility map that index-only scans need.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    finally:
        engine.dispose()


def timed(client: TestClient, path: str, requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"bench: {path} answered {response.status_code}")
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
    }


def measure(url: str, count: int, requests: int) -> dict[str, dict[str, float]]:
    seed(url, count)
    settings = Settings.from_env({"TRIAGE_DATABASE_URL": url, "TRIAGE_ARGON2": "t=1,m=8192,p=1"})
    engine = make_engine(url)
    try:
        ctx = WebContext(
            session_factory(engine),
            settings,
            load_rules(settings.rules_dir, settings.replies_dir),
            SystemClock(),
        )
        client = TestClient(create_app(ctx), base_url="https://bench")
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token.group(1)})
        page = client.get("/?status=queued&mailbox=secure_jo1&age=1").text
        after = re.search(r"after=(\d+)", page)
        first_case = re.search(r'href="/cases/(\d+)"', client.get("/?status=all").text)
        assert after is not None and first_case is not None
        paths = {
            "queue": "/",
            "queue filtered": f"/?status=queued&mailbox=secure_jo1&age=1&after={after.group(1)}",
            "queue mine": "/?status=all&mine=1",
            "case": f"/cases/{first_case.group(1)}",
        }
        for path in paths.values():
            client.get(path)  # warm up
        return {name: timed(client, path, requests) for name, path in paths.items()}
    finally:
        engine.dispose()


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    schema = f"triage_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            yield (
                make_url(base)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.cases, args.requests)
    if not args.no_postgres:
        with postgres_schema(args.postgres) as url:
            results["postgresql"] = measure(url, args.cases, args.requests)
    if args.json:
        print(json.dumps({"cases": args.cases, "results": results}))
        return 0
    print(f"{args.cases} cases, {args.requests} requests per page (target p99 < 100 ms)")
    for database, pages in results.items():
        for name, figures in pages.items():
            median, p99 = figures["median_ms"], figures["p99_ms"]
            print(f"  {database:<10} {name:<15} median {median:>6} ms   p99 {p99:>6} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
