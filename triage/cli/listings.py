"""The listings: `queue list`, `case show`, `inbound list|retry`, `outbox list`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from triage.authenticity.marks import case_mark_lines
from triage.cli.common import EXIT_FAILED, EXIT_OK, database, list_command, load_rule_set, staff_user, when
from triage.clock import SystemClock
from triage.config import Settings


def cmd_queue_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.models import CaseStatus  # noqa: PLC0415 - not for `check`
    from triage.listing import queue_rows  # noqa: PLC0415

    return list_command(
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
            ("CREATED", lambda row: when(row["created_at"])),
            ("UPDATED", lambda row: when(row["updated_at"])),
            ("SENDER", lambda row: row["sender"]),
        ),
    )


def _detail_value(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def _print_case(data: dict[str, Any]) -> None:
    print(f"case {data['id']}  {data['reference']}  {data['mailbox']}  {data['status']}")
    print(f"  sender: {data['sender']}  language: {data['language']}")
    print(f"  created: {when(data['created_at'])}  updated: {when(data['updated_at'])}")
    print(f"  reason: {data['reason'] or '-'}")
    for line in case_mark_lines(data):
        print(line)
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
            f"  inbound {mail['inbound_id']}  {when(mail['received_at'])}  {mail['origin']}  "
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
        print(f"  {when(event['at'])}  {event['kind']}{refs}" + (f"  {detail}" if detail else ""))
    print("replies:" if data["replies"] else "replies: none")
    for reply in data["replies"]:
        print(
            f"  outbound {reply['id']}  {reply['template']}  {reply['status']}  attempts {reply['attempts']}"
            f"  created {when(reply['created_at'])}  sent {when(reply['sent_at'])}"
            + (f"  last error: {reply['last_error']}" if reply["last_error"] else "")
        )


def cmd_case_show(args: argparse.Namespace, settings: Settings) -> int:
    from triage.casedetail import show_case  # noqa: PLC0415 - not for `check`

    rules = load_rule_set(settings)
    with database(settings) as sessions:
        data = show_case(
            sessions,
            args.id,
            rules.fields,
            reveal=args.reveal,
            user=staff_user(),
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

    return list_command(
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
            ("CREATED", lambda row: when(row["created_at"])),
            (
                "NEXT ATTEMPT",
                lambda row: when(row["next_attempt_at"]) if row["status"] == "pending" else "-",
            ),
            ("LAST ERROR", lambda row: row["last_error"]),
        ),
    )


def cmd_inbound_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.models import InboundStatus  # noqa: PLC0415 - not for `check`
    from triage.listing import inbound_rows  # noqa: PLC0415

    return list_command(
        args,
        settings,
        InboundStatus,
        fetch=lambda session, status: inbound_rows(session, status=status, decision=args.decision),
        empty="no mail",
        columns=(
            ("ID", lambda row: row["id"]),
            ("RECEIVED", lambda row: when(row["received_at"])),
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

    with database(settings) as sessions, sessions() as session:
        problem = retry_inbound(session, args.id)
        if problem is not None:
            print(f"triage: {problem}", file=sys.stderr)
            return EXIT_FAILED
        session.commit()
    print(f"inbound {args.id} is pending again: a worker will process it")
    return EXIT_OK
