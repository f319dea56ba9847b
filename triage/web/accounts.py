"""Staff accounts: add, list, disable, and log in with throttling and lockout. Never commits.

Lockout (security.md §2): per account, from the 5th consecutive failure each further try waits
1, 2, 4, 8, 16 s, and the 10th locks the account for 15 minutes; per source address, 30 failures
in 15 minutes refuse that address for the rest of the window. Every failure is an audit row;
the page says one generic sentence whatever the cause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage import textmatch
from triage.db.staff import AuditEvent, StaffRole, StaffSession, StaffUser
from triage.errors import TriageError
from triage.web import audit
from triage.web.passwords import Passwords, check_policy

DELAY_AFTER: Final = 5
LOCK_AFTER: Final = 10
LOCK_FOR: Final = dt.timedelta(minutes=15)
ADDRESS_WINDOW: Final = dt.timedelta(minutes=15)
ADDRESS_LIMIT: Final = 30

_NAME: Final = textmatch.compile(r"[a-z][a-z0-9._-]{1,31}", name="web.staff_name")


class AccountError(TriageError):
    """A staff command cannot be done (bad name, taken name, no such account)."""


def normal_name(name: str) -> str:
    value = name.strip().lower()
    if not _NAME.fullmatch(value):
        raise AccountError(
            f"invalid name {name!r}: 2-32 characters, a letter first, then letters, digits, '.', '_' or '-'"
        )
    return value


def add_staff(
    session: Session, name: str, role: StaffRole, password: str, *, hasher: Passwords, now: dt.datetime
) -> StaffUser:
    name = normal_name(name)
    check_policy(password, name=name)
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.name == name)) is not None:
        raise AccountError(f"staff {name!r} exists already")
    user = StaffUser(
        name=name,
        role=role,
        password_hash=hasher.hash(password),
        language=None,
        disabled=False,
        created_at=now,
        failed_logins=0,
        locked_until=None,
        last_login_at=None,
    )
    session.add(user)
    session.flush()
    return user


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(sa.select(StaffUser).order_by(StaffUser.name)))


def end_sessions(session: Session, staff_id: int) -> int:
    """Delete every session of the account; how many there were."""
    result = session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff_id))
    return int(getattr(result, "rowcount", 0) or 0)


def disable_staff(session: Session, name: str) -> int:
    """Disable the account and end its sessions at once; the number of sessions ended."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.name == normal_name(name)))
    if user is None:
        raise AccountError(f"no staff {name!r}")
    user.disabled = True
    return end_sessions(session, user.id)


@dataclass(frozen=True)
class LoginResult:
    user: StaffUser | None
    why: str  # "ok", "unknown", "password", "locked", "disabled", "address"


def _address_failures(session: Session, address: str, now: dt.datetime) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "login_failed",
                AuditEvent.address == address,
                AuditEvent.at >= now - ADDRESS_WINDOW,
            )
        )
        or 0
    )


def authenticate(
    session: Session, name: str, password: str, *, hasher: Passwords, address: str, now: dt.datetime
) -> LoginResult:
    """Check a login and record it (audit, counters, rehash); the caller commits either way."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.name == name.strip().lower()))
    why = "ok"
    if _address_failures(session, address, now) >= ADDRESS_LIMIT:
        why = "address"
    elif user is not None and user.locked_until is not None and user.locked_until > now:
        why = "locked"
    elif not hasher.verify(user.password_hash if user else None, password):
        why = "unknown" if user is None else "password"
    elif user is not None and user.disabled:
        why = "disabled"
    if why != "ok" or user is None:
        if user is not None and why == "password":
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + LOCK_FOR
            elif user.failed_logins >= DELAY_AFTER:
                user.locked_until = now + dt.timedelta(seconds=2 ** (user.failed_logins - DELAY_AFTER))
        audit.record(
            session,
            now=now,
            actor=(user.name if user else name.strip().lower())[:64] or "-",
            address=address,
            action="login_failed",
            staff_id=user.id if user else None,
            detail={"why": why},
        )
        return LoginResult(None, why if user is not None or why == "address" else "unknown")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    audit.record(session, now=now, actor=user.name, address=address, action="login", staff_id=user.id)
    return LoginResult(user, "ok")
