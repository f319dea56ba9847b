"""Typed models: the inbound queue, cases with their values and history, and the reply outbox.

Personal data lives in ``inbound_messages.raw``, ``case_values`` and ``outbound_messages``;
``case_events`` hold field names and decisions, never values, so history can be shown freely.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage.crypto import EncryptedBytes, EncryptedJSON, EncryptedText
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
    # Sealed at rest when TRIAGE_ENCRYPTION_KEYS is set (triage/crypto.py), like the values below.
    raw: Mapped[bytes] = mapped_column(EncryptedBytes("inbound_messages.raw"))
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
    # "smtp" (the ingress) or "ingest" (`triage ingest`: the file's own Return-Path is used).
    origin: Mapped[str] = mapped_column(sa.String(16), default="smtp", server_default="smtp")
    # The worker's claim token while processing: a worker only finishes rows it still owns.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    # Filled by the worker when the row is done.
    processed_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    mailbox: Mapped[str | None] = mapped_column(sa.String(64))
    # The mail's Message-ID (angle brackets removed, capped at 255): threading looks it up.
    message_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    # SHA-256 of the member's own text, normalised: identical re-submissions share it.
    text_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # Screening notes, weak signals, From/envelope differences: short strings for staff.
    notes: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    # Many-to-one links never loaded (lazy="raise"): they only tell the unit of work to write the
    # row they point at first, so a case, its reply and its history go out in one flush with ids
    # known up front (triage/db/ids.py).
    case: Mapped[Case | None] = relationship(lazy="raise", foreign_keys=[case_id])

    def __repr__(self) -> str:  # no addresses, no body: reprs end up in logs
        return f"<InboundMessage id={self.id} status={self.status} size={self.size}>"

    def envelope_key(self) -> tuple[str, tuple[str, ...]]:
        """MAIL FROM and the sorted RCPTs: with sha256, what makes two rows the same delivery."""
        return self.mail_from, tuple(sorted(self.rcpt_tos))


class CaseStatus(enum.Enum):
    """Where a request stands (stored by value)."""

    NEEDS_INFO = "needs_info"  # waiting for the member to send what is missing
    ICLOUD_REJECTED = "icloud_rejected"  # waiting for the member to write from another address
    QUEUED = "queued"  # complete: in the staff queue
    RESOLVED = "resolved"  # closed by staff; a later mail opens a new case linked to this one
    NOT_A_REQUEST = "not_a_request"  # closed by staff as not a request (spam, a thank-you ...)


#: Statuses in which a case still takes the member's follow-ups.
OPEN_CASE_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.NEEDS_INFO,
    CaseStatus.ICLOUD_REJECTED,
    CaseStatus.QUEUED,
)


class Case(Base):
    """One member request: merged fields (see :class:`CaseValue`), the verdict, the history."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_mailbox_sender_status", "mailbox", "sender", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short reference printed in replies (`受付番号: 7Q4K-2M`); a follow-up may quote it.
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    mailbox: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[CaseStatus]
    # Where replies go (the envelope sender of the first mail), lower-cased.
    sender: Mapped[str] = mapped_column(sa.String(320))
    language: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The last verdict on the merged fields.
    reason: Mapped[str] = mapped_column(sa.Text)
    missing: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    invalid: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # blocking field names
    # A mail to a resolved case opens a new case that points back to it.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<Case id={self.id} {self.mailbox} status={self.status}>"


class CaseValue(Base):
    """One value a mail gave for a field of a case: its provenance and, once replaced, its history.

    ``current`` marks the values the case holds now (several for list fields such as emails);
    a replaced value stays with ``current = False`` and ``superseded_by`` the mail that changed it.
    Invalid values (``valid = False``) are kept with their reason while they still block.
    """

    __tablename__ = "case_values"
    __table_args__ = (sa.Index("ix_case_values_case_id_field", "case_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    case: Mapped[Case] = relationship(lazy="raise", foreign_keys=[case_id])  # see InboundMessage.case
    field: Mapped[str] = mapped_column(sa.String(64))
    # The normal form (str, int, ...); None for an invalid value.
    value: Mapped[object | None] = mapped_column(EncryptedJSON("case_values.value"))
    written: Mapped[str] = mapped_column(EncryptedText("case_values.written"))  # as the member wrote it
    valid: Mapped[bool]
    reason_ja: Mapped[str | None] = mapped_column(sa.Text)
    reason_en: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(16))  # label, inline, prose, scan, compound, inferred
    line: Mapped[int]  # 1-based line of the mail's own text
    # Where the value stands in the mail's own decoded text: [[start, end], ...] character offsets
    # (several ranges for a value joined across a break); None for rows older than revision 0003.
    spans: Mapped[list[list[int]] | None] = mapped_column(sa.JSON)
    cue: Mapped[str | None] = mapped_column(sa.Text)  # the label as written, or what found the value
    inbound_id: Mapped[int] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="CASCADE"))
    recorded_at: Mapped[dt.datetime]
    current: Mapped[bool] = mapped_column(default=True)
    superseded_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:  # never the value
        return f"<CaseValue case={self.case_id} field={self.field} current={self.current}>"


class CaseEvent(Base):
    """The history of a case, append-only: what happened, when, from which mail or reply.

    ``detail`` holds field names, decisions and reasons, never a field value or an address.
    """

    __tablename__ = "case_events"
    __table_args__ = (sa.Index("ix_case_events_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    outbound_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbound_messages.id", ondelete="SET NULL")
    )
    detail: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)
    case: Mapped[Case] = relationship(lazy="raise", foreign_keys=[case_id])  # see InboundMessage.case
    outbound: Mapped[OutboundMessage | None] = relationship(lazy="raise", foreign_keys=[outbound_id])


class OutboundStatus(enum.Enum):
    """Where a reply is in the outbox (stored by value)."""

    PENDING = "pending"  # waiting to be sent (or to be retried at next_attempt_at)
    SENDING = "sending"  # claimed by a sender until lease_until (renewed while it is alive)
    # An attempt's outcome is unknown (its sender died holding it, or the relay's answer to the end
    # of data never came): sent again with the same Message-ID at next_attempt_at (at least once).
    DELIVERY_UNKNOWN = "delivery_unknown"
    SENT = "sent"  # the relay accepted it
    DEAD = "dead"  # given up: a 5xx or too old
    SUPPRESSED = "suppressed"  # never sent: rate limit or a send-side guard; reason in last_error
    SUPERSEDED = "superseded"  # never sent: no longer true when the sender took it; reason in last_error


class OutboundMessage(Base):
    """One rendered reply, composed in the worker's transaction and delivered by the sender."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        sa.Index("ix_outbound_messages_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_outbound_messages_to_addr_created_at", "to_addr", "created_at"),
        sa.Index("ix_outbound_messages_sent_at", "sent_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    case: Mapped[Case | None] = relationship(lazy="raise", foreign_keys=[case_id])  # see InboundMessage.case
    template: Mapped[str] = mapped_column(sa.String(32))
    language: Mapped[str] = mapped_column(sa.String(8))
    to_addr: Mapped[str] = mapped_column(sa.String(320))  # lower-cased; the one recipient
    from_addr: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(EncryptedText("outbound_messages.body"))
    # Ours, `<r.{id}.{random}@{our domain}>` without the brackets; unique, so follow-ups thread.
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    # The composed message (RFC 5322 bytes) exactly as it will be sent.
    raw: Mapped[bytes] = mapped_column(EncryptedBytes("outbound_messages.raw"))
    status: Mapped[OutboundStatus] = mapped_column(
        default=OutboundStatus.PENDING, server_default=OutboundStatus.PENDING.value
    )
    created_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime]
    # Past this time a reply still not accepted is dead-lettered (default 24 h after created_at).
    give_up_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # The relay's last reply or the reason it was not sent; never contains the body.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # 0, or how deep in a chain of mail answering our replies this one is (outbound/breaker.py).
    chain_depth: Mapped[int] = mapped_column(default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<OutboundMessage id={self.id} status={self.status} template={self.template}>"
