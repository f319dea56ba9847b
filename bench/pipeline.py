"""Worker throughput: stored mail decided per second (case written, reply queued), and where the
time goes, on SQLite or PostgreSQL.

    .venv/bin/python bench/pipeline.py [--mails N] [--database URL] [--workers K] [--batch N] [--json]

N synthetic members' mails are stored (a third complete, a third incomplete, a third the answers
that complete them, so follow-ups are merged into their cases), then one worker drains them and
the time per mail is printed split into parse, read (screening, extraction, verdict), decide
(the case), reply (render, guards, compose, outbox row) and write (claims, leases, commits).

The baseline, measured in the same run on the same mails, is a bare parse (the stdlib's
``email.message_from_bytes``): the ratio says how many bare parses one decided mail costs.

``--database`` takes a PostgreSQL server URL; each round runs in a schema of its own (created,
migrated, dropped). With ``--workers K`` (PostgreSQL) the mails are then decided again by K
worker processes on a fresh schema, and the speed-up over one process is printed. SQLite runs
in a temporary file and has one worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import hashlib
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.db.models import Case, InboundMessage, OutboundMessage
from triage.engine.loader import load_rules
from triage.worker.loop import Worker
from triage.worker.phases import PHASES

COMPLETE = "ログインID:user_{n}\nメールアドレス:u{n}@example.jp\n電話番号:090-{a:04d}-{b:04d}\n"
PARTIAL = "ログインできません。\nログインID:user_{n}\nメールアドレス:u{n}@example.jp\n"
ANSWER = "電話番号は090-{a:04d}-{b:04d}です。\n"
MAILBOX = "secure_billing@cc.example.jp"


def mail(n: int, body: str, suffix: str) -> bytes:
    head = (
        f"From: u{n}@example.jp\nTo: {MAILBOX}\nSubject: login\n"
        f"Message-ID: <{n}.{suffix}@example.jp>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
    )
    text = body.format(n=n, a=n // 10000, b=n % 10000)
    return (head + "\n" + text).replace("\n", "\r\n").encode("utf-8")


def mails(count: int) -> list[tuple[int, bytes]]:
    """(member, raw): complete, incomplete, then the answers to the incomplete ones."""
    third = count // 3
    made = [(n, mail(n, COMPLETE, "a")) for n in range(third)]
    made += [(n, mail(n, PARTIAL, "a")) for n in range(third, 2 * third)]
    made += [(n, mail(n, ANSWER, "b")) for n in range(third, 2 * third)]
    return made


def store(url: str, batch: list[tuple[int, bytes]]) -> float:
    """Store the mails as the ingress would (Core insert, one transaction); seconds taken."""
    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "received_at": now,
            "mail_from": f"u{n}@example.jp",
            "mail_options": [],
            "rcpt_tos": [MAILBOX],
            "peer": "bench",
            "helo": None,
            "smtp_utf8": False,
            "tls": False,
            "size": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "raw": raw,
            "has_bare_line_ends": False,
            "status": "pending",
            "attempts": 0,
            "origin": "smtp",
            "notes": [],
        }
        for n, raw in batch
    ]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(sa.insert(InboundMessage), rows)
    engine.dispose()
    return time.perf_counter() - started


def drain(url: str, batch_size: int) -> dict[str, Any]:
    """One worker (this process) until nothing is claimable: its figures."""
    engine = make_engine(url)
    settings = Settings(database_url=url, reply_rate_limits=((10**6, 600),), worker_batch_size=batch_size)
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    worker = Worker(session_factory(engine), settings, rules, clock=SystemClock())
    began, cpu = time.perf_counter(), time.process_time()
    batches: list[float] = []
    while True:
        started = time.perf_counter()
        if not worker.run_batch():
            break
        batches.append(time.perf_counter() - started)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    engine.dispose()
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "mails": worker.phases.mails,
        "phases_ms": worker.phases.per_mail_ms(),
        "batch_median_ms": statistics.median(batches) * 1000 if batches else 0.0,
    }


def _drain_in_process(url: str, batch_size: int, queue: Any) -> None:
    queue.put(drain(url, batch_size))


def drain_processes(url: str, workers: int, batch_size: int) -> tuple[float, list[dict[str, Any]]]:
    """``workers`` worker processes at once: (wall seconds until all are done, their figures)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_drain_in_process, args=(url, batch_size, queue)) for _ in range(workers)
    ]
    began = time.perf_counter()
    for process in processes:
        process.start()
    figures = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    # Each process measures from its own start (after its imports): the slowest is the wall time.
    return max(figure["seconds"] for figure in figures) or time.perf_counter() - began, figures


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:

        def count(table: Any, *where: Any) -> int:
            return int(connection.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)

        found = {
            "done": count(InboundMessage.__table__, InboundMessage.status == "done"),
            "cases": count(Case.__table__),
            "replies": count(OutboundMessage.__table__),
        }
    engine.dispose()
    return found


@contextmanager
def database(server_url: str | None) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file, or a PostgreSQL schema of its own."""
    if server_url is None:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    in_schema = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = in_schema.render_as_string(hide_password=False)
    try:
        upgrade(rendered)
        yield rendered
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def bare_parse_per_second(batch: list[tuple[int, bytes]]) -> float:
    started = time.perf_counter()
    for _, raw in batch:
        email.message_from_bytes(raw)
    return len(batch) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=1500)
    parser.add_argument("--database", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    parser.add_argument("--workers", type=int, default=1, help="PostgreSQL: also run this many processes")
    parser.add_argument("--batch", type=int, default=Settings.worker_batch_size, help="mails per claim")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    batch = mails(args.mails)
    figures: dict[str, Any] = {"mails": len(batch), "batch": args.batch}
    figures["bare_parse_per_second"] = round(bare_parse_per_second(batch), 1)
    with database(args.database) as url:
        figures["database"] = make_url(url).get_backend_name()
        figures["store_per_second"] = round(len(batch) / store(url, batch), 1)
        one = drain(url, args.batch)
        figures.update(counts(url))
    figures["worker_per_second"] = round(one["mails"] / one["seconds"], 1)
    figures["ms_per_mail"] = round(one["seconds"] * 1000 / max(1, one["mails"]), 3)
    figures["cpu_ms_per_mail"] = round(one["cpu_seconds"] * 1000 / max(1, one["mails"]), 3)
    figures["phases_ms_per_mail"] = one["phases_ms"]
    figures["batch_median_ms"] = round(one["batch_median_ms"], 1)
    figures["ratio_to_bare_parse"] = round(figures["bare_parse_per_second"] / figures["worker_per_second"], 1)
    if args.database and args.workers > 1:
        with database(args.database) as url:
            store(url, batch)
            single, _ = drain_processes(url, 1, args.batch)
        with database(args.database) as url:
            store(url, batch)
            several, _ = drain_processes(url, args.workers, args.batch)
            several_counts = counts(url)
        figures["one_process_per_second"] = round(len(batch) / single, 1)
        figures[f"{args.workers}_processes_per_second"] = round(len(batch) / several, 1)
        figures["speed_up"] = round(single / several, 2)
        figures[f"{args.workers}_processes_done"] = several_counts["done"]
    figures["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            shown = value
            if key == "phases_ms_per_mail":
                shown = ", ".join(f"{phase} {value[phase]:.2f}" for phase in PHASES)
            print(f"{key:>22}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
