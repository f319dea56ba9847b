"""The database as an operator meets it: its URL with the password masked, whether it exists and
is migrated, and one-line explanations of database errors that say what to do next.

Read-only commands (listings, `case show`, `doctor`) call :func:`require_migrated` before they
connect, so a command run in the wrong directory never creates an empty SQLite file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from triage.errors import ConfigError, StoreUnavailable, TriageError

UPGRADE_HINT = "run `triage db upgrade` first (or point TRIAGE_DATABASE_URL at the service's database)"


class DatabaseNotReady(TriageError):
    """The database is missing, unreachable, or not at the latest migration."""


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (as SQLAlchemy renders it)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable URL)"


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None (not SQLite, or in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).absolute()


def reason(exc: BaseException) -> str:
    """The first line of the driver's message (never statement parameters: engines hide them)."""
    cause: BaseException | None = exc
    while cause is not None:
        original = getattr(cause, "orig", None)
        if original is not None:
            cause = original
            break
        if cause.__cause__ is None:
            break
        cause = cause.__cause__
    text = str(cause).strip().splitlines()
    return text[0].strip() if text and text[0].strip() else type(exc).__name__


def explain(url: str, exc: BaseException) -> str:
    """One line for a database failure: the masked URL, what went wrong, what to do."""
    where = masked_url(url)
    why = reason(exc)
    lowered = why.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database {where} has no triage tables ({why}): {UPGRADE_HINT}"
    if isinstance(exc, ConfigError):
        return f"the database {where}: {exc}"
    if "unable to open database file" in lowered or "readonly database" in lowered:
        return (
            f"the database {where} cannot be opened ({why}): check that its folder exists and "
            "is writable, or fix TRIAGE_DATABASE_URL"
        )
    return (
        f"the database {where} cannot be used ({why}): check that it is running and reachable, "
        "or fix TRIAGE_DATABASE_URL"
    )


@dataclass(frozen=True)
class MigrationState:
    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


def script_heads() -> tuple[str, ...]:
    """The head revisions of the migrations this triage ships."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - Alembic only when asked

    from triage.db.migrate import alembic_config  # noqa: PLC0415

    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def migration_state(url: str) -> MigrationState:
    """Where the database at ``url`` is (connects; SQLAlchemy / StoreUnavailable errors propagate)."""
    from triage.db.migrate import current_heads  # noqa: PLC0415 - the database layer only when asked

    return MigrationState(current_heads(url), script_heads())


def require_migrated(url: str) -> None:
    """Raise :class:`DatabaseNotReady` unless the database at ``url`` exists and is at head.

    A SQLite file that does not exist is reported without being created.
    """
    file = sqlite_file(url)
    if file is not None and not file.exists():
        raise DatabaseNotReady(f"no database at {masked_url(url)} ({file}): {UPGRADE_HINT}")
    try:
        state = migration_state(url)
    except (SQLAlchemyError, StoreUnavailable) as exc:
        raise DatabaseNotReady(explain(url, exc)) from exc
    if not state.current:
        raise DatabaseNotReady(f"the database {masked_url(url)} has no triage tables: {UPGRADE_HINT}")
    if not state.at_head:
        raise DatabaseNotReady(
            f"the database {masked_url(url)} is at migration {', '.join(state.current)}, this triage "
            f"needs {', '.join(state.head)}: run `triage db upgrade`"
        )
