"""Server-side staff sessions (security.md §2, ASVS V7). Never commits.

The browser holds an opaque 256-bit token in a ``__Host-`` cookie; the database holds only its
SHA-256, so a copy of the table logs nobody in. A session ends after 30 minutes without a
request, 12 hours after login, at logout, or when its account is disabled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.db.staff import StaffSession, StaffUser

COOKIE: Final = "__Host-triage-session"
IDLE: Final = dt.timedelta(minutes=30)
ABSOLUTE: Final = dt.timedelta(hours=12)
# last_seen_at is written at most this often (one write per request would be wasteful).
TOUCH_EVERY: Final = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Current:
    """The logged-in staff member of a request."""

    staff_id: int
    name: str
    role: str
    language: str | None
    csrf_token: str
    token_hash: str


def create(session: Session, user: StaffUser, *, address: str, now: dt.datetime) -> str:
    """A new session for ``user`` (a new id at every login); the cookie token."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            staff_id=user.id,
            created_at=now,
            last_seen_at=now,
            csrf_token=secrets.token_urlsafe(32),
            address=address[:64],
        )
    )
    return token


def load(session: Session, token: str | None, *, now: dt.datetime) -> Current | None:
    """The session of ``token`` if it is still valid (expired ones are deleted), else None."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    row = session.execute(
        sa.select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(StaffSession.token_hash == digest)
    ).first()
    if row is None:
        return None
    staff_session, user = row
    if user.disabled or now - staff_session.last_seen_at > IDLE or now - staff_session.created_at > ABSOLUTE:
        session.delete(staff_session)
        return None
    if now - staff_session.last_seen_at > TOUCH_EVERY:
        staff_session.last_seen_at = now
    return Current(
        staff_id=user.id,
        name=user.name,
        role=user.role.value,
        language=user.language,
        csrf_token=staff_session.csrf_token,
        token_hash=digest,
    )


def end(session: Session, digest: str) -> None:
    session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == digest))
