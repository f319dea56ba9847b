"""Admin pages: staff accounts, parked mail, dead replies, the audit log and its CSV export.
Every change and every export is itself an audit row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from triage.db.models import InboundStatus, OutboundStatus
from triage.db.staff import AuditEvent, StaffRole, StaffSession
from triage.listing import inbound_rows, outbox_rows
from triage.web import audit, operations
from triage.web.accounts import AccountError, add_staff, disable_staff, end_sessions, list_staff
from triage.web.context import client_address, context, read, staff, write
from triage.web.passwords import WeakPassword, parse_parameters, passwords
from triage.web.render import page


def _require_admin(request: Request) -> None:
    if staff(request).role != "admin":
        raise HTTPException(403)


def _int_param(request: Request, name: str) -> int:
    raw = str(request.path_params[name])
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(404)
    return int(raw)


def _record(request: Request, session: Session, action: str, **detail: Any) -> None:
    current = staff(request)
    audit.record(
        session,
        now=context(request).clock.now(),
        actor=current.name,
        address=client_address(request),
        action=action,
        staff_id=current.staff_id,
        detail=detail,
    )


# -- the audit log -----------------------------------------------------------------------------


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
    case_id, action = _filters(request)

    def work(session: Session) -> str:
        text = audit.to_csv(audit.recent(session, limit=100_000, case_id=case_id, action=action))
        _record(request, session, "export", what="audit", **({"filter_action": action} if action else {}))
        return text

    text = await write(request, work)
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )


# -- staff accounts ----------------------------------------------------------------------------


async def staff_page(request: Request, problem: str = "") -> Response:
    _require_admin(request)

    def work(session: Session) -> list[dict[str, Any]]:
        counts = dict(
            session.execute(
                sa.select(StaffSession.staff_id, sa.func.count()).group_by(StaffSession.staff_id)
            ).all()
        )
        return [{"user": user, "sessions": int(counts.get(user.id, 0))} for user in list_staff(session)]

    rows = await read(request, work)
    return page(request, "admin_staff.html", status_code=400 if problem else 200, rows=rows, problem=problem)


async def staff_add(request: Request) -> Response:
    _require_admin(request)
    ctx = context(request)
    form = await request.form()
    name, role, password = str(form.get("name", "")), str(form.get("role", "")), str(form.get("password", ""))
    if role not in {"agent", "admin"}:
        raise HTTPException(400)
    hasher = passwords(parse_parameters(ctx.settings.argon2))

    def work(session: Session) -> str:
        try:
            user = add_staff(session, name, StaffRole(role), password, hasher=hasher, now=ctx.clock.now())
        except (AccountError, WeakPassword) as exc:
            return str(exc)
        _record(request, session, "staff_add", staff=user.name, role=role)
        return ""

    problem = await write(request, work)
    if problem:
        return await staff_page(request, problem)
    return RedirectResponse("/admin/staff", status_code=303)


def _staff_change(action: str, change: Callable[[Session, str], int]) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        _require_admin(request)
        form = await request.form()
        name = str(form.get("name", ""))[:64]

        def work(session: Session) -> str:
            try:
                ended = change(session, name)
            except AccountError as exc:
                return str(exc)
            _record(request, session, action, staff=name, sessions_ended=ended)
            return ""

        problem = await write(request, work)
        if problem:
            return await staff_page(request, problem)
        return RedirectResponse("/admin/staff", status_code=303)

    return handler


def _end_sessions_of(session: Session, name: str) -> int:
    user = next((u for u in list_staff(session) if u.name == name.strip().lower()), None)
    if user is None:
        raise AccountError(f"no staff {name!r}")
    return end_sessions(session, user.id)


staff_disable = _staff_change("staff_disable", disable_staff)
staff_end_sessions = _staff_change("staff_end_sessions", _end_sessions_of)


# -- parked mail and dead replies --------------------------------------------------------------


async def mail_page(request: Request, problem: str = "") -> Response:
    _require_admin(request)

    def work(session: Session) -> dict[str, list[dict[str, Any]]]:
        return {
            "failed": inbound_rows(session, status=InboundStatus.FAILED),
            "dead": outbox_rows(session, status=OutboundStatus.DEAD),
            "ignored": [
                row
                for row in inbound_rows(session, decision="ignored")
                if any("weak" in n for n in row["notes"])
            ][-200:],
        }

    found = await read(request, work)
    return page(request, "admin_mail.html", status_code=400 if problem else 200, problem=problem, **found)


def _mail_change(action: str, change: Callable[[Request, Session, int], str | None], param: str) -> Any:
    async def handler(request: Request) -> Response:
        _require_admin(request)
        ident = _int_param(request, param)

        def work(session: Session) -> str | None:
            problem = change(request, session, ident)
            if problem is None:
                _record(request, session, action, id=ident)
            return problem

        problem = await write(request, work)
        if problem:
            return await mail_page(request, problem)
        return RedirectResponse("/admin/mail", status_code=303)

    return handler


def _retry_inbound(request: Request, session: Session, ident: int) -> str | None:
    del request
    return operations.retry_inbound(session, ident)


def _retry_reply(request: Request, session: Session, ident: int) -> str | None:
    ctx = context(request)
    return operations.retry_reply(session, ident, ctx.settings, now=ctx.clock.now(), by=staff(request).name)


def _drop_reply(request: Request, session: Session, ident: int) -> str | None:
    return operations.drop_reply(session, ident, now=context(request).clock.now(), by=staff(request).name)


inbound_retry = _mail_change("inbound_retry", _retry_inbound, "inbound_id")
reply_retry = _mail_change("reply_retry", _retry_reply, "reply_id")
reply_drop = _mail_change("reply_drop", _drop_reply, "reply_id")
