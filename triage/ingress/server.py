"""The SMTP server: admission (connection caps, trusted peers), sessions, a graceful shutdown.

``start_ingress`` listens and returns an :class:`IngressServer`; ``IngressServer.shutdown``
follows ingress.md §6: stop listening, ``421 4.3.2`` to idle sessions, let sessions inside DATA
finish (commit, then 250) within a grace period, then close whatever is left without a reply.
``serve_until_signalled`` waits for SIGTERM/SIGINT and does exactly that.

Each connection first meets an :class:`_Admission` protocol, which knows the peer's address
(the protocol factory does not): past the global cap or the peer's own cap it answers
``421 4.7.0`` and closes; otherwise it hands the transport to a new :class:`TriageSMTP`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Iterable
from typing import Final

from triage import metrics
from triage.config import Settings
from triage.errors import ConfigError
from triage.ingress.handler import IngressHandler, MessageStore
from triage.ingress.peers import PeerPolicy, parse_networks
from triage.ingress.session import (
    REPLY_SHUTTING_DOWN,
    Live,
    SessionLimits,
    TriageSMTP,
    session_host,
)
from triage.ingress.tls import server_context

log = logging.getLogger(__name__)

REPLY_TOO_MANY_CONNECTIONS: Final = "421 4.7.0 Too many connections, try again later"
REPLY_TOO_MANY_FROM_PEER: Final = "421 4.7.0 Too many connections from your address, try again later"
# After the grace period, sessions are aborted; this bounds the wait for their last callbacks.
_ABORT_WAIT: Final = 5.0
# aiosmtpd logs every command line (addresses) at INFO and DATA lines at DEBUG.
_AIOSMTPD_LOGGER: Final = "mail.log"


class _Admission(asyncio.Protocol):
    """The first protocol of every connection: refuse with one 421, or hand over to a session."""

    def __init__(self, live: Live, handler: IngressHandler, hostname: str, limits: SessionLimits) -> None:
        self._live = live
        self._handler = handler
        self._hostname = hostname
        self._limits = limits

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        host = session_host(transport)
        if self._live.shutting_down:
            self._refuse(transport, REPLY_SHUTTING_DOWN)
            return
        refusal = self._live.peers.admit(host)
        if refusal == "global":
            log.warning(
                "ingress connection cap (%d) reached: %s answered 421", self._live.peers.max_connections, host
            )
            self._refuse(transport, REPLY_TOO_MANY_CONNECTIONS)
            return
        if refusal == "peer":
            log.warning(
                "ingress per-peer cap (%d) reached by %s: answered 421", self._live.peers.per_peer, host
            )
            self._refuse(transport, REPLY_TOO_MANY_FROM_PEER)
            return
        session = TriageSMTP(
            self._handler, live=self._live, host=host, hostname=self._hostname, limits=self._limits
        )
        self._live.add(session)
        transport.set_protocol(session)
        session.connection_made(transport)

    @staticmethod
    def _refuse(transport: asyncio.BaseTransport, reply: str) -> None:
        metrics.smtp_reply(reply)
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(reply.encode("ascii") + b"\r\n")
        transport.close()


class IngressServer:
    """A listening ingress and its live sessions."""

    def __init__(self, server: asyncio.Server, sessions: Live) -> None:
        self._server = server
        self._sessions = sessions
        self._stopped = False

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) of the first listening socket (the real port when 0 was asked)."""
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    @property
    def peers(self) -> PeerPolicy:
        return self._sessions.peers

    @property
    def session_count(self) -> int:
        return len(self._sessions.sessions)

    async def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, 421 idle sessions, let DATA finish within ``grace`` s, then close."""
        if self._stopped:
            return
        self._stopped = True
        self._server.close()
        self._sessions.shutting_down = True
        live = list(self._sessions.sessions)
        idle = [session for session in live if not session.in_data]
        for session in idle:
            session.close_with(REPLY_SHUTTING_DOWN)
        log.info("ingress shutting down: %d idle, %d in DATA", len(idle), len(live) - len(idle))
        try:
            await asyncio.wait_for(self._sessions.wait_empty(), grace)
        except TimeoutError:
            left = list(self._sessions.sessions)
            log.warning("ingress grace period over: closing %d sessions without reply", len(left))
            for session in left:
                session.abort()
            try:
                await asyncio.wait_for(self._sessions.wait_empty(), _ABORT_WAIT)
            except TimeoutError:
                log.error("ingress: %d sessions did not close", len(self._sessions.sessions))
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


def session_limits(settings: Settings) -> SessionLimits:
    """The per-session limits of ``settings`` (the TLS context loaded when configured)."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if bool(cert) != bool(key):
        raise ConfigError("TRIAGE_TLS_CERT_FILE and TRIAGE_TLS_KEY_FILE go together: set both or neither")
    context = server_context(cert, key) if cert else None
    if settings.tls_required and context is None:
        raise ConfigError("TRIAGE_TLS_REQUIRED needs TRIAGE_TLS_CERT_FILE and TRIAGE_TLS_KEY_FILE")
    return SessionLimits(
        data_size_limit=settings.max_message_bytes,
        command_timeout=settings.smtp_command_timeout_seconds,
        data_timeout=settings.smtp_data_timeout_seconds,
        session_timeout=settings.smtp_session_timeout_seconds,
        spool_threshold=settings.smtp_spool_threshold_bytes,
        spool_dir=settings.smtp_spool_dir,
        tls_context=context,
        tls_required=settings.tls_required,
    )


def peer_policy(settings: Settings) -> PeerPolicy:
    return PeerPolicy(
        max_connections=settings.max_connections,
        per_peer=settings.smtp_max_connections_per_peer,
        trusted=parse_networks(settings.smtp_trusted_peers, "TRIAGE_SMTP_TRUSTED_PEERS entry"),
        greet_delay=settings.smtp_greet_delay_seconds,
        pass_seconds=settings.smtp_greet_pass_seconds,
    )


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
    limits = session_limits(settings)
    live = Live(peer_policy(settings))
    listen_host = settings.smtp_listen[0] if host is None else host
    listen_port = settings.smtp_listen[1] if port is None else port
    # Looked up once: aiosmtpd would otherwise call getfqdn() (DNS) on the loop per connection.
    hostname = settings.smtp_hostname or await asyncio.to_thread(socket.getfqdn)
    aiosmtpd_log = logging.getLogger(_AIOSMTPD_LOGGER)
    if aiosmtpd_log.getEffectiveLevel() < logging.WARNING:
        aiosmtpd_log.setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Admission(live, handler, hostname, limits), listen_host, listen_port
    )
    ingress = IngressServer(server, live)
    log.info("ingress listening on %s:%d", *ingress.address)
    return ingress
