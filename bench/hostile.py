"""Seconds per hostile mail: parse, language, screening, quote split, and the whole judge().

    .venv/bin/python bench/hostile.py [NAME ...] [--no-judge] [--budget SECONDS]

Each input is a mail that is valid enough to be read and built to be slow (issue 8 "any mail in
under 2 s"). The stages are timed separately, outside any reading budget first (so a slow pattern
shows as its per-call caps add up), then `judge` inside `textmatch.reading()` as the worker runs it.
The same mails are the pathological tests' inputs (`tests/hostile_mails.py`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile_mails import HOSTILE

from triage import textmatch
from triage.config import Settings
from triage.engine.language import reply_language
from triage.engine.loader import load_rules
from triage.errors import ParseFailure
from triage.parsing.mime import parse_mail
from triage.parsing.quotes import split_quoted
from triage.screening import screen
from triage.verdict import judge

TODAY = dt.date(2026, 11, 21)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(HOSTILE)}")
    parser.add_argument("--no-judge", action="store_true")
    parser.add_argument("--budget", type=float, default=textmatch.MAIL_BUDGET_SECONDS)
    args = parser.parse_args()
    settings = Settings.from_env()
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    names = args.names or list(HOSTILE)
    print(f"{'input':<22}{'KB':>7}{'parse':>8}{'lang':>8}{'screen':>8}{'quotes':>8}{'judge':>8}  timeouts")
    for name in names:
        raw = HOSTILE[name]()
        t0 = time.perf_counter()
        try:
            mail = parse_mail(raw)
        except ParseFailure as exc:  # the documented refusal: as fast as any answer
            print(f"{name:<22}{len(raw) // 1024:>7}{time.perf_counter() - t0:8.3f}  refused: {exc}")
            continue
        t1 = time.perf_counter()
        reply_language(mail)
        t2 = time.perf_counter()
        screen(mail, settings, mailboxes=rules.mailboxes)
        t3 = time.perf_counter()
        split_quoted(mail.text + "\n" + mail.quoted)
        t4 = time.perf_counter()
        judged = "-"
        spent: list[str] = []
        if not args.no_judge:
            with textmatch.reading(args.budget) as budget:
                judge(parse_mail(raw), envelope_to=None, settings=settings, rules=rules, today=TODAY)
            judged = f"{time.perf_counter() - t4:8.3f}"
            spent = budget.timeouts
        print(
            f"{name:<22}{len(raw) // 1024:>7}{t1 - t0:8.3f}{t2 - t1:8.3f}{t3 - t2:8.3f}{t4 - t3:8.3f}"
            f"{judged:>8}  {', '.join(spent) or '-'}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
