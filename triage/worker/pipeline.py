"""One stored mail through the whole pipeline, inside the caller's transaction (never commits).

duplicate? -> parse -> judge (the code `triage check` runs) -> case (open, or merge a follow-up
and decide again on the merged values) -> reply rendered into the outbox.

The read (parse + judge, under the mail's reading budget) is ``reading.read``, which needs no
transaction; transport duplicates are in ``duplicates.py``, sender keys and locks in
``senders.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage import textmatch
from triage.authenticity.marks import mail_notes as authenticity_notes
from triage.cases import followup
from triage.cases.service import add_event, extraction_of, merge_values, open_case, record_verdict
from triage.clock import Clock
from triage.config import Settings
from triage.db.models import (
    OPEN_CASE_STATUSES,
    Case,
    CaseStatus,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.decide import Decision, Facts, decide, reason
from triage.engine.extract import Extraction
from triage.engine.requirements import evaluate
from triage.engine.spec import RuleSet
from triage.ingress.spool import received_notes
from triage.outbound.outbox import enqueue_reply
from triage.outbound.ratelimit import RecentReply
from triage.outbound.render import render_reply
from triage.parsing.model import ParsedMail
from triage.parsing.notes import parse_notes
from triage.verdict import Verdict, is_icloud, judge, reply_recipient
from triage.worker.duplicates import EarlierCopies
from triage.worker.lookups import SenderRows
from triage.worker.phases import Phases
from triage.worker.reading import Reading, bytes_to_parse, envelope_recipient, issued_checker, read
from triage.worker.senders import MAKES_CASE, case_key, lock_sender, sender_key

log = logging.getLogger(__name__)

# RFC 3464 Status field, else an enhanced status code in a plain-text notice.
_DSN_STATUS = textmatch.compile_bytes(
    rb"(?im)^status:\s*([245]\.[0-9]{1,3}\.[0-9]{1,3})|\b([45]\.[0-9]\.[0-9]{1,3})\b",
    name="pipeline.dsn-status",
)


@dataclass(frozen=True)
class Outcome:
    status: InboundStatus  # done or duplicate
    decision: str | None
    case_id: int | None
    outbound_id: int | None
    detail: str  # one line for logs and `ingest`: no values, no addresses
    case_key: str | None = None  # a follow-up: the sender key of the case it joined (case_key())


def process(
    session: Session,
    row: InboundMessage,
    *,
    settings: Settings,
    rules: RuleSet,
    clock: Clock,
    reading: Reading | None = None,
    phases: Phases | None = None,
    copies: EarlierCopies | None = None,
    lookups: SenderRows | None = None,
) -> Outcome:
    """Run ``row`` through the pipeline, with its `reading` when it was read beforehand (else it
    is read here). Raises ParseFailure for mail whose structure is unreadable. ``phases`` counts
    the time spent on the reply.

    Queries here do not flush the session first: what they look for was written by earlier mails
    (flushed when each mail's savepoint ended) or by the steps that flush on purpose (a new case,
    a new reply, the merged values before the case is decided again). A flush is most of the
    cost of an ORM statement, so this makes three flushes of a mail's dozen statements.
    """
    with session.no_autoflush:
        return _process(
            session,
            row,
            settings=settings,
            rules=rules,
            clock=clock,
            reading=reading,
            phases=phases,
            copies=copies or EarlierCopies(session, [row], settings.duplicate_window_days),
            lookups=lookups,
        )


def _process(
    session: Session,
    row: InboundMessage,
    *,
    settings: Settings,
    rules: RuleSet,
    clock: Clock,
    reading: Reading | None,
    phases: Phases | None,
    copies: EarlierCopies,
    lookups: SenderRows | None,
) -> Outcome:
    now = clock.now()
    duplicate_of = copies.of(row)
    if duplicate_of is not None:
        row.status = InboundStatus.DUPLICATE
        row.duplicate_of = duplicate_of
        row.decision = None
        row.processed_at = now
        return Outcome(
            InboundStatus.DUPLICATE, None, None, None, f"transport duplicate of inbound {duplicate_of}"
        )

    if reading is None:
        reading = read(
            bytes_to_parse(row),
            envelope_to=envelope_recipient(row, rules.mailboxes),
            settings=settings,
            rules=rules,
            today=clock.today(),
            issued_message_id=issued_checker(session),
        )
    mail, verdict = reading.mail, reading.verdict
    row.mailbox = verdict.route.mailbox
    row.message_id = followup.clean_message_id(mail.message_id)
    row.text_hash = reading.text_hash or followup.text_hash(mail.text)
    row.notes = [
        *received_notes(row.notes),
        *verdict.notes,
        *_envelope_notes(row, mail),
        *reading.notes(),
        *parse_notes(mail),
        *authenticity_notes(mail, verdict, settings),
    ]
    row.decision = verdict.decision.value
    row.reason = verdict.reason
    row.status = InboundStatus.DONE
    row.processed_at = now
    if verdict.decision is Decision.IGNORED:
        bounced = _link_bounce(session, row, mail, settings=settings, now=now)
        detail = verdict.reason if bounced is None else f"{verdict.reason}; bounce of reply {bounced}"
        return Outcome(InboundStatus.DONE, verdict.decision.value, None, None, detail)  # no reply of its own
    if verdict.decision not in MAKES_CASE or verdict.route.mailbox is None:
        return Outcome(InboundStatus.DONE, verdict.decision.value, None, None, verdict.reason)
    today = clock.today()
    return _into_case(
        session,
        row,
        mail,
        verdict,
        settings=settings,
        rules=rules,
        now=now,
        today=today,
        phases=phases,
        lookups=lookups if lookups is not None and lookups.fresh(sender_key(reading)) else None,
    )


def _our_id_pattern(our_domain: str) -> textmatch.BytesPattern:
    domain = textmatch.escape_bytes(our_domain.encode("ascii", "ignore"))
    return textmatch.compile_bytes(
        rb"r\.[0-9]+\.[A-Za-z0-9_-]+@" + domain, textmatch.IGNORECASE, name="pipeline.our-message-id"
    )


def _our_message_ids(mail: ParsedMail, raw: bytes, our_domain: str) -> list[str]:
    """Message-IDs of ours that a bounce names: in its threading headers or anywhere in its bytes
    (a DSN's returned headers, a carrier's plain-text notice quoting the original). When the
    search of the bytes runs out of time, the threading headers alone are used (noted)."""
    found = [followup.clean_message_id(value) for value in (*mail.in_reply_to, *mail.references)]
    try:
        found += [match.decode("ascii") for match in _our_id_pattern(our_domain).findall(raw)]
    except textmatch.MatchTimeout:
        textmatch.note_timeout("bounce: our message ids looked for in the threading headers only")
    return [value for value in dict.fromkeys(found) if value]


def _dsn_status(raw: bytes) -> str | None:
    """The delivery status a bounce reports (`5.1.1`), None if none is found in time."""
    try:
        status = _DSN_STATUS.search(raw)
    except textmatch.MatchTimeout:
        return None  # the bounce is linked all the same, its status "unknown"
    return next((group.decode("ascii") for group in status.groups() if group), None) if status else None


def _link_bounce(
    session: Session, row: InboundMessage, mail: ParsedMail, *, settings: Settings, now: dt.datetime
) -> int | None:
    """An ignored mail that names a reply we sent is that reply's bounce (autoreply.md §4).

    The case's history shows it; a permanent status (5.x.x) in the bounce dead-letters the reply
    with that status, which keeps further replies to that address suppressed for 60 days. The
    bounce itself is never answered and reopens nothing.
    """
    ids = _our_message_ids(mail, row.raw, settings.our_domain)
    if not ids:
        return None
    reply = session.scalar(
        sa.select(OutboundMessage)
        .where(OutboundMessage.message_id.in_(ids))
        .order_by(OutboundMessage.id)
        .limit(1)
    )
    if reply is None:
        return None
    code = _dsn_status(row.raw)
    if code is not None and code.startswith("5") and reply.status is OutboundStatus.SENT:
        reply.status = OutboundStatus.DEAD
        reply.last_error = f"{code} bounced after delivery"
    if reply.case_id is not None:
        add_event(
            session,
            reply.case_id,
            "reply_bounced",
            now,
            inbound_id=row.id,
            outbound_id=reply.id,
            detail={"status": code or "unknown"},
        )
    row.notes = [*row.notes, f"bounce of reply {reply.id} (status {code or 'unknown'})"]
    return reply.id


def _envelope_notes(row: InboundMessage, mail: ParsedMail) -> list[str]:
    """Differences staff should see (security.md §1 #22), without the addresses themselves."""
    notes = []
    if (
        row.origin == "smtp"
        and mail.from_addr is not None
        and row.mail_from
        and mail.from_addr.addr.lower() != row.mail_from.lower()
    ):
        notes.append("From differs from the envelope sender; replies go to the envelope sender")
    if mail.from_ambiguous:
        notes.append("From is ambiguous (defects or several addresses): not evidence of identity")
    if row.has_bare_line_ends:
        notes.append("bare CR or LF line ends in the stored message")
    return notes


def _lock_case(session: Session, case: Case) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Case.id).where(Case.id == case.id).with_for_update())
        session.refresh(case)


def _into_case(
    session: Session,
    row: InboundMessage,
    mail: ParsedMail,
    verdict: Verdict,
    *,
    settings: Settings,
    rules: RuleSet,
    now: dt.datetime,
    today: dt.date,
    phases: Phases | None,
    lookups: SenderRows | None,
) -> Outcome:
    """``lookups``: the sender's rows fetched for the batch, when they still answer for it."""
    mailbox = verdict.route.mailbox
    assert mailbox is not None  # checked by the caller
    # The envelope sender (RFC 3834 §4), whether or not this verdict answers.
    sender = reply_recipient(mail)
    lock_sender(session, mailbox, sender)

    if lookups is not None and sender:
        same = lookups.identical(mailbox, sender.lower(), row.text_hash or "", row.id)
    else:
        same = followup.identical_submission(
            session, mailbox=mailbox, sender=sender, digest=row.text_hash or "", exclude_inbound_id=row.id
        )
    if same is not None:
        row.case_id = same.id
        row.decision = same.status.value  # the case's verdict: this mail changed nothing
        add_event(session, same.id, "resubmitted", now, inbound_id=row.id)
        return Outcome(
            InboundStatus.DONE,
            same.status.value,
            same.id,
            None,
            f"identical re-submission of case {same.id}: no new case, no reply",
        )

    match = followup.find_case(
        session,
        mailbox=mailbox,
        sender=sender,
        thread_ids=[*mail.in_reply_to, *mail.references],
        texts=(mail.subject, mail.text, mail.quoted),
        exclude_inbound_id=row.id,
        now=now,
        max_age_days=settings.followup_max_age_days,
        waiting=lookups.waiting_case if lookups is not None else None,
    )
    if match is None or match.case.status not in OPEN_CASE_STATUSES:
        parent = match.case if match is not None else None
        case = open_case(
            session,
            mailbox=mailbox,
            sender=sender or "",
            language=verdict.language,
            inbound=row,
            now=now,
            parent=parent,
        )
        extraction = verdict.extraction or Extraction()
        merge_values(session, case, extraction, rules, inbound=row, now=now, fresh=True)
        record_verdict(session, case, verdict, inbound_id=row.id, now=now)
        outbound_id = _reply(
            session,
            case,
            row,
            mail,
            verdict,
            settings=settings,
            rules=rules,
            now=now,
            phases=phases,
            lookups=lookups,
        )
        return Outcome(InboundStatus.DONE, verdict.decision.value, case.id, outbound_id, verdict.reason)

    case = match.case
    _lock_case(session, case)
    row.case_id = case.id
    previous = case.status
    verdict = _without_our_lines(
        session, case, mail, verdict, row=row, settings=settings, rules=rules, today=today
    )
    merged = merge_values(session, case, verdict.extraction or Extraction(), rules, inbound=row, now=now)
    notes: dict[str, object] = {
        "rule": match.rule,
        "added": list(merged.added),
        "changed": list(merged.changed),
        "invalid": list(merged.invalid),
    }
    if sender and sender.lower() != case.sender:
        notes["from_other_sender"] = True
    add_event(session, case.id, "followup", now, inbound_id=row.id, detail=notes)

    again = _decide_again(case, mail, verdict, extraction_of(merged.current), settings=settings, rules=rules)
    record_verdict(session, case, again, inbound_id=row.id, now=now)
    row.decision = again.decision.value
    row.reason = again.reason
    outbound_id = None
    if not (previous is CaseStatus.QUEUED and case.status is CaseStatus.QUEUED):
        outbound_id = _reply(
            session,
            case,
            row,
            mail,
            again,
            settings=settings,
            rules=rules,
            now=now,
            phases=phases,
            lookups=lookups,
        )
    else:
        add_event(session, case.id, "no_reply", now, inbound_id=row.id, detail={"why": "already queued"})
    return Outcome(
        InboundStatus.DONE,
        again.decision.value,
        case.id,
        outbound_id,
        f"follow-up of case {case.id} ({match.rule}): {again.reason}",
        case_key(case),
    )


def _without_our_lines(
    session: Session,
    case: Case,
    mail: ParsedMail,
    verdict: Verdict,
    *,
    row: InboundMessage,
    settings: Settings,
    rules: RuleSet,
    today: dt.date,
) -> Verdict:
    """Judge again without runs of our own replies' lines that came back in the member's text."""
    bodies = session.scalars(sa.select(OutboundMessage.body).where(OutboundMessage.case_id == case.id))
    text, removed = followup.strip_our_lines(mail.text, bodies)
    if not removed:
        return verdict
    with textmatch.reading():  # bounded like the first read (a follow-up's text, shorter still)
        again = judge(
            dataclasses.replace(mail, text=text),
            envelope_to=verdict.route.recipient,
            settings=settings,
            rules=rules,
            today=today,
        )
    row.notes = [*row.notes, f"{removed} lines of our own reply ignored as quoted text"]
    return again


def _decide_again(
    case: Case,
    mail: ParsedMail,
    verdict: Verdict,
    merged: Extraction,
    *,
    settings: Settings,
    rules: RuleSet,
) -> Verdict:
    """The verdict on the case's merged values, with the latest mail's sender and language."""
    pack = rules.packs[case.mailbox]
    missing, blocking = evaluate(pack, merged)
    facts = Facts(case.mailbox, (), is_icloud(mail, settings), missing, blocking)
    decision = decide(facts)
    template = pack.replies.get(decision.value)
    recipient = reply_recipient(mail)
    return dataclasses.replace(
        verdict,
        decision=decision,
        reason=reason(decision, facts),
        extraction=merged,
        missing=missing,
        blocking_invalid=blocking,
        reply_template=template if recipient else None,
        reply_to=recipient if template else None,
    )


def _reply(
    session: Session,
    case: Case,
    row: InboundMessage,
    mail: ParsedMail,
    verdict: Verdict,
    *,
    settings: Settings,
    rules: RuleSet,
    now: dt.datetime,
    phases: Phases | None = None,
    lookups: SenderRows | None = None,
) -> int | None:
    recent = lookups.replies if lookups is not None else None
    if phases is None:
        return _reply_now(
            session, case, row, mail, verdict, settings=settings, rules=rules, now=now, recent=recent
        )
    with phases.measure("reply"):
        return _reply_now(
            session, case, row, mail, verdict, settings=settings, rules=rules, now=now, recent=recent
        )


def _reply_now(
    session: Session,
    case: Case,
    row: InboundMessage,
    mail: ParsedMail,
    verdict: Verdict,
    *,
    settings: Settings,
    rules: RuleSet,
    now: dt.datetime,
    recent: Callable[[str], Sequence[RecentReply] | None] | None,
) -> int | None:
    rendered = render_reply(verdict, rules, settings, reference=case.reference)
    if rendered is None:
        add_event(
            session,
            case.id,
            "no_reply",
            now,
            inbound_id=row.id,
            detail={"why": "no reply address or template"},
        )
        return None
    outbound = enqueue_reply(
        session,
        reply=rendered,
        case_id=case.id,
        inbound_id=row.id,
        in_reply_to=mail.message_id,
        references=mail.references,
        settings=settings,
        now=now,
        recent=recent,
    )
    return outbound.id
