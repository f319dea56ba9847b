"""One stored mail through the whole pipeline, inside the caller's transaction (never commits).

duplicate? -> parse -> judge (the code `triage check` runs) -> case (open, or merge a follow-up
and decide again on the merged values) -> reply rendered into the outbox.

The read (parse + judge, under the mail's reading budget) is :func:`read`, which needs no
transaction: the worker runs it before its write transaction, so no slow step holds the SQLite
write lock, and hands the result to :func:`process`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
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
from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail
from triage.parsing.notes import parse_notes
from triage.routing import local_part
from triage.verdict import Verdict, is_icloud, judge, reply_recipient
from triage.worker.lookups import SenderRows
from triage.worker.phases import Phases

log = logging.getLogger(__name__)

# RFC 3464 Status field, else an enhanced status code in a plain-text notice.
_DSN_STATUS = textmatch.compile_bytes(
    rb"(?im)^status:\s*([245]\.[0-9]{1,3}\.[0-9]{1,3})|\b([45]\.[0-9]\.[0-9]{1,3})\b",
    name="pipeline.dsn-status",
)
#: How every Message-ID we issue begins (``r.{outbox id}.{random}@{our domain}``).
OUR_ID_PREFIX = "r."
MAKES_CASE = (Decision.NEEDS_INFO, Decision.ICLOUD_REJECTED, Decision.QUEUED)
# Statements run for every mail, made once (building and keying a statement costs about as much
# as running it on SQLite).
_ISSUED = (
    sa.select(OutboundMessage.id).where(OutboundMessage.message_id == sa.bindparam("message_id")).limit(1)
)
_COPIES = (
    sa.select(
        InboundMessage.id,
        InboundMessage.sha256,
        InboundMessage.received_at,
        InboundMessage.mail_from,
        InboundMessage.rcpt_tos,
    )
    .where(
        InboundMessage.sha256.in_(sa.bindparam("hashes", expanding=True)),
        InboundMessage.received_at >= sa.bindparam("since"),
    )
    .order_by(InboundMessage.id)
)
# session.info key: the sender locks lock_senders took (the worker's batch session lasts one transaction).
_LOCKED = "triage.sender_locks"
# The advisory locks of several keys, taken in the order of the locks' own numbers.
_LOCK_IN_ORDER = sa.text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"
)


@dataclass(frozen=True)
class Outcome:
    status: InboundStatus  # done or duplicate
    decision: str | None
    case_id: int | None
    outbound_id: int | None
    detail: str  # one line for logs and `ingest`: no values, no addresses
    case_key: str | None = None  # a follow-up: the sender key of the case it joined (case_key())


@dataclass(frozen=True)
class Reading:
    """One mail read: parsed and judged, with the steps that gave up on the reading time limit."""

    mail: ParsedMail
    verdict: Verdict
    gave_up: tuple[str, ...] = ()
    parse_seconds: float = 0.0  # of the time it took, parsing (the rest is screening and reading)
    judge_seconds: float = 0.0
    text_hash: str = ""  # followup.text_hash of the member's own text (identical re-submissions)

    def notes(self) -> list[str]:
        return [f"reading time limit: {step}" for step in self.gave_up]


def read(
    raw: bytes,
    *,
    envelope_to: str | None,
    settings: Settings,
    rules: RuleSet,
    today: dt.date,
    issued_message_id: Callable[[str], bool] | None,
    rescued: bool = False,
) -> Reading:
    """Parse and judge `raw` under one reading budget (``rescued``: staff overrule screening).
    Raises ParseFailure for unreadable mail."""
    with textmatch.reading() as budget:
        started = time.perf_counter()
        mail = parse_mail(raw)
        parsed = time.perf_counter()
        verdict = judge(
            mail,
            envelope_to=envelope_to,
            settings=settings,
            rules=rules,
            today=today,
            issued_message_id=issued_message_id,
            rescued=rescued,
        )
        judged = time.perf_counter()
    digest = followup.text_hash(mail.text)
    return Reading(mail, verdict, tuple(budget.timeouts), parsed - started, judged - parsed, digest)


def issued_checker(session: Session) -> Callable[[str], bool]:
    """Whether we sent a message with this Message-ID (a read: no write lock is taken)."""

    def issued(message_id: str) -> bool:
        cleaned = followup.clean_message_id(message_id)
        if cleaned is None or cleaned[:2].lower() != OUR_ID_PREFIX:
            return False  # every Message-ID we issue begins so (compose.new_message_id): no query
        return session.scalar(_ISSUED, {"message_id": cleaned}) is not None

    return issued


class EarlierCopies:
    """Transport duplicates (ingress.md §5): the rows that share bytes with a batch's mails,
    fetched in one query for the whole batch (its own rows among them: a copy earlier in the
    batch counts). "Earlier" means a smaller id, so of two copies the first one stored is always
    the one that is processed, whichever worker sees which copy first."""

    def __init__(self, session: Session, rows: Sequence[InboundMessage], window_days: int) -> None:
        self._window = dt.timedelta(days=window_days)
        self._by_hash: dict[str, list[tuple[int, dt.datetime, str, tuple[str, ...]]]] = {}
        if not rows:
            return
        since = min(row.received_at for row in rows) - self._window
        found = session.execute(_COPIES, {"hashes": sorted({row.sha256 for row in rows}), "since": since})
        for copy_id, sha256, received_at, mail_from, rcpt_tos in found:
            copies = self._by_hash.setdefault(sha256, [])
            copies.append((int(copy_id), received_at, mail_from, tuple(sorted(rcpt_tos))))

    def of(self, row: InboundMessage) -> int | None:
        """The earliest copy of ``row`` stored before it within the window, or None."""
        since = row.received_at - self._window
        key = row.envelope_key()
        for copy_id, received_at, mail_from, rcpt_tos in self._by_hash.get(row.sha256, ()):
            if copy_id >= row.id:
                break
            if received_at >= since and (mail_from, rcpt_tos) == key:
                return copy_id
        return None


def bytes_to_parse(row: InboundMessage) -> bytes:
    """The stored bytes, with the envelope sender as `Return-Path` for mail that came by SMTP.

    That is what a delivery agent adds at final delivery (RFC 5321 §4.4); screening and the reply
    recipient read it exactly as they do in a stored file given to `triage check`. The stored
    bytes themselves are never changed (they are the evidence).
    """
    if row.origin != "smtp":
        return row.raw
    sender = row.mail_from.replace("\r", "").replace("\n", "")
    return b"Return-Path: <" + sender.encode("utf-8", "surrogateescape") + b">\r\n" + row.raw


def envelope_recipient(row: InboundMessage, mailboxes: frozenset[str]) -> str | None:
    """The first envelope recipient that is a configured mailbox (one case per mail)."""
    for address in row.rcpt_tos:
        if local_part(address) in mailboxes:
            return address
    return row.rcpt_tos[0] if row.rcpt_tos else None


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


def _sender_key(mailbox: str, sender: str | None) -> str:
    return f"triage-case:{mailbox}:{(sender or '').lower()}"


def sender_key(reading: Reading) -> str:
    """The reply address whose rows deciding this mail reads (its cases in any mailbox, and the
    replies to it that the reply guard counts across mailboxes), lower-cased."""
    return (reply_recipient(reading.mail) or "").lower()


def case_key(case: Case) -> str:
    """:func:`sender_key` of the mails that reach ``case`` by their sender."""
    return case.sender.lower()


def threaded(reading: Reading) -> bool:
    """Whether the mail names other mails (In-Reply-To, References): its case may be found by them."""
    return bool(reading.mail.in_reply_to or reading.mail.references)


def lock_senders(session: Session, readings: list[Reading]) -> None:
    """PostgreSQL: take the sender locks of a batch's mails up front, in one order (the locks'
    own), so two workers' batches never wait on each other in a cycle (see :func:`_lock_sender`)."""
    keys = sorted(
        {
            _sender_key(reading.verdict.route.mailbox, reply_recipient(reading.mail))
            for reading in readings
            if reading.verdict.decision in MAKES_CASE and reading.verdict.route.mailbox is not None
        }
    )
    if not keys:
        return
    session.execute(_LOCK_IN_ORDER, {"keys": keys})
    session.info.setdefault(_LOCKED, set()).update(keys)


def _lock_sender(session: Session, mailbox: str, sender: str | None) -> None:
    """PostgreSQL: serialise the case work of one sender and mailbox across workers.

    Two mails of one member processed at once by two workers must not open two cases. SQLite
    has one writer at a time already (the worker's transaction begins IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = _sender_key(mailbox, sender)
    if key in session.info.get(_LOCKED, ()):
        return  # taken for the whole batch already (held until its transaction ends)
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


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
    _lock_sender(session, mailbox, sender)

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
