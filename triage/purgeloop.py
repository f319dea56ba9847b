"""`triage serve`'s retention task: the purge (triage/purge.py) at start, then on a schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import Clock
from triage.db.gate import WriteGate
from triage.errors import TriageError
from triage.purge import purge

log = logging.getLogger(__name__)


async def run_on_schedule(
    sessions: sessionmaker[Session],
    retention_days: Mapping[str, int],
    interval_seconds: float,
    clock: Clock,
    stop: asyncio.Event,
    *,
    gate: WriteGate | None = None,
) -> None:
    """`triage serve`'s purge: at start, then every ``interval_seconds`` until ``stop``.

    Logs counts only. A failed run (database down, locked) is logged and tried again at the
    next interval; the service goes on.
    """
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(
                purge,
                sessions,
                retention_days,
                clock.now(),
                actor="serve",
                address="serve",
                gate=gate,
                keep_going=lambda: not stop.is_set(),
            )
        except (SQLAlchemyError, TriageError) as exc:
            log.warning("purge failed (%s); next run in %d s", type(exc).__name__, interval_seconds)
        else:
            if report.total:
                log.info(
                    "purge: %d cases (%d mails, %d values, %d replies), %d mails without a case",
                    sum(report.cases.values()),
                    report.case_mails,
                    report.values,
                    report.replies,
                    sum(report.mails_without_case.values()),
                )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
