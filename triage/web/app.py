"""The staff web app: routes, static files and the middleware every request passes.

Outermost first: security headers (every response), the login gate (every path but the login
page and static files), CSRF (every state-changing request), then the routes. Nothing changes
state on GET except the audit row a case view writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from triage.health import Ops, ops_routes
from triage.web.auth import AuthMiddleware, expected_csrf, login, login_form, logout, set_language
from triage.web.context import WebContext
from triage.web.csrf import CsrfMiddleware
from triage.web.headers import HEADERS, SecurityHeaders
from triage.web.pages.admin import (
    audit_csv,
    audit_page,
    inbound_retry,
    mail_page,
    reply_drop,
    reply_retry,
    staff_add,
    staff_disable,
    staff_end_sessions,
    staff_page,
)
from triage.web.pages.case import action, case_page, heartbeat, raw_mail, reveal
from triage.web.pages.edit import ask_more, correct, merge
from triage.web.pages.queue import bulk, delete, queue, save
from triage.web.pages.rescue import inbound_rescue
from triage.web.pages.search import search, search_form
from triage.web.render import page

log = logging.getLogger(__name__)

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
STATIC_MAX_AGE: Final = 3600
CSRF_MESSAGE: Final = "CSRF check failed: reload the page and try again"


class CachedStatic(StaticFiles):
    """Static files with a cache lifetime (they hold no data; ETags revalidate after it)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = f"public, max-age={STATIC_MAX_AGE}"
        return response


def routes() -> list[Route | Mount]:
    return [
        Route("/", queue, methods=["GET"], name="queue"),
        Route("/bulk", bulk, methods=["POST"], name="bulk"),
        Route("/search", search_form, methods=["GET"], name="search_form"),
        Route("/search", search, methods=["POST"], name="search"),
        Route("/views", save, methods=["POST"], name="save_view"),
        Route("/views/{view_id}/delete", delete, methods=["POST"], name="delete_view"),
        Route("/login", login_form, methods=["GET"], name="login_form"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/language", set_language, methods=["POST"], name="language"),
        Route("/cases/{case_id}", case_page, methods=["GET"], name="case"),
        Route("/cases/{case_id}/reveal", reveal, methods=["POST"], name="reveal"),
        Route("/cases/{case_id}/mails/{inbound_id}/raw", raw_mail, methods=["GET"], name="raw_mail"),
        Route("/cases/{case_id}/viewing", heartbeat, methods=["POST"], name="viewing"),
        Route("/cases/{case_id}/correct", correct, methods=["POST"], name="correct"),
        Route("/cases/{case_id}/ask", ask_more, methods=["POST"], name="ask"),
        Route("/cases/{case_id}/merge", merge, methods=["POST"], name="merge"),
        Route("/cases/{case_id}/{action}", action, methods=["POST"], name="action"),
        Route("/admin/audit", audit_page, methods=["GET"], name="audit"),
        Route("/admin/audit.csv", audit_csv, methods=["GET"], name="audit_csv"),
        Route("/admin/staff", staff_page, methods=["GET"], name="staff"),
        Route("/admin/staff", staff_add, methods=["POST"], name="staff_add"),
        Route("/admin/staff/disable", staff_disable, methods=["POST"], name="staff_disable"),
        Route("/admin/staff/end-sessions", staff_end_sessions, methods=["POST"], name="staff_end_sessions"),
        Route("/admin/mail", mail_page, methods=["GET"], name="mail"),
        Route("/admin/inbound/{inbound_id}/retry", inbound_retry, methods=["POST"], name="inbound_retry"),
        Route("/admin/inbound/{inbound_id}/rescue", inbound_rescue, methods=["POST"], name="inbound_rescue"),
        Route("/admin/outbox/{reply_id}/retry", reply_retry, methods=["POST"], name="reply_retry"),
        Route("/admin/outbox/{reply_id}/drop", reply_drop, methods=["POST"], name="reply_drop"),
        Mount("/static", app=CachedStatic(directory=STATIC_DIR), name="static"),
        *ops_routes(),  # /healthz, /readyz, /metrics: public by design (health.py)
    ]


_KEYS: Final = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "bad_request"}


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return page(request, "error.html", status_code=status, message_key=_KEYS.get(status, "error"))


async def _server_error(request: Request, exc: Exception) -> Response:
    """A generic page, no trace or SQL. Starlette sends it from outside the middleware, so the
    security headers are set here."""
    log.error("staff page %s failed: %s", request.url.path, type(exc).__name__, exc_info=exc)
    try:
        response: Response = page(request, "error.html", status_code=500, message_key="error")
    except Exception:  # the page itself cannot be rendered: plain text then
        log.exception("the error page failed too")
        response = PlainTextResponse("error", status_code=500)
    for name, value in HEADERS:
        response.headers[name.decode()] = value.decode()
    response.headers["cache-control"] = "no-store"
    return response


def create_app(ctx: WebContext, ops: Ops | None = None) -> Starlette:
    """The whole ASGI app; ``app.routes`` is its route table (the security tests walk it).

    ``ops`` answers /readyz and /metrics (`triage serve` passes the process's own); without it,
    the database's readiness and queues.
    """
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(AuthMiddleware),
            Middleware(CsrfMiddleware, expected=expected_csrf, message=CSRF_MESSAGE),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.ctx = ctx
    app.state.ops = ops or Ops.for_database(ctx.sessions, ctx.clock)
    return app
