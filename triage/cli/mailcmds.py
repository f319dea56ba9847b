"""`triage check` and `triage parse`: one raw message, no database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from triage import textmatch
from triage.cli.common import EXIT_OK, UsageError, load_rule_set, read_input
from triage.clock import SystemClock
from triage.config import Settings
from triage.engine.spec import RuleSet
from triage.outbound.render import render_reply, reply_subject
from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail
from triage.verdict import Verdict, judge


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
    raw = read_input(args.file, settings.max_message_bytes * 4)
    rules = load_rule_set(settings)
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
            try:
                Path(args.reply).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(
                    f"--reply {args.reply}: cannot write ({exc.strerror or exc}): give a file name "
                    "in a writable folder, or - for standard output"
                ) from exc
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
    raw = read_input(args.file, settings.max_message_bytes * 4)
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
