"""`triage doctor [--json]`: what to fix before this installation takes mail (triage/doctor.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from triage.cli.common import EXIT_FAILED, EXIT_OK
from triage.clock import SystemClock
from triage.config import Settings

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from triage.doctor import run_checks  # noqa: PLC0415 - the database layer only when asked

    findings = run_checks(settings, today=SystemClock().today(), min_free_mb=args.min_free_mb)
    failed = [finding for finding in findings if finding.status == "fail"]
    if args.json:
        data = {"ok": not failed, "checks": [finding.as_json() for finding in findings]}
        print(json.dumps(data, ensure_ascii=False))
    else:
        width = max(len(finding.check) for finding in findings)
        for finding in findings:
            print(f"{_MARK[finding.status]}  {finding.check:<{width}}  {finding.detail}")
            if finding.fix and finding.status != "ok":
                print(f"      {'':<{width}}  fix: {finding.fix}")
        warned = sum(finding.status == "warn" for finding in findings)
        print(
            f"{len(failed)} to fix, {warned} to look at"
            if failed or warned
            else "everything checked is ready"
        )
    return EXIT_FAILED if failed else EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check the database, relay, rule packs, Message-ID domain and disk; say what to fix",
    )
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.add_argument(
        "--min-free-mb",
        type=int,
        default=1024,
        metavar="MB",
        help="free disk space below this is a problem (default 1024)",
    )
    doctor.set_defaults(func=cmd_doctor)
