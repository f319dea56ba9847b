"""The case page (GET, audited as a view), "show" of masked fields (POST, audited as a reveal)
and the staff actions (POST, version-checked). Case ids in URLs are numbers, never personal data.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from triage.cases.status import BUTTONS, Action, Role, TransitionRefused, allowed_actions
from triage.db.models import Case, CaseStatus, InboundMessage
from triage.web import ask, audit, viewers
from triage.web.casedata import CaseView, load_case_view
from triage.web.casework import Actor, VersionConflict, act
from triage.web.context import client_address, context, language, staff, write
from triage.web.i18n import translate
from triage.web.render import page
from triage.web.search import other_cases_of_member

ACTION_PATHS = {action.value.replace("_", "-"): action for action in Action if action.value in BUTTONS}


def case_id_of(request: Request) -> int:
    raw = str(request.path_params["case_id"])
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(404)
    return int(raw)


async def _show(request: Request, revealed: frozenset[str], *, reveal_request: bool) -> Response:
    ctx = context(request)
    current = staff(request)
    case_id = case_id_of(request)
    lang = language(request)
    address = client_address(request)
    now = ctx.clock.now()

    def work(session: Session) -> tuple[CaseView, list[str], int | None, list[Case]] | None:
        case = session.get(Case, case_id)
        if case is None:
            return None
        view = load_case_view(session, case, ctx.rules.fields, revealed=revealed, language=lang)
        others = viewers.seen(session, case_id, current.staff_id, now=now)
        shown = sorted(revealed & set(view.sensitive_held)) if reveal_request else []
        audit.record(
            session,
            now=now,
            actor=current.name,
            address=address,
            action="reveal" if reveal_request else "view",
            staff_id=current.staff_id,
            case_id=case_id,
            fields=shown,
        )
        return view, others, next_case(session, case_id), other_cases_of_member(session, case)

    loaded = await write(request, work)
    if loaded is None:
        raise HTTPException(404)
    view, others, next_id, member_cases = loaded
    claimed_by_other = view.claimed_by_id is not None and view.claimed_by_id != current.staff_id
    allowed = allowed_actions(view.case.status, Role(current.role), claimed_by_other=claimed_by_other)
    actions = [a for a in allowed if a.value in BUTTONS]
    if view.claimed_by_id == current.staff_id:
        actions = [a for a in actions if a is not Action.CLAIM]
    elif view.claimed_by_id is None:
        actions = [a for a in actions if a is not Action.RELEASE]
    return page(
        request,
        "case.html",
        view=view,
        actions=[(a.value.replace("_", "-"), a.value) for a in actions],
        can_edit={a.value for a in allowed if a.value not in BUTTONS and ask.possible(view.case, a)},
        claimed_by_other=claimed_by_other,
        revealed=revealed,
        viewers=others,
        next_id=next_id,
        member_cases=member_cases,
        askable=ask.askable_fields(view.case, ctx.rules, view.case.language),
        field_names=list(ctx.rules.fields),
    )


def next_case(session: Session, case_id: int) -> int | None:
    """The next queued case after this one (the oldest queued when this is the last)."""
    after = session.scalar(
        sa.select(sa.func.min(Case.id)).where(Case.status == CaseStatus.QUEUED, Case.id > case_id)
    )
    if after is None:
        after = session.scalar(
            sa.select(sa.func.min(Case.id)).where(Case.status == CaseStatus.QUEUED, Case.id != case_id)
        )
    return int(after) if after is not None else None


async def heartbeat(request: Request) -> Response:
    """The page's script says it is still open; the others who have the case open, as JSON."""
    ctx = context(request)
    current = staff(request)
    case_id = case_id_of(request)
    now = ctx.clock.now()

    def work(session: Session) -> list[str] | None:
        if session.get(Case, case_id) is None:
            return None
        return viewers.seen(session, case_id, current.staff_id, now=now)

    others = await write(request, work)
    if others is None:
        raise HTTPException(404)
    text = translate(language(request), "also_viewing", names=", ".join(others)) if others else ""
    return JSONResponse({"viewers": others, "text": text})


async def case_page(request: Request) -> Response:
    return await _show(request, frozenset(), reveal_request=False)


async def reveal(request: Request) -> Response:
    form = await request.form()
    wanted = {str(value) for value in form.getlist("field")}
    return await _show(request, frozenset(name[:64] for name in wanted), reveal_request=True)


async def action(request: Request) -> Response:
    ctx = context(request)
    current = staff(request)
    case_id = case_id_of(request)
    chosen = ACTION_PATHS.get(str(request.path_params["action"]))
    if chosen is None:
        raise HTTPException(404)
    form = await request.form()
    raw_version = str(form.get("version", ""))
    if not raw_version.isdigit():
        raise HTTPException(400)
    actor = Actor(current.staff_id, current.name, current.role, client_address(request))
    now = ctx.clock.now()
    note = str(form.get("note", ""))

    def work(session: Session) -> Case | None:
        return act(session, case_id, chosen, actor, expected_version=int(raw_version), now=now, note=note)

    try:
        case = await write(request, work)
    except VersionConflict as conflict:
        return page(request, "conflict.html", status_code=409, case_id=case_id, changes=conflict.changes)
    except TransitionRefused as refused:
        return page(
            request, "refused.html", status_code=409, case_id=case_id, reason=refused.reason, detail=""
        )
    if case is None:
        raise HTTPException(404)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def raw_mail(request: Request) -> Response:
    """The stored message exactly as received, for admins: a download, never rendered (audited).

    Reading the raw mail is a permission of its own (security.md §2): agents see the parsed,
    escaped text on the case page only.
    """
    ctx = context(request)
    current = staff(request)
    if current.role != "admin":
        raise HTTPException(403)
    case_id = case_id_of(request)
    raw_id = str(request.path_params["inbound_id"])
    if not raw_id.isdigit() or len(raw_id) > 12:
        raise HTTPException(404)
    address = client_address(request)

    def work(session: Session) -> bytes | None:
        mail = session.get(InboundMessage, int(raw_id))
        if mail is None or mail.case_id != case_id:
            return None
        audit.record(
            session,
            now=ctx.clock.now(),
            actor=current.name,
            address=address,
            action="raw_mail",
            staff_id=current.staff_id,
            case_id=case_id,
            detail={"inbound": mail.id},
        )
        return mail.raw

    raw = await write(request, work)
    if raw is None:
        raise HTTPException(404)
    return Response(
        raw,
        media_type="application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="inbound-{raw_id}.eml"',
            "content-security-policy": "sandbox; default-src 'none'",
        },
    )
