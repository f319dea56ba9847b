"""`triage doctor`: is this installation ready to take mail and answer it? Each check says what it
found and, when something must change, what to do.

Checks: the database (reachable, migrated to head, durable settings), the relay (reachable,
STARTTLS offered and verified when configured), the rule packs and templates (as `rules lint`),
the Message-ID domain, free disk. Nothing is created or changed: a missing SQLite file is
reported, never made. A ``fail`` must be fixed (the command exits 1); a ``warn`` is worth a look.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import smtplib
import ssl
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from triage.config import Settings
from triage.dbstatus import UPGRADE_HINT, explain, masked_url, migration_state, sqlite_file
from triage.errors import ConfigError, StoreUnavailable

Status = Literal["ok", "warn", "fail"]

DEFAULT_MIN_FREE_MB: Final = 1024
RELAY_TIMEOUT_SECONDS: Final = 10.0
# Domains that can never carry our Message-IDs on the wire (RFC 2606 / RFC 6761).
_RESERVED_SUFFIXES: Final = (".invalid", ".test", ".localhost", ".example")
_DURABLE_SQLITE_SYNCHRONOUS: Final = {2: "full", 3: "extra"}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def check_database(settings: Settings) -> list[Finding]:
    """Reachable, migrated to head, and durable (SQLite WAL + synchronous, PostgreSQL commits)."""
    from triage.db.engine import make_engine  # noqa: PLC0415 - the database layer only here

    url = settings.database_url
    where = masked_url(url)
    file = sqlite_file(url)
    if file is not None and not file.exists():
        return [Finding("database", "fail", f"no database at {where} ({file})", UPGRADE_HINT)]
    try:
        state = migration_state(url)
        engine = make_engine(url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    except ConfigError as exc:  # e.g. PostgreSQL with synchronous_commit off
        return [Finding("database", "fail", f"{where}: {exc}", "make the database durable (see README)")]
    except (SQLAlchemyError, StoreUnavailable) as exc:
        fix = "start the database or fix TRIAGE_DATABASE_URL"
        return [Finding("database", "fail", explain(url, exc), fix)]
    findings = [Finding("database", "ok", f"{where} is reachable")]
    if not state.current:
        findings.append(Finding("migrations", "fail", f"{where} has no triage tables", UPGRADE_HINT))
    elif not state.at_head:
        findings.append(
            Finding(
                "migrations",
                "fail",
                f"at {', '.join(state.current)}; this triage needs {', '.join(state.head)}",
                "run `triage db upgrade`",
            )
        )
    else:
        findings.append(Finding("migrations", "ok", f"at the latest migration ({', '.join(state.head)})"))
    try:
        findings.append(_durability(engine))
    except (SQLAlchemyError, ConfigError) as exc:
        findings.append(Finding("durability", "fail", explain(url, exc), "fix the database settings"))
    finally:
        engine.dispose()
    return findings


def _durability(engine: sa.Engine) -> Finding:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            mode = str(connection.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
            level = int(connection.exec_driver_sql("PRAGMA synchronous").scalar() or 0)
            synchronous = _DURABLE_SQLITE_SYNCHRONOUS.get(level)
            detail = f"SQLite journal_mode={mode}, synchronous={synchronous or level}"
            if mode != "wal" or synchronous is None:
                return Finding(
                    "durability", "fail", detail, "put the database on a local disk that allows WAL"
                )
            return Finding("durability", "ok", detail)
        commit = str(connection.exec_driver_sql("SHOW synchronous_commit").scalar()).lower()
        fsync = str(connection.exec_driver_sql("SHOW fsync").scalar()).lower()
        detail = f"PostgreSQL synchronous_commit={commit}, fsync={fsync}"
        if fsync != "on":
            return Finding("durability", "fail", detail, "set fsync = on in postgresql.conf")
        return Finding("durability", "ok", detail)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_relay(settings: Settings, timeout: float = RELAY_TIMEOUT_SECONDS) -> list[Finding]:
    """The relay answers EHLO; STARTTLS is offered, and verified when TRIAGE_RELAY_STARTTLS is on."""
    if settings.relay is None:
        detail = "no relay configured: replies wait in the outbox"
        return [Finding("relay", "warn", detail, "set TRIAGE_RELAY=host:port")]
    host, port = settings.relay
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            code, _ = client.ehlo()
            if code != 250:
                return [
                    Finding("relay", "fail", f"{host}:{port} answered EHLO with {code}", "check the relay")
                ]
            findings = [Finding("relay", "ok", f"{host}:{port} answers")]
            findings.append(_starttls(settings, client, host, port))
    except (OSError, smtplib.SMTPException) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        return [
            Finding(
                "relay",
                "fail",
                f"{host}:{port} cannot be reached ({why})",
                "start the relay or fix TRIAGE_RELAY",
            )
        ]
    return findings


def _starttls(settings: Settings, client: smtplib.SMTP, host: str, port: int) -> Finding:
    offered = client.has_extn("starttls")
    if not settings.relay_starttls:
        if _loopback(host):
            return Finding("starttls", "ok", "off (the relay is on this machine)")
        return Finding(
            "starttls",
            "warn",
            f"off for {host}, which is not on this machine" + (" (the relay offers it)" if offered else ""),
            "set TRIAGE_RELAY_STARTTLS=true" if offered else "ask for STARTTLS at the relay",
        )
    if not offered:
        return Finding(
            "starttls",
            "fail",
            f"TRIAGE_RELAY_STARTTLS is on but {host}:{port} does not offer STARTTLS",
            "enable STARTTLS at the relay, or use a relay that offers it",
        )
    try:
        client.starttls(context=ssl.create_default_context(cafile=settings.relay_ca_file or None))
    except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
        return Finding(
            "starttls",
            "fail",
            f"the TLS handshake with {host}:{port} failed ({exc})",
            "give the relay's CA in TRIAGE_RELAY_CA_FILE, or fix its certificate",
        )
    return Finding("starttls", "ok", "offered, certificate verified")


def check_rules(settings: Settings, today: dt.date) -> list[Finding]:
    """Every rule pack, field example and template, as `triage rules lint` does."""
    from triage.engine.lint import lint  # noqa: PLC0415

    problems, summary = lint(settings.rules_dir, settings.replies_dir, today=today)
    if problems:
        first = "; ".join(str(problem) for problem in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return [
            Finding(
                "rules",
                "fail",
                f"{len(problems)} problem(s): {first}{more}",
                "run `triage rules lint` and fix each file:line it names",
            )
        ]
    return [Finding("rules", "ok", f"{summary} ({settings.rules_dir}, {settings.replies_dir})")]


def check_message_id_domain(settings: Settings) -> list[Finding]:
    domain = settings.our_domain.strip().lower().rstrip(".")
    if not domain or "." not in domain or domain.endswith(_RESERVED_SUFFIXES) or domain == "localhost":
        return [
            Finding(
                "message_id_domain",
                "fail",
                f"{domain or '(none)'} cannot name our Message-IDs: the sender keeps replies in the outbox",
                "set TRIAGE_OUR_DOMAIN to the mailboxes' domain (e.g. cc.example.jp)",
            )
        ]
    return [Finding("message_id_domain", "ok", domain)]


def check_disk(settings: Settings, min_free_mb: int = DEFAULT_MIN_FREE_MB) -> list[Finding]:
    """Free space where the SQLite file is (else the working directory)."""
    file = sqlite_file(settings.database_url)
    folder = file.parent if file is not None else Path.cwd()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    free_mb = usage.free // (1024 * 1024)
    detail = f"{free_mb} MiB free in {folder} ({usage.free * 100 // max(usage.total, 1)}%)"
    if free_mb < min_free_mb:
        return [
            Finding(
                "disk",
                "fail",
                detail + f", under {min_free_mb} MiB",
                "free some space: the ingress answers 451 when it cannot store mail",
            )
        ]
    return [Finding("disk", "ok", detail)]


def run_checks(
    settings: Settings,
    *,
    today: dt.date,
    min_free_mb: int = DEFAULT_MIN_FREE_MB,
    relay_timeout: float = RELAY_TIMEOUT_SECONDS,
) -> list[Finding]:
    """Every check, in the order an operator fixes things."""
    return [
        *check_database(settings),
        *check_relay(settings, relay_timeout),
        *check_rules(settings, today),
        *check_message_id_domain(settings),
        *check_disk(settings, min_free_mb),
    ]
