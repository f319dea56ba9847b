"""What the command modules share: exit codes, the parser class, input, the database, tables."""

from __future__ import annotations

import argparse
import contextlib
import enum
import getpass
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from triage.config import Settings
from triage.engine.loader import load_rules
from triage.engine.spec import RuleSet
from triage.errors import TriageError, UnreadableMail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# Exit codes (README "Exit codes"): every error is one line on stderr saying what to do next.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem: lint problems, a mail not ingested, no such case
EXIT_USAGE = 2  # bad usage, unreadable input, a bad setting, a rule pack that does not load
EXIT_DATABASE = 3  # the database is missing, unreachable or not migrated
EXIT_LISTEN = 4  # an address to listen on is in use or not allowed
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_PIPE = 141  # standard output was closed early (`triage queue list | head -1`), as SIGPIPE would


class UsageError(TriageError):
    """A command-line value that cannot be used (EXIT_USAGE)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def read_input(path: str, max_bytes: int) -> bytes:
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


def load_rule_set(settings: Settings) -> RuleSet:
    return load_rules(settings.rules_dir, settings.replies_dir)


@contextlib.contextmanager
def database(settings: Settings, *, existing: bool = True) -> Iterator[sessionmaker[Session]]:
    """Sessions on TRIAGE_DATABASE_URL; the engine is disposed afterwards.

    ``existing``: the database must already exist at the latest migration (DatabaseNotReady
    otherwise; a missing SQLite file is never created). Commands that upgrade first pass False.
    """
    from triage.db.engine import make_engine, session_factory  # noqa: PLC0415 - not for `check`
    from triage.dbstatus import require_migrated  # noqa: PLC0415

    if existing:
        require_migrated(settings.database_url)

    engine = make_engine(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        keys=settings.encryption_keys,
    )
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def usage(message: str) -> int:
    print(f"triage: {message}", file=sys.stderr)
    return EXIT_USAGE


def when(value: str | None) -> str:
    """An ISO timestamp from the listings, shortened to seconds for a terminal."""
    return value[:19].replace("T", " ") + "Z" if value else "-"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[("-" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


Row = dict[str, Any]


def list_command(
    args: argparse.Namespace,
    settings: Settings,
    statuses: type[enum.Enum],
    *,
    fetch: Callable[[Session, Any], list[Row]],
    empty: str,
    columns: Sequence[tuple[str, Callable[[Row], object]]],
) -> int:
    """`--status` checked against ``statuses``; rows as a JSON array (`--json`) or a table."""
    try:
        status = statuses(args.status) if args.status else None
    except ValueError:
        return usage(f"--status must be one of {', '.join(str(item.value) for item in statuses)}")
    with database(settings) as sessions, sessions() as session:
        rows = fetch(session, status)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print(empty)
    else:
        print_table([name for name, _ in columns], [[cell(row) for _, cell in columns] for row in rows])
    return EXIT_OK


def staff_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment
        return "unknown"
