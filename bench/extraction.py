"""Time to read one mail: parse + language + route + screen + extract + decide (`triage.verdict.judge`
on the raw bytes), median and p99 over a folder of .eml repeated, and one hostile body.

    .venv/bin/python bench/extraction.py [FOLDER] [--rounds N] [--json]

FOLDER: any folder of .eml files (a corpus of real mail); without it, a built-in sample of
member mails (form pasted and filled in, prose, English, long machine-made lines) is used.
Baseline, measured in the same rounds (machines here are shared and noisy): the stdlib's own
parse of the same bytes to its text body (`email.message_from_bytes` + `get_body`), so the ratio
says what reading costs beyond taking the mail apart at all.
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
from pathlib import Path

from triage.config import Settings
from triage.engine.extract import extract
from triage.engine.loader import load_rules
from triage.parsing.mime import parse_mail
from triage.verdict import judge

TODAY = dt.date(2026, 11, 21)

_BODIES = (
    "・氏名(漢字):山田 太郎\n・氏名(カナ):ヤマダ タロウ\n・ニックネーム:たろう\n・生年月日:19900102\n"
    "・都道府県:東京都\n・電話番号:090-1234-5678\n・メールアドレス:taro@example.jp\n"
    "・お支払い方法:キャリア決済\n・キャリア:au\n・継続課金ID:40000001234\n",
    "お世話になっております。山田太郎と申します。1990年1月2日生まれです。\n"
    "ログインできなくなりました。電話番号は０９０－１２３４－５６７８です。\n"
    "決済番号は123456789012です。よろしくお願いします。\n",
    "Hello, I cannot log in since the renewal.\nName: Taro Yamada\nBirthday: 1990/01/02\n"
    "Phone: 090-1234-5678\nEmail: taro@example.jp, taro.y@example.com\n",
    "ログインID:taro_sample77\nメールアドレス:taro@example.jp\n電話番号:090-0000-1234\n",
    "".join(
        f"{i}XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n" for i in range(60)
    ),
)
_MAILBOXES = ("secure_jo1", "secure_lunasea", "secure_lunasea", "secure_billing", "secure_billing")
SAMPLE = tuple(
    (
        f"From: taro@example.jp\nTo: {box}@cc.example.jp\nSubject: help\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n{body}"
    ).encode()
    for box, body in zip(_MAILBOXES, _BODIES, strict=True)
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings.from_env()
    rules = load_rules(settings.rules_dir, settings.replies_dir)
    if args.folder:
        raws = [path.read_bytes() for path in sorted(Path(args.folder).rglob("*.eml"))]
    else:
        raws = list(SAMPLE)
    if not raws:
        print(f"no .eml under {args.folder}", file=sys.stderr)
        return 2

    def read(raw: bytes) -> None:
        judge(parse_mail(raw), envelope_to=None, settings=settings, rules=rules, today=TODAY)

    def baseline(raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(("plain", "html")) if hasattr(message, "get_body") else None
        if body is not None:
            body.get_content()

    for raw in raws:  # warm-up, untimed: each mailbox's label patterns are compiled on first use
        read(raw)
    timings: list[float] = []
    cpu: list[float] = []  # the thread's CPU time: what the mail costs, whatever else the machine does
    base: list[float] = []
    for round_no in range(args.rounds):
        for raw in raws:
            start, start_cpu = time.perf_counter(), time.thread_time()
            read(raw)
            timings.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
            start = time.perf_counter()
            try:
                baseline(raw)
            except Exception:
                continue
            base.append(time.perf_counter() - start)
        if not args.json:
            print(f"\rround {round_no + 1}/{args.rounds}", end="", file=sys.stderr)
    if not args.json:
        print(file=sys.stderr)
    hostile = ("0123-4567-" * 104_858)[: 1024 * 1024]
    start, start_cpu = time.perf_counter(), time.thread_time()
    result = extract(hostile, rules, today=TODAY, mailbox="secure_lunasea")
    hostile_s = time.perf_counter() - start
    hostile_cpu_s = time.thread_time() - start_cpu
    base_median = statistics.median(base) if base else 0.0
    figures = {
        "mails": len(raws),
        "runs": len(timings),
        "median_ms": round(statistics.median(timings) * 1000, 3),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 3),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 3),
        "cpu_p99_ms": round(percentile(cpu, 0.99) * 1000, 3),
        "baseline_median_ms": round(base_median * 1000, 3),
        "ratio_to_baseline": round(statistics.median(timings) / base_median, 2) if base_median else None,
        "hostile_1mb_s": round(hostile_s, 3),
        "hostile_1mb_cpu_s": round(hostile_cpu_s, 3),
        "hostile_timeouts": len(result.timeouts),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['mails']} mails x {args.rounds} rounds, parse + read + decide: median "
            f"{figures['median_ms']} ms, p99 {figures['p99_ms']} ms per mail "
            f"(CPU {figures['cpu_median_ms']} / {figures['cpu_p99_ms']} ms; "
            f"stdlib parse alone {figures['baseline_median_ms']} ms, ratio {figures['ratio_to_baseline']}); "
            f"hostile 1 MB body: {figures['hostile_1mb_s']} s ({figures['hostile_1mb_cpu_s']} s CPU) "
            f"({figures['hostile_timeouts']} pattern timeouts)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
