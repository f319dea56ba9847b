"""The case page shows the sender mark and the "cannot be answered" flag (issue 12 deliverables
4 and 5), on SQLite and PostgreSQL, after the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from webkit import COMPLETE, Desk, add_user, ingest, login, rules_for

from triage.clock import FixedClock, SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory

pytestmark = pytest.mark.db

OURS = "mx.cc.example.jp"


def member_mail(*top: str, return_path: str, message_id: str) -> bytes:
    head = [
        f"Return-Path: <{return_path}>",
        *top,
        "From: taro@example.jp",
        "To: secure_billing@cc.example.jp",
        "Subject: help",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + COMPLETE.replace("\n", "\r\n")).encode("utf-8")


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    """Case 0: DMARC fail from our MTA with a forged pass below it; case 1: DMARC pass, but an
    internationalised envelope sender we cannot answer."""
    settings = Settings.from_env({"TRIAGE_DATABASE_URL": migrated_db_url, "TRIAGE_AUTHSERV_ID": OURS})
    rules = rules_for(settings)
    engine = make_engine(migrated_db_url)
    sessions = session_factory(engine)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(
        member_mail(
            f"Authentication-Results: {OURS}; dmarc=fail header.from=example.jp",
            "Received: from mail.example.jp by mx.cc.example.jp",
            f"Authentication-Results: {OURS}; dmarc=pass header.from=example.jp",
            return_path="taro@example.jp",
            message_id="s1@example.jp",
        )
    )
    (folder / "2.eml").write_bytes(
        member_mail(
            f"Authentication-Results: {OURS}; dmarc=pass header.from=example.jp",
            return_path="taro@例え.jp",
            message_id="s2@example.jp",
        )
    )
    cases = ingest(sessions, settings, rules, folder)
    add_user(sessions, "ben", "agent", settings)
    try:
        yield Desk(migrated_db_url, settings, rules, sessions, cases, FixedClock(SystemClock().now()))
    finally:
        engine.dispose()


def test_the_case_page_marks_a_spoofed_sender(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{desk.cases[0]}", headers={"Accept-Language": "en"}).text
    assert 'class="sender-mark sender-not_verified" id="sender-mark">Sender not verified: ' in html
    assert "DMARC fail for example.jp" in html
    assert "cannot-answer" not in html


def test_the_case_page_flags_a_member_who_cannot_be_answered(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{desk.cases[1]}", headers={"Accept-Language": "en"}).text
    assert "sender-verified" in html and "DMARC pass for example.jp" in html
    assert "Cannot be answered: the reply address is not ASCII" in html
    japanese = client.get(f"/cases/{desk.cases[1]}", headers={"Accept-Language": "ja"}).text
    assert "返信できません" in japanese and "送信者確認済み" in japanese
