"""Edits from the case page on SQLite and PostgreSQL: correct a field (decided again, no reply),
ask for more (preview, then the reply in the outbox), merge two cases of one member, and
"also viewing"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from webkit import Desk, ingest, login, mail, open_desk, token_of

from triage.db.models import Case, CaseStatus, CaseValue, InboundMessage, OutboundMessage
from triage.db.staff import AuditEvent, StaffValue
from triage.purge import PURGED_SENDER

pytestmark = pytest.mark.db


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def _form(html: str, **extra: str | list[str]) -> dict[str, str | list[str]]:
    version = re.search(r'data-version="(\d+)"', html)
    assert version is not None
    return {"csrf_token": token_of(html), "version": version.group(1), **extra}


def _case(desk: Desk, case_id: int) -> Case:
    with desk.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def _replies(desk: Desk, case_id: int) -> list[OutboundMessage]:
    with desk.sessions() as session:
        return list(
            session.scalars(
                sa.select(OutboundMessage)
                .where(OutboundMessage.case_id == case_id)
                .order_by(OutboundMessage.id)
            )
        )


def test_correct_a_field_keeps_both_values_and_decides_again_without_a_reply(desk: Desk) -> None:
    case_id = desk.cases[1]  # needs_info: no phone given
    assert _case(desk, case_id).status is CaseStatus.NEEDS_INFO
    before = len(_replies(desk, case_id))
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{case_id}").text
    bad = client.post(f"/cases/{case_id}/correct", data=_form(html, field="phone", value="12"))
    assert bad.status_code == 400 and "その値は受け付けられません" in bad.text
    response = client.post(
        f"/cases/{case_id}/correct",
        data=_form(html, field="phone", value="０９０－５５５５－６６６６"),
        follow_redirects=False,
    )
    assert response.status_code == 303
    case = _case(desk, case_id)
    assert "phone" not in case.missing
    assert len(_replies(desk, case_id)) == before  # no automatic reply
    with desk.sessions() as session:
        rows = session.scalars(
            sa.select(CaseValue).where(CaseValue.case_id == case_id, CaseValue.field == "phone")
        ).all()
        authors = session.scalars(sa.select(StaffValue.author)).all()
        audit = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "correct")).one()
    assert [(row.source, row.value, row.current) for row in rows] == [("staff", "09055556666", True)]
    assert authors == ["ben"]
    assert audit.fields == ["phone"] and "5555" not in str(audit.detail)
    page = client.get(f"/cases/{case_id}").text
    assert "担当者入力: ben" in page


def test_a_correction_replaces_the_extracted_value_which_stays_beside_it(desk: Desk) -> None:
    case_id = desk.cases[0]
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{case_id}").text
    data = _form(html, field="login_id", value="taro_sample78")
    assert client.post(f"/cases/{case_id}/correct", data=data, follow_redirects=False).status_code == 303
    with desk.sessions() as session:
        rows = session.scalars(
            sa.select(CaseValue)
            .where(CaseValue.case_id == case_id, CaseValue.field == "login_id")
            .order_by(CaseValue.id)
        ).all()
    assert [(row.value, row.source, row.current) for row in rows] == [
        ("taro_sample77", "label", False),
        ("taro_sample78", "staff", True),
    ]
    page = client.get(f"/cases/{case_id}").text
    assert 'class="replaced"' in page and "taro_sample78" in page
    assert _case(desk, case_id).status is CaseStatus.QUEUED


def test_ask_for_more_previews_then_puts_the_reply_in_the_outbox(desk: Desk) -> None:
    case_id = desk.cases[0]
    before = len(_replies(desk, case_id))
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{case_id}").text
    preview = client.post(f"/cases/{case_id}/ask", data=_form(html, field=["birth_date", "name_kana"]))
    assert preview.status_code == 200
    assert 'id="preview-body"' in preview.text and "生年月日" in preview.text
    assert len(_replies(desk, case_id)) == before  # a preview sends nothing
    assert _case(desk, case_id).status is CaseStatus.QUEUED
    confirm = {
        "csrf_token": token_of(preview.text),
        "version": re.findall(r'name="version" value="(\d+)"', preview.text)[0],
        "confirm": "1",
        "field": ["birth_date", "name_kana"],
    }
    assert client.post(f"/cases/{case_id}/ask", data=confirm, follow_redirects=False).status_code == 303
    replies = _replies(desk, case_id)
    assert len(replies) == before + 1
    reply = replies[-1]
    assert reply.template == "needs_info" and reply.to_addr == "taro@example.jp"
    assert "生年月日" in reply.body and reply.raw
    case = _case(desk, case_id)
    assert case.status is CaseStatus.NEEDS_INFO
    assert set(case.missing) == {"name_kana", "birth_date"}


def test_a_purged_case_cannot_be_asked_for_more(desk: Desk) -> None:
    case_id = desk.cases[0]
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{case_id}").text
    assert 'id="ask-box"' in html
    with desk.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.sender = PURGED_SENDER  # what the retention purge leaves
        session.commit()
    before = len(_replies(desk, case_id))
    html = client.get(f"/cases/{case_id}").text
    assert 'id="ask-box"' not in html
    refused = client.post(f"/cases/{case_id}/ask", data=_form(html, field=["birth_date"], confirm="1"))
    assert refused.status_code == 400 and "依頼を送れません" in refused.text
    assert len(_replies(desk, case_id)) == before
    assert _case(desk, case_id).status is CaseStatus.QUEUED


def test_merge_two_cases_of_one_member(desk: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "second"
    folder.mkdir()
    # The same member writes again, from the same address, while the first case is queued: the
    # worker opens a second case only for a new thread after the first was closed, so close it first.
    first = desk.cases[1]  # needs_info, hana
    (folder / "3.eml").write_bytes(
        mail("電話番号:090-7777-8888\n", sender="hana@example.jp", message_id="h9@example.jp")
    )
    with desk.sessions() as session:
        case = session.get(Case, first)
        assert case is not None
        case.status = CaseStatus.NOT_A_REQUEST  # closed: the next mail opens a new case
        session.commit()
    (second,) = ingest(desk.sessions, desk.settings, desk.rules, folder)
    assert second != first
    with desk.sessions() as session:
        case = session.get(Case, first)
        assert case is not None
        case.status = CaseStatus.NEEDS_INFO  # reopened by hand for this test
        session.commit()
        second_case = session.get(Case, second)
        assert second_case is not None
        reference = second_case.reference
        second_mail = session.scalar(sa.select(InboundMessage.id).where(InboundMessage.case_id == second))
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{first}").text
    assert f">{reference}</a>" in html.split('id="member-cases"')[1]  # offered for merging
    response = client.post(
        f"/cases/{first}/merge", data=_form(html, reference=reference), follow_redirects=False
    )
    assert response.status_code == 303
    with desk.sessions() as session:
        mails = session.scalars(
            sa.select(InboundMessage.case_id).where(InboundMessage.case_id.is_not(None))
        ).all()
        phone = session.scalars(
            sa.select(CaseValue).where(CaseValue.case_id == first, CaseValue.field == "phone")
        ).one()
        merged = session.get(Case, second)
    assert second not in mails
    assert phone.current and phone.inbound_id == second_mail  # it keeps the mail it came from
    assert merged is not None and merged.status is CaseStatus.RESOLVED and "merged into" in merged.reason
    assert "phone" not in _case(desk, first).missing
    other = client.get(f"/cases/{desk.cases[0]}").text
    refused = client.post(f"/cases/{desk.cases[0]}/merge", data=_form(other, reference=reference))
    assert refused.status_code in (400, 409)


def _viewers(client: TestClient, case_id: int) -> list[str]:
    html = client.get(f"/cases/{case_id}").text
    head = re.search(r'data-csrf="([^"]+)"', html)
    assert head is not None
    response = client.post(f"/cases/{case_id}/viewing", headers={"x-csrf-token": head.group(1)})
    assert response.status_code == 200
    viewers: list[str] = response.json()["viewers"]
    return viewers


def test_also_viewing(desk: Desk) -> None:
    case_id = desk.cases[0]
    ben, cho = desk.client(), desk.client()
    assert login(ben, "ben") == 303 and login(cho, "cho") == 303
    assert _viewers(ben, case_id) == []
    page = cho.get(f"/cases/{case_id}").text
    assert "ben さんもこの案件を開いています" in page
    assert _viewers(ben, case_id) == ["cho"]
    assert cho.post(f"/cases/{case_id}/viewing").status_code == 403  # no token, no heartbeat
