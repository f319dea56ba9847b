"""`triage purge`: raw mail and personal values deleted past their retention (security.md §3).

Retention is counted per status (Settings.retention_days, ``TRIAGE_RETENTION_DAYS``):

- a case (any status) is purged that many days after its last activity (``updated_at``; for a
  closed case, its closing): every mail of the case loses its raw bytes and envelope sender,
  every value of the case is blanked (value, text as written, spans, reasons), every finished
  reply loses its body, bytes and recipient, and the case's sender becomes ``purged``;
- mail without a case (``ignored``: ignored, unknown mailbox, transport duplicates) and mail
  parked as ``failed`` lose their raw bytes and envelope sender that many days after receipt.

What stays: every row (so counts per status, mailbox, field and day still add up), field names,
verdicts and reasons, the case history (``case_events``, which never held values, plus one
``purged`` event per case) and the audit log (never touched; one ``purge`` row per run that
purged anything). A run is idempotent: only rows that still hold data are counted and changed,
so the hourly run of `triage serve` (triage/purgeloop.py) finds nothing most of the time and
writes nothing then.

Work goes in batches of cases, one transaction each (on SQLite, after the ingress's inserts:
db/gate.py), with a progress callback; ``dry_run`` counts without changing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.cases.service import add_event
from triage.db.engine import SQLITE_BEGIN
from triage.db.gate import WriteGate
from triage.db.models import (
    Case,
    CaseStatus,
    CaseValue,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    OutboundStatus,
)
from triage.web import audit

PURGED_SENDER: Final = "purged"  # not an address: nothing can match it or be sent to it
PURGED_NOTE: Final = "raw mail purged (retention)"
BATCH: Final = 200
# Replies the sender is done with; a pending or sending reply keeps its bytes.
FINISHED_REPLIES: Final = (
    OutboundStatus.SENT,
    OutboundStatus.DEAD,
    OutboundStatus.SUPPRESSED,
    OutboundStatus.SUPERSEDED,
)
CASELESS: Final = {
    "ignored": (InboundStatus.DONE, InboundStatus.DUPLICATE),
    "failed": (InboundStatus.FAILED,),
}

Progress = Callable[[str, int, int], None]  # what, done, in all


@dataclass
class PurgeReport:
    """Counts of what a run purged (or, on a dry run, would purge)."""

    dry_run: bool
    cutoffs: dict[str, str] = field(default_factory=dict)  # status -> ISO time before which
    cases: dict[str, int] = field(default_factory=dict)  # status -> cases purged
    case_mails: int = 0
    values: int = 0
    replies: int = 0
    mails_without_case: dict[str, int] = field(default_factory=dict)  # ignored / failed -> mails

    @property
    def total(self) -> int:
        return sum(self.cases.values()) + sum(self.mails_without_case.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "cutoffs": dict(self.cutoffs),
            "cases": dict(self.cases),
            "case_mails": self.case_mails,
            "values": self.values,
            "replies": self.replies,
            "mails_without_case": dict(self.mails_without_case),
        }


def purge(
    sessions: sessionmaker[Session],
    retention_days: Mapping[str, int],
    now: dt.datetime,
    *,
    dry_run: bool = False,
    actor: str = "purge",
    address: str = "cli",
    gate: WriteGate | None = None,
    progress: Progress | None = None,
    batch: int = BATCH,
    keep_going: Callable[[], bool] = lambda: True,
) -> PurgeReport:
    """Purge what is past retention at ``now``; the report of what was (or would be) purged.

    ``keep_going`` is asked between batches: a service stopping ends the run early (the next
    run goes on where it stopped).
    """
    cutoffs = {status: now - dt.timedelta(days=days) for status, days in retention_days.items()}
    report = PurgeReport(dry_run, cutoffs={status: when.isoformat() for status, when in cutoffs.items()})
    job = _Job(
        sessions, cutoffs=cutoffs, now=now, dry_run=dry_run, gate=gate, report=report, keep_going=keep_going
    )
    job.cases(progress, batch)
    for kind, statuses in CASELESS.items():
        if kind in cutoffs:
            job.caseless(kind, statuses, progress, batch)
    if report.total and not dry_run:
        with job.transaction() as session:
            audit.record(
                session, now=now, actor=actor, address=address, action="purge", detail=report.as_json()
            )
    return report


class _Job:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        cutoffs: Mapping[str, dt.datetime],
        now: dt.datetime,
        dry_run: bool,
        gate: WriteGate | None,
        report: PurgeReport,
        keep_going: Callable[[], bool],
    ) -> None:
        self._keep_going = keep_going
        self._sessions = sessions
        self._cutoffs = cutoffs
        self._now = now
        self._dry_run = dry_run
        self._gate = gate
        self.report = report

    def transaction(self) -> _Transaction:
        if self._gate is not None:
            self._gate.wait_turn()
        return _Transaction(self._sessions())

    # -- cases -------------------------------------------------------------------------------

    def _due_cases(self) -> sa.ColumnElement[bool]:
        """Past retention for its status, and still holding something to purge."""
        due = [
            sa.and_(Case.status == status, Case.updated_at < self._cutoffs[status.value])
            for status in CaseStatus
            if status.value in self._cutoffs
        ]
        holds = sa.or_(
            Case.sender != PURGED_SENDER,
            sa.exists().where(InboundMessage.case_id == Case.id, sa.func.length(InboundMessage.raw) > 0),
            sa.exists().where(CaseValue.case_id == Case.id, sa.func.length(CaseValue.written) > 0),
            sa.exists().where(
                OutboundMessage.case_id == Case.id,
                OutboundMessage.status.in_(FINISHED_REPLIES),
                sa.func.length(OutboundMessage.raw) > 0,
            ),
        )
        return sa.and_(sa.or_(*due) if due else sa.false(), holds)

    def cases(self, progress: Progress | None, batch: int) -> None:
        with self._sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(self._due_cases())) or 0
        done, last = 0, 0
        while self._keep_going():
            with self.transaction() as session:
                rows = session.execute(
                    sa.select(Case.id, Case.status)
                    .where(Case.id > last, self._due_cases())
                    .order_by(Case.id)
                    .limit(batch)
                ).all()
                if not rows:
                    return
                self._purge_cases(session, [(int(case_id), status) for case_id, status in rows])
                last = int(rows[-1][0])
            done += len(rows)
            if progress is not None:
                progress("cases", min(done, total), total)

    def _purge_cases(self, session: Session, rows: list[tuple[int, CaseStatus]]) -> None:
        ids = [case_id for case_id, _status in rows]
        for _case_id, status in rows:
            self.report.cases[status.value] = self.report.cases.get(status.value, 0) + 1
        mails = sa.and_(InboundMessage.case_id.in_(ids), sa.func.length(InboundMessage.raw) > 0)
        values = sa.and_(CaseValue.case_id.in_(ids), sa.func.length(CaseValue.written) > 0)
        replies = sa.and_(
            OutboundMessage.case_id.in_(ids),
            OutboundMessage.status.in_(FINISHED_REPLIES),
            sa.func.length(OutboundMessage.raw) > 0,
        )
        if self._dry_run:
            self.report.case_mails += _count(session, InboundMessage, mails)
            self.report.values += _count(session, CaseValue, values)
            self.report.replies += _count(session, OutboundMessage, replies)
            return
        self.report.case_mails += _blank_mails(session, mails)
        self.report.values += _rowcount(
            session,
            sa.update(CaseValue)
            .where(values)
            .values(value=None, written="", spans=None, reason_ja=None, reason_en=None),
        )
        self.report.replies += _rowcount(
            session,
            sa.update(OutboundMessage).where(replies).values(body="", raw=b"", to_addr=PURGED_SENDER),
        )
        session.execute(sa.update(Case).where(Case.id.in_(ids)).values(sender=PURGED_SENDER))
        for case_id, status in rows:
            days = (self._now - self._cutoffs[status.value]).days
            add_event(session, case_id, "purged", self._now, detail={"retention_days": days})

    # -- mail without a case ---------------------------------------------------------------

    def caseless(
        self, kind: str, statuses: tuple[InboundStatus, ...], progress: Progress | None, batch: int
    ) -> None:
        due = sa.and_(
            InboundMessage.case_id.is_(None),
            InboundMessage.status.in_(statuses),
            InboundMessage.received_at < self._cutoffs[kind],
            sa.func.length(InboundMessage.raw) > 0,
        )
        with self._sessions() as session:
            total = _count(session, InboundMessage, due)
        self.report.mails_without_case[kind] = 0
        if self._dry_run:
            self.report.mails_without_case[kind] = total
            return
        while self._keep_going():
            with self.transaction() as session:
                ids = list(
                    session.scalars(
                        sa.select(InboundMessage.id).where(due).order_by(InboundMessage.id).limit(batch)
                    )
                )
                if not ids:
                    return
                self.report.mails_without_case[kind] += _blank_mails(session, InboundMessage.id.in_(ids))
            if progress is not None:
                progress(f"{kind} mail", self.report.mails_without_case[kind], total)


class _Transaction:
    """A session in one write transaction (IMMEDIATE on SQLite), committed on success."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __enter__(self) -> Session:
        self._session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        return self._session

    def __exit__(self, kind: object, _value: object, _traceback: object) -> None:
        try:
            if kind is None:
                self._session.commit()
            else:
                self._session.rollback()
        finally:
            self._session.close()


def _count(session: Session, model: type[Any], condition: sa.ColumnElement[bool]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(condition)) or 0


def _rowcount(session: Session, statement: sa.Update) -> int:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _blank_mails(session: Session, condition: sa.ColumnElement[bool]) -> int:
    """Raw bytes and envelope sender of the matching mails removed, a note added to each."""
    rows = session.execute(sa.select(InboundMessage.id, InboundMessage.notes).where(condition)).all()
    for row_id, notes in rows:
        session.execute(
            sa.update(InboundMessage)
            .where(InboundMessage.id == row_id)
            .values(raw=b"", mail_from="", notes=[*(notes or []), PURGED_NOTE]),
            execution_options={"synchronize_session": False},
        )
    return len(rows)
