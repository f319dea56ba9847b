"""A real SMTP relay for the sender's tests: aiosmtpd on 127.0.0.1, started and stopped by the test."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RelayHandler:
    """Records what it accepts; ``rcpt_reply`` / ``data_reply`` make it refuse instead."""

    rcpt_reply: str | None = None
    data_reply: str | None = None
    data_delay: float = 0.0
    vanish_after_data: bool = False  # keep the message, then drop the connection without a reply
    rcpt_delay: float = 0.0
    # Keep the message first, then wait this long before the 250: a client that dies meanwhile
    # never learns that the relay has it (the uncertain moment of SMTP).
    reply_delay_after_keeping: float = 0.0
    mail_froms: list[str] = field(default_factory=list)
    # The client's (host, port) at each MAIL FROM: one port per connection.
    mail_peers: list[Any] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self.mail_froms.append(address)
        self.mail_peers.append(session.peer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        if self.vanish_after_data:
            server.transport.abort()
        if self.reply_delay_after_keeping:
            await asyncio.sleep(self.reply_delay_after_keeping)
        return "250 2.0.0 OK"

    def message_ids(self) -> list[str]:
        return [str(parse(r.content)["Message-ID"]).strip("<>") for r in self.received]


class Relay:
    """An aiosmtpd server on 127.0.0.1:``port``, started and stopped by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = RelayHandler()
        self._controller: Controller | None = None

    def start(self) -> Relay:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg
