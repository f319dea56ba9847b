"""Prometheus metrics: every metric triage exports, the one-line hooks that move them, and what
one process exposes at ``/metrics``.

One exporter per process (prometheus-client's own registry, no multiprocess mode): each role is
its own process in production (`serve --only ingress|worker|sender|web`), and `triage serve`
runs its roles on one event loop in one process, so what a process counts is all there is to
know about it. Prometheus scrapes every process; sum over instances in the queries.

Counters and the histogram are defined here once per process and registered in no global
registry; :func:`registry` puts them, the process's own collectors (memory, CPU, GC) and the
collectors of one `serve` run (the database's queues, the breaker, live SMTP sessions) into the
registry that run exposes. Queue depth and ages are read from the database at scrape time
(:class:`DatabaseCollector`), so they are true across processes and restarts.

Labels are fixed sets (reasons, verdicts, outcomes): never an address, a subject or a mailbox
name a client chose.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

import sqlalchemy as sa
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import Clock
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from triage.decide import Decision

log = logging.getLogger(__name__)

# No "<name>_created" series beside every counter: they double the output and no query uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

# -- what the ingress answered ------------------------------------------------------------------

#: SMTP replies by their code and enhanced code (the first 9 characters) -> rejection reason.
#: The reply is what the client was told, so it is the one place every refusal passes.
REJECTION_REASONS: Final = {
    "550 5.1.1": "unknown_recipient",
    "452 4.5.3": "too_many_recipients",
    "553 5.1.7": "bad_sender",
    "553 5.1.3": "bad_address",
    "451 4.3.0": "temporary_failure",
    "452 4.3.1": "storage_full",
    "421 4.7.0": "too_many_connections",
    "421 4.3.2": "shutting_down",
    "554 5.5.1": "early_talker",
    "421 4.4.2": "timeout",
}
#: aiosmtpd's own refusals of an oversized message carry no enhanced code.
TOO_BIG_CODE: Final = "552"
QUEUED_PREFIX: Final = "250 2.0.0"
#: Every other 5xx (bad command, bad syntax, out of sequence) and 4xx.
OTHER_PERMANENT: Final = "protocol_error"
OTHER_TEMPORARY: Final = "other_temporary"
REASONS: Final = (*REJECTION_REASONS.values(), "too_big", OTHER_PERMANENT, OTHER_TEMPORARY)

# -- what the worker and the sender did ---------------------------------------------------------

#: The worker's verdicts, plus transport duplicates and mail parked as failed.
VERDICTS: Final = (*(decision.value for decision in Decision), "duplicate", "failed")
#: A sender's pass results (DeliveryResult.status) -> reply outcome; "pending" is a temporary
#: failure that will be retried.
REPLY_OUTCOMES: Final = {
    OutboundStatus.SENT.value: "sent",
    OutboundStatus.PENDING.value: "failed",
    OutboundStatus.DELIVERY_UNKNOWN.value: "unknown",  # sent again with the same Message-ID
    OutboundStatus.DEAD.value: "dead",
    OutboundStatus.SUPPRESSED.value: "suppressed",
    OutboundStatus.SUPERSEDED.value: "superseded",
    "lost": "lost",
}
#: Worker time per mail, 1 ms .. 30 s (a flood mail's reading budget is seconds).
PROCESSING_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

RECEIVED = Counter(
    "triage_mail_received", "Mail stored by the SMTP ingress and acknowledged with 250", registry=None
)
REJECTED = Counter(
    "triage_mail_rejected",
    "SMTP replies refusing a connection, a command or a message, by reason",
    ["reason"],
    registry=None,
)
DECIDED = Counter(
    "triage_mail_decided",
    "Stored mail the worker finished, by verdict (duplicate: a transport retry; failed: parked)",
    ["verdict"],
    registry=None,
)
RETRIED = Counter(
    "triage_mail_retried", "Mail whose processing failed and that waits for another attempt", registry=None
)
PROCESSING = Histogram(
    "triage_mail_processing_seconds",
    "Worker time per mail: read, decide, write and commit",
    buckets=PROCESSING_BUCKETS,
    registry=None,
)
REPLIES = Counter(
    "triage_replies",
    "Replies by outcome: sent, failed (retried later), dead, suppressed, superseded, lost",
    ["outcome"],
    registry=None,
)

for _reason in REASONS:
    REJECTED.labels(_reason)
for _verdict in VERDICTS:
    DECIDED.labels(_verdict)
for _outcome in dict.fromkeys(REPLY_OUTCOMES.values()):
    REPLIES.labels(_outcome)


def rejection_reason(status: str) -> str | None:
    """The reason an SMTP reply refuses something, or None for a positive reply."""
    if status[:1] not in {"4", "5"}:
        return None
    reason = REJECTION_REASONS.get(status[:9])
    if reason is not None:
        return reason
    if status.startswith(TOO_BIG_CODE):
        return "too_big"
    return OTHER_PERMANENT if status.startswith("5") else OTHER_TEMPORARY


# -- hooks: one line each where it happens --------------------------------------------------------


def smtp_reply(status: str) -> None:
    """The ingress sent ``status``: a stored mail (250 2.0.0) or a refusal, counted by reason."""
    if status.startswith(QUEUED_PREFIX):
        RECEIVED.inc()
        return
    reason = rejection_reason(status)
    if reason is not None:
        REJECTED.labels(reason).inc()


def started() -> float:
    """A start mark for :func:`mail_decided` (a monotonic clock, never the wall clock)."""
    return time.perf_counter()


def mail_decided(verdict: str, since: float) -> None:
    """The worker committed a mail with ``verdict`` (a Decision value, or ``duplicate``)."""
    PROCESSING.observe(time.perf_counter() - since)
    DECIDED.labels(verdict if verdict in VERDICTS else "failed").inc()


def mail_failed(status: str) -> None:
    """Processing failed: ``failed`` (parked for staff) or ``pending`` (to be retried)."""
    if status == InboundStatus.FAILED.value:
        DECIDED.labels("failed").inc()
    else:
        RETRIED.inc()


class _Result(Protocol):
    @property
    def status(self) -> str: ...


def replies(results: Iterable[_Result]) -> None:
    """Count a sender pass's results (outbound/sender.py ``DeliveryResult``) by outcome."""
    for result in results:
        REPLIES.labels(REPLY_OUTCOMES.get(result.status, "lost")).inc()


def reply_suppressed(session: Session) -> None:
    """A reply was stored suppressed in ``session``'s transaction: counted once it commits."""
    sa.event.listen(session, "after_commit", _count_suppressed, once=True)


def _count_suppressed(session: Session) -> None:
    REPLIES.labels("suppressed").inc()


# -- what one process exposes ---------------------------------------------------------------------

#: prometheus-client's own process, platform and GC collectors (memory, CPU, open files).
_PROCESS: Final = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)
_OWN: Final = (RECEIVED, REJECTED, DECIDED, RETRIED, PROCESSING, REPLIES)


def registry(*collectors: Collector) -> CollectorRegistry:
    """This process's metrics and ``collectors`` (one `serve` run's) in a registry of their own."""
    made = CollectorRegistry(auto_describe=True)
    for collector in (*_PROCESS, *_OWN, *collectors):
        made.register(collector)
    return made


@dataclass(frozen=True)
class _Gauge:
    name: str
    doc: str
    read: Callable[[], float]


class Gauges(Collector):
    """Gauges read from live objects at scrape time (breaker state, live SMTP sessions)."""

    def __init__(self) -> None:
        self._gauges: list[_Gauge] = []

    def add(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self._gauges.append(_Gauge(name, doc, read))

    def collect(self) -> Iterator[Metric]:
        for gauge in self._gauges:
            yield GaugeMetricFamily(gauge.name, gauge.doc, value=float(gauge.read()))


#: Inbound rows a worker has still to finish, and outbox rows a sender has still to hand over.
UNFINISHED_INBOUND: Final = (InboundStatus.PENDING, InboundStatus.PROCESSING)
UNSENT_OUTBOX: Final = (OutboundStatus.PENDING, OutboundStatus.SENDING)


class DatabaseCollector(Collector):
    """Queue depth and the age of the oldest unfinished item, read when Prometheus scrapes.

    A database that cannot be read gives ``triage_database_up 0`` and no queue figures (logged
    with the error's class); the scrape itself still answers.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("triage_database_up", "1 when this process could read its queues")
        try:
            figures = self._read()
        except SQLAlchemyError as exc:
            log.warning("metrics: the database could not be read (%s)", type(exc).__name__)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from figures

    def _read(self) -> list[Metric]:
        now = self._clock.now()
        with self._sessions() as session:
            inbound = session.execute(
                sa.select(InboundMessage.status, sa.func.count(), sa.func.min(InboundMessage.received_at))
                .where(InboundMessage.status.in_((*UNFINISHED_INBOUND, InboundStatus.FAILED)))
                .group_by(InboundMessage.status)
            ).all()
            outbox = session.execute(
                sa.select(OutboundMessage.status, sa.func.count(), sa.func.min(OutboundMessage.created_at))
                .where(OutboundMessage.status.in_(UNSENT_OUTBOX))
                .group_by(OutboundMessage.status)
            ).all()
        by_inbound = {status: (int(count), oldest) for status, count, oldest in inbound}
        by_outbox = {status: (int(count), oldest) for status, count, oldest in outbox}
        depth = GaugeMetricFamily(
            "triage_inbound_queue_depth", "Stored mail not yet finished by a worker", labels=["status"]
        )
        for status in UNFINISHED_INBOUND:
            depth.add_metric([status.value], float(by_inbound.get(status, (0, None))[0]))
        parked = GaugeMetricFamily(
            "triage_inbound_failed", "Mail parked as failed, waiting for staff (inbound list --status failed)"
        )
        parked.add_metric([], float(by_inbound.get(InboundStatus.FAILED, (0, None))[0]))
        outbox_depth = GaugeMetricFamily(
            "triage_outbox_queue_depth", "Replies not yet handed to the relay", labels=["status"]
        )
        for out_status in UNSENT_OUTBOX:
            outbox_depth.add_metric([out_status.value], float(by_outbox.get(out_status, (0, None))[0]))
        oldest_in = _oldest(by_inbound[status][1] for status in UNFINISHED_INBOUND if status in by_inbound)
        oldest_out = _oldest(by_outbox[status][1] for status in UNSENT_OUTBOX if status in by_outbox)
        return [
            depth,
            GaugeMetricFamily(
                "triage_inbound_oldest_unprocessed_age_seconds",
                "Age of the oldest stored mail not yet finished (0 when none)",
                value=_age(now, oldest_in),
            ),
            parked,
            outbox_depth,
            GaugeMetricFamily(
                "triage_outbox_oldest_unsent_age_seconds",
                "Age of the oldest reply not yet handed to the relay (0 when none; retries included)",
                value=_age(now, oldest_out),
            ),
        ]


def _oldest(stamps: Iterable[dt.datetime | None]) -> dt.datetime | None:
    known = [stamp for stamp in stamps if stamp is not None]
    return min(known) if known else None


def _age(now: dt.datetime, oldest: dt.datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
