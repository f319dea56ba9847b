"""Peak memory of the SMTP ingress under concurrent large uploads (issue 11 item 4).

    .venv/bin/python bench/ingest_memory.py [--clients 50] [--mib 5] [--json]

Starts `triage serve --only ingress` twice in the same run on a fresh SQLite database (or
TRIAGE_DATABASE_URL): once as configured (DATA over TRIAGE_SMTP_SPOOL_THRESHOLD_BYTES goes to a
temporary file while it arrives), once with the spool threshold above the message size (every
message held in memory, as aiosmtpd does). N clients open their sessions, wait for each other
at DATA, then all send their message at once. Prints the server's peak RSS (VmHWM) for each,
and checks that every message was stored byte-exact (SHA-256). Target: < 300 MB with 50
concurrent 5 MB mails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from netkit import free_port, wait_listening

from triage.config import PROJECT_ROOT
from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.db.models import InboundMessage

MAILBOX = "secure_billing"
RCPT = "secure_billing@cc.example.jp"
TARGET_MIB = 300


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def message(n: int, size: int) -> bytes:
    head = f"From: member{n}@example.jp\r\nTo: {RCPT}\r\nSubject: large {n}\r\n\r\n".encode()
    line = (f"{n:04d} " + "0123456789abcdef" * 4 + "\r\n").encode()
    body = line * ((size - len(head)) // len(line) + 1)
    return head + body[: size - len(head) - 2] + b"\r\n"


def reply(sock: socket.socket) -> bytes:
    data = b""
    while True:
        data += sock.recv(4096)
        lines = data.split(b"\r\n")
        if len(lines) > 1 and lines[-2][3:4] == b" ":
            return lines[-2]
        if not data:
            raise ConnectionError("closed")


def upload(port: int, raw: bytes, barrier: threading.Barrier, results: list[bytes], index: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        reply(sock)
        for command in (
            b"EHLO bench.test",
            f"MAIL FROM:<m{index}@example.jp>".encode(),
            f"RCPT TO:<{RCPT}>".encode(),
        ):
            sock.sendall(command + b"\r\n")
            reply(sock)
        sock.sendall(b"DATA\r\n")
        reply(sock)
        barrier.wait()
        view = memoryview(raw)
        for start in range(0, len(raw), 65536):
            sock.sendall(view[start : start + 65536])
        sock.sendall(b".\r\n")
        results[index] = reply(sock)
        sock.sendall(b"QUIT\r\n")


def run(url: str, clients: int, size: int, threshold: int | None, folder: str) -> dict[str, Any]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")},
        "TRIAGE_DATABASE_URL": url,
        "TRIAGE_SMTP_HOSTNAME": "bench.test",
        "TRIAGE_MAX_CONNECTIONS": str(clients + 10),
        "TRIAGE_SMTP_MAX_CONNECTIONS_PER_PEER": str(clients + 10),
        "TRIAGE_SMTP_GREET_DELAY_SECONDS": "0",
        "TRIAGE_MAX_MESSAGE_BYTES": str(size + 1024 * 1024),
    }
    if threshold is not None:
        env["TRIAGE_SMTP_SPOOL_THRESHOLD_BYTES"] = str(threshold)
    server = subprocess.Popen(
        [sys.executable, "-m", "triage", "serve", "--only", "ingress", "--smtp", f"127.0.0.1:{port}"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        idle = rss_kib(server.pid, "VmRSS")
        mails = [message(n, size) for n in range(clients)]
        results: list[bytes] = [b""] * clients
        barrier = threading.Barrier(clients)
        began = time.perf_counter()
        threads = [
            threading.Thread(target=upload, args=(port, mails[n], barrier, results, n))
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
        peak = rss_kib(server.pid, "VmHWM")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    accepted = sum(result.startswith(b"250") for result in results)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            stored = {
                sha
                for (sha,) in connection.execute(sa.select(InboundMessage.sha256).order_by(InboundMessage.id))
            }
    finally:
        engine.dispose()
    exact = sum(hashlib.sha256(mail).hexdigest() in stored for mail in mails)
    return {
        "spool_threshold": "default" if threshold is None else threshold,
        "accepted": accepted,
        "stored_byte_exact": exact,
        "seconds": round(seconds, 2),
        "idle_rss_mib": round(idle / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--mib", type=float, default=5.0, help="message size in MiB")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = int(args.mib * 1024 * 1024)
    figures = []
    for threshold in (None, size * 2):  # as configured; then everything in memory
        with tempfile.TemporaryDirectory() as folder:
            url = os.environ.get("TRIAGE_DATABASE_URL") or f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            figures.append(run(url, args.clients, size, threshold, folder))
    spooled, in_memory = figures
    summary = {
        "clients": args.clients,
        "message_mib": args.mib,
        "spooled": spooled,
        "all_in_memory": in_memory,
        "peak_ratio_spooled_to_memory": round(
            spooled["peak_rss_mib"] / max(in_memory["peak_rss_mib"], 0.1), 2
        ),
        "target_mib": TARGET_MIB,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>30}: {value}")
    ok = spooled["stored_byte_exact"] == args.clients and spooled["peak_rss_mib"] < TARGET_MIB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    raise SystemExit(main())
