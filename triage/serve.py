"""`triage serve`: ingress, worker and reply sender in one process on one event loop.

The database is upgraded first. ``only`` picks parts for production, where each part runs as
its own process (any number of workers and senders against one PostgreSQL; SQLite allows one
worker). SIGTERM or SIGINT: the ingress stops accepting (421) and lets DATA in progress finish,
the worker finishes the batch in hand, the sender the delivery in hand; then the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Collection
from typing import Final

from triage.clock import SystemClock
from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.gate import WriteGate
from triage.db.migrate import upgrade
from triage.engine.spec import RuleSet
from triage.errors import ConfigError
from triage.health import Ops, OpsServer
from triage.ingress.server import IngressServer, start_ingress
from triage.ingress.store import InboundStore
from triage.metrics import Gauges
from triage.outbound.sender import Sender, SmtpTransport
from triage.purgeloop import run_on_schedule
from triage.worker.loop import Worker

log = logging.getLogger(__name__)

PARTS: Final = ("ingress", "worker", "sender", "web")
# Without --only: these, and the staff web UI when --web is given.
DEFAULT_PARTS: Final = ("ingress", "worker", "sender")


def _say(message: str) -> None:
    log.info("%s", message)  # start-up lines in the one log format (--log-format, TRIAGE_LOG_FORMAT)


async def _serve(
    settings: Settings,
    rules: RuleSet,
    host: str,
    port: int,
    parts: Collection[str],
    *,
    web: tuple[str, int],
    metrics: tuple[str, int] | None = None,
) -> None:
    engine = make_engine(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        keys=settings.encryption_keys,
    )
    sessions = session_factory(engine)
    clock = SystemClock()
    # SQLite: one writer; the ingress's inserts go before the worker's transactions (db/gate.py).
    gate = WriteGate() if engine.dialect.name == "sqlite" else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks: list[asyncio.Task[None]] = []
    ingress: IngressServer | None = None
    web_server = None
    # /metrics, /healthz, /readyz: on the web port, and on --metrics HOST:PORT (health.py).
    gauges = Gauges()
    ops = Ops.for_database(sessions, clock, gauges)
    ops_server = OpsServer(ops, *metrics) if metrics is not None else None
    try:
        if "web" in parts:
            from triage.web.context import WebContext  # noqa: PLC0415 - only with the web part
            from triage.web.server import WebServer  # noqa: PLC0415

            web_server = WebServer(WebContext(sessions, settings, rules, clock, gate), *web, ops=ops)
            await web_server.start()
            _say(f"staff web UI on http://{web[0]}:{web[1]}/ (put a TLS proxy in front in production)")
        if "ingress" in parts:
            ingress = await start_ingress(
                settings, InboundStore(sessions, gate=gate), rules.mailboxes, host, port
            )
            bound_host, bound_port = ingress.address
            _say(f"SMTP ingress on {bound_host}:{bound_port} for {', '.join(sorted(rules.mailboxes))}")
            watch_ingress(ops, gauges, ingress, stop)
        if "worker" in parts:
            worker = Worker(sessions, settings, rules, clock=clock, gate=gate)
            tasks.append(asyncio.create_task(worker.run(stop), name="worker"))
            _say(f"worker {worker.name} is processing stored mail")
            if settings.purge_interval_seconds > 0:  # retention (triage/purge.py), with the worker
                purging = run_on_schedule(
                    sessions,
                    dict(settings.retention_days),
                    settings.purge_interval_seconds,
                    clock,
                    stop,
                    gate=gate,
                )
                tasks.append(asyncio.create_task(purging, name="purge"))
        if "sender" in parts:
            if settings.relay is None:
                _say("no relay configured (TRIAGE_RELAY=host:port): replies wait in the outbox")
            else:
                sender = Sender(sessions, settings, SmtpTransport(settings), clock=clock)
                watch_sender(gauges, sender)
                tasks.append(asyncio.create_task(sender.run(stop), name="sender"))
                relay_host, relay_port = settings.relay
                _say(f"sending replies through {relay_host}:{relay_port}")
        if ops_server is not None:
            await ops_server.start()
            _say(f"metrics and health on http://{ops_server.host}:{ops_server.port}/metrics")
        _say("SIGTERM or Ctrl-C stops: accepting ends, work in progress finishes")
        await stop.wait()
        _say("stopping")
        if ingress is not None:
            await ingress.shutdown(grace=float(settings.shutdown_grace_seconds))
        if web_server is not None:
            await web_server.stop()
        for task in tasks:
            await task
        if ops_server is not None:
            await ops_server.stop()
    finally:
        stop.set()
        if web_server is not None:
            web_server.server.should_exit = True
        if ops_server is not None:
            ops_server.server.should_exit = True
        for task in tasks:
            if not task.done():
                task.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        engine.dispose()
    _say("stopped")


def serve(
    settings: Settings,
    rules: RuleSet,
    host: str,
    port: int,
    *,
    only: Collection[str] | None = None,
    web: tuple[str, int] | None = None,
    metrics: tuple[str, int] | None = None,
) -> None:
    """Run the parts; ``web`` (HOST, PORT) adds the staff web UI to the default parts; ``metrics``
    (HOST, PORT) serves /metrics, /healthz and /readyz on a listener of their own."""
    parts = tuple(only or (DEFAULT_PARTS + (("web",) if web else ())))
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ConfigError(f"unknown part {unknown[0]!r}: choose from {', '.join(PARTS)}")
    if "sender" in parts and only and settings.relay is None:
        raise ConfigError("--only sender needs a relay: set TRIAGE_RELAY=host:port")
    upgrade(settings.database_url)
    _say(f"database {_redacted(settings.database_url)} is at the latest migration")
    asyncio.run(_serve(settings, rules, host, port, parts, web=web or settings.web_listen, metrics=metrics))


def _redacted(url: str) -> str:
    """A database URL without its password, for the console."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"


def watch_ingress(ops: Ops, gauges: Gauges, ingress: IngressServer, stop: asyncio.Event) -> None:
    """Live SMTP sessions as a gauge; readiness: the ingress accepts until stopping begins."""
    gauges.add("triage_smtp_sessions", "Open SMTP sessions at the ingress", lambda: ingress.session_count)
    ops.probe.add(lambda: "ingress: stopping, not accepting mail" if stop.is_set() else None)


def watch_sender(gauges: Gauges, sender: Sender) -> None:
    """The reply breaker as a gauge: 1 while the last pass stopped on it."""
    gauges.add(
        "triage_reply_breaker_open",
        "1 while the reply breaker holds replies back (the last sender pass stopped on it)",
        lambda: float(sender.breaker_open),
    )
