"""`triage staff add|list|disable` and `triage serve --only web`, as an operator runs them."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from webkit import FAST_ARGON2, WebProcess

from triage.cli import main
from triage.db.engine import make_engine, session_factory
from triage.db.staff import AuditEvent, StaffUser
from triage.web.headers import CSP

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("plain_environment")]


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_staff_add_list_disable(
    migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", migrated_db_url)
    monkeypatch.setenv("TRIAGE_ARGON2", FAST_ARGON2)
    assert run(["staff", "add", "Aiko", "--role", "admin"], monkeypatch, "a long passphrase\n") == 0
    assert "staff aiko added (admin)" in capsys.readouterr().out
    assert run(["staff", "add", "aiko", "--role", "agent"], monkeypatch, "another passphrase\n") == 2
    assert "exists already" in capsys.readouterr().err
    assert run(["staff", "add", "ben", "--role", "agent"], monkeypatch, "password\n") == 2
    assert "commonest" in capsys.readouterr().err
    assert run(["staff", "add", "ben", "--role", "agent"], monkeypatch, "short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert run(["staff", "add", "ben", "--role", "boss"], monkeypatch, "a long passphrase\n") == 2
    capsys.readouterr()
    assert run(["staff", "add", "ben", "--role", "agent"], monkeypatch, "ben's own phrase\n") == 0
    capsys.readouterr()
    assert run(["staff", "disable", "ben"], monkeypatch) == 0
    assert "staff ben disabled" in capsys.readouterr().out
    assert run(["staff", "disable", "nobody"], monkeypatch) == 1
    assert "no staff 'nobody'" in capsys.readouterr().err
    assert run(["staff", "list", "--json"], monkeypatch) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("aiko", "admin", False),
        ("ben", "agent", True),
    ]
    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as session:
            hashes = session.scalars(sa.select(StaffUser.password_hash)).all()
            actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    finally:
        engine.dispose()
    assert all(h.startswith("$argon2id$") and "passphrase" not in h for h in hashes)
    assert actions == ["staff_add", "staff_add", "staff_disable"]


def test_a_hash_with_old_parameters_is_replaced_at_login(migrated_db_url: str, tmp_path: Path) -> None:
    from triage.clock import SystemClock
    from triage.db.staff import StaffRole
    from triage.web.accounts import add_staff, authenticate
    from triage.web.passwords import parse_parameters, passwords

    engine = make_engine(migrated_db_url)
    old, new = passwords(parse_parameters(FAST_ARGON2)), passwords(parse_parameters("t=2,m=19456,p=1"))
    try:
        with session_factory(engine)() as session:
            user = add_staff(
                session, "ben", StaffRole.AGENT, "a long passphrase", hasher=old, now=SystemClock().now()
            )
            before = user.password_hash
            result = authenticate(
                session, "ben", "a long passphrase", hasher=new, address="127.0.0.1", now=SystemClock().now()
            )
            assert result.user is not None
            assert user.password_hash != before and "m=19456,t=2,p=1" in user.password_hash
            assert new.verify(user.password_hash, "a long passphrase")
    finally:
        engine.dispose()


def test_serve_only_web_answers_on_loopback(migrated_db_url: str, tmp_path: Path) -> None:
    web = WebProcess(tmp_path, migrated_db_url)
    try:
        response = httpx.get(web.url + "/login", timeout=10)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CSP
        assert "ログイン" in response.text
        assert httpx.get(web.url + "/", timeout=10).status_code == 303
        assert "server" not in response.headers
    finally:
        code = web.stop()
    assert code == 0, web.output
    assert "SMTP ingress on" not in web.output


def test_serve_web_shares_the_loop_with_the_smtp_ingress(migrated_db_url: str, tmp_path: Path) -> None:
    """One `triage serve --web` process: a mail sent by SMTP shows in the staff queue."""
    import re
    import smtplib

    from webkit import PASSWORD, add_user, free_port, token_of

    from triage.config import Settings

    settings = Settings.from_env({"TRIAGE_DATABASE_URL": migrated_db_url, "TRIAGE_ARGON2": FAST_ARGON2})
    engine = make_engine(migrated_db_url)
    try:
        add_user(session_factory(engine), "ben", "agent", settings)
    finally:
        engine.dispose()
    smtp_port = free_port()
    web = WebProcess(tmp_path, migrated_db_url, smtp_port=smtp_port)
    try:
        assert "SMTP ingress on" in web.output and "staff web UI on" in web.output
        raw = (
            "From: taro@example.jp\r\nTo: secure_billing@cc.example.jp\r\nSubject: help\r\n"
            "Message-ID: <s1@example.jp>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "ログインID:taro_sample77\r\nメールアドレス:taro@example.jp\r\n電話番号:090-1111-2345\r\n"
        ).encode()
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.sendmail("taro@example.jp", ["secure_billing@cc.example.jp"], raw)
        with httpx.Client(base_url=web.url, timeout=10) as client:
            form = client.get("/login")
            # Plain http on loopback: the Secure cookies are for browsers; carry them by hand.
            pre = {"cookie": f"__Host-triage-pre={form.cookies['__Host-triage-pre']}"}
            done = client.post(
                "/login",
                data={"name": "ben", "password": PASSWORD, "csrf_token": token_of(form.text)},
                headers=pre,
            )
            assert done.status_code == 303
            session_cookie = {"cookie": f"__Host-triage-session={done.cookies['__Host-triage-session']}"}
            for _ in range(100):
                queue = client.get("/?status=all", headers=session_cookie).text
                if re.search(r'href="/cases/\d+"', queue):
                    break
                time.sleep(0.1)
            assert "ta***@example.jp" in queue
    finally:
        code = web.stop()
    assert code == 0, web.output
