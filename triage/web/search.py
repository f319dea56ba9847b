"""Find a member's cases by e-mail address or phone number (security.md §2: searches by personal
data are POSTed, never put in a URL). Never commits."""

from __future__ import annotations

import json
import unicodedata
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.crypto import keyring_of
from triage.db.models import Case, CaseValue
from triage.engine.fields import normalize_phone

LIMIT: Final = 100


def find_cases(session: Session, query: str) -> list[Case]:
    """Cases whose sender or a given e-mail address is ``query``, or whose phone is its number."""
    text = unicodedata.normalize("NFKC", query).strip()
    if not text or len(text) > 320:
        return []
    if "@" in text:
        address = text.lower()
        condition = sa.or_(Case.sender == address, Case.id.in_(_with_value(session, "emails", address)))
    else:
        phone = normalize_phone(text)
        if phone is None:
            return []
        condition = Case.id.in_(_with_value(session, "phone", phone))
    return list(session.scalars(sa.select(Case).where(condition).order_by(Case.id).limit(LIMIT)))


def _with_value(session: Session, field: str, value: str) -> sa.Select[Any] | list[int]:
    if keyring_of(session.get_bind().dialect) is not None:
        # Sealed values (triage/crypto.py) cannot be compared in SQL: this field's values are
        # opened and compared here (a scan of one field; searches are rare staff actions).
        rows = session.execute(sa.select(CaseValue.case_id, CaseValue.value).where(CaseValue.field == field))
        return sorted({case_id for case_id, stored in rows if stored == value})
    # Values are JSON; compared as their JSON text, which SQLite and PostgreSQL keep as written.
    return sa.select(CaseValue.case_id).where(
        CaseValue.field == field, sa.cast(CaseValue.value, sa.Text) == json.dumps(value)
    )


def other_cases_of_member(session: Session, case: Case) -> list[Case]:
    """The member's other cases in the same mailbox (what "merge" can take)."""
    return list(
        session.scalars(
            sa.select(Case)
            .where(Case.mailbox == case.mailbox, Case.sender == case.sender, Case.id != case.id)
            .order_by(Case.id)
            .limit(20)
        )
    )
