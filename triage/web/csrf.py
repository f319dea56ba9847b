"""CSRF protection around the whole app: a synchroniser token plus an origin check.

Every state-changing request (any method but GET, HEAD, OPTIONS) must
- not come from another site: ``Sec-Fetch-Site`` (when sent) is ``same-origin`` or ``none``, and
  ``Origin`` (when sent) names this host, or is ``null`` (what browsers send under our
  ``Referrer-Policy: no-referrer``) with ``Sec-Fetch-Site`` vouching for it;
- carry the session's token (kept in its database row) in the form field ``csrf_token`` or the
  ``X-CSRF-Token`` header. Before login, the token is the one the login page put in the
  ``__Host-`` pre-session cookie (a ``__Host-`` cookie cannot be planted by a sibling domain).
Why not a library: asgi-csrf and starlette-csrf are double-submit cookies not bound to the
server-side session, and starlette-csrf reads only a header (plain forms cannot send one).
The body is read here (form bodies are small; over 1 MiB is refused) and replayed to the app.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qs, urlsplit

from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD: Final = "csrf_token"
HEADER: Final = b"x-csrf-token"
PRE_COOKIE: Final = "__Host-triage-pre"
MAX_BODY: Final = 1024 * 1024
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def same_site(scope: Scope) -> bool:
    """Whether the browser says the request comes from this site (absent headers: not a browser)."""
    fetch_site = _header(scope, b"sec-fetch-site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return False
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    if origin == "null":
        # Browsers send "null" under Referrer-Policy: no-referrer (ours): then Sec-Fetch-Site,
        # which every current browser sends, must vouch for the request.
        return fetch_site in {"same-origin", "none"}
    host = _header(scope, b"host") or ""
    return urlsplit(origin).netloc.lower() == host.lower()


class CsrfMiddleware:
    """``expected(scope)`` gives the session's token, or None when nobody is logged in."""

    def __init__(self, app: ASGIApp, expected: Callable[[Scope], str | None], message: str) -> None:
        self.app = app
        self.expected = expected
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await PlainTextResponse("request too large", status_code=413)(scope, receive, send)
                return
        if not self._valid(scope, body):
            await PlainTextResponse(self.message, status_code=403)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _valid(self, scope: Scope, body: bytes) -> bool:
        if not same_site(scope):
            return False
        expected = self.expected(scope)
        if expected is None:
            expected = cookie_parser(_header(scope, b"cookie") or "").get(PRE_COOKIE)
        if not expected:
            return False
        given = _header(scope, HEADER)
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if given is None and content_type == "application/x-www-form-urlencoded":
            values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(FIELD, [])
            given = values[0] if len(values) == 1 else None
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())
