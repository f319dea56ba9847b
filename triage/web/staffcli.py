"""`triage staff add|list|disable`: staff accounts of the web UI from the command line.

``add`` takes the password from a prompt (asked twice) on a terminal, else the first line of
standard input, never from argv. ``disable`` ends the account's sessions at once. Every change
is written to the audit log as the operating-system user. :func:`register` is the one hook
`triage/cli.py` calls: it adds the ``staff`` command and ``serve --web``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from triage.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_WEB = "127.0.0.1:8080"


def web_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return "unknown"


def _read_password() -> str | None:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("triage: the two passwords differ", file=sys.stderr)
            return None
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_in_transaction(
    settings: Settings, work: Callable[[Session, dt.datetime], int], *, read_only: bool = False
) -> int:
    """``work`` in one write transaction, committed when it returns 0. ``read_only``: the database
    must already exist at the latest migration (it is never created or upgraded) and no write
    lock is taken."""
    from triage.clock import SystemClock  # noqa: PLC0415 - the database layer only when used
    from triage.db.engine import SQLITE_BEGIN, make_engine, session_factory  # noqa: PLC0415
    from triage.db.migrate import upgrade  # noqa: PLC0415
    from triage.dbstatus import require_migrated  # noqa: PLC0415

    if read_only:
        require_migrated(settings.database_url)
    else:
        upgrade(settings.database_url)
    engine = make_engine(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        keys=settings.encryption_keys,
    )
    try:
        with session_factory(engine)() as session:
            if not read_only:
                session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
            code = work(session, SystemClock().now())
            if code == EXIT_OK:
                session.commit()
            return code
    finally:
        engine.dispose()


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    from triage.db.staff import StaffRole  # noqa: PLC0415
    from triage.web import audit  # noqa: PLC0415
    from triage.web.accounts import AccountError, add_staff  # noqa: PLC0415
    from triage.web.passwords import WeakPassword, parse_parameters, passwords  # noqa: PLC0415

    password = _read_password()
    if password is None:
        return EXIT_USAGE
    hasher = passwords(parse_parameters(settings.argon2))

    def work(session: Session, now: dt.datetime) -> int:
        try:
            user = add_staff(session, args.name, StaffRole(args.role), password, hasher=hasher, now=now)
        except (AccountError, WeakPassword) as exc:
            print(f"triage: {exc}", file=sys.stderr)
            return EXIT_USAGE
        audit.record(
            session,
            now=now,
            actor=os_user(),
            address="cli",
            action="staff_add",
            detail={"staff": user.name, "role": user.role.value},
        )
        print(f"staff {user.name} added ({user.role.value})")
        return EXIT_OK

    return run_in_transaction(settings, work)


def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    from triage.web.accounts import list_staff  # noqa: PLC0415

    def work(session: Session, now: dt.datetime) -> int:
        rows: list[dict[str, Any]] = [
            {
                "name": user.name,
                "role": user.role.value,
                "disabled": user.disabled,
                "locked": user.locked_until is not None and user.locked_until > now,
                "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
            }
            for user in list_staff(session)
        ]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        elif not rows:
            print("no staff accounts (add one with `triage staff add NAME --role admin`)")
        else:
            for row in rows:
                state = "disabled" if row["disabled"] else ("locked" if row["locked"] else "active")
                print(
                    f"{row['name']:<24} {row['role']:<6} {state:<8} last login {row['last_login_at'] or '-'}"
                )
        return EXIT_OK

    return run_in_transaction(settings, work, read_only=True)


def cmd_staff_disable(args: argparse.Namespace, settings: Settings) -> int:
    from triage.web import audit  # noqa: PLC0415
    from triage.web.accounts import AccountError, disable_staff  # noqa: PLC0415

    def work(session: Session, now: dt.datetime) -> int:
        try:
            ended = disable_staff(session, args.name)
        except AccountError as exc:
            print(f"triage: {exc}", file=sys.stderr)
            return EXIT_FAILED
        audit.record(
            session,
            now=now,
            actor=os_user(),
            address="cli",
            action="staff_disable",
            detail={"staff": args.name.strip().lower(), "sessions_ended": ended},
        )
        print(f"staff {args.name.strip().lower()} disabled; {ended} session(s) ended")
        return EXIT_OK

    return run_in_transaction(settings, work)


def register(sub: Any, serve: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add `triage staff ...` to the command's subparsers and ``--web`` to `triage serve`."""
    serve.add_argument(
        "--web",
        nargs="?",
        const=DEFAULT_WEB,
        type=web_address,
        metavar="HOST:PORT",
        help=f"also serve the staff web UI (default {DEFAULT_WEB}; TRIAGE_WEB_LISTEN with --only web)",
    )
    staff = sub.add_parser("staff", help="staff accounts of the web UI")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, parser_class=parser_class)
    add = staff_sub.add_parser("add", help="add an account (password prompted, or the first line of stdin)")
    add.add_argument("name", metavar="NAME", help="login name (letters, digits, . _ -)")
    add.add_argument("--role", choices=("agent", "admin"), required=True, help="agent or admin")
    add.set_defaults(func=cmd_staff_add)
    listing = staff_sub.add_parser("list", help="every account and its state")
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    listing.set_defaults(func=cmd_staff_list)
    disable = staff_sub.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name", metavar="NAME")
    disable.set_defaults(func=cmd_staff_disable)
    case = sub.choices.get("case")
    if case is not None:  # `triage case claim|resolve|...` beside `case show`
        from triage.web.casecli import register as register_case  # noqa: PLC0415

        # argparse has no public way to reach an existing parser's subparsers.
        (case_sub,) = [a for a in case._actions if isinstance(a, argparse._SubParsersAction)]
        register_case(case_sub, parser_class)
