"""The case page (GET, audited as a view), "show" of masked fields (POST, audited as a reveal)
and the staff actions (POST, version-checked). Case ids in URLs are numbers, never personal data.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from triage.cases.status import Action, Role, TransitionRefused, allowed_actions
from triage.db.models import Case
from triage.web import audit
from triage.web.casedata import CaseView, load_case_view
from triage.web.casework import Actor, VersionConflict, act
from triage.web.context import client_address, context, language, staff, write
from triage.web.render import page

ACTION_PATHS = {action.value.replace("_", "-"): action for action in Action}


def _case_id(request: Request) -> int:
    raw = str(request.path_params["case_id"])
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(404)
    return int(raw)


async def _show(request: Request, revealed: frozenset[str], *, reveal_request: bool) -> Response:
    ctx = context(request)
    current = staff(request)
    case_id = _case_id(request)
    lang = language(request)
    address = client_address(request)
    now = ctx.clock.now()

    def work(session: Session) -> CaseView | None:
        case = session.get(Case, case_id)
        if case is None:
            return None
        view = load_case_view(session, case, ctx.rules.fields, revealed=revealed, language=lang)
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
        return view

    view = await write(request, work)
    if view is None:
        raise HTTPException(404)
    claimed_by_other = view.claimed_by_id is not None and view.claimed_by_id != current.staff_id
    actions = allowed_actions(view.case.status, Role(current.role), claimed_by_other=claimed_by_other)
    if view.claimed_by_id == current.staff_id:
        actions = [a for a in actions if a is not Action.CLAIM]
    elif view.claimed_by_id is None:
        actions = [a for a in actions if a is not Action.RELEASE]
    return page(
        request,
        "case.html",
        view=view,
        actions=[(a.value.replace("_", "-"), a.value) for a in actions],
        claimed_by_other=claimed_by_other,
        revealed=revealed,
    )


async def case_page(request: Request) -> Response:
    return await _show(request, frozenset(), reveal_request=False)


async def reveal(request: Request) -> Response:
    form = await request.form()
    wanted = {str(value) for value in form.getlist("field")}
    return await _show(request, frozenset(name[:64] for name in wanted), reveal_request=True)


async def action(request: Request) -> Response:
    ctx = context(request)
    current = staff(request)
    case_id = _case_id(request)
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
        return page(request, "refused.html", status_code=409, case_id=case_id, reason=refused.reason)
    if case is None:
        raise HTTPException(404)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
