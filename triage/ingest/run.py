"""Ingesting one message: stored as if it had come by SMTP (origin ``ingest``), claimed and
processed by a worker of the ingester's own, one at a time so follow-ups in a batch merge in order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import Clock
from triage.config import Settings
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage
from triage.engine.spec import RuleSet
from triage.ingest.sources import Source, UnreadableSource, return_path_address
from triage.ingress.store import InboundStore
from triage.tokens import claim_token
from triage.worker.loop import Worker

PEER: Final = "ingest"
# The status of a source that was never stored: missing, unreadable, or not a mail.
UNREADABLE: Final = "unreadable"
# How long to wait for another worker (`triage serve` on the same database) that claimed one of
# our rows before we could, before reporting the row as it stands.
OTHER_WORKER_WAIT_SECONDS: Final = 60.0


@dataclass(frozen=True)
class IngestResult:
    path: str
    inbound_id: int | None
    case_id: int | None
    decision: str | None
    # The inbound row's status (done, duplicate, failed, pending: to be retried by a worker,
    # processing: still with another worker), or "unreadable" (never stored).
    status: str
    outbound_id: int | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.status in {InboundStatus.DONE.value, InboundStatus.DUPLICATE.value}

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "inbound_id": self.inbound_id,
            "case_id": self.case_id,
            "decision": self.decision,
            "status": self.status,
            "outbound_id": self.outbound_id,
            "detail": self.detail,
        }


class Ingester:
    """Stores and processes one message at a time with a worker of its own."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        rules: RuleSet,
        *,
        clock: Clock,
        to: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._store = InboundStore(sessions, now=clock.now)
        self._worker = Worker(sessions, settings, rules, clock=clock, name=f"ingest-{claim_token()}")
        self._rcpt_tos = [to] if to else []

    def ingest(self, source: Source) -> IngestResult:
        """Read, store and process one message. Database failures propagate (StoreUnavailable)."""
        try:
            raw = source.read()
        except UnreadableSource as exc:
            return IngestResult(source.label, None, None, None, UNREADABLE, None, str(exc))
        inbound_id = self._store.insert(
            raw, return_path_address(raw), self._rcpt_tos, PEER, None, False, origin="ingest"
        )
        if self._worker.claim(inbound_id) == inbound_id:
            result = self._worker.process(inbound_id)
            if result.status is not InboundStatus.PROCESSING:  # not lost to another worker
                return IngestResult(
                    source.label,
                    inbound_id,
                    result.case_id,
                    result.decision,
                    result.status.value,
                    result.outbound_id,
                    result.detail,
                )
        return self._after_other_worker(source.label, inbound_id)

    def _after_other_worker(self, label: str, inbound_id: int) -> IngestResult:
        """Another worker (`triage serve` on this database) took the row: wait for its result."""
        deadline = time.monotonic() + OTHER_WORKER_WAIT_SECONDS
        while True:
            with self._sessions() as session:
                row = session.get(InboundMessage, inbound_id)
                assert row is not None  # we stored it; rows are never deleted while ingesting
                busy = row.status in {InboundStatus.PENDING, InboundStatus.PROCESSING}
                if not busy or time.monotonic() >= deadline:
                    outbound_id = session.scalar(
                        sa.select(sa.func.max(OutboundMessage.id)).where(
                            OutboundMessage.inbound_id == inbound_id
                        )
                    )
                    detail = row.reason or row.last_error or ""
                    if busy:
                        detail = "still with another worker (is `triage serve` running on this database?)"
                    return IngestResult(
                        label, inbound_id, row.case_id, row.decision, row.status.value, outbound_id, detail
                    )
            time.sleep(0.2)


def summary(results: list[IngestResult], skipped: int) -> str:
    """`5 mails: queued 2, needs_info 2, ignored 1` (+ duplicates, failures, skipped files)."""
    counts: dict[str, int] = {}
    for result in results:
        key = result.decision if result.status == InboundStatus.DONE.value and result.decision else None
        if key is None and result.status == UNREADABLE:
            key = "skipped"  # not a mail, missing or unreadable: never stored
        key = key or ("failed" if not result.ok else result.status)
        counts[key] = counts.get(key, 0) + 1
    order = ["queued", "needs_info", "icloud_rejected", "unknown_mailbox", "ignored", "duplicate"]
    order += ["failed", "skipped"]
    keys = sorted(counts, key=lambda key: (order.index(key) if key in order else len(order), key))
    noun = "mail" if len(results) == 1 else "mails"
    text = f"{len(results)} {noun}" + (
        ": " + ", ".join(f"{key} {counts[key]}" for key in keys) if keys else ""
    )
    if skipped:
        text += f"; {skipped} other file{'s' if skipped != 1 else ''} skipped (not .eml, mbox or Maildir)"
    return text
