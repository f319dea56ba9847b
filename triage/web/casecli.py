"""`triage case claim|release|resolve|reopen|set|merge`: the staff actions for scripts.

The same services and status model as the web pages; the actor is the operating-system user
(recorded in the case history and the audit log, from address "cli"), who acts with an admin's
rights since they can reach the database anyway. ``set`` reads the value from standard input,
never from argv (process lists and shell history are not private). ``claim`` claims for a staff
account: ``--staff NAME``, else the account named like the operating-system user.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from triage.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _case_command(args: argparse.Namespace, settings: Settings) -> int:
    from triage.casedetail import find_case  # noqa: PLC0415
    from triage.cases.staffedit import Author, EditRefused, correct_field, merge_cases, redecide  # noqa: PLC0415
    from triage.cases.status import Action, TransitionRefused  # noqa: PLC0415
    from triage.clock import SystemClock  # noqa: PLC0415
    from triage.db.staff import StaffUser  # noqa: PLC0415
    from triage.engine.loader import load_rules  # noqa: PLC0415
    from triage.web.casework import Actor, VersionConflict, act, begin, finish  # noqa: PLC0415
    from triage.web.staffcli import os_user, run_in_transaction  # noqa: PLC0415

    rules = load_rules(settings.rules_dir, settings.replies_dir)
    user = os_user()
    value = sys.stdin.readline().rstrip("\r\n") if args.case_command == "set" else ""

    def work(session: Session, now: dt.datetime) -> int:
        import sqlalchemy as sa  # noqa: PLC0415

        case = find_case(session, args.id)
        if case is None:
            print(f"triage: no case {args.id}", file=sys.stderr)
            return EXIT_FAILED
        staff_id = None
        if args.case_command == "claim":
            name = (args.staff or user).strip().lower()
            staff_id = session.scalar(
                sa.select(StaffUser.id).where(StaffUser.name == name, ~StaffUser.disabled)
            )
            if staff_id is None:
                print(
                    f"triage: no active staff account {name!r} to claim for (--staff NAME)", file=sys.stderr
                )
                return EXIT_USAGE
        actor = Actor(staff_id, user, "admin", "cli")
        version = args.version
        try:
            if args.case_command in {"claim", "release", "resolve", "reopen", "not-a-request"}:
                action = Action(args.case_command.replace("-", "_"))
                act(
                    session,
                    case.id,
                    action,
                    actor,
                    expected_version=version,
                    now=now,
                    note=getattr(args, "note", "") or "",
                )
            elif args.case_command == "set":
                begin(session, case.id, Action.CORRECT, actor, expected_version=version)
                author = Author(None, user)
                correct_field(
                    session,
                    case,
                    args.field,
                    value,
                    rules,
                    author=author,
                    today=SystemClock().today(),
                    now=now,
                )
                decision = redecide(session, case, rules, settings, now=now)
                finish(
                    session,
                    case,
                    Action.CORRECT,
                    actor,
                    now=now,
                    detail={"decision": decision},
                    fields=(args.field,),
                )
            else:  # merge
                other = find_case(session, args.other)
                if other is None:
                    print(f"triage: no case {args.other}", file=sys.stderr)
                    return EXIT_FAILED
                begin(session, case.id, Action.MERGE, actor, expected_version=version)
                merge_cases(session, case, other, rules, author=Author(None, user), now=now)
                decision = redecide(session, case, rules, settings, now=now)
                finish(
                    session,
                    case,
                    Action.MERGE,
                    actor,
                    now=now,
                    detail={"decision": decision, "case": other.id},
                )
        except VersionConflict as conflict:
            kinds = ", ".join(event.kind for event in conflict.changes)
            print(f"triage: case {case.id} changed since version {version} ({kinds})", file=sys.stderr)
            return EXIT_FAILED
        except TransitionRefused as refused:
            print(f"triage: case {case.id} is {case.status.value}: {refused.reason}", file=sys.stderr)
            return EXIT_FAILED
        except EditRefused as refused:
            print(f"triage: {refused}", file=sys.stderr)
            return EXIT_USAGE
        print(f"case {case.id} {args.case_command}: now {case.status.value}")
        return EXIT_OK

    return run_in_transaction(settings, work)


def register(case_sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add the action commands beside `triage case show`."""

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = case_sub.add_parser(name, help=help_text)
        parser.add_argument("id", metavar="ID", help="the case id, or its reference (7Q4K-2M)")
        parser.add_argument("--version", type=int, help="refuse if the case changed after this version")
        parser.set_defaults(func=_case_command)
        return parser

    claim = command("claim", "claim a case for a staff account")
    claim.add_argument("--staff", metavar="NAME", help="the staff account (default: your login name)")
    command("release", "release a case's claim")
    resolve = command("resolve", "close a case as resolved")
    resolve.add_argument("--note", default="", help="a note for the case history")
    command("not-a-request", "close a case as not a request")
    command("reopen", "put a closed case back in the queue")
    set_cmd = command("set", "correct FIELD by hand; the value is read from stdin; the case is decided again")
    set_cmd.add_argument("field", metavar="FIELD")
    merge = command("merge", "merge case OTHER of the same member into case ID; decided again")
    merge.add_argument("other", metavar="OTHER")
    del parser_class
