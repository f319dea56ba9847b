"""`triage serve`, `triage db upgrade` and `triage rules lint`."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os

from triage.cli.common import EXIT_FAILED, EXIT_OK, load_rule_set
from triage.clock import SystemClock
from triage.config import Settings
from triage.dbstatus import masked_url
from triage.engine.lint import lint
from triage.errors import CannotListen


def cmd_rules_lint(args: argparse.Namespace, settings: Settings) -> int:
    problems, summary = lint(settings.rules_dir, settings.replies_dir, today=SystemClock().today())
    if args.json:
        print(
            json.dumps(
                {"ok": not problems, "problems": [str(p) for p in problems], "summary": summary},
                ensure_ascii=False,
            )
        )
    else:
        for problem in problems:
            print(problem)
        print(("FAILED: " if problems else "ok: ") + summary)
    return EXIT_FAILED if problems else EXIT_OK


def hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    if int(port) > 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535; 0 picks a free one)")
    return host.strip("[]") or "127.0.0.1", int(port)


# errno values of a bind that cannot succeed as configured.
_LISTEN_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL, errno.EPERM})


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from triage.logsetup import configure_logging  # noqa: PLC0415
    from triage.serve import serve  # noqa: PLC0415 - keeps aiosmtpd and the database out of `check`

    configure_logging(logging.INFO, args.log_format)
    host, port = args.smtp or settings.smtp_listen
    only = [part.strip() for value in args.only or () for part in value.split(",") if part.strip()]
    rules = load_rule_set(settings)
    try:
        serve(
            settings,
            rules,
            host,
            port,
            only=only or None,
            web=getattr(args, "web", None),
            metrics=args.metrics or settings.metrics_listen,
        )
    except OSError as exc:  # only the SMTP ingress binds here; the web server reports its own
        if exc.errno not in _LISTEN_ERRORS:
            raise
        why = os.strerror(exc.errno) if exc.errno is not None else str(exc)
        raise CannotListen(
            f"cannot listen for SMTP on {host}:{port} ({why.lower()}): stop what uses it or choose "
            "another address with --smtp HOST:PORT or TRIAGE_SMTP_LISTEN"
        ) from exc
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.migrate import upgrade  # noqa: PLC0415 - keeps Alembic out of `check`

    upgrade(settings.database_url)
    print(f"database {masked_url(settings.database_url)} upgraded to the latest migration")
    return EXIT_OK
