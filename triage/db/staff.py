"""Typed models of the staff side: accounts, server-side sessions, case claims, the audit log.

Kept apart from ``models.py`` (the mail and case side). ``audit_events`` is append-only and
holds names (fields, actions), never a value; it also serves login throttling per address.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from triage.db.base import Base
from triage.db.models import Case


class StaffRole(enum.Enum):
    """What a staff account may do (security.md §2 "Roles")."""

    AGENT = "agent"  # queue, claim, resolve, ask
    ADMIN = "admin"  # everything an agent does, plus staff accounts and the audit log


class StaffUser(Base):
    """One person's account. The password is an argon2id hash (argon2-cffi's encoded form)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[StaffRole]
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # "ja", "en", or None to follow the browser's Accept-Language.
    language: Mapped[str | None] = mapped_column(sa.String(8))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]
    # Consecutive failed logins and the time before which no login is tried (lockout).
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<StaffUser id={self.id} {self.name} {self.role.value} disabled={self.disabled}>"


class StaffSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    # The synchroniser token every state-changing form of this session carries (csrf.py).
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(64))


class CaseClaim(Base):
    """Who works a case now: one row per claimed case, deleted on release or close."""

    __tablename__ = "case_claims"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[dt.datetime]


class StaffValue(Base):
    """Who entered a value by hand: the author of a ``case_values`` row with source "staff".

    The corrected value is a case value like any other (the worker's merge and the requirement
    check see it); the extracted value it replaced stays beside it, no longer current.
    """

    __tablename__ = "staff_values"

    case_value_id: Mapped[int] = mapped_column(
        sa.ForeignKey("case_values.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(sa.String(64))  # the staff name, or the OS user of a command
    at: Mapped[dt.datetime]


class CaseViewer(Base):
    """Who has a case open (its page loaded or its heartbeat seen lately): "also viewing"."""

    __tablename__ = "case_viewers"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[dt.datetime]


class SavedView(Base):
    """A named set of queue filters of one staff member (the filters as a query string)."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.UniqueConstraint("staff_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(64))
    query: Mapped[str] = mapped_column(sa.String(512))


class AuditEvent(Base):
    """Who did or saw what, when, from where (security.md §2 "Audit"). Never a value."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_action_address_at", "action", "address", "at"),
        sa.Index("ix_audit_events_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_users.id", ondelete="SET NULL"))
    # The account name, or the operating-system user for commands; kept if the account goes.
    actor: Mapped[str] = mapped_column(sa.String(64))
    # The client address (web) or "cli".
    address: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))
    fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    detail: Mapped[dict[str, object]] = mapped_column(sa.JSON, default=dict)


# The queue pages list cases by status (or all) in id order: keyset pagination stays an index scan.
sa.Index("ix_cases_status_id", Case.status, Case.id)
# The counts per mailbox and status on every queue page: an index-only scan, grouped in order.
sa.Index("ix_cases_mailbox_status", Case.mailbox, Case.status)
