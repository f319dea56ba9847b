"""`triage keys new|rotate` and `triage purge`: the command side of encryption and retention.

:func:`register` is the one hook `triage/cli/__init__.py` calls. Progress goes to standard error, one
line per batch; the result to standard output (one JSON object with ``--json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from triage.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

EXIT_OK = 0
EXIT_USAGE = 2


def _progress(what: str, done: int, total: int) -> None:
    print(f"triage: {what} {done}/{total}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    from triage.db.engine import make_engine, session_factory  # noqa: PLC0415 - not for `check`

    engine = make_engine(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        keys=settings.encryption_keys,
    )
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def cmd_keys_new(args: argparse.Namespace, settings: Settings) -> int:
    from triage.crypto import new_key  # noqa: PLC0415

    print(new_key())
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from triage.crypto import Keyring  # noqa: PLC0415
    from triage.rekey import rotate  # noqa: PLC0415

    if not settings.encryption_keys:
        print("triage: TRIAGE_ENCRYPTION_KEYS is not set: there is no key to rotate to", file=sys.stderr)
        return EXIT_USAGE
    keyring = Keyring(settings.encryption_keys)
    with _sessions(settings) as sessions:
        reports = rotate(sessions, keyring, dry_run=args.dry_run, progress=_progress)
    result: dict[str, Any] = {
        "dry_run": args.dry_run,
        "key": keyring.current_id.hex(),
        "columns": [report.as_json() for report in reports],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return EXIT_OK
    verb = "would re-encrypt" if args.dry_run else "re-encrypted"
    for report in reports:
        print(
            f"{report.column}: {report.rows} rows, {report.resealed + report.plain} {verb} "
            f"({report.plain} were plain), {report.current} already under key {result['key']}, "
            f"{report.empty} empty"
        )
    return EXIT_OK


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from triage.clock import SystemClock  # noqa: PLC0415
    from triage.purge import purge  # noqa: PLC0415
    from triage.web.staffcli import os_user  # noqa: PLC0415

    with _sessions(settings) as sessions:
        report = purge(
            sessions,
            dict(settings.retention_days),
            SystemClock().now(),
            dry_run=args.dry_run,
            actor=os_user(),
            address="cli",
            progress=_progress,
        )
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return EXIT_OK
    verb = "would purge" if args.dry_run else "purged"
    cases = ", ".join(f"{count} {status}" for status, count in report.cases.items()) or "none"
    print(
        f"{verb}: cases {cases} "
        f"({report.case_mails} mails, {report.values} values, {report.replies} replies); "
        f"mail without a case: {report.mails_without_case.get('ignored', 0)} ignored, "
        f"{report.mails_without_case.get('failed', 0)} failed"
    )
    return EXIT_OK


def register(sub: Any, *, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``keys`` and ``purge`` to the top-level subparsers ``sub``."""
    keys = sub.add_parser("keys", help="encryption keys of raw mail and values at rest")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=parser_class)
    keys_sub.add_parser("new", help="print a new random key for TRIAGE_ENCRYPTION_KEYS").set_defaults(
        func=cmd_keys_new
    )
    rotate = keys_sub.add_parser(
        "rotate", help="re-encrypt every sealed value under the first key of TRIAGE_ENCRYPTION_KEYS"
    )
    rotate.add_argument("--dry-run", action="store_true", help="only count what would be re-encrypted")
    rotate.add_argument("--json", action="store_true", help="print one JSON object")
    rotate.set_defaults(func=cmd_keys_rotate)

    purge_cmd = sub.add_parser(
        "purge", help="delete raw mail and blank values past retention (TRIAGE_RETENTION_DAYS)"
    )
    purge_cmd.add_argument("--dry-run", action="store_true", help="only count what would be purged")
    purge_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    purge_cmd.set_defaults(func=cmd_purge)
