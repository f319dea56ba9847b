"""Staff pages through the in-process client on SQLite and PostgreSQL: the queue (counts,
filters, keyset pages, age clock), the case page (highlights, masking, reveal audit), actions
with the status model and the version check, and the audit log's CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from webkit import Desk, login, open_desk, token_of

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.models import Case, CaseEvent, CaseStatus
from triage.db.staff import AuditEvent
from triage.web.queue import PAGE_SIZE

pytestmark = pytest.mark.db


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def _version(html: str) -> str:
    match = re.search(r'(?:name="version" value|data-version)="(\d+)"', html)
    assert match is not None
    return match.group(1)


def _act(client: TestClient, case_id: int, action: str, html: str, **extra: str) -> int:
    data = {"csrf_token": token_of(html), "version": _version(html), **extra}
    return client.post(f"/cases/{case_id}/{action}", data=data, follow_redirects=False).status_code


def _status(desk: Desk, case_id: int) -> CaseStatus:
    with desk.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.status


# -- the queue ---------------------------------------------------------------------------------


def test_queue_counts_masks_and_filters(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get("/").text
    assert "<th>secure_billing</th><td>1</td><td>0</td><td>1</td>" in html  # needs_info 1, queued 1
    assert "ta***@example.jp" in html and "taro@example.jp" not in html
    assert f'href="/cases/{desk.cases[0]}"' in html  # queued (the default filter)
    assert f'href="/cases/{desk.cases[1]}"' not in html  # needs_info
    everything = client.get("/?status=all").text
    assert f'href="/cases/{desk.cases[1]}"' in everything
    assert "ha***@example.jp" in everything and "hana@example.jp" not in everything
    other_mailbox = client.get("/?status=all&mailbox=secure_jo1").text
    assert "/cases/" not in other_mailbox
    assert "該当する案件はありません" in other_mailbox
    assert "/cases/" not in client.get("/?status=all&mine=1").text


def test_english_follows_accept_language(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get("/", headers={"accept-language": "en-US,en;q=0.9,ja;q=0.5"}).text
    assert "<h1>Queue</h1>" in html and '<html lang="en">' in html
    assert "<h1>受付一覧</h1>" in client.get("/", headers={"accept-language": "fr, ja;q=0.3"}).text


def _seed(desk: Desk, count: int, *, mailbox: str = "secure_jo1", days_ago: float = 0) -> list[int]:
    created = SystemClock().now() - dt.timedelta(days=days_ago)
    with desk.sessions() as session:
        cases = [
            Case(
                reference=f"S{index:03d}-X{index % 10}",
                mailbox=mailbox,
                status=CaseStatus.QUEUED,
                sender=f"member{index}@example.jp",
                language="ja",
                created_at=created,
                updated_at=created,
                reason="complete",
                missing=[],
                invalid=[],
            )
            for index in range(count)
        ]
        session.add_all(cases)
        session.commit()
        return [case.id for case in cases]


def test_keyset_pages_oldest_first(desk: Desk) -> None:
    ids = _seed(desk, PAGE_SIZE + 7)
    client = desk.client()
    assert login(client, "ben") == 303
    first = client.get("/?status=queued&mailbox=secure_jo1").text
    shown = [int(n) for n in re.findall(r'href="/cases/(\d+)"', first)]
    assert shown == ids[:PAGE_SIZE]
    link = re.search(r'href="/\?([^"]+)" rel="next"', first)
    assert link is not None and f"after={ids[PAGE_SIZE - 1]}" in link.group(1)
    second = client.get("/?" + link.group(1).replace("&amp;", "&")).text
    assert [int(n) for n in re.findall(r'href="/cases/(\d+)"', second)] == ids[PAGE_SIZE:]
    assert 'rel="next"' not in second


def test_age_clock_and_overdue_marks(desk: Desk) -> None:
    old = _seed(desk, 1, mailbox="secure_lunasea", days_ago=8.5)
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get("/?status=queued").text
    rows = re.findall(
        r'<tr class="case-row( overdue)?">\s*<td><input[^>]*></td>\s*<td><a href="/cases/(\d+)"', html
    )
    assert (" overdue", str(old[0])) in rows
    assert ("", str(desk.cases[0])) in rows
    assert "8日 / 7日" in html and "期限超過" in html
    aged = client.get("/?status=queued&age=7").text
    assert [int(n) for n in re.findall(r'href="/cases/(\d+)"', aged)] == old
    # A mailbox with a 10-day target: the same case is not overdue.
    settings = Settings.from_env(
        {"TRIAGE_DATABASE_URL": desk.url, "TRIAGE_REPLY_TARGET_DAYS": "7,secure_lunasea=10"}
    )
    relaxed = Desk(desk.url, settings, desk.rules, desk.sessions, desk.cases, desk.clock).client()
    assert login(relaxed, "ben") == 303
    html = relaxed.get("/?status=queued").text
    assert "8日 / 10日" in html and "期限超過" not in html


# -- the case page -----------------------------------------------------------------------------


def test_case_page_highlights_values_and_masks_sensitive_ones(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{desk.cases[0]}").text
    assert 'ログインID:<mark data-field="login_id" class="" title="login_id">taro_sample77</mark>' in html
    assert '<mark data-field="phone" class="masked" title="phone">090-****-2345</mark>' in html
    assert "090-1111-2345" not in html
    assert "4321" not in html  # card_last4 masked in the text and the field list
    assert "complete" in html  # why the verdict was made
    with desk.sessions() as session:
        views = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "view")).all()
    assert [(row.actor, row.case_id) for row in views] == [("ben", desk.cases[0])]


def test_reveal_shows_the_value_and_writes_an_audit_row(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    page = client.get(f"/cases/{desk.cases[0]}").text
    shown = client.post(
        f"/cases/{desk.cases[0]}/reveal", data={"csrf_token": token_of(page), "field": "phone"}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert "090-1111-2345" in shown.text
    assert "4321" not in shown.text  # only the field asked for
    with desk.sessions() as session:
        row = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reveal")).one()
    assert (row.actor, row.case_id, row.fields) == ("ben", desk.cases[0], ["phone"])
    assert "090" not in str(row.detail)  # names, never values


def test_thread_shows_mail_and_reply_in_order(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{desk.cases[1]}").text
    inbound = html.index('class="mail mail-inbound"')
    reply = html.index('class="mail mail-reply"')
    assert inbound < reply
    assert "needs_info" in html
    assert "不足" in html  # what is missing, beside why


# -- actions -----------------------------------------------------------------------------------


def test_claim_resolve_reopen(desk: Desk) -> None:
    case_id = desk.cases[0]
    ben, cho = desk.client(), desk.client()
    assert login(ben, "ben") == 303 and login(cho, "cho") == 303
    assert _act(ben, case_id, "claim", ben.get(f"/cases/{case_id}").text) == 303
    seen_by_cho = cho.get(f"/cases/{case_id}").text
    assert "この案件は ben さんが担当しています" in seen_by_cho
    assert 'id="action-resolve"' not in seen_by_cho  # not offered to cho
    assert _act(cho, case_id, "resolve", seen_by_cho, note="x") == 409  # and refused if sent
    assert _status(desk, case_id) is CaseStatus.QUEUED
    assert "/cases/1" in ben.get("/?mine=1").text or f"/cases/{case_id}" in ben.get("/?mine=1").text
    page = ben.get(f"/cases/{case_id}").text
    assert _act(ben, case_id, "resolve", page, note="電話で本人確認済み") == 303
    assert _status(desk, case_id) is CaseStatus.RESOLVED
    resolved = ben.get(f"/cases/{case_id}").text
    assert "電話で本人確認済み" in resolved and 'id="action-reopen"' in resolved
    assert _act(cho, case_id, "reopen", cho.get(f"/cases/{case_id}").text) == 303
    assert _status(desk, case_id) is CaseStatus.QUEUED
    with desk.sessions() as session:
        kinds = session.scalars(
            sa.select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).all()
        audited = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
        ).all()
    assert kinds[-3:] == ["claim", "resolve", "reopen"]
    assert [a for a in audited if a != "view"] == ["claim", "resolve", "reopen"]


def test_not_a_request_and_an_action_the_status_forbids(desk: Desk) -> None:
    case_id = desk.cases[1]  # needs_info
    client = desk.client()
    assert login(client, "ben") == 303
    page = client.get(f"/cases/{case_id}").text
    assert 'id="action-reopen"' not in page
    assert _act(client, case_id, "reopen", page) == 409
    assert _act(client, case_id, "not-a-request", page) == 303
    assert _status(desk, case_id) is CaseStatus.NOT_A_REQUEST


def test_an_action_on_a_changed_case_is_refused_with_the_change_shown(desk: Desk) -> None:
    case_id = desk.cases[0]
    ben, cho = desk.client(), desk.client()
    assert login(ben, "ben") == 303 and login(cho, "cho") == 303
    stale = ben.get(f"/cases/{case_id}").text
    assert _act(cho, case_id, "claim", cho.get(f"/cases/{case_id}").text) == 303
    response = ben.post(
        f"/cases/{case_id}/resolve",
        data={"csrf_token": token_of(stale), "version": _version(stale), "note": "done"},
    )
    assert response.status_code == 409
    assert "この案件は画面を開いた後に変更されました" in response.text
    assert "claim (cho)" in response.text
    assert _status(desk, case_id) is CaseStatus.QUEUED


# -- the audit log -----------------------------------------------------------------------------


def test_audit_csv_neutralises_formula_cells(desk: Desk) -> None:
    attacker = desk.client()
    form = attacker.get("/login")
    name = '=HYPERLINK("http://x.test")'
    attacker.post("/login", data={"name": name, "password": "nope-nope", "csrf_token": token_of(form.text)})
    admin = desk.client()
    assert login(admin, "aiko") == 303
    page = admin.get("/admin/audit").text
    assert "login_failed" in page and "=hyperlink(&#34;http://x.test&#34;)" in page
    response = admin.get("/admin/audit.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    actors = [row[2] for row in rows[1:]]
    assert '\'=hyperlink("http://x.test")' in actors
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    with desk.sessions() as session:
        exports = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [row.actor for row in exports] == ["aiko"]


# -- saved views and bulk actions --------------------------------------------------------------


def test_saved_views_are_per_user(desk: Desk) -> None:
    ben, cho = desk.client(), desk.client()
    assert login(ben, "ben") == 303 and login(cho, "cho") == 303
    html = ben.get("/?status=all&mailbox=secure_billing&age=1").text
    form = {
        "csrf_token": token_of(html),
        "name": "請求 全件",
        "status": "all",
        "mailbox": "secure_billing",
        "age": "1",
        "assignee": "",
        "mine": "",
        "evil": "x@example.jp",
    }
    saved = ben.post("/views", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/?status=all&mailbox=secure_billing&age=1"
    page = ben.get("/").text
    assert '<a href="/?status=all&amp;mailbox=secure_billing&amp;age=1">請求 全件</a>' in page
    assert "請求 全件" not in cho.get("/").text
    view_id = re.search(r'action="/views/(\d+)/delete"', page)
    assert view_id is not None
    other = cho.post(f"/views/{view_id.group(1)}/delete", data={"csrf_token": token_of(cho.get("/").text)})
    assert other.status_code == 404  # not cho's view
    own = ben.post(
        f"/views/{view_id.group(1)}/delete", data={"csrf_token": token_of(page)}, follow_redirects=False
    )
    assert own.status_code == 303 and "請求 全件" not in ben.get("/").text


def test_bulk_actions_with_a_version_each(desk: Desk) -> None:
    ids = _seed(desk, 3)
    ben, cho = desk.client(), desk.client()
    assert login(ben, "ben") == 303 and login(cho, "cho") == 303
    html = ben.get("/?status=queued&mailbox=secure_jo1").text
    boxes = re.findall(r'name="case" value="(\d+:\d+)"', html)
    assert [int(box.split(":")[0]) for box in boxes] == ids
    # cho claims the second case after ben's page was loaded: that one is refused for ben.
    page = cho.get(f"/cases/{ids[1]}").text
    assert _act(cho, ids[1], "claim", page) == 303
    result = ben.post("/bulk", data={"csrf_token": token_of(html), "action": "resolve", "case": boxes})
    assert result.status_code == 200
    assert "2件を処理しました" in result.text
    assert f'<a href="/cases/{ids[1]}">#{ids[1]}</a>: この案件は画面を開いた後に変更されました' in result.text
    assert [_status(desk, i) for i in ids] == [CaseStatus.RESOLVED, CaseStatus.QUEUED, CaseStatus.RESOLVED]
    claim = ben.post("/bulk", data={"csrf_token": token_of(html), "action": "delete", "case": boxes})
    assert claim.status_code == 400


def test_typed_filter_values_are_encoded_in_links(desk: Desk) -> None:
    _seed(desk, PAGE_SIZE + 1)
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get("/", params={"status": "queued", "assignee": '-"&status=resolved'}).text
    assert 'value="-&#34;&amp;status=resolved"' in html  # the typed text, escaped
    html = client.get("/", params={"status": "queued", "mailbox": "secure_jo1", "assignee": "-"}).text
    link = re.search(r'href="/\?([^"]+)" rel="next"', html)
    assert link is not None and "assignee=-" in link.group(1)
    from triage.web.queue import QueueFilter

    odd = QueueFilter(assignee='a&status=x"').query_string()
    assert odd == "status=queued&assignee=a%26status%3Dx%22"


def test_find_a_member_by_address_or_phone_with_a_post(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    form = client.get("/search").text
    assert 'method="post" action="/search"' in form
    by_address = client.post("/search", data={"csrf_token": token_of(form), "q": "Taro@Example.jp"})
    assert (
        f'href="/cases/{desk.cases[0]}"' in by_address.text
        and f"/cases/{desk.cases[1]}" not in by_address.text
    )
    assert "taro@example.jp" not in by_address.text.lower().replace("ta***@example.jp", "")
    by_phone = client.post("/search", data={"csrf_token": token_of(form), "q": "０９０－１１１１－２３４５"})
    assert f'href="/cases/{desk.cases[0]}"' in by_phone.text
    nothing = client.post("/search", data={"csrf_token": token_of(form), "q": "090-0000-0000"})
    assert "該当する案件はありません" in nothing.text
    with desk.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "search")).all()
    assert [row.detail for row in rows] == [
        {"kind": "address", "found": 1},
        {"kind": "phone", "found": 1},
        {"kind": "phone", "found": 0},
    ]
    assert "1111" not in str([row.detail for row in rows])


def test_highlights_follow_the_engines_spans_and_search_only_without_them() -> None:
    from triage.db.models import CaseValue
    from triage.web.casedata import ranges_for

    text = "電話番号：090-3616- \n1284\nもう一度 09036161284"
    row = CaseValue(field="phone", written="090-3616-1284", line=1, spans=[[5, 14], [16, 20]])
    assert ranges_for(row, text) == [(5, 14), (16, 20)]  # two pieces of one wrapped number
    row.spans = [[5, 999]]  # a span that does not fit this text is not trusted
    assert ranges_for(row, text) == ranges_for(
        CaseValue(field="phone", written="090-3616-1284", line=1), text
    )
