"""SMTP ingest at MTA speed (issue 11 item 1), and the whole service under an SMTP flood.

    .venv/bin/python bench/smtp_load.py [--mails 5000] [--sessions 20] [--size 4096] [--rounds 3]
                                        [--databases sqlite,postgresql] [--json]
    .venv/bin/python bench/smtp_load.py --service [--mails 2000] [--sessions 8] [--size 5000]

Ingest (the default): Postfix's ``smtp-source`` sends the same load, in the same run, to
- stock Postfix (a private instance in a temporary folder: loopback only, no relayhost, every
  mail accepted into its queue, fsync'ed before the 250, then dropped by the discard transport),
- bare aiosmtpd + SQLAlchemy Core + the same database (one committed INSERT of the same row
  per message, in a thread, then 250: the floor any ingress built this way pays),
- ``triage serve --only ingress`` (the load generator plays our front MTA:
  TRIAGE_SMTP_TRUSTED_PEERS=127.0.0.1, as in the production shape),
with the order of the three rotated in every round. For each it prints accepted msg/s, the
server's CPU µs per message (all its processes: for Postfix the master and every child), and
the final-dot→250 latency (median, p99) measured by a probe client that sends one message at a
time on its own connection while smtp-source runs; then the ratios to Postfix and to bare.
SQLite in a temporary folder, and PostgreSQL (a fresh database on TRIAGE_BENCH_POSTGRES_URL,
default the local server) when asked. Needs root and Debian's ``postfix`` (smtp-source).

Service (``--service``): the previous figure: `triage serve` (ingress + worker + sender) with an
smtp-sink relay, how fast mail is acknowledged and how long until every mail is processed and
every reply handed to the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netkit import free_port, peak_rss_kib, postgres_scratch, wait_listening
from postfixkit import PrivatePostfix, available

from triage.config import PROJECT_ROOT
from triage.db.engine import make_engine
from triage.db.migrate import upgrade
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus

SENDER = "member@example.jp"
RCPT = "secure_billing@cc.example.jp"
TARGETS = ("postfix", "bare", "triage")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TRIAGE_SERVE = (sys.executable, "-m", "triage", "serve")


# --- CPU time of a process tree -------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(parent pid, own CPU ticks, reaped children's CPU ticks) of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root``, its reaped children and its live descendants."""
    stats = {int(name): _stat(int(name)) for name in os.listdir("/proc") if name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        stat = stats.get(pid)
        if stat is None:
            continue
        total += stat[1] + stat[2]
        todo.extend(children.get(pid, ()))
    return total / CLOCK_TICKS


# --- the bare baseline server -----------------------------------------------------------------


def bare_server(url: str, port: int) -> None:
    """aiosmtpd + one SQLAlchemy Core INSERT ... RETURNING per message, committed, then 250."""
    from aiosmtpd.smtp import SMTP  # noqa: PLC0415 - only in the baseline's own process

    engine = make_engine(url)
    # SQLite has one writer: take turns in the process (as triage's store does with BEGIN
    # IMMEDIATE) instead of spinning in busy_timeout, which under load ends in "locked".
    one_writer = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    def insert(raw: bytes, mail_from: str, rcpts: list[str], peer: str, helo: str | None) -> int:
        with one_writer, engine.begin() as connection:
            return int(
                connection.execute(
                    sa.insert(InboundMessage).returning(InboundMessage.id),
                    {
                        "received_at": dt.datetime.now(dt.UTC),
                        "mail_from": mail_from,
                        "mail_options": [],
                        "rcpt_tos": rcpts,
                        "peer": peer,
                        "helo": helo,
                        "smtp_utf8": False,
                        "tls": False,
                        "size": len(raw),
                        "sha256": hashlib.sha256(raw).hexdigest(),
                        "raw": raw,
                        "has_bare_line_ends": False,
                        "status": InboundStatus.PENDING,
                        "attempts": 0,
                        "origin": "smtp",
                        "notes": [],
                    },
                ).scalar_one()
            )

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            row_id = await asyncio.to_thread(
                insert,
                envelope.original_content,
                envelope.mail_from,
                list(envelope.rcpt_tos),
                str(session.peer),
                session.host_name,
            )
            return f"250 2.0.0 Queued as {row_id}"

        async def handle_exception(self, error: Exception) -> str:
            return "451 4.3.0 Temporary failure, please retry"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="bare.test", enable_SMTPUTF8=True, decode_data=False),
            "127.0.0.1",
            port,
        )
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    engine.dispose()


# --- the latency probe ----------------------------------------------------------------------


@dataclass
class Probe:
    """Sends one message at a time on one connection; records final dot → reply seconds."""

    port: int
    size: int
    latencies: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _reply(self, sock: socket.socket, buffer: bytearray) -> bytes:
        while True:
            end = buffer.find(b"\r\n")
            while end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if line[3:4] != b"-":
                    return line
                end = buffer.find(b"\r\n")
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            buffer += chunk

    def run(self) -> None:
        body = b"Subject: probe\r\n\r\n" + (b"x" * 70 + b"\r\n") * (self.size // 72)
        buffer = bytearray()
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            self._reply(sock, buffer)
            sock.sendall(b"EHLO probe.test\r\n")
            self._reply(sock, buffer)
            while not self.stop.is_set():
                sock.sendall(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n".encode())
                for _ in range(3):
                    self._reply(sock, buffer)
                sock.sendall(body)
                began = time.perf_counter()
                sock.sendall(b".\r\n")
                reply = self._reply(sock, buffer)
                self.latencies.append(time.perf_counter() - began)
                if not reply.startswith(b"250"):
                    raise RuntimeError(f"probe got {reply!r}")
                time.sleep(0.02)
            sock.sendall(b"QUIT\r\n")


# --- one round against one target ------------------------------------------------------------


@dataclass
class Target:
    name: str
    port: int
    pid: Callable[[], int]
    stop: Callable[[], None]


def smtp_source(port: int, mails: int, sessions: int, size: int) -> None:
    subprocess.run(
        ["smtp-source", "-s", str(sessions), "-m", str(mails), "-l", str(size), "-f", SENDER, "-t", RCPT,
         f"127.0.0.1:{port}"],
        check=True,
    )  # fmt: skip


def measure(target: Target, mails: int, sessions: int, size: int) -> dict[str, float]:
    probe = Probe(target.port, size)
    thread = threading.Thread(target=probe.run, name="probe")
    cpu_before = tree_cpu_seconds(target.pid())
    began = time.perf_counter()
    thread.start()
    smtp_source(target.port, mails, sessions, size)
    seconds = time.perf_counter() - began
    probe.stop.set()
    thread.join(60)
    time.sleep(0.3)  # let Postfix's queue manager and discard finish what was accepted
    cpu = tree_cpu_seconds(target.pid()) - cpu_before
    messages = mails + len(probe.latencies)
    ordered = sorted(probe.latencies)
    return {
        "msg_per_s": mails / seconds,
        "cpu_us_per_msg": cpu / messages * 1e6,
        "latency_median_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
        "latency_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0,
        "probe_messages": len(ordered),
    }


@contextmanager
def database(kind: str, folder: Path, name: str) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in ``folder`` or a new PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'{name}.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ.get("TRIAGE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    with postgres_scratch(base, f"bench_{name}") as url:
        upgrade(url)
        yield url


def start_process(command: list[str], env: dict[str, str], folder: Path, port: int, name: str) -> Target:
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_listening(port)

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return Target(name, port, lambda: process.pid, stop)


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    problem = available()
    if problem or shutil.which("smtp-source") is None:
        raise SystemExit(problem or "smtp-source not found: install Debian's postfix package")
    results: dict[str, Any] = {}
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    for kind in args.databases.split(","):
        with (
            tempfile.TemporaryDirectory() as temp,
            database(kind, Path(temp), "bare") as bare_url,
            database(kind, Path(temp), "triage") as triage_url,
        ):
            folder = Path(temp)
            folder.chmod(0o755)  # Postfix's own user must reach its folder inside
            postfix = PrivatePostfix(folder / "postfix", free_port())
            postfix.start()
            targets = {"postfix": Target("postfix", postfix.port, postfix.master_pid, postfix.stop)}
            try:
                port = free_port()
                targets["bare"] = start_process(
                    [sys.executable, __file__, "--bare-server", bare_url, str(port)],
                    clean_env,
                    folder,
                    port,
                    "bare",
                )
                port = free_port()
                env = {
                    **clean_env,
                    "TRIAGE_DATABASE_URL": triage_url,
                    "TRIAGE_SMTP_HOSTNAME": "triage.test",
                    "TRIAGE_SMTP_TRUSTED_PEERS": "127.0.0.1",
                }
                targets["triage"] = start_process(
                    [*TRIAGE_SERVE, "--only", "ingress", "--smtp", f"127.0.0.1:{port}"],
                    env,
                    folder,
                    port,
                    "triage",
                )
                for target in targets.values():  # warm-up: connections, caches, the first pages
                    smtp_source(target.port, 200, args.sessions, args.size)
                rounds: dict[str, list[dict[str, float]]] = {name: [] for name in TARGETS}
                for round_no in range(args.rounds):
                    order = TARGETS[round_no % 3 :] + TARGETS[: round_no % 3]
                    for name in order:
                        figures = measure(targets[name], args.mails, args.sessions, args.size)
                        rounds[name].append(figures)
                        label = f"[{kind} round {round_no + 1}] {name:>8}"
                        print(f"{label}: {format_figures(figures)}", file=sys.stderr)
            finally:
                for target in targets.values():
                    target.stop()
        results[kind] = summarise(rounds)
    return results


def format_figures(figures: dict[str, float]) -> str:
    return (
        f"{figures['msg_per_s']:7.1f} msg/s, {figures['cpu_us_per_msg']:7.0f} µs CPU/msg, "
        f"dot→250 median {figures['latency_median_ms']:.1f} ms, p99 {figures['latency_p99_ms']:.1f} ms"
    )


def summarise(rounds: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per target the median over rounds of each figure; the ratios of triage to the baselines."""
    out: dict[str, Any] = {}
    for name, figures in rounds.items():
        out[name] = {key: round(statistics.median(f[key] for f in figures), 1) for key in figures[0]}
    out["triage_to_postfix_rate"] = round(out["triage"]["msg_per_s"] / out["postfix"]["msg_per_s"], 2)
    out["triage_to_bare_rate"] = round(out["triage"]["msg_per_s"] / out["bare"]["msg_per_s"], 2)
    out["triage_to_bare_cpu"] = round(out["triage"]["cpu_us_per_msg"] / out["bare"]["cpu_us_per_msg"], 2)
    return out


# --- the whole service (the earlier figure) -------------------------------------------------


def service(args: argparse.Namespace) -> dict[str, Any]:
    for tool in ("smtp-source", "smtp-sink"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install Debian's postfix package")
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
            "TRIAGE_MAX_CONNECTIONS": str(max(100, args.sessions * 2)),
            "TRIAGE_SMTP_TRUSTED_PEERS": "127.0.0.1",
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
            smtp_source(smtp_port, args.mails, args.sessions, args.size)
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
    return {
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


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--bare-server":
        bare_server(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", action="store_true", help="the whole service, not the ingest comparison")
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=4096, help="message payload in bytes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite", help="sqlite, postgresql or sqlite,postgresql")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = service(args) if args.service else ingest(args)
    if args.json:
        print(json.dumps(figures))
    else:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    os.chdir(PROJECT_ROOT)
    raise SystemExit(main())
