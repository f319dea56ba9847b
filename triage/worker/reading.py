"""The read step of the worker: parse and judge one stored mail under its reading budget.

It needs no transaction: the worker runs it before its write transaction, so no slow step holds
the SQLite write lock, and hands the :class:`Reading` to ``pipeline.process``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage import textmatch
from triage.cases import followup
from triage.config import Settings
from triage.db.models import InboundMessage, OutboundMessage
from triage.engine.spec import RuleSet
from triage.parsing.mime import parse_mail
from triage.parsing.model import ParsedMail
from triage.routing import local_part
from triage.verdict import Verdict, judge

#: How every Message-ID we issue begins (``r.{outbox id}.{random}@{our domain}``).
OUR_ID_PREFIX = "r."


# Statements run for every mail, made once (building and keying a statement costs about as much
# as running it on SQLite).
_ISSUED = (
    sa.select(OutboundMessage.id).where(OutboundMessage.message_id == sa.bindparam("message_id")).limit(1)
)


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
