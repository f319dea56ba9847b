"""`triage serve`: one process on one event loop (architecture.md "Processes").

This slice runs the SMTP ingress: mail to configured mailboxes is stored before 250. The worker,
the reply sender and the staff UI join this process as they land (issue 4 onwards); until then
stored mail waits in `inbound_messages`, which is safe: it is durable and claimable later.
"""

from __future__ import annotations

import asyncio
import logging

from triage.config import Settings
from triage.db.engine import make_engine, session_factory
from triage.db.migrate import upgrade
from triage.engine.spec import RuleSet
from triage.ingress.server import start_ingress
from triage.ingress.store import InboundStore

log = logging.getLogger(__name__)


async def _serve(settings: Settings, rules: RuleSet, host: str, port: int) -> None:
    engine = make_engine(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        store = InboundStore(session_factory(engine))
        ingress = await start_ingress(settings, store, rules.mailboxes, host, port)
        bound_host, bound_port = ingress.address
        print(f"triage: SMTP ingress on {bound_host}:{bound_port} for {', '.join(sorted(rules.mailboxes))}")
        print("triage: the worker and reply sender are not part of this build yet: stored mail waits")
        print("triage: SIGTERM or Ctrl-C stops accepting, finishes DATA in progress and exits", flush=True)
        await ingress.serve_until_signalled(grace=float(settings.shutdown_grace_seconds))
    finally:
        engine.dispose()


def serve(settings: Settings, rules: RuleSet, host: str, port: int) -> None:
    upgrade(settings.database_url)
    print(f"triage: database {_redacted(settings.database_url)} is at the latest migration", flush=True)
    asyncio.run(_serve(settings, rules, host, port))


def _redacted(url: str) -> str:
    """A database URL without its password, for the console."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"
