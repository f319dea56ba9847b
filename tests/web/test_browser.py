"""The staff UI in a real headless Chromium (Debian's, driven by Playwright; no browser download)
against `triage serve --only web` on loopback: log in, see the queue, open a case, see a value
highlighted, reveal a masked field (audited), resolve with a note, log out."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from webkit import PASSWORD, Desk, WebProcess, ingest, mail, open_desk, seed_cases

from triage.db.models import Case, CaseStatus, OutboundMessage
from triage.db.staff import AuditEvent

CHROMIUM = "/usr/bin/chromium"
# A folder to write the README's screenshots to (docs/screenshots/), else none are taken.
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")
# Generous: CI machines are small and run other tests beside these.
TIMEOUT_MS = 20_000

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM}: `apt-get install chromium fonts-noto-cjk` (.ci/run does it)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def test_log_in_open_reveal_resolve_log_out(desk: Desk, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with desk.sessions() as session:  # the ingested case arrived first: oldest (ids follow arrival)
        first = session.get(Case, desk.cases[0])
        assert first is not None
        first.created_at -= dt.timedelta(days=10)
        session.commit()
    seed_cases(desk, 2, mailbox="secure_lunasea", days_ago=9, prefix="L")  # past the 7-day target
    seed_cases(desk, 2, mailbox="secure_jo1", days_ago=2, prefix="J")
    web = WebProcess(tmp_path, desk.url)
    case_id = desk.cases[0]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                page = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 800}).new_page()
                page.goto(web.url + "/")
                expect(page).to_have_url(web.url + "/login")
                page.fill("input[name=name]", "ben")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("受付一覧")
                expect(page.locator("#queue")).to_contain_text("ta***@example.jp")
                expect(page.locator("tr.overdue")).to_have_count(3)
                expect(page.locator("tr.overdue").first).to_contain_text("期限超過")
                if SCREENSHOTS:
                    page.screenshot(path=str(Path(SCREENSHOTS) / "queue.png"), full_page=True)
                page.click(f"a[href='/cases/{case_id}']")
                expect(page.locator("mark[data-field=login_id]")).to_have_text("taro_sample77")
                phone = page.locator("mark[data-field=phone]")
                expect(phone).to_have_text("090-****-2345")
                if SCREENSHOTS:
                    page.screenshot(path=str(Path(SCREENSHOTS) / "case.png"), full_page=True)
                page.click("#reveal-phone")
                expect(page.locator("mark[data-field=phone]")).to_have_text("090-1111-2345")
                page.fill("textarea[name=note]", "電話で本人確認済み")
                page.click("#action-resolve")
                expect(page.locator("#status")).to_have_text("解決済み")
                expect(page.locator(".history")).to_contain_text("電話で本人確認済み")
                page.click("#logout")
                expect(page).to_have_url(web.url + "/login")
                page.goto(web.url + "/")
                expect(page).to_have_url(web.url + "/login")
            finally:
                browser.close()
    finally:
        assert web.stop() == 0, web.output
    with desk.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status is CaseStatus.RESOLVED
        reveals = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reveal")).all()
        assert [(row.actor, row.fields) for row in reveals] == [("ben", ["phone"])]
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "logout")
            )
            == 1
        )
    assert shutil.which("chromium") or os.path.exists(CHROMIUM)


def test_two_people_keyboard_correct_and_ask(desk: Desk, tmp_path: Path) -> None:
    """Filter the queue, open a case by keyboard, claim with `c`; a second person sees "also
    viewing" and gets a version conflict; correct a field (decided again); ask for more."""
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    web = WebProcess(tmp_path, desk.url)
    waiting = desk.cases[1]  # needs_info: phone missing
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                ben = browser.new_context(locale="ja-JP").new_page()
                cho = browser.new_context(locale="ja-JP").new_page()
                for page, name in ((ben, "ben"), (cho, "cho")):
                    page.goto(web.url + "/login")
                    page.fill("input[name=name]", name)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    expect(page.locator("h1")).to_have_text("受付一覧")
                ben.select_option("select[name=status]", "needs_info")
                ben.click("form.filters button[type=submit]")
                expect(ben.locator("tr.case-row")).to_have_count(1)
                ben.keyboard.press("j")
                expect(ben.locator("tr.case-row.selected")).to_have_count(1)
                ben.keyboard.press("o")
                expect(ben).to_have_url(f"{web.url}/cases/{waiting}")
                cho.goto(f"{web.url}/cases/{waiting}")
                expect(cho.locator("#viewers")).to_contain_text("ben")
                ben.keyboard.press("?")
                expect(ben.locator("#keys")).to_be_visible()
                ben.keyboard.press("Escape")
                ben.keyboard.press("c")
                expect(ben.locator("#claim")).to_contain_text("ben")
                cho.click("#action-not-a-request")  # cho's page is older than ben's claim
                expect(cho.locator("#conflict")).to_be_visible()
                expect(cho.locator("body")).to_contain_text("claim (ben)")
                ben.click("#correct-box summary")
                ben.select_option("#correct-field", "phone")
                ben.fill("#correct-value", "090-4444-5555")
                ben.click("#action-correct")
                expect(ben.locator("#status")).to_have_text("対応待ち")  # complete now: queued
                expect(ben.locator(".history")).to_contain_text("corrected (ben)")
                ben.click("#ask-box summary")
                ben.check("input[name=field][value=birth_date]")
                ben.click("#action-ask")
                expect(ben.locator("#preview-body")).to_contain_text("生年月日")
                ben.click("#ask-send")
                expect(ben.locator("#status")).to_have_text("不足あり")
            finally:
                browser.close()
    finally:
        assert web.stop() == 0, web.output
    with desk.sessions() as session:
        replies = session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.case_id == waiting).order_by(OutboundMessage.id)
        ).all()
        case = session.get(Case, waiting)
    assert replies[-1].template == "needs_info" and "生年月日" in replies[-1].body
    assert case is not None and case.status is CaseStatus.NEEDS_INFO


def test_merge_two_cases_of_one_member(desk: Desk, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    first = desk.cases[1]  # hana, needs_info (no phone)
    with desk.sessions() as session:
        case = session.get(Case, first)
        assert case is not None
        case.status = CaseStatus.NOT_A_REQUEST  # closed, so hana's next mail opens a second case
        session.commit()
    folder = tmp_path / "second"
    folder.mkdir()
    (folder / "3.eml").write_bytes(
        mail("電話番号:090-7777-8888\n", sender="hana@example.jp", message_id="h9@example.jp")
    )
    (second,) = ingest(desk.sessions, desk.settings, desk.rules, folder)
    with desk.sessions() as session:
        case = session.get(Case, first)
        other = session.get(Case, second)
        assert case is not None and other is not None
        case.status = CaseStatus.NEEDS_INFO
        reference = other.reference
        session.commit()
    web = WebProcess(tmp_path, desk.url)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                page = browser.new_context(locale="ja-JP").new_page()
                page.goto(web.url + "/login")
                page.fill("input[name=name]", "ben")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.goto(f"{web.url}/cases/{first}")
                page.click("#merge-box summary")
                page.fill("#merge-reference", reference)
                page.click("#action-merge")
                expect(page.locator(".history")).to_contain_text("merged (ben)")
                expect(page.locator("article.mail-inbound")).to_have_count(2)
                expect(page.locator("mark[data-field=phone]")).to_have_text("090-****-8888")
            finally:
                browser.close()
    finally:
        assert web.stop() == 0, web.output
    with desk.sessions() as session:
        other = session.get(Case, second)
        assert other is not None and other.status is CaseStatus.RESOLVED
