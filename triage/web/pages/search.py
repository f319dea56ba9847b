"""Search a member's cases by address or phone: a POST, so the query is in no URL or log."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from triage.db.models import Case
from triage.masking import mask_email
from triage.web import audit
from triage.web.context import client_address, context, staff, write
from triage.web.render import page
from triage.web.search import find_cases


async def search(request: Request) -> Response:
    ctx = context(request)
    current = staff(request)
    form = await request.form()
    query = str(form.get("q", ""))[:320]
    address = client_address(request)

    def work(session: Session) -> list[Case]:
        found = find_cases(session, query)
        audit.record(
            session,
            now=ctx.clock.now(),
            actor=current.name,
            address=address,
            action="search",
            staff_id=current.staff_id,
            detail={"kind": "address" if "@" in query else "phone", "found": len(found)},
        )
        return found

    cases = await write(request, work)
    rows = [
        {
            "id": c.id,
            "reference": c.reference,
            "mailbox": c.mailbox,
            "status": c.status.value,
            "sender": mask_email(c.sender),
        }
        for c in cases
    ]
    return page(request, "search.html", rows=rows, searched=bool(query.strip()))


async def search_form(request: Request) -> Response:
    return page(request, "search.html", rows=[], searched=False)
