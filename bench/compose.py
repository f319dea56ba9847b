"""Time to compose one reply (issue 11): ``compose()`` against the stdlib path it replaced.

    .venv/bin/python bench/compose.py [--replies N] [--rounds R] [--json]

N replies are rendered from the real templates (``replies/``, every template in each language of
``SAMPLE_CONTEXTS``, a desk display name in From for half of them), each with its own recipient,
Message-ID, In-Reply-To and References, then composed R rounds over, alternating the two paths
in every round so both see the same load: ``compose_stdlib`` (every field through
``EmailMessage``, the baseline) and ``compose`` (fields built directly, the fast path). Printed:
median CPU µs per reply of each path over the rounds, and the ratio. Before timing, every reply's
two results are checked to read the same (header values and body text).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from triage.config import Settings
from triage.outbound.compose import compose, compose_stdlib
from triage.outbound.render import SAMPLE_CONTEXTS, RenderedReply, render

WHEN = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
DESKS = {"ja": "JO1 OFFICIAL SITE サポート", "en": "JO1 OFFICIAL SITE Support"}
Compose = Callable[..., bytes]


def replies(count: int) -> list[tuple[RenderedReply, dict[str, Any]]]:
    """``count`` replies from every template and sample context, each to its own member."""
    replies_dir = str(Settings().replies_dir)
    kinds: list[tuple[str, str, str, str]] = []
    for template_dir in sorted(Path(replies_dir).iterdir()):
        for context in SAMPLE_CONTEXTS:
            language = str(context["language"])
            if (template_dir / language / "subject.txt.j2").is_file():
                subject, body = render(replies_dir, template_dir.name, language, context)
                kinds.append((template_dir.name, language, subject, body))
    made = []
    for n in range(count):
        template, language, subject, body = kinds[n % len(kinds)]
        address = "secure_jo1@example.jp"
        mailbox = f"{DESKS[language]} <{address}>" if n % 2 else address
        reply = RenderedReply(template, language, f"member{n}@example.jp", mailbox, subject, body)
        ids = {
            "message_id": f"r.{n + 1}.AbCdEfGhIj{n % 10}@triage.example",
            "in_reply_to": f"<{n}.orig@mail.example.jp>",
            "references": [f"<{n}.{k}@mail.example.jp>" for k in range(n % 3)],
            "instance_id": "triage-bench-1",
            "date": WHEN + dt.timedelta(seconds=n),
        }
        made.append((reply, ids))
    return made


def _read(raw: bytes) -> tuple[list[tuple[str, str]], str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body() if isinstance(msg, email.message.EmailMessage) else None
    return [(name, str(value)) for name, value in msg.items()], body.get_content() if body else ""


def _cpu_us(path: Compose, work: Sequence[tuple[RenderedReply, dict[str, Any]]]) -> float:
    start = time.process_time()
    for reply, ids in work:
        path(reply, **ids)
    return (time.process_time() - start) / len(work) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = replies(args.replies)
    identical = 0
    for reply, ids in work:  # same reading before any timing (and every cache warm)
        fast_raw, slow_raw = compose(reply, **ids), compose_stdlib(reply, **ids)
        if _read(fast_raw) != _read(slow_raw):
            print(f"paths differ for {reply.template}/{reply.language}", file=sys.stderr)
            return 1
        identical += fast_raw == slow_raw
    slow_us: list[float] = []
    fast_us: list[float] = []
    for round_no in range(args.rounds):
        slow_us.append(_cpu_us(compose_stdlib, work))
        fast_us.append(_cpu_us(compose, work))
        if not args.json:
            print(f"\rround {round_no + 1}/{args.rounds}", end="", file=sys.stderr)
    if not args.json:
        print(file=sys.stderr)
    slow, fast = statistics.median(slow_us), statistics.median(fast_us)
    figures = {
        "replies": len(work),
        "rounds": args.rounds,
        "same_bytes": f"{identical}/{len(work)}",
        "stdlib_cpu_us_per_reply": round(slow, 1),
        "fast_cpu_us_per_reply": round(fast, 1),
        "speedup": round(slow / fast, 2),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
