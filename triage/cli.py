"""The `triage` command (spec/cli.md). Every command has a short text form and a `--json` form."""

from __future__ import annotations

import argparse
import contextlib
import enum
import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.exc import SQLAlchemyError

from triage import textmatch
from triage.clock import SystemClock
from triage.config import Settings
from triage.engine.lint import lint
from triage.engine.loader import RuleLoadError, load_rules
from triage.engine.spec import RuleSet
from triage.errors import ConfigError, ParseFailure, TriageError, UnreadableMail
from triage.outbound.render import render_reply, reply_subject
from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail
from triage.verdict import Verdict, judge

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from triage.ingest import IngestResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _read_input(path: str, max_bytes: int) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            file = Path(path)
            if not file.is_file():
                raise UnreadableMail(f"{path}: not a file")
            with file.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableMail(f"{path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableMail(f"{path}: empty input, not a mail")
    return data


def _rules(settings: Settings) -> RuleSet:
    return load_rules(settings.rules_dir, settings.replies_dir)


def verdict_json(verdict: Verdict, rules: RuleSet) -> dict[str, Any]:
    extraction = verdict.extraction
    fields = extraction.fields_json(rules.fields) if extraction is not None else {}
    invalid = (
        [
            {
                "field": item.field,
                "value": item.written,
                "reason": item.reason_en if verdict.language == "en" else item.reason_ja,
            }
            | ({"suggestion": item.suggestion} if item.suggestion else {})
            for item in extraction.invalid
        ]
        if extraction is not None
        else []
    )
    reply = None
    if verdict.reply_template and verdict.reply_to:
        reply = {
            "template": verdict.reply_template,
            "to": verdict.reply_to,
            "subject": reply_subject(verdict, rules),
        }
    return {
        "mailbox": verdict.route.mailbox,
        "decision": verdict.decision.value,
        "reason": verdict.reason,
        "language": verdict.language,
        "fields": fields,
        "missing": list(verdict.missing),
        "invalid": invalid,
        "reply": reply,
        "screening": [
            {"signal": hit.signal, "detail": hit.detail, "strong": hit.strong}
            for hit in (verdict.screening.hits if verdict.screening else ())
        ],
        "notes": list(verdict.notes)
        + [f"pattern timeout: {name}" for name in (extraction.timeouts if extraction else [])],
    }


def _print_verdict(data: dict[str, Any]) -> None:
    print(f"{data['decision']}  mailbox={data['mailbox'] or '-'}  language={data['language']}")
    print(f"  reason: {data['reason']}")
    for key, value in data["fields"].items():
        print(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")
    for item in data["invalid"]:
        print(f"  invalid {item['field']}: {item['value']!r} - {item['reason']}")
    if data["reply"]:
        print(f"  reply: {data['reply']['template']} to {data['reply']['to']}: {data['reply']['subject']}")


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    raw = _read_input(args.file, settings.max_message_bytes * 4)
    rules = _rules(settings)
    today = SystemClock().today()
    with textmatch.reading():  # one budget for the whole read, as in the worker
        mail = parse_mail(raw)
        verdict = judge(mail, envelope_to=args.to, settings=settings, rules=rules, today=today)
    data = verdict_json(verdict, rules)
    if args.reply:
        rendered = render_reply(verdict, rules, settings)
        text = rendered.as_text() if rendered is not None else "(no reply is sent for this verdict)\n"
        if args.reply == "-":
            sys.stdout.write(text)
        else:
            Path(args.reply).write_text(text, encoding="utf-8")
        if args.reply == "-":
            return EXIT_OK
    if args.explain:
        from triage.explaining import explain_json, render_text  # noqa: PLC0415 - only for --explain

        explained = explain_json(verdict, rules)
        if args.json:
            print(json.dumps(explained, ensure_ascii=False))
        else:
            sys.stdout.write(render_text(explained))
    elif args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print_verdict(data)
    return EXIT_OK


def parsed_json(mail: ParsedMail) -> dict[str, Any]:
    return {
        "subject": mail.subject,
        "from": {"display_name": mail.from_addr.display_name, "addr": mail.from_addr.addr}
        if mail.from_addr
        else None,
        "from_ambiguous": mail.from_ambiguous,
        "to": [address.addr for address in mail.to],
        "cc": [address.addr for address in mail.cc],
        "return_path": mail.return_path,
        "message_id": mail.message_id,
        "in_reply_to": list(mail.in_reply_to),
        "references": list(mail.references),
        "content_type": mail.content_type,
        "headers": [[name, value] for name, value in mail.headers],
        "text": mail.text,
        "quoted": mail.quoted,
        "text_source": mail.text_source,
        "text_how": mail.text_how,
        "parts": [
            {
                "path": part.path,
                "content_type": part.content_type,
                "charset": part.declared_charset,
                "transfer_encoding": part.transfer_encoding,
                "how": part.how,
                "size": part.size,
                "attachment": part.is_attachment,
                "filename": part.filename,
            }
            for part in mail.parts
        ],
        "attachments": [
            {"filename": item.filename, "content_type": item.content_type, "size": item.size}
            for item in mail.attachments
        ],
        "defects": list(mail.defects),
    }


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    raw = _read_input(args.file, settings.max_message_bytes * 4)
    data = parsed_json(parse_mail(raw))
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return EXIT_OK
    print(f"Subject: {data['subject']}")
    print(
        f"From: {data['from']['addr'] if data['from'] else '-'}"
        + (" (ambiguous)" if data["from_ambiguous"] else "")
    )
    print(f"Text: {data['text_source']} decoded as {data['text_how']}")
    for part in data["parts"]:
        print(
            f"  part {part['path'] or '-'}: {part['content_type']} "
            f"charset={part['charset']} how={part['how']}"
        )
    for defect in data["defects"]:
        print(f"  defect: {defect}")
    print("--- member text ---")
    print(data["text"])
    if data["quoted"]:
        print("--- quoted ---")
        print(data["quoted"])
    return EXIT_OK


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


def _hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from triage.logsetup import configure_logging  # noqa: PLC0415
    from triage.serve import serve  # noqa: PLC0415 - keeps aiosmtpd and the database out of `check`

    configure_logging(logging.INFO)
    host, port = args.smtp or settings.smtp_listen
    only = [part.strip() for value in args.only or () for part in value.split(",") if part.strip()]
    serve(
        settings,
        _rules(settings),
        host,
        port,
        only=only or None,
        web=getattr(args, "web", None),
        metrics=args.metrics or settings.metrics_listen,
    )
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.migrate import upgrade  # noqa: PLC0415 - keeps Alembic out of `check`

    upgrade(settings.database_url)
    print("database upgraded to the latest migration")
    return EXIT_OK


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on TRIAGE_DATABASE_URL; the engine is disposed afterwards."""
    from triage.db.engine import make_engine, session_factory  # noqa: PLC0415 - not for `check`

    engine = make_engine(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _usage(message: str) -> int:
    print(f"triage: {message}", file=sys.stderr)
    return EXIT_USAGE


def _when(value: str | None) -> str:
    """An ISO timestamp from the listings, shortened to seconds for a terminal."""
    return value[:19].replace("T", " ") + "Z" if value else "-"


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[("-" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _ingest_problem(result: IngestResult) -> str:
    from triage.masking import mask_text  # noqa: PLC0415 - light, but only needed here

    detail = mask_text(result.detail)
    if result.status == "unreadable":
        return f"triage: {detail}"
    if result.status == "failed":
        return f"triage: {result.path}: not processed; inbound {result.inbound_id} parked as failed: {detail}"
    if result.status == "pending":
        return (
            f"triage: {result.path}: processing failed; inbound {result.inbound_id} stays queued "
            f"for a worker (`triage serve`) to retry: {detail}"
        )
    return f"triage: {result.path}: inbound {result.inbound_id} is {result.status}: {detail}"


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    # Heavy imports stay here: `triage check` must not load the database layer.
    from triage.db.migrate import upgrade  # noqa: PLC0415
    from triage.errors import StoreUnavailable  # noqa: PLC0415
    from triage.ingest import Ingester, Progress, discover, is_tty, missing_paths, summary  # noqa: PLC0415
    from triage.logsetup import configure_logging  # noqa: PLC0415

    missing = missing_paths(args.paths)
    if missing:
        for path in missing:
            print(f"triage: {path}: no such file or directory", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    rules = _rules(settings)
    found = discover(args.paths, settings.max_message_bytes)
    upgrade(settings.database_url)
    results: list[IngestResult] = []
    progress = Progress(sys.stderr, len(found.sources), enabled=is_tty(sys.stderr))
    with _database(settings) as sessions:
        ingester = Ingester(sessions, settings, rules, clock=SystemClock(), to=args.to)
        progress.start()
        try:
            for source in found.sources:
                result = ingester.ingest(source)
                results.append(result)
                if args.json:
                    print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
                if not result.ok:
                    progress.say(_ingest_problem(result))
                progress.advance()
        except StoreUnavailable as exc:
            progress.say(
                f"triage: the database cannot take mail ({exc}); stopped after "
                f"{len(results)} of {len(found.sources)} mails"
            )
            return EXIT_FAILED
        finally:
            progress.finish()
    if not args.json:
        print(summary(results, len(found.skipped)))
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED


_Row = dict[str, Any]


def _list_command(
    args: argparse.Namespace,
    settings: Settings,
    statuses: type[enum.Enum],
    *,
    fetch: Callable[[Session, Any], list[_Row]],
    empty: str,
    columns: Sequence[tuple[str, Callable[[_Row], object]]],
) -> int:
    """`--status` checked against ``statuses``; rows as a JSON array (`--json`) or a table."""
    try:
        status = statuses(args.status) if args.status else None
    except ValueError:
        return _usage(f"--status must be one of {', '.join(str(item.value) for item in statuses)}")
    with _database(settings) as sessions, sessions() as session:
        rows = fetch(session, status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print(empty)
    else:
        _print_table([name for name, _ in columns], [[cell(row) for _, cell in columns] for row in rows])
    return EXIT_OK


def cmd_queue_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.models import CaseStatus  # noqa: PLC0415 - not for `check`
    from triage.listing import queue_rows  # noqa: PLC0415

    return _list_command(
        args,
        settings,
        CaseStatus,
        fetch=lambda session, status: queue_rows(session, status=status, mailbox=args.mailbox),
        empty="no cases",
        columns=(
            ("ID", lambda row: row["id"]),
            ("REFERENCE", lambda row: row["reference"]),
            ("MAILBOX", lambda row: row["mailbox"]),
            ("STATUS", lambda row: row["status"]),
            ("CREATED", lambda row: _when(row["created_at"])),
            ("UPDATED", lambda row: _when(row["updated_at"])),
            ("SENDER", lambda row: row["sender"]),
        ),
    )


def _staff_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return "unknown"


def _detail_value(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def _print_case(data: dict[str, Any]) -> None:
    print(f"case {data['id']}  {data['reference']}  {data['mailbox']}  {data['status']}")
    print(f"  sender: {data['sender']}  language: {data['language']}")
    print(f"  created: {_when(data['created_at'])}  updated: {_when(data['updated_at'])}")
    print(f"  reason: {data['reason'] or '-'}")
    if data["parent_id"] is not None:
        print(f"  follows case {data['parent_id']}")

    def value_line(item: dict[str, Any]) -> str:
        shown = item["value"] if item["valid"] else item["written"]
        text = ", ".join(map(str, shown)) if isinstance(shown, list) else str(shown)
        line = f"  {item['field']:<22} {text}"
        if not item["valid"]:
            line += f"  (invalid: {item['reason_ja'] or item['reason_en'] or '-'})"
        line += f"  <- inbound {item['inbound_id']} ({item['source']}, line {item['line']})"
        if item.get("superseded_by") is not None:
            line += f", replaced by inbound {item['superseded_by']}"
        return line + ("  [masked]" if item["masked"] else "")

    print("fields:" if data["fields"] else "fields: none")
    for item in data["fields"]:
        print(value_line(item))
    if data["replaced"]:
        print("replaced values:")
        for item in data["replaced"]:
            print(value_line(item))
    if any(item["masked"] for item in data["fields"] + data["replaced"]):
        print("  (sensitive values masked; --reveal shows them and is recorded in the history)")
    print("mails:")
    for mail in data["mails"]:
        print(
            f"  inbound {mail['inbound_id']}  {_when(mail['received_at'])}  {mail['origin']}  "
            f"{mail['status']}  {mail['decision'] or '-'}"
        )
    print("history:")
    for event in data["history"]:
        refs = "".join(
            f"  {name} {event[key]}"
            for name, key in (("inbound", "inbound_id"), ("outbound", "outbound_id"))
            if event[key] is not None
        )
        detail = " ".join(f"{key}={_detail_value(value)}" for key, value in event["detail"].items())
        print(f"  {_when(event['at'])}  {event['kind']}{refs}" + (f"  {detail}" if detail else ""))
    print("replies:" if data["replies"] else "replies: none")
    for reply in data["replies"]:
        print(
            f"  outbound {reply['id']}  {reply['template']}  {reply['status']}  attempts {reply['attempts']}"
            f"  created {_when(reply['created_at'])}  sent {_when(reply['sent_at'])}"
            + (f"  last error: {reply['last_error']}" if reply["last_error"] else "")
        )


def cmd_case_show(args: argparse.Namespace, settings: Settings) -> int:
    from triage.listing import show_case  # noqa: PLC0415 - not for `check`

    rules = _rules(settings)
    with _database(settings) as sessions:
        data = show_case(
            sessions,
            args.id,
            rules.fields,
            reveal=args.reveal,
            user=_staff_user(),
            now=SystemClock().now(),
        )
    if data is None:
        print(f"triage: no case {args.id}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print_case(data)
    return EXIT_OK


def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.models import OutboundStatus  # noqa: PLC0415 - not for `check`
    from triage.listing import outbox_rows  # noqa: PLC0415

    return _list_command(
        args,
        settings,
        OutboundStatus,
        fetch=lambda session, status: outbox_rows(session, status=status),
        empty="no replies",
        columns=(
            ("ID", lambda row: row["id"]),
            ("CASE", lambda row: row["case_id"]),
            ("TEMPLATE", lambda row: row["template"]),
            ("STATUS", lambda row: row["status"]),
            ("ATTEMPTS", lambda row: row["attempts"]),
            ("TO", lambda row: row["to"]),
            ("CREATED", lambda row: _when(row["created_at"])),
            (
                "NEXT ATTEMPT",
                lambda row: _when(row["next_attempt_at"]) if row["status"] == "pending" else "-",
            ),
            ("LAST ERROR", lambda row: row["last_error"]),
        ),
    )


def cmd_inbound_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.models import InboundStatus  # noqa: PLC0415 - not for `check`
    from triage.listing import inbound_rows  # noqa: PLC0415

    return _list_command(
        args,
        settings,
        InboundStatus,
        fetch=lambda session, status: inbound_rows(session, status=status, decision=args.decision),
        empty="no mail",
        columns=(
            ("ID", lambda row: row["id"]),
            ("RECEIVED", lambda row: _when(row["received_at"])),
            ("ORIGIN", lambda row: row["origin"]),
            ("STATUS", lambda row: row["status"]),
            ("ATTEMPTS", lambda row: row["attempts"]),
            ("MAILBOX", lambda row: row["mailbox"] or "-"),
            ("DECISION", lambda row: row["decision"] or "-"),
            ("CASE", lambda row: row["case_id"] or "-"),
            ("REASON / ERROR", lambda row: row["last_error"] or row["reason"] or "-"),
        ),
    )


def cmd_inbound_retry(args: argparse.Namespace, settings: Settings) -> int:
    from triage.listing import retry_inbound  # noqa: PLC0415 - not for `check`

    with _database(settings) as sessions, sessions() as session:
        problem = retry_inbound(session, args.id)
        if problem is not None:
            print(f"triage: {problem}", file=sys.stderr)
            return EXIT_FAILED
        session.commit()
    print(f"inbound {args.id} is pending again: a worker will process it")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="triage", description="Inbound e-mail triage for fan-club support desks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    serve_cmd.add_argument("--smtp", type=_hostport, metavar="HOST:PORT", help="SMTP listen address")
    serve_cmd.add_argument(
        "--only",
        action="append",
        metavar="PART",
        help="run only these parts: ingress, worker, sender, web (repeat or comma-separate)",
    )
    serve_cmd.add_argument(
        "--metrics", type=_hostport, metavar="HOST:PORT", help="serve /metrics, /healthz, /readyz here"
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
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, parser_class=_Parser)
    queue_list = queue_sub.add_parser("list", help="every case (sender masked)")
    queue_list.add_argument("--status", help="only cases in this status (needs_info, queued, ...)")
    queue_list.add_argument("--mailbox", help="only cases of this mailbox (secure_jo1, ...)")
    queue_list.add_argument("--json", action="store_true", help="print one JSON array")
    queue_list.set_defaults(func=cmd_queue_list)

    case = sub.add_parser("case", help="one case")
    case_sub = case.add_subparsers(dest="case_command", required=True, parser_class=_Parser)
    case_show = case_sub.add_parser("show", help="fields with their source mail, history, mails, replies")
    case_show.add_argument("id", metavar="ID", help="the case id, or its reference (7Q4K-2M)")
    case_show.add_argument(
        "--reveal", action="store_true", help="show sensitive values too (recorded in the case history)"
    )
    case_show.add_argument("--json", action="store_true", help="print one JSON object")
    case_show.set_defaults(func=cmd_case_show)

    inbound = sub.add_parser("inbound", help="stored mail: failed, ignored, duplicates")
    inbound_sub = inbound.add_subparsers(dest="inbound_command", required=True, parser_class=_Parser)
    inbound_list = inbound_sub.add_parser("list", help="every stored mail (no addresses, no bodies)")
    inbound_list.add_argument("--status", help="only mail in this status (pending, failed, duplicate, ...)")
    inbound_list.add_argument("--decision", help="only mail with this decision (ignored, queued, ...)")
    inbound_list.add_argument("--json", action="store_true", help="print one JSON array")
    inbound_list.set_defaults(func=cmd_inbound_list)
    inbound_retry = inbound_sub.add_parser("retry", help="put a failed mail back in the queue")
    inbound_retry.add_argument("id", type=int, help="the inbound id")
    inbound_retry.set_defaults(func=cmd_inbound_retry)

    outbox = sub.add_parser("outbox", help="replies waiting, sent or given up")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, parser_class=_Parser)
    outbox_list = outbox_sub.add_parser("list", help="every reply (recipient masked)")
    outbox_list.add_argument("--status", help="only replies in this status (pending, sent, dead, ...)")
    outbox_list.add_argument("--json", action="store_true", help="print one JSON array")
    outbox_list.set_defaults(func=cmd_outbox_list)

    db = sub.add_parser("db", help="the database")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(func=cmd_db_upgrade)

    rules = sub.add_parser("rules", help="rule packs")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    lint_cmd = rules_sub.add_parser("lint", help="check every rule pack, example and template")
    lint_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    lint_cmd.set_defaults(func=cmd_rules_lint)

    from triage.web.staffcli import register  # noqa: PLC0415 - the staff web UI's commands

    register(sub, serve=serve_cmd, parser_class=_Parser)
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
