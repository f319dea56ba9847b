"""Settings: the only reader of TRIAGE_* environment variables.

Every default works on one machine with no set-up. Values are read once, into a frozen object
that is passed down explicitly; nothing else reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ICLOUD_DOMAINS = ("icloud.com", "me.com", "mac.com")


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip().lower() for item in value.replace(";", ",").split(",") if item.strip())


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _hostport(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    raw = env.get(name, default).strip()
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"{name} must be HOST:PORT, not {raw!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///triage.db"
    rules_dir: Path = PROJECT_ROOT / "rules"
    replies_dir: Path = PROJECT_ROOT / "replies"
    # Domains the SMTP ingress accepts for secure_* mailboxes; empty = any domain (cli.md default).
    accepted_domains: tuple[str, ...] = ()
    # The domain of our own Message-IDs and the From of replies when the mailbox domain is unknown.
    our_domain: str = "triage.invalid"
    icloud_domains: tuple[str, ...] = DEFAULT_ICLOUD_DOMAINS
    # The instance id stamped into X-Triage-Loop; mail carrying it is ours coming back.
    instance_id: str = "triage"
    # Extra From local parts (besides the built-in list) that mark automatic mail; weak signal.
    noreply_local_parts: tuple[str, ...] = ()
    smtp_listen: tuple[str, int] = ("127.0.0.1", 8025)
    relay: tuple[str, int] | None = None
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 100
    max_connections: int = 100
    # The name in the SMTP greeting and EHLO reply; empty = this host's FQDN, looked up once.
    smtp_hostname: str = ""
    # How long SMTP sessions inside DATA may still finish after SIGTERM (ingress.md §6).
    shutdown_grace_seconds: int = 30
    # SQLite waits this long for another writer before the ingress answers 451 (ingress.md §4).
    sqlite_busy_timeout_ms: int = 5000
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        relay_raw = env.get("TRIAGE_RELAY", "").strip()
        return cls(
            database_url=env.get("TRIAGE_DATABASE_URL", cls.database_url),
            rules_dir=Path(env.get("TRIAGE_RULES_DIR", str(cls.rules_dir))),
            replies_dir=Path(env.get("TRIAGE_REPLIES_DIR", str(cls.replies_dir))),
            accepted_domains=_split(env.get("TRIAGE_ACCEPTED_DOMAINS", "")),
            our_domain=env.get("TRIAGE_OUR_DOMAIN", cls.our_domain).strip().lower(),
            icloud_domains=_split(env["TRIAGE_ICLOUD_DOMAINS"])
            if env.get("TRIAGE_ICLOUD_DOMAINS")
            else DEFAULT_ICLOUD_DOMAINS,
            instance_id=env.get("TRIAGE_INSTANCE_ID", cls.instance_id).strip(),
            noreply_local_parts=_split(env.get("TRIAGE_NOREPLY_LOCAL_PARTS", "")),
            smtp_listen=_hostport(env, "TRIAGE_SMTP_LISTEN", "127.0.0.1:8025"),
            relay=_hostport(env, "TRIAGE_RELAY", relay_raw) if relay_raw else None,
            max_message_bytes=_int(env, "TRIAGE_MAX_MESSAGE_BYTES", cls.max_message_bytes),
            max_recipients=_int(env, "TRIAGE_MAX_RECIPIENTS", cls.max_recipients),
            max_connections=_int(env, "TRIAGE_MAX_CONNECTIONS", cls.max_connections),
            smtp_hostname=env.get("TRIAGE_SMTP_HOSTNAME", cls.smtp_hostname).strip(),
            shutdown_grace_seconds=_int(env, "TRIAGE_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds),
            sqlite_busy_timeout_ms=_int(env, "TRIAGE_SQLITE_BUSY_TIMEOUT_MS", cls.sqlite_busy_timeout_ms),
        )
