"""Typed models. For now: the inbound queue the SMTP ingress writes and the worker claims."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from triage.db.base import Base


class InboundStatus(enum.Enum):
    """Where a received message is in the worker's queue (stored by value)."""

    PENDING = "pending"  # stored by the ingress, waiting for a worker
    PROCESSING = "processing"  # claimed by a worker until lease_until
    DONE = "done"  # processed; its case and reply exist
    DUPLICATE = "duplicate"  # a transport retry of duplicate_of (ingress.md §5)
    FAILED = "failed"  # parked after repeated failures, with last_error; shown to staff


class InboundMessage(Base):
    """One message as the SMTP client delivered it: raw bytes plus envelope, never parsed here.

    The worker claims a row by moving it from ``pending`` (or ``processing`` with an expired
    ``lease_until``) to ``processing`` with a fresh lease and ``attempts + 1``, in one
    transaction; ``ix_inbound_messages_status_id`` serves that query in id order.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        sa.Index("ix_inbound_messages_status_id", "status", "id"),
        sa.Index("ix_inbound_messages_sha256_received_at", "sha256", "received_at"),
        # Ids are shown to clients ("Queued as N") and in logs: never reuse one on SQLite.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime]
    # MAIL FROM as given; "" for the null reverse-path <> (bounces, auto-replies).
    mail_from: Mapped[str] = mapped_column(sa.Text)
    # MAIL FROM parameters as sent (BODY=8BITMIME, SIZE=..., SMTPUTF8), upper-cased by aiosmtpd.
    mail_options: Mapped[list[str]] = mapped_column(sa.JSON)
    # Every accepted RCPT, in the order given.
    rcpt_tos: Mapped[list[str]] = mapped_column(sa.JSON)
    peer: Mapped[str] = mapped_column(sa.String(300))
    helo: Mapped[str | None] = mapped_column(sa.String(512))
    smtp_utf8: Mapped[bool]
    tls: Mapped[bool]
    size: Mapped[int]
    # SHA-256 of raw, lower-case hex; with received_at, the key of the worker's dedupe window.
    sha256: Mapped[str] = mapped_column(sa.String(64))
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # Bare LF or bare CR somewhere in raw (kept as received; the parser tolerates them).
    has_bare_line_ends: Mapped[bool]
    status: Mapped[InboundStatus] = mapped_column(
        default=InboundStatus.PENDING, server_default=InboundStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    duplicate_of: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:  # no addresses, no body: reprs end up in logs
        return f"<InboundMessage id={self.id} status={self.status} size={self.size}>"

    def envelope_key(self) -> tuple[str, tuple[str, ...]]:
        """MAIL FROM and the sorted RCPTs: with sha256, what makes two rows the same delivery."""
        return self.mail_from, tuple(sorted(self.rcpt_tos))
