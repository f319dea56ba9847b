"""The `triage` command (spec/cli.md). Every command has a short text form and a `--json` form."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import SQLAlchemyError

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
    mail = parse_mail(raw)
    verdict = judge(mail, envelope_to=args.to, settings=settings, rules=rules, today=SystemClock().today())
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
    if args.json:
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
    from triage.serve import serve  # noqa: PLC0415 - keeps aiosmtpd and the database out of `check`

    host, port = args.smtp or settings.smtp_listen
    serve(settings, _rules(settings), host, port)
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.migrate import upgrade  # noqa: PLC0415 - keeps Alembic out of `check`

    upgrade(settings.database_url)
    print("database upgraded to the latest migration")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="triage", description="Inbound e-mail triage for fan-club support desks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="triage one raw message without a database; print the verdict")
    check.add_argument("file", help="a .eml file, or - for standard input")
    check.add_argument("--to", help="the envelope recipient (default: from the headers)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
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
    serve_cmd.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="the database")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(func=cmd_db_upgrade)

    rules = sub.add_parser("rules", help="rule packs")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    lint_cmd = rules_sub.add_parser("lint", help="check every rule pack, example and template")
    lint_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    lint_cmd.set_defaults(func=cmd_rules_lint)
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
