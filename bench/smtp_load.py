"""The whole service under an SMTP flood: Postfix's smtp-source → `triage serve` → smtp-sink.

    .venv/bin/python bench/smtp_load.py [--mails N] [--sessions S] [--size BYTES] [--json]

Starts `triage serve` (SQLite in a temporary folder, or TRIAGE_DATABASE_URL if set) with an
smtp-sink as its relay, sends N mails with `smtp-source -s S` to a mailbox, and prints: how fast
mail was acknowledged, how long until every stored mail was processed and every reply handed
to the relay, and the server's peak memory. smtp-source sends the same text from one sender
each time (like a member's phone stuck resending), so most mails are identical re-submissions:
the figure is the ingress and the cheap path of the worker. bench/pipeline.py measures the
worker on distinct members. Needs `smtp-source` and `smtp-sink` (Debian package `postfix`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from triage.config import PROJECT_ROOT
from triage.db.engine import make_engine
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--size", type=int, default=5000, help="message size in bytes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for tool in ("smtp-source", "smtp-sink"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: install Debian's postfix package", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("TRIAGE_DATABASE_URL") or f"sqlite:///{Path(folder) / 'bench.db'}"
        smtp_port, relay_port = free_port(), free_port()
        sink = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", f"127.0.0.1:{relay_port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")},
            "TRIAGE_DATABASE_URL": url,
            "TRIAGE_RELAY": f"127.0.0.1:{relay_port}",
            "TRIAGE_REPLY_RATE_LIMITS": "1000000/600",
            "TRIAGE_REPLY_BREAKER": "1000000/600",
            "TRIAGE_MAX_CONNECTIONS": str(max(100, args.sessions * 2)),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "triage", "serve", "--smtp", f"127.0.0.1:{smtp_port}"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        engine = make_engine(url)
        try:
            wait_listening(smtp_port)
            wait_listening(relay_port)
            began = time.perf_counter()
            subprocess.run(
                [
                    "smtp-source",
                    "-s",
                    str(args.sessions),
                    "-m",
                    str(args.mails),
                    "-l",
                    str(args.size),
                    "-f",
                    "member@example.jp",
                    "-t",
                    "secure_billing@cc.example.jp",
                    f"127.0.0.1:{smtp_port}",
                ],
                check=True,
            )
            accepted = time.perf_counter() - began

            def count(statement: sa.Select[Any]) -> int:
                with engine.connect() as connection:
                    value = connection.execute(statement).scalar()
                    return int(value) if isinstance(value, int) else 0

            waiting = sa.select(sa.func.count()).where(
                InboundMessage.status.in_((InboundStatus.PENDING, InboundStatus.PROCESSING))
            )
            unsent = sa.select(sa.func.count()).where(
                OutboundMessage.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))
            )
            while count(waiting) or count(unsent):
                time.sleep(0.2)
            settled = time.perf_counter() - began
            stored = count(sa.select(sa.func.count()).select_from(InboundMessage))
            replies = count(sa.select(sa.func.count()).where(OutboundMessage.status == OutboundStatus.SENT))
            rss = peak_rss_kib(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
            sink.terminate()
            sink.wait(10)
            engine.dispose()
    figures = {
        "database": url.split(":", 1)[0],
        "mails": args.mails,
        "sessions": args.sessions,
        "size_bytes": args.size,
        "stored": stored,
        "accept_seconds": round(accepted, 2),
        "accepted_per_second": round(args.mails / accepted, 1),
        "all_processed_and_replied_seconds": round(settled, 2),
        "replies_sent": replies,
        "server_peak_rss_mib": round(rss / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>34}: {value}")
    return 0 if stored == args.mails else 1


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    raise SystemExit(main())
