"""What every page handler needs: the database, settings, rules, clock and the current staff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from triage.clock import Clock
from triage.config import Settings
from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.engine.spec import RuleSet
from triage.web.i18n import negotiate
from triage.web.sessions import Current

T = TypeVar("T")


@dataclass(frozen=True)
class WebContext:
    sessions: sessionmaker[Session]
    settings: Settings
    rules: RuleSet
    clock: Clock
    # SQLite in `triage serve`: the ingress's inserts go before the web's writes (db/gate.py).
    gate: WriteGate | None = None

    def writing(self) -> Session:
        """A session for a write transaction (IMMEDIATE on SQLite), after the ingress's turn."""
        if self.gate is not None:
            self.gate.wait_turn()
        session = self.sessions()
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        return session


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def staff(request: Request) -> Current:
    """The logged-in staff member (the auth middleware let the request through)."""
    current: Current | None = request.scope.get("state", {}).get("staff")
    if current is None:  # unreachable behind AuthMiddleware; never serve a page anonymously
        raise PermissionError("no staff session")
    return current


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def language(request: Request) -> str:
    current: Current | None = request.scope.get("state", {}).get("staff")
    return negotiate(request.headers.get("accept-language"), current.language if current else None)


async def read(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a read transaction off the event loop (the SMTP ingress shares it)."""
    sessions = context(request).sessions

    def run() -> T:
        with sessions() as session:
            return work(session)

    return await run_in_threadpool(run)


async def write(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction (IMMEDIATE on SQLite) and commit it."""
    ctx = context(request)

    def run() -> T:
        with ctx.writing() as session:
            result = work(session)
            session.commit()
            return result

    return await run_in_threadpool(run)
