"""Worker throughput: stored mails processed per second, and time per mail, on SQLite or PostgreSQL.

    .venv/bin/python bench/pipeline.py [--mails N] [--database URL] [--json]

Stores N synthetic members' mails (a third complete, a third incomplete, a third the answers
that complete them, so follow-ups are merged), then drains them with one worker and prints
figures. The database defaults to a temporary SQLite file; to measure PostgreSQL pass the URL of
an empty database (it is migrated and left with the rows, to be dropped by hand).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import Case, InboundMessage
from triage.engine.loader import load_rules
from triage.ingress.store import InboundStore
from triage.worker.loop import Worker

COMPLETE = "ログインID:user_{n}\nメールアドレス:u{n}@example.jp\n電話番号:090-{a:04d}-{b:04d}\n"
PARTIAL = "ログインできません。\nログインID:user_{n}\nメールアドレス:u{n}@example.jp\n"
ANSWER = "電話番号は090-{a:04d}-{b:04d}です。\n"


def mail(n: int, body: str, suffix: str) -> bytes:
    head = (
        f"From: u{n}@example.jp\nTo: secure_billing@cc.example.jp\nSubject: login\n"
        f"Message-ID: <{n}.{suffix}@example.jp>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    text = body.format(n=n, a=n // 10000, b=n % 10000)
    return (head + "\n" + text).replace("\n", "\r\n").encode("utf-8")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=1500)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        settings = Settings(database_url=url, reply_rate_limits=((10**6, 600),))
        rules = load_rules(settings.rules_dir, settings.replies_dir)
        store = InboundStore(sessions)
        third = args.mails // 3
        stored = time.perf_counter()
        for n in range(third):
            store.insert(
                mail(n, COMPLETE, "a"), f"u{n}@example.jp", ["secure_billing@cc.example.jp"], "b", None, False
            )
        for n in range(third, 2 * third):
            store.insert(
                mail(n, PARTIAL, "a"), f"u{n}@example.jp", ["secure_billing@cc.example.jp"], "b", None, False
            )
        for n in range(third, 2 * third):
            store.insert(
                mail(n, ANSWER, "b"), f"u{n}@example.jp", ["secure_billing@cc.example.jp"], "b", None, False
            )
        store_seconds = time.perf_counter() - stored
        worker = Worker(sessions, settings, rules, clock=SystemClock())
        timings: list[float] = []
        began = time.perf_counter()
        while True:
            start = time.perf_counter()
            if not worker.run_batch():
                break
            timings.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
        with sessions() as session:
            cases = session.scalar(sa.select(sa.func.count()).select_from(Case))
            done = session.scalar(
                sa.select(sa.func.count()).select_from(InboundMessage).where(InboundMessage.status == "done")
            )
        engine.dispose()
    figures = {
        "database": engine.dialect.name,
        "mails": len(timings),
        "processed_done": done,
        "cases": cases,
        "store_per_second": round(len(timings) / store_seconds, 1),
        "worker_per_second": round(len(timings) / elapsed, 1),
        "median_ms": round(statistics.median(timings) * 1000, 2),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 2),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
