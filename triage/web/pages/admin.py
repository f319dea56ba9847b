"""Admin pages: the audit log and its CSV export (the export is itself audited)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from triage.db.staff import AuditEvent
from triage.web import audit
from triage.web.context import client_address, context, read, staff, write
from triage.web.render import page


def _require_admin(request: Request) -> None:
    if staff(request).role != "admin":
        raise HTTPException(403)


def _filters(request: Request) -> tuple[int | None, str | None]:
    case = request.query_params.get("case", "")
    action = request.query_params.get("action", "")
    return (int(case) if case.isdigit() and len(case) < 12 else None), (action[:32] or None)


async def audit_page(request: Request) -> Response:
    _require_admin(request)
    case_id, action = _filters(request)

    def work(session: Session) -> list[AuditEvent]:
        return audit.recent(session, case_id=case_id, action=action)

    rows = await read(request, work)
    return page(request, "audit.html", rows=rows, case_filter=case_id or "", action_filter=action or "")


async def audit_csv(request: Request) -> Response:
    _require_admin(request)
    current = staff(request)
    case_id, action = _filters(request)
    now = context(request).clock.now()
    address = client_address(request)

    def work(session: Session) -> str:
        text = audit.to_csv(audit.recent(session, limit=100_000, case_id=case_id, action=action))
        audit.record(
            session,
            now=now,
            actor=current.name,
            address=address,
            action="export",
            staff_id=current.staff_id,
            case_id=case_id,
            detail={"what": "audit"} | ({"filter_action": action} if action else {}),
        )
        return text

    text = await write(request, work)
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )
