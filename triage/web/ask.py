"""Ask the member for more: the mailbox's templated needs_info reply listing the fields staff
picked, previewed first, then put into the outbox by the person's explicit "send". Never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage.cases.status import Action
from triage.config import Settings
from triage.db.models import Case, InboundMessage, OutboundMessage
from triage.engine.spec import RuleSet
from triage.outbound.outbox import enqueue_reply
from triage.outbound.render import RenderedReply, field_label, from_header, render, request_context
from triage.purge import PURGED_SENDER

TEMPLATE = "needs_info"


def possible(case: Case, action: Action) -> bool:
    """False for asking a purged case: its member's address is gone, nothing can be sent."""
    return not (action is Action.ASK and case.sender == PURGED_SENDER)


def askable_fields(case: Case, rules: RuleSet, language: str) -> list[tuple[str, str]]:
    """(field, label in the member's words) of every field staff may ask for, in rules order."""
    return [(name, field_label(rules.templates_dir, case.mailbox, name, language)) for name in rules.fields]


def _latest_mail(session: Session, case: Case) -> InboundMessage | None:
    return session.scalar(
        sa.select(InboundMessage)
        .where(InboundMessage.case_id == case.id)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )


def _from_address(case: Case, mail: InboundMessage | None, settings: Settings) -> str:
    """The mailbox address the member wrote to (so the answer comes back to it)."""
    for rcpt in mail.rcpt_tos if mail is not None else ():
        if rcpt.lower().partition("@")[0] == case.mailbox:
            return rcpt.lower()
    return f"{case.mailbox}@{settings.our_domain}"


def preview(
    session: Session, case: Case, fields: Sequence[str], rules: RuleSet, settings: Settings
) -> RenderedReply:
    wanted = [name for name in rules.fields if name in set(fields)]
    template = (
        rules.packs[case.mailbox].replies.get(TEMPLATE, TEMPLATE) if case.mailbox in rules.packs else TEMPLATE
    )
    context = request_context(rules, case.mailbox, case.language, wanted, case.reference)
    subject, body = render(rules.templates_dir, template, case.language, context)
    return RenderedReply(
        template,
        case.language,
        case.sender,
        from_header(
            rules, case.mailbox, case.language, _from_address(case, _latest_mail(session, case), settings)
        ),
        subject,
        body,
        decision="needs_info",
    )


def send(
    session: Session, case: Case, reply: RenderedReply, settings: Settings, *, now: dt.datetime
) -> OutboundMessage:
    """Into the outbox, threaded under the member's latest mail."""
    mail = _latest_mail(session, case)
    references: list[str] = []
    if mail is not None and mail.message_id:
        references = [mail.message_id]
    return enqueue_reply(
        session,
        reply=reply,
        case_id=case.id,
        inbound_id=mail.id if mail is not None else None,
        in_reply_to=mail.message_id if mail is not None else None,
        references=references,
        settings=settings,
        now=now,
    )
