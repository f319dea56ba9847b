"""A renewal day: 10,000 member mails through SMTP into `triage serve`, replies to an smtp-sink.

    .venv/bin/python bench/renewal.py [--mails N] [--sessions S] [--database sqlite|postgresql|both]
                                      [--postgres-url URL] [--json]

The mix is what a renewal day brings (generated here from templates, distinct members):
complete requests (a fifth of them ISO-2022-JP, as Japanese phones send), incomplete ones, the
members' follow-ups completing them (In-Reply-To their first mail, sent later in the stream),
iCloud senders, out-of-office auto-replies, mail to the other desks, and phones resending the
same mail. S client threads deliver them over persistent SMTP sessions (a 4xx is retried, as an
MTA would). Replies go to Postfix's `smtp-sink` on loopback (Debian package `postfix`; the
script starts no Postfix daemon).

SQLite: one `triage serve` process with every part. PostgreSQL: one ingress, two workers and one
sender as separate processes (`serve --only`), in a fresh database created and dropped here.
Every process runs with `--metrics`; the script polls those /metrics endpoints (the queues come
from the database, the counters from each process) to know when every mail is decided and every
reply no guard suppressed has been handed to the relay. Printed: accepted mail per second, the
time until all is decided and all replies are delivered (also counted from the last mail
accepted: the target is 60 s), replies by outcome, and each process's peak RSS (VmHWM; target
< 300 MB).

The settings are production defaults, the reply breaker included: it trips on loop-shaped
traffic only (outbound/breaker.py), so a renewal day's distinct members flow through it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from email.header import Header
from pathlib import Path

from netkit import free_port, peak_rss_kib, postgres_scratch, wait_listening
from prometheus_client.parser import text_string_to_metric_families

from triage.config import PROJECT_ROOT

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOMAIN = "cc.example.jp"
CARRIERS = ("docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "gmail.com", "yahoo.co.jp", "au.com")
ICLOUD = ("icloud.com", "me.com")
# Kinds of a member's first mail, with their weights per 100.
FIRST_KINDS = {"complete": 45, "incomplete": 22, "icloud": 10, "autoreply": 10, "other_desk": 8, "resend": 5}
FOLLOW_UP_SHARE = 0.66  # of incomplete requests, answered later in the stream
TARGET_AFTER_LAST_ACCEPTED = 60.0
TARGET_RSS_MIB = 300.0

Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]

COMPLETE = (
    "お世話になります。ログインできません。\nログインID:fan_{n}\nメールアドレス:{addr}\n"
    "電話番号:090-{a:04d}-{b:04d}\nよろしくお願いします。\n"
)
INCOMPLETE = "更新しようとしたらログインできなくなりました。\nログインID:fan_{n}\nメールアドレス:{addr}\n"
FOLLOW_UP = "電話番号は090-{a:04d}-{b:04d}です。\nよろしくお願いします。\n"
OTHER_DESK = "会員証が表示されません。どうすればいいですか。\n"
AUTOREPLY = "ただいま不在にしております。{day}日以降に確認いたします。\n"


@dataclass(frozen=True)
class Mail:
    sender: str
    rcpt: str
    raw: bytes
    kind: str


def _message(
    n: int,
    sender: str,
    rcpt: str,
    subject: str,
    body: str,
    *,
    suffix: str,
    charset: str = "utf-8",
    headers: Sequence[str] = (),
) -> bytes:
    encoded_subject = Header(subject, "iso-2022-jp" if charset == "iso-2022-jp" else "utf-8").encode()
    cte = "7bit" if charset == "iso-2022-jp" else "8bit"
    head = [
        f"From: {sender}",
        f"To: {rcpt}",
        f"Subject: {encoded_subject}",
        f"Message-ID: <{n}.{suffix}@{sender.rpartition('@')[2]}>",
        "Date: Mon, 07 Dec 2026 10:00:00 +0900",
        "MIME-Version: 1.0",
        f"Content-Type: text/plain; charset={charset.upper() if charset == 'iso-2022-jp' else 'UTF-8'}",
        f"Content-Transfer-Encoding: {cte}",
        *headers,
    ]
    text = body.replace("\n", "\r\n").encode(charset)
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + text


def renewal_day(count: int, seed: int = 20261207) -> list[Mail]:
    """``count`` mails of the mix, in arrival order (follow-ups later than what they answer)."""
    rng = random.Random(seed)
    kinds, weights = list(FIRST_KINDS), list(FIRST_KINDS.values())
    due: list[tuple[int, Mail]] = []
    mails: list[Mail] = []
    n = 0
    while len(mails) < count:
        if due and due[0][0] <= len(mails):
            mails.append(due.pop(0)[1])
            continue
        n += 1
        kind = rng.choices(kinds, weights)[0]
        carrier = rng.choice(ICLOUD if kind == "icloud" else CARRIERS)
        sender = f"fan{n}.{rng.randrange(10**6):06d}@{carrier}"
        billing = f"secure_billing@{DOMAIN}"
        a, b = divmod(n, 10000)
        if kind in {"complete", "icloud", "resend"}:
            charset = "iso-2022-jp" if rng.random() < 0.2 else "utf-8"
            body = COMPLETE.format(n=n, addr=sender, a=a % 10000, b=b)
            raw = _message(n, sender, billing, "ログインできません", body, suffix="first", charset=charset)
            mails.append(Mail(sender, billing, raw, kind))
            if kind == "resend":  # the phone sends the very same mail again
                mails.append(Mail(sender, billing, raw, "resend"))
        elif kind == "incomplete":
            raw = _message(
                n, sender, billing, "更新できない", INCOMPLETE.format(n=n, addr=sender), suffix="first"
            )
            mails.append(Mail(sender, billing, raw, kind))
            if rng.random() < FOLLOW_UP_SHARE:
                answer = _message(
                    n,
                    sender,
                    billing,
                    "Re: 更新できない",
                    FOLLOW_UP.format(a=a % 10000, b=b),
                    suffix="answer",
                    headers=(f"In-Reply-To: <{n}.first@{carrier}>", f"References: <{n}.first@{carrier}>"),
                )
                due.append(
                    (len(mails) + rng.randrange(200, 2000), Mail(sender, billing, answer, "follow_up"))
                )
                due.sort(key=lambda item: item[0])
        elif kind == "autoreply":
            raw = _message(
                n,
                sender,
                billing,
                "自動応答: お問い合わせ",
                AUTOREPLY.format(day=rng.randrange(8, 28)),
                suffix="auto",
                headers=("Auto-Submitted: auto-replied",),
            )
            mails.append(Mail(sender, billing, raw, kind))
        else:
            desk = rng.choice(("secure_jo1", "secure_lunasea", "secure_produce101shinsekai"))
            rcpt = f"{desk}@{DOMAIN}"
            mails.append(
                Mail(sender, rcpt, _message(n, sender, rcpt, "会員証", OTHER_DESK, suffix="first"), kind)
            )
    return mails[:count]


# -- processes -------------------------------------------------------------------------------


@dataclass
class Role:
    name: str
    process: subprocess.Popen[bytes]
    metrics_port: int
    peak_mib: float = 0.0

    def scrape(self) -> Scraped:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            body = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }

    def sample_rss(self) -> None:
        self.peak_mib = max(self.peak_mib, peak_rss_kib(self.process.pid) / 1024)


@dataclass
class Cluster:
    folder: Path
    env: dict[str, str]
    roles: list[Role] = field(default_factory=list)
    smtp_port: int = 0

    def start(self, name: str, only: Sequence[str]) -> Role:
        port = free_port()
        command = [sys.executable, "-m", "triage", "serve", "--metrics", f"127.0.0.1:{port}"]
        if "ingress" in only:
            self.smtp_port = free_port()
            command += ["--smtp", f"127.0.0.1:{self.smtp_port}"]
        for part in only:
            command += ["--only", part]
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        role = Role(name, process, port)
        self.roles.append(role)
        wait_listening(port)
        return role

    def stop(self) -> None:
        for role in self.roles:
            role.sample_rss()
            if role.process.poll() is None:
                role.process.send_signal(signal.SIGTERM)
        for role in self.roles:
            try:
                role.process.wait(90)
            except subprocess.TimeoutExpired:
                role.process.kill()
                role.process.wait()


# -- the client side -------------------------------------------------------------------------


@dataclass
class Delivery:
    accepted: int = 0
    refused: int = 0
    retried: int = 0
    last_accepted_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def deliver_all(port: int, mails: Sequence[Mail], sessions: int) -> Delivery:
    """Send every mail over ``sessions`` persistent SMTP sessions; 4xx is retried (5 times)."""
    work: queue.Queue[Mail] = queue.Queue()
    for mail in mails:
        work.put(mail)
    outcome = Delivery()

    def client() -> None:
        smtp: smtplib.SMTP | None = None
        while True:
            try:
                mail = work.get_nowait()
            except queue.Empty:
                break
            for attempt in range(6):
                try:
                    if smtp is None:
                        smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="mta.example.jp", timeout=120)
                    smtp.sendmail(mail.sender, [mail.rcpt], mail.raw, mail_options=["BODY=8BITMIME"])
                except smtplib.SMTPResponseException as exc:
                    if exc.smtp_code >= 500 or attempt == 5:
                        with outcome.lock:
                            outcome.refused += 1
                        break
                    with outcome.lock:
                        outcome.retried += 1
                    time.sleep(1.0)
                    continue
                except (OSError, smtplib.SMTPException):
                    smtp = None
                    with outcome.lock:
                        outcome.retried += 1
                    time.sleep(1.0)
                    continue
                with outcome.lock:
                    outcome.accepted += 1
                    outcome.last_accepted_at = time.perf_counter()
                break
        if smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                smtp.quit()

    threads = [threading.Thread(target=client) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


# -- one run ---------------------------------------------------------------------------------


def total(samples: list[Scraped], name: str) -> float:
    """A counter summed over processes and labels."""
    return sum(value for scraped in samples for (metric, _), value in scraped.items() if metric == name)


def by_label(samples: list[Scraped], name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for scraped in samples:
        for (metric, labels), value in scraped.items():
            if metric == name and labels:
                out[labels[0][1]] = out.get(labels[0][1], 0.0) + value
    return out


def queues(scraped: Scraped) -> tuple[float, float]:
    """(unfinished inbound, unsent replies) as the database says."""
    inbound = sum(v for (m, _), v in scraped.items() if m == "triage_inbound_queue_depth")
    outbox = sum(v for (m, _), v in scraped.items() if m == "triage_outbox_queue_depth")
    return inbound, outbox


def run(
    layout: str, url: str, mails: Sequence[Mail], args: argparse.Namespace, folder: Path
) -> dict[str, object]:
    relay_port = free_port()
    sink = subprocess.Popen(
        ["smtp-sink", "-u", "nobody", f"127.0.0.1:{relay_port}", "512"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")},
        "TRIAGE_DATABASE_URL": url,
        "TRIAGE_RELAY": f"127.0.0.1:{relay_port}",
        "TRIAGE_OUR_DOMAIN": DOMAIN,
        "TRIAGE_ACCEPTED_DOMAINS": DOMAIN,
        "TRIAGE_SMTP_HOSTNAME": "ingress.bench",
        # The load generator stands for the front MTA (docker-compose: Postfix): 20 sessions from
        # one address, which the per-peer cap and the greeting delay keep for strangers.
        "TRIAGE_SMTP_TRUSTED_PEERS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    cluster = Cluster(folder, env)
    try:
        wait_listening(relay_port)
        if layout == "sqlite":
            cluster.start("serve", ["ingress", "worker", "sender"])
        else:
            cluster.start("ingress", ["ingress"])  # migrates the database first, alone
            cluster.start("worker1", ["worker"])
            cluster.start("worker2", ["worker"])
            cluster.start("sender", ["sender"])
        wait_listening(cluster.smtp_port)
        began = time.perf_counter()
        sampler_stop = threading.Event()

        def sample_memory() -> None:
            while not sampler_stop.wait(0.5):
                for role in cluster.roles:
                    role.sample_rss()

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        delivery = deliver_all(cluster.smtp_port, mails, args.sessions)
        accept_seconds = delivery.last_accepted_at - began
        decided_at = settled_at = None
        deadline = time.perf_counter() + args.timeout
        scraped = [role.scrape() for role in cluster.roles]
        while time.perf_counter() < deadline:
            scraped = [role.scrape() for role in cluster.roles]
            inbound, outbox = queues(scraped[0])
            now = time.perf_counter()
            finished = total(scraped, "triage_mail_decided_total")
            if decided_at is None and inbound == 0 and finished >= delivery.accepted:
                decided_at = now
            if decided_at is not None and outbox == 0:
                settled_at = now
                break
            time.sleep(0.25)
        sampler_stop.set()
        sampler.join()
        for role in cluster.roles:
            role.sample_rss()
    finally:
        cluster.stop()
        sink.terminate()
        sink.wait(10)
    replies = by_label(scraped, "triage_replies_total")
    figures: dict[str, object] = {
        "layout": layout,
        "mails": len(mails),
        "accepted": delivery.accepted,
        "refused": delivery.refused,
        "retried_4xx_or_connection": delivery.retried,
        "accept_seconds": round(accept_seconds, 2),
        "accepted_per_second": round(delivery.accepted / accept_seconds, 1) if accept_seconds else None,
        "all_decided_seconds": round(decided_at - began, 2) if decided_at else None,
        "all_replies_delivered_seconds": round(settled_at - began, 2) if settled_at else None,
        "replies_done_after_last_accepted_seconds": (
            round(settled_at - delivery.last_accepted_at, 2) if settled_at else None
        ),
        "decided_by_verdict": {
            k: int(v) for k, v in by_label(scraped, "triage_mail_decided_total").items() if v
        },
        "replies_by_outcome": {k: int(v) for k, v in replies.items() if v},
        "peak_rss_mib": {role.name: round(role.peak_mib, 1) for role in cluster.roles},
    }
    if settled_at is None:
        inbound, outbox = queues(scraped[0])
        figures["not_settled"] = (
            f"after {args.timeout} s: {int(inbound)} mails undecided, {int(outbox)} replies unsent"
        )
    return figures


def print_figures(figures: dict[str, object]) -> None:
    print(f"== renewal day on {figures['layout']} ==")
    for key, value in figures.items():
        if key != "layout":
            print(f"{key:>42}: {value}")
    after = figures.get("replies_done_after_last_accepted_seconds")
    peak = figures["peak_rss_mib"]
    assert isinstance(peak, dict)
    worst = max(peak.values()) if peak else 0.0
    verdict = "met" if isinstance(after, float) and after <= TARGET_AFTER_LAST_ACCEPTED else "NOT met"
    print(f"{'target: replies ≤ 60 s after last accepted':>42}: {verdict}")
    print(f"{'target: peak RSS < 300 MB per process':>42}: {'met' if worst < TARGET_RSS_MIB else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=20, help="concurrent SMTP client sessions")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="a server where a database may be made"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="give up waiting after this many seconds"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per layout")
    args = parser.parse_args()
    if shutil.which("smtp-sink") is None:
        print(
            "smtp-sink not found: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix "
            "(then `postfix stop` if it started: nothing here needs the daemon)",
            file=sys.stderr,
        )
        return 2
    mails = renewal_day(args.mails)
    layouts = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    ok = True
    for layout in layouts:
        with tempfile.TemporaryDirectory() as folder:
            if layout == "sqlite":
                figures = run(layout, f"sqlite:///{Path(folder) / 'renewal.db'}", mails, args, Path(folder))
            else:
                with postgres_scratch(args.postgres_url, "triage_renewal") as url:
                    figures = run(layout, url, mails, args, Path(folder))
        ok = ok and "not_settled" not in figures and figures["accepted"] == len(mails)
        if args.json:
            print(json.dumps(figures, ensure_ascii=False))
        else:
            print_figures(figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    raise SystemExit(main())
