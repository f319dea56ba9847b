"""Rescue a mail ignored on weak signals only: staff judge it a member's after all.

The mail is read again outside any transaction (reading is CPU work; no write lock is held), with
screening still reported but no longer ignoring it, and then goes through the worker's own
pipeline in one write transaction: a case, its values and the reply it gets, exactly as if it had
not been screened out. The rescue is an audit row and a note on the stored mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from triage.db.models import InboundMessage, InboundStatus
from triage.errors import ParseFailure
from triage.web.context import context, read, staff, write
from triage.web.pages.admin import _int_param, _record, _require_admin, mail_page
from triage.worker import pipeline
from triage.worker.reading import Reading, bytes_to_parse, envelope_recipient
from triage.worker.reading import read as read_mail


@dataclass(frozen=True)
class _Stored:
    raw: bytes
    envelope_to: str | None


def _rescuable(row: InboundMessage | None, ident: int) -> str | None:
    """Why this mail cannot be rescued, or None."""
    if row is None:
        return f"no inbound mail {ident}"
    if row.status is not InboundStatus.DONE or row.decision != "ignored":
        return f"inbound {ident} was not ignored"
    if not any("weak" in note for note in row.notes or ()):
        return f"inbound {ident} was ignored on a strong signal (a bounce or an auto-reply): not rescued"
    return None


async def inbound_rescue(request: Request) -> Response:
    _require_admin(request)
    ident = _int_param(request, "inbound_id")
    ctx = context(request)

    def load(session: Session) -> _Stored | str:
        row = session.get(InboundMessage, ident)
        problem = _rescuable(row, ident)
        if problem is not None or row is None:
            return problem or f"no inbound mail {ident}"
        return _Stored(bytes_to_parse(row), envelope_recipient(row, ctx.rules.mailboxes))

    stored = await read(request, load)
    if isinstance(stored, str):
        return await mail_page(request, stored)

    def reread() -> Reading:
        return read_mail(
            stored.raw,
            envelope_to=stored.envelope_to,
            settings=ctx.settings,
            rules=ctx.rules,
            today=ctx.clock.today(),
            issued_message_id=None,
            rescued=True,
        )

    try:
        reading = await run_in_threadpool(reread)
    except ParseFailure as exc:
        return await mail_page(request, f"inbound {ident}: {exc}")
    by = staff(request).name

    def apply(session: Session) -> str | None:
        row = session.get(InboundMessage, ident)
        problem = _rescuable(row, ident)
        if problem is not None or row is None:
            return problem  # changed since it was read: someone else rescued it
        outcome = pipeline.process(
            session, row, settings=ctx.settings, rules=ctx.rules, clock=ctx.clock, reading=reading
        )
        row.notes = [*(row.notes or []), f"rescued by {by}: read again without screening"]
        _record(
            request, session, "inbound_rescue", id=ident, decision=outcome.decision, case_id=outcome.case_id
        )
        return None

    problem = await write(request, apply)
    if problem:
        return await mail_page(request, problem)
    return RedirectResponse("/admin/mail", status_code=303)
