"""The `triage` command (spec/cli.md). Every command has a short text form and a `--json` form.

One module per command group: :mod:`triage.cli.mailcmds` (check, parse), :mod:`triage.cli.service`
(serve, db, rules), :mod:`triage.cli.ingestcmd`, :mod:`triage.cli.listings` (queue, case,
inbound, outbox), :mod:`triage.cli.doctorcmd`; what they share (exit codes, the parser class, the
database) is in :mod:`triage.cli.common`. A new command: its logic in a module of its own, a
``cmd_*`` function and a few lines registering it in :func:`build_parser`. :func:`main` maps
every error to one line on stderr and an exit code (README "Exit codes").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from triage import __version__
from triage.cli.common import (
    EXIT_DATABASE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LISTEN,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_USAGE,
    Parser,
)
from triage.cli.doctorcmd import register as register_doctor
from triage.cli.ingestcmd import cmd_ingest
from triage.cli.listings import (
    cmd_case_show,
    cmd_inbound_list,
    cmd_inbound_retry,
    cmd_outbox_list,
    cmd_queue_list,
)
from triage.cli.mailcmds import cmd_check, cmd_parse, parsed_json, verdict_json
from triage.cli.service import cmd_db_upgrade, cmd_rules_lint, cmd_serve, hostport
from triage.config import LOG_FORMATS, Settings
from triage.dbstatus import DatabaseNotReady, explain
from triage.engine.loader import RuleLoadError
from triage.errors import (
    CannotListen,
    ConfigError,
    ParseFailure,
    StoreUnavailable,
    TriageError,
    UnreadableMail,
)

__all__ = [
    "EXIT_DATABASE",
    "EXIT_FAILED",
    "EXIT_LISTEN",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_USAGE",
    "build_parser",
    "main",
    "parsed_json",
    "verdict_json",
]


def _log_format_option(parser: argparse.ArgumentParser, default: object) -> None:
    """`--log-format` before the command, or after `serve` / `ingest` (the commands that log)."""
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=default,
        help="log lines as text or one JSON object per line (default: TRIAGE_LOG_FORMAT, else text)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="triage", description="Inbound e-mail triage for fan-club support desks.")
    parser.add_argument("--version", action="version", version=f"triage {__version__}")
    _log_format_option(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    check = sub.add_parser("check", help="triage one raw message without a database; print the verdict")
    check.add_argument("file", help="a .eml file, or - for standard input")
    check.add_argument("--to", help="the envelope recipient (default: from the headers)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--explain",
        action="store_true",
        help="show, per field, the candidates seen and why (docs/explain.md)",
    )
    check.add_argument(
        "--reply", metavar="FILE", help="write the whole rendered reply to FILE (- for stdout)"
    )
    check.set_defaults(func=cmd_check)

    parse = sub.add_parser("parse", help="show how a message was parsed and decoded")
    parse.add_argument("file", help="a .eml file, or - for standard input")
    parse.add_argument("--json", action="store_true", help="print one JSON object")
    parse.set_defaults(func=cmd_parse)

    serve_cmd = sub.add_parser("serve", help="run the service (creates or upgrades the database first)")
    serve_cmd.add_argument("--smtp", type=hostport, metavar="HOST:PORT", help="SMTP listen address")
    serve_cmd.add_argument(
        "--only",
        action="append",
        metavar="PART",
        help="run only these parts: ingress, worker, sender, web (repeat or comma-separate)",
    )
    serve_cmd.add_argument(
        "--metrics", type=hostport, metavar="HOST:PORT", help="serve /metrics, /healthz, /readyz here"
    )
    _log_format_option(serve_cmd, argparse.SUPPRESS)
    serve_cmd.set_defaults(func=cmd_serve)

    ingest = sub.add_parser(
        "ingest", help="run .eml files, mbox files and Maildirs through the whole pipeline"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="a file, an mbox, a Maildir or a folder")
    ingest.add_argument("--to", help="the envelope recipient of every mail (default: from the headers)")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per mail")
    ingest.add_argument("-v", "--verbose", action="store_true", help="log each mail (INFO) on stderr")
    _log_format_option(ingest, argparse.SUPPRESS)
    ingest.set_defaults(func=cmd_ingest)

    queue = sub.add_parser("queue", help="the staff queue")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, parser_class=Parser)
    queue_list = queue_sub.add_parser("list", help="every case (sender masked)")
    queue_list.add_argument("--status", help="only cases in this status (needs_info, queued, ...)")
    queue_list.add_argument("--mailbox", help="only cases of this mailbox (secure_jo1, ...)")
    queue_list.add_argument("--json", action="store_true", help="print one JSON array")
    queue_list.set_defaults(func=cmd_queue_list)

    case = sub.add_parser("case", help="one case")
    case_sub = case.add_subparsers(dest="case_command", required=True, parser_class=Parser)
    case_show = case_sub.add_parser("show", help="fields with their source mail, history, mails, replies")
    case_show.add_argument("id", metavar="ID", help="the case id, or its reference (7Q4K-2M)")
    case_show.add_argument(
        "--reveal", action="store_true", help="show sensitive values too (recorded in the case history)"
    )
    case_show.add_argument("--json", action="store_true", help="print one JSON object")
    case_show.set_defaults(func=cmd_case_show)

    inbound = sub.add_parser("inbound", help="stored mail: failed, ignored, duplicates")
    inbound_sub = inbound.add_subparsers(dest="inbound_command", required=True, parser_class=Parser)
    inbound_list = inbound_sub.add_parser("list", help="every stored mail (no addresses, no bodies)")
    inbound_list.add_argument("--status", help="only mail in this status (pending, failed, duplicate, ...)")
    inbound_list.add_argument("--decision", help="only mail with this decision (ignored, queued, ...)")
    inbound_list.add_argument("--json", action="store_true", help="print one JSON array")
    inbound_list.set_defaults(func=cmd_inbound_list)
    inbound_retry = inbound_sub.add_parser("retry", help="put a failed mail back in the queue")
    inbound_retry.add_argument("id", type=int, help="the inbound id")
    inbound_retry.set_defaults(func=cmd_inbound_retry)

    outbox = sub.add_parser("outbox", help="replies waiting, sent or given up")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, parser_class=Parser)
    outbox_list = outbox_sub.add_parser("list", help="every reply (recipient masked)")
    outbox_list.add_argument("--status", help="only replies in this status (pending, sent, dead, ...)")
    outbox_list.add_argument("--json", action="store_true", help="print one JSON array")
    outbox_list.set_defaults(func=cmd_outbox_list)

    db = sub.add_parser("db", help="the database")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    db_sub.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(func=cmd_db_upgrade)

    rules = sub.add_parser("rules", help="rule packs")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, parser_class=Parser)
    lint_cmd = rules_sub.add_parser("lint", help="check every rule pack, example and template")
    lint_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    lint_cmd.set_defaults(func=cmd_rules_lint)

    register_doctor(sub)

    from triage.web.staffcli import register  # noqa: PLC0415 - the staff web UI's commands

    register(sub, serve=serve_cmd, parser_class=Parser)
    from triage.privacycli import register as register_privacy  # noqa: PLC0415 - keys, purge

    register_privacy(sub, parser_class=Parser)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"triage: {message}", file=sys.stderr)
    return code


def _output_closed() -> int:
    """Standard output was closed by its reader: stop quietly, as a process killed by SIGPIPE."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
    return EXIT_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    url = "(not read yet)"
    try:
        settings = Settings.from_env()
        url = settings.database_url
        args.log_format = args.log_format or settings.log_format
        result: int = args.func(args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return result
    except BrokenPipeError:
        return _output_closed()
    except RuleLoadError as exc:
        for problem in exc.problems:
            print(f"triage: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except CannotListen as exc:
        return _fail(str(exc), EXIT_LISTEN)
    except DatabaseNotReady as exc:
        return _fail(str(exc), EXIT_DATABASE)
    except (StoreUnavailable, SQLAlchemyError) as exc:
        return _fail(explain(url, exc), EXIT_DATABASE)
    except (UnreadableMail, ParseFailure, ConfigError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except TriageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
