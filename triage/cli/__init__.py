"""The `triage` command (spec/cli.md). Every command has a short text form and a `--json` form.

One module per command group: :mod:`triage.cli.mailcmds` (check, parse), :mod:`triage.cli.service`
(serve, db, rules), :mod:`triage.cli.ingestcmd`, :mod:`triage.cli.listings`; what they share is in
:mod:`triage.cli.common`. A new command: its logic in a module of its own, a ``cmd_*`` function
and a few lines registering it in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from triage.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Parser
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
from triage.config import Settings
from triage.engine.loader import RuleLoadError
from triage.errors import ConfigError, ParseFailure, TriageError, UnreadableMail

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "parsed_json", "verdict_json"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="triage", description="Inbound e-mail triage for fan-club support desks.")
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
    serve_cmd.set_defaults(func=cmd_serve)

    ingest = sub.add_parser(
        "ingest", help="run .eml files, mbox files and Maildirs through the whole pipeline"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="a file, an mbox, a Maildir or a folder")
    ingest.add_argument("--to", help="the envelope recipient of every mail (default: from the headers)")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per mail")
    ingest.add_argument("-v", "--verbose", action="store_true", help="log each mail (INFO) on stderr")
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

    from triage.web.staffcli import register  # noqa: PLC0415 - the staff web UI's commands

    register(sub, serve=serve_cmd, parser_class=Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        result: int = args.func(args, settings)
        return result
    except RuleLoadError as exc:
        for problem in exc.problems:
            print(f"triage: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (UnreadableMail, ParseFailure, ConfigError) as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TriageError as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        print(f"triage: database error ({type(exc).__name__}); check TRIAGE_DATABASE_URL", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
