"""One SMTP session: aiosmtpd's ``SMTP`` with triage's greeting test, timeouts and DATA reading.

- Greeting: an untrusted peer waits ``greet_delay`` before our ``220``; bytes received in that
  moment (a client talking first, security.md §1 item 7) get ``554 5.5.1`` and the connection
  is closed: none of those commands is executed.
- Timeouts (RFC 5321 §4.5.3.2): ``command_timeout`` for each command (aiosmtpd's timer, reset
  only by a whole valid command, so a trickle of bytes does not reset it); the whole DATA phase
  within ``data_timeout`` however slowly bytes arrive; and no more than ``session_timeout``
  without a stored mail, so a client repeating NOOP cannot hold a session forever. A timeout is
  answered ``421 4.4.2`` before the close (aiosmtpd's own closes silently).
- DATA: read by :func:`triage.ingress.data.read_data` into a :class:`Spool`; the handler gets
  the :class:`Received` message as ``envelope.received``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any, Final

from aiosmtpd.smtp import SMTP, syntax

from triage import metrics
from triage.ingress.data import DataEnd, read_data
from triage.ingress.envelope import plain_address
from triage.ingress.peers import PeerPolicy, peer_host
from triage.ingress.smtpinit import init_smtp
from triage.ingress.spool import Spool

log = logging.getLogger(__name__)

# The stream reader's limit: longer lines are read in pieces (data.py), never refused.
LINE_LENGTH_LIMIT: Final = 64 * 1024
IDENT: Final = "ESMTP triage"  # the greeting names no software version
REPLY_SHUTTING_DOWN: Final = "421 4.3.2 Service shutting down"
REPLY_EARLY_TALKER: Final = "554 5.5.1 Protocol error: commands sent before the greeting"
REPLY_TIMEOUT: Final = "421 4.4.2 Timeout, closing connection"
REPLY_TOO_MUCH_DATA: Final = "552 5.3.4 Message too big"
REPLY_DATA_START: Final = "354 End data with <CR><LF>.<CR><LF>"


@dataclass(frozen=True)
class SessionLimits:
    data_size_limit: int
    command_timeout: float = 300.0
    data_timeout: float = 600.0
    session_timeout: float = 1200.0
    spool_threshold: int = 256 * 1024
    spool_dir: str = ""
    tls_context: ssl.SSLContext | None = None
    tls_required: bool = False


class Live:
    """The live sessions of one server: the shutdown walk and the per-peer counts go over it."""

    def __init__(self, peers: PeerPolicy) -> None:
        self.peers = peers
        self.sessions: set[TriageSMTP] = set()
        self.shutting_down = False
        self._empty = asyncio.Event()
        self._empty.set()

    def add(self, session: TriageSMTP) -> None:
        self.sessions.add(session)
        self._empty.clear()

    def discard(self, session: TriageSMTP) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.peers.release(session.host)
        if not self.sessions:
            self._empty.set()

    async def wait_empty(self) -> None:
        await self._empty.wait()


class TriageSMTP(SMTP):
    """aiosmtpd's SMTP for one admitted connection from ``host``."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(self, handler: Any, *, live: Live, host: str, hostname: str, limits: SessionLimits) -> None:
        # SMTP.__init__ looks up its command and hook methods with inspect.getmembers on every
        # connection (over a millisecond of CPU, most of a message's cost when each message
        # comes on its own connection); init_smtp sets the same attributes from tables built
        # once per class and handler (smtpinit.py). tests/ingress/test_session_init.py compares.
        init_smtp(self, handler, hostname=hostname, ident=IDENT, limits=limits)
        self.live = live
        self.host = host
        self.limits = limits
        self.in_data = False
        self._greeted = False
        self._talked_early = asyncio.Event()
        self._session_timer: asyncio.TimerHandle | None = None
        self._expire_after_data = False

    # --- connection and greeting -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None  # STARTTLS calls this again with the TLS transport
        super().connection_made(transport)
        if first:
            self._arm_session_timer()

    def connection_lost(self, error: Exception | None) -> None:
        if self._session_timer is not None:
            self._session_timer.cancel()
        try:
            super().connection_lost(error)
        finally:
            self.live.discard(self)

    def data_received(self, data: bytes) -> None:
        if not self._greeted:
            self._talked_early.set()
        super().data_received(data)

    async def _handle_client(self) -> None:
        delay = self.live.peers.delay_for(self.host)
        if delay > 0:
            with contextlib.suppress(TimeoutError):  # no early talk: the normal case
                await asyncio.wait_for(self._talked_early.wait(), delay)
        if self._talked_early.is_set():
            log.warning("ingress: %s sent commands before the greeting: answered 554, closed", self.host)
            self.close_with(REPLY_EARLY_TALKER)
            return
        if delay > 0:
            self.live.peers.passed(self.host)
        self._greeted = True
        await super()._handle_client()

    # --- timeouts ----------------------------------------------------------------------------

    def _timeout_cb(self) -> None:
        log.info("ingress: session of %s timed out%s: answered 421", self.host, " in DATA" * self.in_data)
        self.close_with(REPLY_TIMEOUT)

    def _arm_session_timer(self) -> None:
        if self._session_timer is not None:
            self._session_timer.cancel()
        self._session_timer = self.loop.call_later(self.limits.session_timeout, self._session_expired)

    def _session_expired(self) -> None:
        if self.in_data:  # the DATA timeout bounds this part; close when it ends
            self._expire_after_data = True
            return
        log.info("ingress: %s stored no mail in %.0f s: answered 421", self.host, self.limits.session_timeout)
        self.close_with(REPLY_TIMEOUT)

    # --- DATA --------------------------------------------------------------------------------

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        self.in_data = True
        self._reset_timeout(self.limits.data_timeout)  # the whole DATA phase, not per line
        spool = Spool(self.limits.spool_threshold, self.limits.spool_dir)
        try:
            await self.push(REPLY_DATA_START)
            end = await read_data(self._reader, spool, self.data_size_limit)
        except BaseException:
            spool.discard()
            self.in_data = False
            raise
        if end is not DataEnd.COMPLETE:
            self.in_data = False
            if end is DataEnd.TOO_BIG:
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                await self.push(REPLY_TOO_MUCH_DATA)
                self._after_data()
            return
        received = spool.finish()
        envelope: Any = self.envelope  # the handler reads the message from envelope.received
        envelope.received = received
        envelope.original_content = envelope.content = None
        try:
            status = await self._call_handler_hook("DATA")
        finally:
            received.close()
            self.in_data = False
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)
        if status.startswith("250"):
            self._arm_session_timer()
        self._after_data()

    def _after_data(self) -> None:
        self._reset_timeout()
        if self.live.shutting_down:
            self.close_with(REPLY_SHUTTING_DOWN)
        elif self._expire_after_data:
            self._expire_after_data = False
            self._session_expired()

    # --- closing -----------------------------------------------------------------------------

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address of MAIL FROM / RCPT TO: the plain shape read directly (envelope.py),
        anything else as aiosmtpd reads it."""
        plain = plain_address(arg, self.local_part_limit)
        return plain if plain is not None else super()._getaddr(arg)

    async def push(self, status: str) -> None:  # type: ignore[override]  # aiosmtpd: AnyStr
        metrics.smtp_reply(status)
        await super().push(status)

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


def session_host(transport: asyncio.BaseTransport) -> str:
    return peer_host(transport.get_extra_info("peername"))
