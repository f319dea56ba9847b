"""The SMTP server: aiosmtpd with triage's limits, a connection cap and a graceful shutdown.

``start_ingress`` listens and returns an :class:`IngressServer`; ``IngressServer.shutdown``
follows ingress.md §6: stop listening, ``421 4.3.2`` to idle sessions, let sessions inside DATA
finish (commit, then 250) within a grace period, then close whatever is left without a reply.
``serve_until_signalled`` waits for SIGTERM/SIGINT and does exactly that.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import signal
import socket
from collections.abc import Iterable
from typing import Final

from aiosmtpd.smtp import SMTP, syntax

from triage import metrics
from triage.config import Settings
from triage.ingress.handler import IngressHandler, MessageStore

log = logging.getLogger(__name__)

LINE_LENGTH_LIMIT: Final = 64 * 1024  # aiosmtpd's 1,001 turns long lines into a permanent 500
SESSION_TIMEOUT: Final = 600.0  # bounds a whole DATA transfer, not the gap between lines
IDENT: Final = "ESMTP triage"  # the greeting names no software version
REPLY_TOO_MANY_CONNECTIONS: Final = "421 4.7.0 Too many connections, try again later"
REPLY_SHUTTING_DOWN: Final = "421 4.3.2 Service shutting down"
# After the grace period, sessions are aborted; this bounds the wait for their last callbacks.
_ABORT_WAIT: Final = 5.0
# aiosmtpd logs every command line (addresses) at INFO and DATA lines at DEBUG.
_AIOSMTPD_LOGGER: Final = "mail.log"


class _Sessions:
    """The live SMTP sessions of one server: the connection cap and the shutdown walk over it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.live: set[TriageSMTP] = set()
        self.shutting_down = False
        self._empty = asyncio.Event()
        self._empty.set()

    def full(self) -> bool:
        return len(self.live) >= self.limit

    def add(self, session: TriageSMTP) -> None:
        self.live.add(session)
        self._empty.clear()

    def discard(self, session: TriageSMTP) -> None:
        self.live.discard(session)
        if not self.live:
            self._empty.set()

    async def wait_empty(self) -> None:
        await self._empty.wait()


class TriageSMTP(SMTP):
    """aiosmtpd's SMTP with a 64 KiB line limit, registered in its server's live sessions."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(
        self, handler: IngressHandler, *, sessions: _Sessions, hostname: str, data_size_limit: int
    ) -> None:
        # aiosmtpd keeps these limits in one class-level dict that every EHLO enlarges; give each
        # session its own (SMTP.__init__ clears it).
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        super().__init__(
            handler,
            data_size_limit=data_size_limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident=IDENT,
            timeout=SESSION_TIMEOUT,
        )
        self._sessions = sessions
        self.in_data = False

    async def push(self, status: str) -> None:  # type: ignore[override]  # aiosmtpd: AnyStr
        metrics.smtp_reply(status)
        await super().push(status)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            self._sessions.discard(self)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        self.in_data = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self.in_data = False
        if self._sessions.shutting_down:
            self.close_with(REPLY_SHUTTING_DOWN)

    def close_with(self, reply: str) -> None:
        """Send ``reply`` (if the session is still open) and close after it is flushed."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        metrics.smtp_reply(reply)
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(reply.encode("ascii") + b"\r\n")
        transport.close()

    def abort(self) -> None:
        """Drop the connection at once, with no reply."""
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport):
            transport.abort()
        elif transport is not None:
            transport.close()


class _Refusal(asyncio.Protocol):
    """A connection refused politely: one 421 reply, then close."""

    def __init__(self, reply: str) -> None:
        self._reply = reply

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        metrics.smtp_reply(self._reply)
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(self._reply.encode("ascii") + b"\r\n")
        transport.close()


class IngressServer:
    """A listening ingress and its live sessions."""

    def __init__(self, server: asyncio.Server, sessions: _Sessions) -> None:
        self._server = server
        self._sessions = sessions
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) of the first listening socket (the real port when 0 was asked)."""
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    @property
    def session_count(self) -> int:
        return len(self._sessions.live)

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, 421 idle sessions, let DATA finish within ``grace`` s, then close."""
        if self._stopped:
            return
        self._stopped = True
        self._server.close()
        self._sessions.shutting_down = True
        live = list(self._sessions.live)
        idle = [session for session in live if not session.in_data]
        for session in idle:
            session.close_with(REPLY_SHUTTING_DOWN)
        log.info("ingress shutting down: %d idle, %d in DATA", len(idle), len(live) - len(idle))
        try:
            await asyncio.wait_for(self._sessions.wait_empty(), grace)
        except TimeoutError:
            left = list(self._sessions.live)
            log.warning("ingress grace period over: closing %d sessions without reply", len(left))
            for session in left:
                session.abort()
            try:
                await asyncio.wait_for(self._sessions.wait_empty(), _ABORT_WAIT)
            except TimeoutError:
                log.error("ingress: %d sessions did not close", len(self._sessions.live))
        await self._server.wait_closed()
        log.info("ingress stopped")

    async def serve_until_signalled(
        self, grace: float = 30.0, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        """Serve until one of ``signals`` arrives, then :meth:`shutdown` with ``grace``."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        wanted = tuple(signals)
        for signum in wanted:
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in wanted:
                loop.remove_signal_handler(signum)
        await self.shutdown(grace)


async def start_ingress(
    settings: Settings,
    store: MessageStore,
    mailboxes: Iterable[str],
    host: str | None = None,
    port: int | None = None,
) -> IngressServer:
    """Listen on ``host:port`` (default ``settings.smtp_listen``; port 0 = any free port)."""
    handler = IngressHandler(
        store,
        mailboxes,
        accepted_domains=settings.accepted_domains,
        max_recipients=settings.max_recipients,
    )
    listen_host = settings.smtp_listen[0] if host is None else host
    listen_port = settings.smtp_listen[1] if port is None else port
    # Looked up once: aiosmtpd would otherwise call getfqdn() (DNS) on the loop per connection.
    hostname = settings.smtp_hostname or await asyncio.to_thread(socket.getfqdn)
    aiosmtpd_log = logging.getLogger(_AIOSMTPD_LOGGER)
    if aiosmtpd_log.getEffectiveLevel() < logging.WARNING:
        aiosmtpd_log.setLevel(logging.WARNING)
    sessions = _Sessions(settings.max_connections)

    def factory() -> asyncio.BaseProtocol:
        if sessions.shutting_down:
            return _Refusal(REPLY_SHUTTING_DOWN)
        if sessions.full():
            log.warning("ingress connection cap (%d) reached: answered 421", sessions.limit)
            return _Refusal(REPLY_TOO_MANY_CONNECTIONS)
        session = TriageSMTP(
            handler,
            sessions=sessions,
            hostname=hostname,
            data_size_limit=settings.max_message_bytes,
        )
        sessions.add(session)
        return session

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, listen_host, listen_port)
    ingress = IngressServer(server, sessions)
    log.info("ingress listening on %s:%d", *ingress.address)
    return ingress
