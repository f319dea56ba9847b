"""One mail to one verdict, with no database: parse -> route -> screen -> extract -> decide.

`triage check` prints this; the worker runs the same function inside its transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.config import Settings
from triage.decide import Decision, Facts, decide, reason
from triage.engine.extract import Extraction, extract
from triage.engine.language import reply_language
from triage.engine.requirements import evaluate
from triage.engine.spec import RuleSet
from triage.parsing.model import ParsedMail
from triage.routing import Route, route
from triage.screening import ScreenResult, screen

# On a mail ignored on weak signals only (a subject word, a no-reply style From): staff may rescue it.
WEAK_ONLY_NOTE = "ignored on weak signals only"


@dataclass(frozen=True)
class Verdict:
    mail: ParsedMail
    route: Route
    screening: ScreenResult | None
    decision: Decision
    reason: str
    language: str
    extraction: Extraction | None
    missing: tuple[str, ...]
    blocking_invalid: tuple[str, ...]
    reply_to: str | None
    reply_template: str | None
    notes: tuple[str, ...] = field(default=())


def reply_recipient(mail: ParsedMail) -> str | None:
    """RFC 3834 §4: the envelope sender (Return-Path of a stored file), else the From address
    unless it is ambiguous (never the member's address, security.md §4)."""
    if mail.return_path is not None:
        return mail.return_path or None
    return mail.from_addr.addr if mail.from_addr and not mail.from_ambiguous else None


def is_icloud(mail: ParsedMail, settings: Settings) -> bool:
    return mail.from_addr is not None and mail.from_addr.domain in settings.icloud_domains


def judge(
    mail: ParsedMail,
    *,
    envelope_to: str | None,
    settings: Settings,
    rules: RuleSet,
    today: dt.date,
    issued_message_id: Callable[[str], bool] | None = None,
    rescued: bool = False,
) -> Verdict:
    """The verdict on one mail. ``rescued``: staff read an ignored mail again and decided it is a
    member's after all, so screening is still reported but no longer ignores it."""
    where = route(mail, envelope_to, rules.mailboxes)
    language = reply_language(mail)
    if where.mailbox is None:
        facts = Facts(None, (), False, (), ())
        decision = decide(facts)
        return Verdict(
            mail, where, None, decision, reason(decision, facts), language, None, (), (), None, None
        )
    screening = screen(mail, settings, mailboxes=rules.mailboxes, issued_message_id=issued_message_id)
    if screening.ignored and not rescued:
        facts = Facts(where.mailbox, tuple(hit.signal for hit in screening.hits), False, (), ())
        decision = decide(facts)
        return Verdict(
            mail,
            where,
            screening,
            decision,
            reason(decision, facts),
            language,
            None,
            (),
            (),
            None,
            None,
            notes=(*screening.notes, *((WEAK_ONLY_NOTE,) if screening.weak_only else ())),
        )
    pack = rules.packs[where.mailbox]
    extraction = extract(
        mail.text, rules, today=today, our_local_parts=rules.mailboxes, mailbox=where.mailbox
    )
    # `invalid` names only fields of the mailbox's pack (docs/decisions.md): a value the mailbox
    # never asked for (a login password in a JO1 mail) is not the member's mistake to fix, and the
    # reply must not ask for it. Valid values of other fields are still reported (cli.md).
    pack_fields = pack.fields
    extraction.invalid = [item for item in extraction.invalid if item.field in pack_fields]
    missing, blocking = evaluate(pack, extraction)
    facts = Facts(where.mailbox, (), is_icloud(mail, settings), missing, blocking)
    decision = decide(facts)
    template = pack.replies.get(decision.value)
    recipient = reply_recipient(mail)
    return Verdict(
        mail,
        where,
        screening,
        decision,
        reason(decision, facts),
        language,
        extraction,
        missing,
        blocking,
        recipient if template else None,
        template if recipient else None,
        notes=screening.notes,
    )
