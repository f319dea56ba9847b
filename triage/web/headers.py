"""Security headers on every response (security.md §2 "Headers", "Caching and URLs").

A strict Content-Security-Policy with no inline script or style; ``no-store`` on every response
that does not set its own caching (only static files do), so no page with personal data stays
in a browser or proxy cache.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HSTS: Final = b"max-age=31536000"
HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


_OURS: Final = frozenset(name for name, _ in HEADERS)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = list(message.get("headers", []))
                # A response may tighten the policy (the raw-mail download: sandbox), never drop it.
                own_csp = [value for name, value in given if name.lower() == b"content-security-policy"]
                headers = [(name, value) for name, value in given if name.lower() not in _OURS]
                headers.extend(HEADERS)
                headers.extend((b"content-security-policy", value) for value in own_csp)
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":  # behind the TLS proxy (X-Forwarded-Proto)
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
