"""Admin pages on SQLite and PostgreSQL: staff accounts, parked mail and dead replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from webkit import Desk, login, open_desk, token_of

from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from triage.db.staff import AuditEvent, StaffUser

pytestmark = pytest.mark.db


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def test_staff_accounts_from_the_admin_page(desk: Desk) -> None:
    admin, ben = desk.client(), desk.client()
    assert login(admin, "aiko") == 303 and login(ben, "ben") == 303
    page = admin.get("/admin/staff").text
    assert "<td>ben</td><td>agent</td>" in page
    weak = admin.post(
        "/admin/staff",
        data={"csrf_token": token_of(page), "name": "dan", "role": "agent", "password": "password"},
    )
    assert weak.status_code == 400 and "commonest" in weak.text
    added = admin.post(
        "/admin/staff",
        data={"csrf_token": token_of(page), "name": "dan", "role": "agent", "password": "dan's long phrase"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert login(desk.client(), "dan", "dan's long phrase") == 303
    disabled = admin.post(
        "/admin/staff/disable", data={"csrf_token": token_of(page), "name": "ben"}, follow_redirects=False
    )
    assert disabled.status_code == 303
    assert ben.get("/", follow_redirects=False).status_code == 303  # ben's session ended at once
    with desk.sessions() as session:
        user = session.scalar(sa.select(StaffUser).where(StaffUser.name == "ben"))
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "aiko")).all()
    assert user is not None and user.disabled
    assert "staff_add" in actions and "staff_disable" in actions
    assert "dan's long phrase" not in str(actions)


def test_retry_failed_mail_and_dead_replies(desk: Desk) -> None:
    with desk.sessions() as session:
        inbound = session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).first()
        reply = session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)).first()
        assert inbound is not None and reply is not None
        inbound.status, inbound.last_error = InboundStatus.FAILED, "RecursionError: too deep"
        reply.status, reply.last_error = OutboundStatus.DEAD, "550 5.1.1 <taro@example.jp>: unknown user"
        inbound_id, reply_id = inbound.id, reply.id
        session.commit()
    admin = desk.client()
    assert login(admin, "aiko") == 303
    page = admin.get("/admin/mail").text
    assert "RecursionError" in page
    assert "taro@example.jp" not in page and "ta***@example.jp" in page  # masked, even in the relay's text
    token = token_of(page)
    assert (
        admin.post(
            f"/admin/inbound/{inbound_id}/retry", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    again = admin.post(f"/admin/inbound/{inbound_id}/retry", data={"csrf_token": token})
    assert again.status_code == 400 and "not failed" in again.text
    assert (
        admin.post(
            f"/admin/outbox/{reply_id}/retry", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    with desk.sessions() as session:
        assert session.get(InboundMessage, inbound_id).status is InboundStatus.PENDING  # type: ignore[union-attr]
        row = session.get(OutboundMessage, reply_id)
        assert row is not None and row.status is OutboundStatus.PENDING and row.attempts == 0
        row.status = OutboundStatus.DEAD
        session.commit()
    assert (
        admin.post(
            f"/admin/outbox/{reply_id}/drop", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    with desk.sessions() as session:
        row = session.get(OutboundMessage, reply_id)
        assert (
            row is not None
            and row.status is OutboundStatus.SUPPRESSED
            and "dropped by aiko" in (row.last_error or "")
        )
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "aiko")).all()
    assert {"inbound_retry", "reply_retry", "reply_drop"} <= set(actions)


def test_rescue_a_mail_ignored_on_weak_signals_only(desk: Desk, tmp_path: Path) -> None:
    """A member writing from a no-reply style address is ignored (a weak signal); an admin rescues
    the mail: it is read again without screening and becomes a case, audited. (Its reply to a
    no-reply style address is held back by the outbox's own guard.)"""
    from webkit import COMPLETE, mail

    from triage.clock import SystemClock
    from triage.db.models import Case, CaseStatus
    from triage.ingest import Ingester, discover

    folder = tmp_path / "rescue"
    folder.mkdir()
    (folder / "noreply.eml").write_bytes(
        mail(COMPLETE, sender="noreply-taro@example.jp", message_id="w1@example.jp")
    )
    ingester = Ingester(desk.sessions, desk.settings, desk.rules, clock=SystemClock())
    (source,) = discover([str(folder)], desk.settings.max_message_bytes).sources
    result = ingester.ingest(source)
    assert result.case_id is None
    with desk.sessions() as session:
        row = session.scalars(sa.select(InboundMessage).where(InboundMessage.decision == "ignored")).one()
        ident = row.id
        assert "ignored on weak signals only" in (row.notes or [])
    agent = desk.client()
    assert login(agent, "ben") == 303
    refused = agent.post(f"/admin/inbound/{ident}/rescue", data={"csrf_token": token_of(agent.get("/").text)})
    assert refused.status_code == 403
    admin = desk.client()
    assert login(admin, "aiko") == 303
    page = admin.get("/admin/mail").text
    assert f"/admin/inbound/{ident}/rescue" in page
    done = admin.post(
        f"/admin/inbound/{ident}/rescue", data={"csrf_token": token_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303
    with desk.sessions() as session:
        rescued = session.get(InboundMessage, ident)
        assert rescued is not None and rescued.decision == "queued" and rescued.case_id is not None
        assert any(note.startswith("rescued by aiko") for note in rescued.notes or [])
        audit_row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "inbound_rescue")).one()
        assert audit_row.detail["id"] == ident
        case = session.get(Case, rescued.case_id)
        assert case is not None and case.status is CaseStatus.QUEUED
    again = admin.post(f"/admin/inbound/{ident}/rescue", data={"csrf_token": token_of(page)})
    assert again.status_code == 400 and "not ignored" in again.text
