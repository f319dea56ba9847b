"""The queue page: GET only, filters in the query string (names and ids, never personal data)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from triage.web.context import context, read, staff
from triage.web.queue import AGE_CHOICES, QueueFilter, QueuePage, queue_page
from triage.web.render import page


async def queue(request: Request) -> Response:
    ctx = context(request)
    current = staff(request)
    mailboxes = frozenset(ctx.rules.mailboxes)
    flt = QueueFilter.from_query(request.query_params, mailboxes)
    now = ctx.clock.now()

    def work(session: Session) -> QueuePage:
        return queue_page(session, flt, staff_id=current.staff_id, settings=ctx.settings, now=now)

    result = await read(request, work)
    return page(
        request,
        "queue.html",
        result=result,
        flt=flt,
        mailboxes=sorted(mailboxes),
        age_choices=AGE_CHOICES,
        next_query=flt.query_string(after=result.next_after) if result.next_after else None,
    )
