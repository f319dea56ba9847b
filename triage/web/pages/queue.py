"""The queue page: GET only, filters in the query string (names and ids, never personal data)."""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from triage.cases.status import Action, TransitionRefused
from triage.db.models import Case
from triage.db.staff import SavedView
from triage.web.casework import Actor, VersionConflict, act
from triage.web.context import client_address, context, read, staff, write
from triage.web.queue import AGE_CHOICES, PAGE_SIZE, QueueFilter, QueuePage, queue_page
from triage.web.render import page
from triage.web.views import delete_view, list_views, save_view

BULK_ACTIONS: Final = {a.value: a for a in (Action.CLAIM, Action.RESOLVE, Action.NOT_A_REQUEST)}


async def queue(request: Request) -> Response:
    ctx = context(request)
    current = staff(request)
    mailboxes = frozenset(ctx.rules.mailboxes)
    flt = QueueFilter.from_query(request.query_params, mailboxes)
    now = ctx.clock.now()

    def work(session: Session) -> tuple[QueuePage, list[SavedView]]:
        found = queue_page(session, flt, staff_id=current.staff_id, settings=ctx.settings, now=now)
        return found, list_views(session, current.staff_id)

    result, saved = await read(request, work)
    return page(
        request,
        "queue.html",
        result=result,
        flt=flt,
        mailboxes=sorted(mailboxes),
        age_choices=AGE_CHOICES,
        next_query=flt.query_string(after=result.next_after) if result.next_after else None,
        saved=saved,
        bulk_actions=list(BULK_ACTIONS),
    )


async def save(request: Request) -> Response:
    """Save the current filters under a name (POST: the form carries the filters)."""
    ctx = context(request)
    current = staff(request)
    form = await request.form()
    name = str(form.get("name", ""))
    filters = {key: str(form.get(key, "")) for key in ("status", "mailbox", "age", "assignee", "mine")}

    def work(session: Session) -> str | None:
        row = save_view(session, current.staff_id, name, filters, frozenset(ctx.rules.mailboxes))
        return row.query if row is not None else None

    query = await write(request, work)
    if query is None:
        raise HTTPException(400)
    return RedirectResponse("/?" + query, status_code=303)


async def delete(request: Request) -> Response:
    current = staff(request)
    raw = str(request.path_params["view_id"])
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(404)

    def work(session: Session) -> bool:
        return delete_view(session, current.staff_id, int(raw))

    if not await write(request, work):
        raise HTTPException(404)
    return RedirectResponse("/", status_code=303)


async def bulk(request: Request) -> Response:
    """One action on the ticked cases, each in its own transaction with its own version check."""
    ctx = context(request)
    current = staff(request)
    form = await request.form()
    chosen = BULK_ACTIONS.get(str(form.get("action", "")))
    if chosen is None:
        raise HTTPException(400)
    picked = []
    for item in form.getlist("case")[:PAGE_SIZE]:
        raw_id, _, raw_version = str(item).partition(":")
        if raw_id.isdigit() and raw_version.isdigit() and len(raw_id) < 12 and len(raw_version) < 12:
            picked.append((int(raw_id), int(raw_version)))
    actor = Actor(current.staff_id, current.name, current.role, client_address(request))
    done: list[int] = []
    refused: list[tuple[int, str]] = []
    for case_id, version in picked:

        def work(session: Session, case_id: int = case_id, version: int = version) -> Case | None:
            return act(session, case_id, chosen, actor, expected_version=version, now=ctx.clock.now())

        try:
            result = await write(request, work)
        except VersionConflict:
            refused.append((case_id, "conflict_title"))
            continue
        except TransitionRefused as exc:
            refused.append((case_id, exc.reason))
            continue
        if result is None:
            refused.append((case_id, "not_found"))
        else:
            done.append(case_id)
    return page(request, "bulk.html", action=chosen.value, done=done, refused=refused)
