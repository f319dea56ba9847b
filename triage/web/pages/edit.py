"""Edits from the case page: correct a field (decided again, no reply), ask for more (preview,
then an explicit send into the outbox), merge another case of the same member into this one.
Each is version-checked and allowed by the status model, like the buttons in pages/case.py."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from triage.casedetail import find_case
from triage.cases.service import add_event
from triage.cases.staffedit import Author, EditRefused, correct_field, merge_cases, redecide
from triage.cases.status import Action, TransitionRefused
from triage.db.models import Case, CaseStatus
from triage.outbound.render import RenderedReply
from triage.web import ask
from triage.web.casedata import claim_of
from triage.web.casework import Actor, VersionConflict, begin, finish
from triage.web.context import client_address, context, staff, write
from triage.web.pages.case import case_id_of
from triage.web.render import page


def _version(form: FormData) -> int:
    raw = str(form.get("version", ""))
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(400)
    return int(raw)


def _actor(request: Request) -> Actor:
    current = staff(request)
    return Actor(current.staff_id, current.name, current.role, client_address(request))


async def _run(request: Request, case_id: int, work: Callable[[Session], Case | Response | None]) -> Response:
    """Run an edit; its refusals as pages, success back to the case."""
    try:
        done = await write(request, work)
    except VersionConflict as conflict:
        return page(request, "conflict.html", status_code=409, case_id=case_id, changes=conflict.changes)
    except TransitionRefused as refused:
        return page(
            request, "refused.html", status_code=409, case_id=case_id, reason=refused.reason, detail=""
        )
    except EditRefused as refused:
        return page(
            request,
            "refused.html",
            status_code=400,
            case_id=case_id,
            reason=refused.key,
            detail=refused.detail,
        )
    if done is None:
        raise HTTPException(404)
    if isinstance(done, Response):
        return done
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def correct(request: Request) -> Response:
    ctx = context(request)
    case_id = case_id_of(request)
    form = await request.form()
    expected = _version(form)
    field = str(form.get("field", ""))[:64]
    value = str(form.get("value", ""))
    actor = _actor(request)
    now, today = ctx.clock.now(), ctx.clock.today()

    def work(session: Session) -> Case | None:
        case = begin(session, case_id, Action.CORRECT, actor, expected_version=expected)
        if case is None:
            return None
        author = Author(actor.staff_id, actor.name)
        correct_field(session, case, field, value, ctx.rules, author=author, today=today, now=now)
        decision = redecide(session, case, ctx.rules, ctx.settings, now=now)
        add_event(session, case.id, "decided", now, detail={"decision": decision, "by": actor.name})
        finish(session, case, Action.CORRECT, actor, now=now, fields=(field,))
        return case

    return await _run(request, case_id, work)


async def ask_more(request: Request) -> Response:
    ctx = context(request)
    case_id = case_id_of(request)
    form = await request.form()
    expected = _version(form)
    fields = [str(name)[:64] for name in form.getlist("field")]
    confirmed = form.get("confirm") == "1"
    actor = _actor(request)
    now = ctx.clock.now()

    def work(session: Session) -> Case | Response | None:
        case = begin(session, case_id, Action.ASK, actor, expected_version=expected)
        if case is None:
            return None
        if not ask.possible(case, Action.ASK):
            raise EditRefused("ask_purged")
        if not [name for name in fields if name in ctx.rules.fields]:
            raise EditRefused("ask_nothing")
        reply: RenderedReply = ask.preview(session, case, fields, ctx.rules, ctx.settings)
        if not confirmed:
            session.rollback()
            return page(request, "ask_preview.html", case=case, reply=reply, fields=fields, version=expected)
        outbound = ask.send(session, case, reply, ctx.settings, now=now)
        case.status = CaseStatus.NEEDS_INFO  # the status model's target of ASK
        case.missing = [name for name in ctx.rules.fields if name in set(fields)]
        finish(
            session,
            case,
            Action.ASK,
            actor,
            now=now,
            detail={"fields": case.missing, "outbound": outbound.id},
        )
        return case

    return await _run(request, case_id, work)


async def merge(request: Request) -> Response:
    ctx = context(request)
    case_id = case_id_of(request)
    form = await request.form()
    expected = _version(form)
    reference = str(form.get("reference", "")).strip()[:32]
    actor = _actor(request)
    now = ctx.clock.now()

    def work(session: Session) -> Case | None:
        case = begin(session, case_id, Action.MERGE, actor, expected_version=expected)
        if case is None:
            return None
        other = find_case(session, reference) if reference else None
        if other is None:
            raise EditRefused("merge_not_found", reference)
        other_claim = claim_of(session, other.id)
        if other_claim is not None and other_claim[0] != actor.staff_id and actor.role != "admin":
            raise TransitionRefused("refused_claimed")
        merge_cases(session, case, other, ctx.rules, author=Author(actor.staff_id, actor.name), now=now)
        decision = redecide(session, case, ctx.rules, ctx.settings, now=now)
        add_event(session, case.id, "decided", now, detail={"decision": decision, "by": actor.name})
        finish(session, case, Action.MERGE, actor, now=now)
        return case

    return await _run(request, case_id, work)
