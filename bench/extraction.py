"""Extraction time per mail: median and p99 over a folder of .eml repeated, and one hostile body.

    .venv/bin/python bench/extraction.py [FOLDER] [--rounds N] [--json]

FOLDER defaults to the project's own fixtures (tests/fixtures/mail); point it at any corpus.
Parsing is done once per mail outside the timing; the figure is extract + requirements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

from triage.config import PROJECT_ROOT, Settings
from triage.engine.extract import extract
from triage.engine.loader import load_rules
from triage.parsing.mime import parse_mail
from triage.routing import route

TODAY = dt.date(2026, 11, 21)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(PROJECT_ROOT / "tests" / "fixtures" / "mail"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings.from_env()
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    mails = [parse_mail(path.read_bytes()) for path in sorted(Path(args.folder).rglob("*.eml"))]
    if not mails:
        print(f"no .eml under {args.folder}", file=sys.stderr)
        return 2
    timings = []
    for round_no in range(args.rounds):
        for mail in mails:
            mailbox = route(mail, None, rules.mailboxes).mailbox
            start = time.perf_counter()
            extract(mail.text, rules, today=TODAY, our_local_parts=rules.mailboxes, mailbox=mailbox)
            timings.append(time.perf_counter() - start)
        if not args.json:
            print(f"\rround {round_no + 1}/{args.rounds}", end="", file=sys.stderr)
    if not args.json:
        print(file=sys.stderr)
    hostile = ("0123-4567-" * 104_858)[: 1024 * 1024]
    start = time.perf_counter()
    result = extract(hostile, rules, today=TODAY, mailbox="secure_lunasea")
    hostile_s = time.perf_counter() - start
    figures = {
        "mails": len(mails),
        "runs": len(timings),
        "median_ms": round(statistics.median(timings) * 1000, 3),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 3),
        "hostile_1mb_s": round(hostile_s, 3),
        "hostile_timeouts": len(result.timeouts),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['mails']} mails x {args.rounds} rounds: median {figures['median_ms']} ms, "
            f"p99 {figures['p99_ms']} ms per mail; hostile 1 MB body: {figures['hostile_1mb_s']} s "
            f"({figures['hostile_timeouts']} pattern timeouts)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
