"""Settings: the only reader of TRIAGE_* environment variables.

Every default works on one machine with no set-up. Values are read once, into a frozen object
that is passed down explicitly; nothing else reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage.crypto import parse_keys
from triage.errors import ConfigError
from triage.resources import data_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ICLOUD_DOMAINS = ("icloud.com", "me.com", "mac.com")
# Packaged with triage (triage/resources.py); TRIAGE_RULES_DIR / TRIAGE_REPLIES_DIR override.
DEFAULT_RULES_DIR = data_dir("rules")
DEFAULT_REPLIES_DIR = data_dir("replies")
# Log lines of `serve` and `ingest` (triage/logsetup.py): text, or one JSON object per line.
LOG_FORMATS = ("text", "json")


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


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _limits(
    env: Mapping[str, str], name: str, default: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    """ "3/600,10/86400": at most 3 in 600 seconds and 10 in 86,400 seconds."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    out = []
    for item in raw.split(","):
        count, sep, seconds = item.strip().partition("/")
        if not sep or not count.strip().isdigit() or not seconds.strip().isdigit():
            raise ConfigError(f"{name} must look like 3/600,10/86400, not {raw!r}")
        out.append((int(count), int(seconds)))
    return tuple(out)


def _hostport(env: Mapping[str, str], name: str, default: str) -> tuple[str, int]:
    raw = env.get(name, default).strip()
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"{name} must be HOST:PORT, not {raw!r}")
    if int(port) > 65535:
        raise ConfigError(f"{name}: port {port} is out of range (0-65535); fix {name}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _reply_targets(env: Mapping[str, str], name: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """ "7,secure_jo1=5": 7 days for every mailbox, 5 for secure_jo1 (staff web queue)."""
    raw = env.get(name, "").strip()
    default, per_mailbox = 7, []
    for item in (part.strip() for part in raw.split(",") if part.strip()):
        mailbox, sep, days = item.rpartition("=")
        if not days.strip().isdigit() or int(days) < 1 or (sep and not mailbox.strip()):
            raise ConfigError(f"{name} must look like 7,secure_jo1=5 (whole days), not {raw!r}")
        if sep:
            per_mailbox.append((mailbox.strip().lower(), int(days)))
        else:
            default = int(days)
    return default, tuple(per_mailbox)


# Days after a case's last activity (its closing, for a closed one) or, for mail without a case,
# after receipt, before its raw mail and values are purged (design README "retention").
DEFAULT_RETENTION_DAYS: tuple[tuple[str, int], ...] = (
    ("resolved", 90),
    ("not_a_request", 90),
    ("needs_info", 90),
    ("icloud_rejected", 90),
    ("queued", 90),
    ("ignored", 30),  # mail with no case: ignored, unknown mailbox, transport duplicates
    ("failed", 90),  # mail parked as failed
)


def _retention(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    """ "ignored=14,resolved=60": those statuses changed, the others at their defaults."""
    days = dict(DEFAULT_RETENTION_DAYS)
    raw = env.get(name, "").strip()
    for item in (part.strip() for part in raw.split(",") if part.strip()):
        status, sep, value = item.partition("=")
        status = status.strip().lower()
        if not sep or status not in days or not value.strip().isdigit() or int(value) < 1:
            known = ", ".join(days)
            raise ConfigError(
                f"{name} must look like ignored=30,resolved=90 (whole days; {known}), not {raw!r}"
            )
        days[status] = int(value)
    return tuple(days.items())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///triage.db"
    rules_dir: Path = DEFAULT_RULES_DIR
    replies_dir: Path = DEFAULT_REPLIES_DIR
    log_format: str = "text"
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
    # Staff web UI (triage/web/): where `serve --web` listens, and the desk's reply target per
    # mailbox in days (the LUNA SEA FAQ promises an answer within about a week).
    web_listen: tuple[str, int] = ("127.0.0.1", 8080)
    reply_target_days: int = 7
    reply_target_days_by_mailbox: tuple[tuple[str, int], ...] = ()
    # argon2id parameters of staff passwords, "t=2,m=19456,p=1"; "" = argon2-cffi's defaults.
    argon2: str = ""
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 100
    max_connections: int = 100
    # The name in the SMTP greeting and EHLO reply; empty = this host's FQDN, looked up once.
    smtp_hostname: str = ""
    # How long SMTP sessions inside DATA may still finish after SIGTERM (ingress.md §6).
    shutdown_grace_seconds: int = 30
    # SQLite waits this long for another writer before the ingress answers 451 (ingress.md §4).
    sqlite_busy_timeout_ms: int = 5000
    # Worker (architecture.md "worker"): a claimed row is reclaimable after its lease; a row that
    # failed this many times is parked as failed; transport duplicates are looked for this far back.
    worker_lease_seconds: int = 20
    worker_max_attempts: int = 5
    worker_idle_seconds: float = 0.5
    duplicate_window_days: int = 7
    # Follow-ups by "same sender, same mailbox" match a waiting case at most this old (autoreply.md §5).
    followup_max_age_days: int = 30
    # Reply sender (autoreply.md §3, §4). Relay STARTTLS and login are optional.
    relay_starttls: bool = False
    relay_username: str = ""
    relay_password: str = ""
    # CA certificates to verify the relay's STARTTLS certificate (default: the system's).
    relay_ca_file: str = ""
    # MAIL FROM of our replies: "" is the null reverse-path (no bounces can loop back).
    reply_envelope_from: str = ""
    sender_retry_base_seconds: float = 60.0
    sender_retry_cap_seconds: float = 1800.0
    sender_give_up_seconds: int = 24 * 3600
    # A live sender renews its claims every lease/4 (heartbeat); a dead one's are taken over after it.
    sender_lease_seconds: int = 20
    sender_timeout_seconds: float = 60.0
    # Per envelope sender (lower-cased, across mailboxes): (count, window seconds) sliding windows.
    reply_rate_limits: tuple[tuple[int, int], ...] = ((3, 600), (10, 86400))
    extra: Mapping[str, str] = field(default_factory=dict)
    # Encryption at rest (triage/crypto.py): AES-256 keys, newest first; () = stored plain.
    encryption_keys: tuple[bytes, ...] = field(default=(), repr=False)
    # Retention (triage/purge.py): days per status before raw mail and values are purged.
    retention_days: tuple[tuple[str, int], ...] = DEFAULT_RETENTION_DAYS
    # `serve` runs the purge this often (seconds); 0 = never (run `triage purge` from cron).
    purge_interval_seconds: int = 3600
    # /metrics, /healthz, /readyz of roles other than the web UI (`serve --metrics`); None = off.
    metrics_listen: tuple[str, int] | None = None
    # The reply breaker (outbound/breaker.py; autoreply.md §3): trips on loop-shaped traffic in a
    # sliding window, never on many distinct members. One address: this many replies; one
    # domain: this many replies going to at most 1/ratio as many addresses; chains: this many
    # replies answering mail that answered our replies, at least this deep.
    reply_breaker_window_seconds: int = 600
    reply_breaker_per_address: int = 10
    reply_breaker_domain_replies: int = 30
    reply_breaker_domain_ratio: float = 3.0
    reply_breaker_chain_replies: int = 5
    reply_breaker_chain_depth: int = 3
    # Sender authenticity (security.md §4): the authserv-id our front MTA writes in the
    # Authentication-Results field it adds ("" = none trusted: every sender "unchecked"), and how
    # many Received fields our own MTAs add above that field.
    authserv_id: str = ""
    authserv_hops: int = 1
    # SMTP ingress hardening (issue 12 item 2, ingress.md): sessions per peer (IPv4 address or
    # IPv6 /64) beside max_connections; trusted peers (the front MTA) count against neither and
    # skip the greeting delay; an untrusted peer that talks before our 220 is dropped with 554.
    smtp_max_connections_per_peer: int = 10
    smtp_trusted_peers: tuple[str, ...] = ()
    smtp_greet_delay_seconds: float = 1.0
    smtp_greet_pass_seconds: float = 86400.0
    # RFC 5321 §4.5.3.2: 5 minutes for each command; the whole DATA phase bounded; a session that
    # stores no mail for this long is closed (a trickle of NOOPs cannot keep it forever).
    smtp_command_timeout_seconds: float = 300.0
    smtp_data_timeout_seconds: float = 600.0
    smtp_session_timeout_seconds: float = 1200.0
    # DATA over this many octets goes to a temporary file in smtp_spool_dir ("" = the system's).
    smtp_spool_threshold_bytes: int = 256 * 1024
    smtp_spool_dir: str = ""
    # STARTTLS on the ingress (both files, or neither); tls_required refuses mail before STARTTLS.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_required: bool = False
    # Worker batches (issue 11): a live worker renews its leases this often (at most a third of
    # the lease); one claim takes up to this many mails and about this many stored bytes.
    worker_heartbeat_seconds: float = 5.0
    worker_batch_size: int = 50
    worker_batch_bytes: int = 4 * 1024 * 1024
    # ... and no more mails than the worker decided in this many seconds lately (a slow machine
    # takes smaller batches, so a crashed worker's mail and a stop wait less).
    worker_batch_seconds: float = 1.0

    def reply_target(self, mailbox: str) -> int:
        """The reply target of ``mailbox`` in days."""
        return dict(self.reply_target_days_by_mailbox).get(mailbox, self.reply_target_days)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        relay_raw = env.get("TRIAGE_RELAY", "").strip()
        reply_target, reply_targets = _reply_targets(env, "TRIAGE_REPLY_TARGET_DAYS")
        return cls(
            database_url=env.get("TRIAGE_DATABASE_URL", cls.database_url),
            rules_dir=Path(env.get("TRIAGE_RULES_DIR", str(cls.rules_dir))),
            replies_dir=Path(env.get("TRIAGE_REPLIES_DIR", str(cls.replies_dir))),
            log_format=_choice(env, "TRIAGE_LOG_FORMAT", LOG_FORMATS, cls.log_format),
            accepted_domains=_split(env.get("TRIAGE_ACCEPTED_DOMAINS", "")),
            our_domain=env.get("TRIAGE_OUR_DOMAIN", cls.our_domain).strip().lower(),
            icloud_domains=_split(env["TRIAGE_ICLOUD_DOMAINS"])
            if env.get("TRIAGE_ICLOUD_DOMAINS")
            else DEFAULT_ICLOUD_DOMAINS,
            instance_id=env.get("TRIAGE_INSTANCE_ID", cls.instance_id).strip(),
            noreply_local_parts=_split(env.get("TRIAGE_NOREPLY_LOCAL_PARTS", "")),
            smtp_listen=_hostport(env, "TRIAGE_SMTP_LISTEN", "127.0.0.1:8025"),
            relay=_hostport(env, "TRIAGE_RELAY", relay_raw) if relay_raw else None,
            web_listen=_hostport(env, "TRIAGE_WEB_LISTEN", "127.0.0.1:8080"),
            reply_target_days=reply_target,
            reply_target_days_by_mailbox=reply_targets,
            argon2=env.get("TRIAGE_ARGON2", "").strip(),
            max_message_bytes=_int(env, "TRIAGE_MAX_MESSAGE_BYTES", cls.max_message_bytes),
            max_recipients=_int(env, "TRIAGE_MAX_RECIPIENTS", cls.max_recipients),
            max_connections=_int(env, "TRIAGE_MAX_CONNECTIONS", cls.max_connections),
            smtp_hostname=env.get("TRIAGE_SMTP_HOSTNAME", cls.smtp_hostname).strip(),
            shutdown_grace_seconds=_int(env, "TRIAGE_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds),
            sqlite_busy_timeout_ms=_int(env, "TRIAGE_SQLITE_BUSY_TIMEOUT_MS", cls.sqlite_busy_timeout_ms),
            worker_lease_seconds=_int(env, "TRIAGE_WORKER_LEASE_SECONDS", cls.worker_lease_seconds),
            worker_max_attempts=_int(env, "TRIAGE_WORKER_MAX_ATTEMPTS", cls.worker_max_attempts),
            worker_idle_seconds=_float(env, "TRIAGE_WORKER_IDLE_SECONDS", cls.worker_idle_seconds),
            duplicate_window_days=_int(env, "TRIAGE_DUPLICATE_WINDOW_DAYS", cls.duplicate_window_days),
            followup_max_age_days=_int(env, "TRIAGE_FOLLOWUP_MAX_AGE_DAYS", cls.followup_max_age_days),
            relay_starttls=_bool(env, "TRIAGE_RELAY_STARTTLS", cls.relay_starttls),
            relay_username=env.get("TRIAGE_RELAY_USERNAME", "").strip(),
            relay_password=env.get("TRIAGE_RELAY_PASSWORD", ""),
            relay_ca_file=env.get("TRIAGE_RELAY_CA_FILE", "").strip(),
            reply_envelope_from=env.get("TRIAGE_REPLY_ENVELOPE_FROM", "").strip(),
            sender_retry_base_seconds=_float(
                env, "TRIAGE_SENDER_RETRY_BASE_SECONDS", cls.sender_retry_base_seconds
            ),
            sender_retry_cap_seconds=_float(
                env, "TRIAGE_SENDER_RETRY_CAP_SECONDS", cls.sender_retry_cap_seconds
            ),
            sender_give_up_seconds=_int(env, "TRIAGE_SENDER_GIVE_UP_SECONDS", cls.sender_give_up_seconds),
            sender_lease_seconds=_int(env, "TRIAGE_SENDER_LEASE_SECONDS", cls.sender_lease_seconds),
            sender_timeout_seconds=_float(env, "TRIAGE_SENDER_TIMEOUT_SECONDS", cls.sender_timeout_seconds),
            reply_rate_limits=_limits(env, "TRIAGE_REPLY_RATE_LIMITS", cls.reply_rate_limits),
            encryption_keys=parse_keys(env.get("TRIAGE_ENCRYPTION_KEYS", "")),
            retention_days=_retention(env, "TRIAGE_RETENTION_DAYS"),
            purge_interval_seconds=_int(env, "TRIAGE_PURGE_INTERVAL_SECONDS", cls.purge_interval_seconds),
            metrics_listen=_hostport(env, "TRIAGE_METRICS_LISTEN", "")
            if env.get("TRIAGE_METRICS_LISTEN", "").strip()
            else None,
            reply_breaker_window_seconds=_int(
                env, "TRIAGE_REPLY_BREAKER_WINDOW_SECONDS", cls.reply_breaker_window_seconds
            ),
            reply_breaker_per_address=_int(
                env, "TRIAGE_REPLY_BREAKER_PER_ADDRESS", cls.reply_breaker_per_address
            ),
            reply_breaker_domain_replies=_int(
                env, "TRIAGE_REPLY_BREAKER_DOMAIN_REPLIES", cls.reply_breaker_domain_replies
            ),
            reply_breaker_domain_ratio=_float(
                env, "TRIAGE_REPLY_BREAKER_DOMAIN_RATIO", cls.reply_breaker_domain_ratio
            ),
            reply_breaker_chain_replies=_int(
                env, "TRIAGE_REPLY_BREAKER_CHAIN_REPLIES", cls.reply_breaker_chain_replies
            ),
            reply_breaker_chain_depth=_int(
                env, "TRIAGE_REPLY_BREAKER_CHAIN_DEPTH", cls.reply_breaker_chain_depth
            ),
            authserv_id=env.get("TRIAGE_AUTHSERV_ID", "").strip(),
            authserv_hops=_int(env, "TRIAGE_AUTHSERV_HOPS", cls.authserv_hops),
            smtp_max_connections_per_peer=_int(
                env, "TRIAGE_SMTP_MAX_CONNECTIONS_PER_PEER", cls.smtp_max_connections_per_peer
            ),
            smtp_trusted_peers=_split(env.get("TRIAGE_SMTP_TRUSTED_PEERS", "")),
            smtp_greet_delay_seconds=_float(
                env, "TRIAGE_SMTP_GREET_DELAY_SECONDS", cls.smtp_greet_delay_seconds
            ),
            smtp_greet_pass_seconds=_float(
                env, "TRIAGE_SMTP_GREET_PASS_SECONDS", cls.smtp_greet_pass_seconds
            ),
            smtp_command_timeout_seconds=_float(
                env, "TRIAGE_SMTP_COMMAND_TIMEOUT_SECONDS", cls.smtp_command_timeout_seconds
            ),
            smtp_data_timeout_seconds=_float(
                env, "TRIAGE_SMTP_DATA_TIMEOUT_SECONDS", cls.smtp_data_timeout_seconds
            ),
            smtp_session_timeout_seconds=_float(
                env, "TRIAGE_SMTP_SESSION_TIMEOUT_SECONDS", cls.smtp_session_timeout_seconds
            ),
            smtp_spool_threshold_bytes=_int(
                env, "TRIAGE_SMTP_SPOOL_THRESHOLD_BYTES", cls.smtp_spool_threshold_bytes
            ),
            smtp_spool_dir=env.get("TRIAGE_SMTP_SPOOL_DIR", "").strip(),
            tls_cert_file=env.get("TRIAGE_TLS_CERT_FILE", "").strip(),
            tls_key_file=env.get("TRIAGE_TLS_KEY_FILE", "").strip(),
            tls_required=_bool(env, "TRIAGE_TLS_REQUIRED", cls.tls_required),
            worker_heartbeat_seconds=_float(
                env, "TRIAGE_WORKER_HEARTBEAT_SECONDS", cls.worker_heartbeat_seconds
            ),
            worker_batch_size=_int(env, "TRIAGE_WORKER_BATCH_SIZE", cls.worker_batch_size),
            worker_batch_bytes=_int(env, "TRIAGE_WORKER_BATCH_BYTES", cls.worker_batch_bytes),
            worker_batch_seconds=_float(env, "TRIAGE_WORKER_BATCH_SECONDS", cls.worker_batch_seconds),
        )
