"""Login, logout and the gate in front of every page.

:class:`AuthMiddleware` loads the session of the cookie for every request; only the login page
and static files are open without one (``PUBLIC``). A GET without a session goes to the login
page, anything else is refused with 401. Admin pages check the role themselves (:func:`admin`).
"""

from __future__ import annotations

import logging
import secrets
from typing import Final

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from triage.db.staff import StaffUser
from triage.health import OPS_PATHS
from triage.web import audit
from triage.web import sessions as staff_sessions
from triage.web.accounts import authenticate
from triage.web.context import client_address, context, staff, write
from triage.web.csrf import PRE_COOKIE
from triage.web.i18n import LANGUAGES
from triage.web.passwords import parse_parameters, passwords
from triage.web.render import page

log = logging.getLogger(__name__)

LOGIN_PATH: Final = "/login"
# Paths open without a session: the login form, the static files and the operations endpoints
# (health.py: liveness, readiness, counts; no data in any of them).
PUBLIC: Final = (LOGIN_PATH, "/static/", *OPS_PATHS)


def is_public(path: str) -> bool:
    return path == LOGIN_PATH or path.startswith("/static/") or path in OPS_PATHS


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = request.cookies.get(staff_sessions.COOKIE)
        current = None
        if token:
            ctx = scope["app"].state.ctx

            def load() -> staff_sessions.Current | None:
                with ctx.writing() as session:
                    found = staff_sessions.load(session, token, now=ctx.clock.now())
                    session.commit()
                    return found

            current = await run_in_threadpool(load)
        scope.setdefault("state", {})["staff"] = current
        if current is None and not is_public(scope["path"]):
            response: Response
            if scope["method"] in {"GET", "HEAD"}:
                response = RedirectResponse(LOGIN_PATH, status_code=303)
            else:
                response = Response("login required", status_code=401, media_type="text/plain")
            if token:
                response.delete_cookie(staff_sessions.COOKIE, path="/", secure=True, httponly=True)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def expected_csrf(scope: Scope) -> str | None:
    current = scope.get("state", {}).get("staff")
    return current.csrf_token if current is not None else None


async def login_form(request: Request) -> Response:
    if request.scope["state"].get("staff") is not None:
        return RedirectResponse("/", status_code=303)
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "login.html", pre_token=pre, failed=False)
    _cookie(response, PRE_COOKIE, pre, max_age=3600)
    return response


async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    address = client_address(request)
    now = context(request).clock.now()
    hasher = passwords(parse_parameters(context(request).settings.argon2))

    def work(session: Session) -> str | None:
        result = authenticate(session, name, password, hasher=hasher, address=address, now=now)
        if result.user is None:
            log.warning("failed staff login (%s) from %s", result.why, address)
            return None
        return staff_sessions.create(session, result.user, address=address, now=now)

    token = await write(request, work)
    response: Response
    if token is None:
        pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
        response = page(request, "login.html", status_code=401, pre_token=pre, failed=True)
        _cookie(response, PRE_COOKIE, pre, max_age=3600)
        return response
    response = RedirectResponse("/", status_code=303)
    _cookie(response, staff_sessions.COOKIE, token, max_age=None)
    response.delete_cookie(PRE_COOKIE, path="/", secure=True, httponly=True)
    return response


async def logout(request: Request) -> Response:
    current = staff(request)
    address = client_address(request)
    now = context(request).clock.now()

    def work(session: Session) -> None:
        staff_sessions.end(session, current.token_hash)
        audit.record(
            session, now=now, actor=current.name, address=address, action="logout", staff_id=current.staff_id
        )

    await write(request, work)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(staff_sessions.COOKIE, path="/", secure=True, httponly=True)
    return response


def admin(request: Request) -> bool:
    return staff(request).role == "admin"


async def set_language(request: Request) -> Response:
    """The staff member's own language for the pages ("" follows the browser)."""
    current = staff(request)
    form = await request.form()
    chosen = str(form.get("language", ""))
    if chosen not in {"", *LANGUAGES}:
        return Response("unknown language", status_code=400, media_type="text/plain")

    def work(session: Session) -> None:
        user = session.get(StaffUser, current.staff_id)
        if user is not None:
            user.language = chosen or None

    await write(request, work)
    return RedirectResponse("/", status_code=303)
