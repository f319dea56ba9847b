"""``/healthz``, ``/readyz`` and ``/metrics``: the operations endpoints of every process.

- ``/healthz``: the process is alive (its event loop answers). Always 200.
- ``/readyz``: 200 when the database answers and is at the latest migration, and, in a process
  that runs the ingress, the SMTP listener is accepting; else 503 with one line per problem.
- ``/metrics``: Prometheus text format (triage/metrics.py), this process only.

The staff web UI serves them on its own port, open without login by design (they carry counts,
never personal data; auth.py lists them as public). Every other role serves them on a small
listener of its own (:class:`OpsServer`, `triage serve --metrics HOST:PORT`). Both bind loopback
unless told otherwise; a proxy in front of the web UI should not pass ``/metrics`` on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Final

import uvicorn
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from triage import metrics
from triage.clock import Clock
from triage.errors import ConfigError

OPS_PATHS: Final = ("/healthz", "/readyz", "/metrics")
NO_STORE: Final = {"cache-control": "no-store"}


@functools.cache
def expected_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only for readiness

    from triage.db.migrate import alembic_config  # noqa: PLC0415

    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def database_problem(sessions: sessionmaker[Session]) -> str | None:
    """Why the database is not ready (unreachable, or not at the latest migration), or None."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - only for readiness

    try:
        with sessions() as session:
            current = frozenset(MigrationContext.configure(session.connection()).get_current_heads())
    except SQLAlchemyError as exc:
        return f"database: unreachable ({type(exc).__name__})"
    expected = expected_heads()
    if current != expected:
        at = ", ".join(sorted(current)) or "no migration"
        return f"database: at {at}, expected {', '.join(sorted(expected))} (run `triage db upgrade`)"
    return None


@dataclass
class Probe:
    """The readiness of one process: the database, and whatever its roles add."""

    sessions: sessionmaker[Session]
    checks: list[Callable[[], str | None]] = field(default_factory=list)

    def add(self, check: Callable[[], str | None]) -> None:
        """``check`` returns a one-line problem, or None when its part is ready."""
        self.checks.append(check)

    def problems(self) -> list[str]:
        found = [database_problem(self.sessions)]
        found += [check() for check in self.checks]
        return [problem for problem in found if problem is not None]


@dataclass(frozen=True)
class Ops:
    """What the endpoints answer from: the readiness probe and this process's metrics."""

    probe: Probe
    exposed: Collector

    @classmethod
    def for_database(cls, sessions: sessionmaker[Session], clock: Clock, *collectors: Collector) -> Ops:
        """Readiness of the database; metrics with its queues and ``collectors``."""
        return cls(Probe(sessions), metrics.registry(metrics.DatabaseCollector(sessions, clock), *collectors))


def _ops(request: Request) -> Ops:
    ops: Ops = request.app.state.ops
    return ops


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n", headers=NO_STORE)


async def readyz(request: Request) -> Response:
    problems = await run_in_threadpool(_ops(request).probe.problems)
    if problems:
        return PlainTextResponse("".join(f"{problem}\n" for problem in problems), 503, headers=NO_STORE)
    return PlainTextResponse("ready\n", headers=NO_STORE)


async def metrics_page(request: Request) -> Response:
    """The text format Prometheus asks for (Accept): OpenMetrics, or the classic 0.0.4."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    body = await run_in_threadpool(encode, _ops(request).exposed)
    return Response(body, headers={"content-type": content_type, **NO_STORE})


def ops_routes() -> list[Route]:
    """The three routes; the app they are in keeps an :class:`Ops` in ``app.state.ops``."""
    return [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/readyz", readyz, methods=["GET"], name="readyz"),
        Route("/metrics", metrics_page, methods=["GET"], name="metrics"),
    ]


def ops_app(ops: Ops) -> Starlette:
    app = Starlette(routes=ops_routes())
    app.state.ops = ops
    return app


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: `triage serve` owns SIGTERM/SIGINT for every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class OpsServer:
    """The operations endpoints on a listener of their own (roles other than the web UI)."""

    def __init__(self, ops: Ops, host: str, port: int) -> None:
        config = uvicorn.Config(
            ops_app(ops),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        self.server = _Server(config)
        self.host = host
        self.port = port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen (ConfigError when the address cannot be had); serving goes on in a task."""
        self._task = asyncio.create_task(self._serve(), name="metrics")
        while not self.server.started:
            if self._task.done():
                await self._task
                raise ConfigError(f"the metrics listener cannot listen on {self.host}:{self.port}")
            await asyncio.sleep(0.02)
        if self.port == 0:  # any free port was asked: say which
            self.port = int(self.server.servers[0].sockets[0].getsockname()[1])

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn's answer to an address in use
            return

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
