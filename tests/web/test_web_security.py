"""Security of the staff web app (security.md §2) through the in-process client, on SQLite and
PostgreSQL: the login gate on every route of the route table, CSRF, roles, hostile mail bodies,
lockout, session ends, cookies and headers."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from webkit import BASE_URL, PASSWORD, Desk, ingest, login, mail, open_desk, token_of

from triage.clock import FixedClock
from triage.db.staff import AuditEvent, CaseClaim, StaffSession
from triage.web.app import create_app
from triage.web.auth import is_public
from triage.web.context import WebContext
from triage.web.headers import CSP
from triage.web.staffcli import cmd_staff_disable

pytestmark = pytest.mark.db


@pytest.fixture
def desk(migrated_db_url: str, tmp_path: Path, plain_environment: None) -> Iterator[Desk]:
    with open_desk(migrated_db_url, tmp_path) as made:
        yield made


def _example_path(path: str) -> str:
    return re.sub(r"\{case_id\}", "1", path).replace("{action}", "claim")


def test_every_route_refuses_without_login(desk: Desk) -> None:
    app = create_app(WebContext(desk.sessions, desk.settings, desk.rules, desk.clock))
    client = desk.client()
    checked = 0
    public = []
    for route in app.routes:
        if isinstance(route, Mount):
            assert is_public(route.path + "/any.css"), route.path
            public.append(route.path)
            continue
        assert isinstance(route, Route)
        if is_public(route.path):
            public.append(route.path)
            continue
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            response = client.request(method, _example_path(route.path), follow_redirects=False)
            if method == "GET":
                assert response.status_code == 303, route.path
                assert response.headers["location"] == "/login"
            else:
                assert response.status_code == 401, (method, route.path)
            checked += 1
    assert checked >= 7
    # The operations endpoints are open by design (health.py): liveness, readiness and counts.
    assert sorted(set(public)) == ["/healthz", "/login", "/metrics", "/readyz", "/static"]


def test_a_form_without_a_valid_csrf_token_is_refused(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    page = client.get(f"/cases/{desk.cases[0]}")
    token = token_of(page.text)
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    url = f"/cases/{desk.cases[0]}/claim"
    assert client.post(url, data={"version": version.group(1)}).status_code == 403
    assert client.post(url, data={"version": version.group(1), "csrf_token": "x" * 43}).status_code == 403
    foreign = {"origin": "https://evil.example"}
    bad_origin = client.post(url, data={"version": version.group(1), "csrf_token": token}, headers=foreign)
    assert bad_origin.status_code == 403
    cross = {"sec-fetch-site": "cross-site"}
    form = {"version": version.group(1), "csrf_token": token}
    assert client.post(url, data=form, headers=cross).status_code == 403
    with desk.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseClaim)) == 0  # nothing happened
    null_origin = {"origin": "null"}  # what browsers send under Referrer-Policy: no-referrer
    assert client.post(url, data=form, headers=null_origin).status_code == 403
    vouched = {"origin": "null", "sec-fetch-site": "same-origin"}
    ok = client.post(url, data=form, headers=vouched, follow_redirects=False)
    assert ok.status_code == 303


def test_login_itself_needs_the_pre_session_token(desk: Desk) -> None:
    client = desk.client()
    client.get("/login")
    response = client.post("/login", data={"name": "ben", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_agent_cannot_open_admin_pages(desk: Desk) -> None:
    app = create_app(WebContext(desk.sessions, desk.settings, desk.rules, desk.clock))
    client = desk.client()
    assert login(client, "ben") == 303
    token = token_of(client.get("/").text)
    admin_routes = [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/admin/")]
    assert len(admin_routes) >= 8
    for route in admin_routes:
        path = re.sub(r"\{[a-z_]+\}", "1", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            data = {"csrf_token": token, "name": "ben", "role": "admin", "password": "x" * 20}
            response = client.request(method, path, data=data if method == "POST" else None)
            assert response.status_code == 403, (method, path)
    with desk.sessions() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action.like("staff%"))
            )
            == 0
        )
    admin = desk.client()
    assert login(admin, "aiko") == 303
    assert admin.get("/admin/audit").status_code == 200
    assert admin.get("/admin/staff").status_code == 200


HOSTILE = (
    "ログインID:evil_user01\n"
    "メールアドレス:evil@example.jp\n"
    "電話番号:090-2222-3333\n"
    "<script>alert('x')</script>\n"
    '<img src=x onerror="alert(1)">\n'
    '<a href="javascript:alert(2)">click</a>\n'
    "{{ 7*7 }} {% raw %}\n"
)


def test_a_hostile_body_shows_as_inert_text(desk: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "h.eml").write_bytes(mail(HOSTILE, sender="evil@example.jp", message_id="e1@example.jp"))
    (case_id,) = ingest(desk.sessions, desk.settings, desk.rules, folder)
    client = desk.client()
    assert login(client, "ben") == 303
    html = client.get(f"/cases/{case_id}").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "<img" not in html
    assert 'onerror="alert' not in html
    assert "&lt;a href=&#34;javascript:alert(2)&#34;&gt;" in html
    assert 'href="javascript:' not in html
    # the member's text is shown as written, never evaluated as a template: look at the body
    # itself (the page's times and tokens may hold any digits)
    bodies = re.findall(r'<pre class="body">(.*?)</pre>', html, flags=re.S)
    (member_body,) = [body for body in bodies if "evil_user01" in body]
    assert "{{ 7*7 }} {% raw %}" in member_body and "49" not in member_body
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script src="/static/app.js" defer>']


def test_lockout_after_repeated_failures(desk: Desk) -> None:
    clock = FixedClock(desk.clock.now())
    client = desk.client(clock)
    for _ in range(10):
        assert login(client, "ben", "wrong password!") == 401
        clock.at += dt.timedelta(seconds=20)  # past each growing delay, so each try counts
    assert login(client, "ben") == 401  # locked for 15 minutes, right password or not
    page = client.get("/login")
    assert "ログインできませんでした" not in page.text  # the form, no hint either way
    clock.at += dt.timedelta(minutes=16)
    assert login(client, "ben") == 303
    with desk.sessions() as session:
        whys = [
            row.detail.get("why")
            for row in session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login_failed"))
        ]
    assert whys.count("password") == 10 and whys.count("locked") == 1


def test_the_same_message_for_unknown_names_and_wrong_passwords(desk: Desk) -> None:
    client = desk.client()
    form = client.get("/login")
    token = token_of(form.text)
    unknown = client.post("/login", data={"name": "nobody", "password": "whatever1", "csrf_token": token})
    wrong = client.post("/login", data={"name": "ben", "password": "whatever1", "csrf_token": token})
    assert unknown.status_code == wrong.status_code == 401
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", unknown.text) == strip.sub("", wrong.text)


def test_csp_and_headers_on_every_response(desk: Desk) -> None:
    client = desk.client()
    responses = [
        client.get("/login"),
        client.get("/", follow_redirects=False),
        client.post("/cases/1/claim", follow_redirects=False),
        client.get("/static/app.css"),
        client.get("/static/missing.css"),
    ]
    assert login(client, "ben") == 303
    responses += [
        client.get("/"),
        client.get(f"/cases/{desk.cases[0]}"),
        client.get("/cases/999999"),
        client.get("/nowhere"),
        client.post(f"/cases/{desk.cases[0]}/claim", data={"csrf_token": "bad"}),
        client.get("/admin/audit"),
    ]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP, response.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "'unsafe-inline'" not in CSP
    static = responses[3]
    assert static.status_code == 200 and static.headers["cache-control"].startswith("public, max-age=")
    for response in responses[5:7]:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


def test_session_cookie_attributes(desk: Desk) -> None:
    client = desk.client()
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"name": "ben", "password": PASSWORD, "csrf_token": token_of(form.text)},
        follow_redirects=False,
    )
    cookies = [value for name, value in response.headers.multi_items() if name == "set-cookie"]
    session_cookie = next(value for value in cookies if value.startswith("__Host-triage-session="))
    attributes = {part.strip().split("=")[0].lower() for part in session_cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "domain" not in attributes
    assert "samesite=strict" in session_cookie.lower()
    token = session_cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 43
    with desk.sessions() as session:
        stored = session.scalars(sa.select(StaffSession.token_hash)).all()
    assert token not in stored and len(stored) == 1  # only the hash is kept


def test_a_disabled_accounts_session_is_refused_at_once(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    args = type("Args", (), {"name": "ben"})()
    assert cmd_staff_disable(args, desk.settings) == 0
    assert "1 session(s) ended" in capsys.readouterr().out
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(client, "ben") == 401


def test_idle_and_absolute_timeouts(desk: Desk) -> None:
    clock = FixedClock(desk.clock.now())
    client = desk.client(clock)
    assert login(client, "ben") == 303
    clock.at += dt.timedelta(minutes=29)
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.at += dt.timedelta(minutes=31)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(client, "ben") == 303
    for _ in range(25):  # busy all day, never idle for 30 minutes
        clock.at += dt.timedelta(minutes=29)
        if client.get("/", follow_redirects=False).status_code != 200:
            break
    assert clock.at - desk.clock.now() > dt.timedelta(hours=12)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    token = token_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with desk.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 0
    assert client.get("/", follow_redirects=False).status_code == 303


def test_no_personal_data_in_urls(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "aiko") == 303
    pages = [client.get("/?status=all").text, client.get(f"/cases/{desk.cases[0]}").text]
    for html in pages:
        for url in re.findall(r'(?:href|action|src)="([^"]*)"', html):
            assert "@" not in url and "taro" not in url and "1111" not in url, url
    assert BASE_URL.startswith("https://")


def test_no_personal_data_in_logs(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = desk.client()
    assert login(client, "ben", "wrong password!") == 401
    assert login(client, "ben") == 303
    page = client.get(f"/cases/{desk.cases[0]}").text
    client.post(f"/cases/{desk.cases[0]}/reveal", data={"csrf_token": token_of(page), "field": "phone"})
    client.get("/?status=all")
    text = caplog.text
    assert "failed staff login" in text  # every failure is logged ...
    for secret in (
        "taro@example.jp",
        "hana@example.jp",
        "090-1111-2345",
        "09011112345",
        "wrong password!",
        PASSWORD,
    ):
        assert secret not in text  # ... with no name, address, value or password


def test_hsts_over_tls_and_the_language_setting(desk: Desk) -> None:
    client = desk.client()
    assert login(client, "ben") == 303
    page = client.get("/", headers={"accept-language": "ja"})
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    response = client.post(
        "/language", data={"csrf_token": token_of(page.text), "language": "en"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "<h1>Queue</h1>" in client.get("/", headers={"accept-language": "ja"}).text
    assert (
        client.post("/language", data={"csrf_token": token_of(page.text), "language": "fr"}).status_code
        == 400
    )


def test_a_server_error_is_a_generic_page_with_the_headers(desk: Desk) -> None:
    client = TestClient(
        create_app(WebContext(desk.sessions, desk.settings, desk.rules, desk.clock)),
        base_url=BASE_URL,
        raise_server_exceptions=False,
    )
    assert login(client, "ben") == 303
    with desk.sessions() as session:
        session.execute(sa.text("DROP TABLE case_viewers"))
        session.commit()
    response = client.get(f"/cases/{desk.cases[0]}")
    assert response.status_code == 500
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"
    assert "case_viewers" not in response.text and "Traceback" not in response.text
    assert "エラーが発生しました" in response.text


def test_the_raw_mail_is_an_audited_admin_download(desk: Desk) -> None:
    agent, admin = desk.client(), desk.client()
    assert login(agent, "ben") == 303 and login(admin, "aiko") == 303
    page = admin.get(f"/cases/{desk.cases[0]}").text
    link = re.search(r'href="(/cases/\d+/mails/\d+/raw)"', page)
    assert link is not None
    assert "/raw" not in agent.get(f"/cases/{desk.cases[0]}").text
    assert agent.get(link.group(1)).status_code == 403
    response = admin.get(link.group(1))
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in response.headers.get_list("content-security-policy")[-1]
    assert b"taro_sample77" in response.content
    other_case = re.sub(r"/cases/\d+/", f"/cases/{desk.cases[1]}/", link.group(1))
    assert admin.get(other_case).status_code == 404  # a mail only under its own case
    with desk.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "raw_mail")).all()
    assert [(row.actor, row.case_id) for row in rows] == [("aiko", desk.cases[0])]
