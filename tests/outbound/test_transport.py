"""SmtpTransport keeps its relay connection for the next reply, and replaces a stale one.

Against a real aiosmtpd relay on loopback: several replies in one pass share one connection;
a connection the relay dropped meanwhile is replaced without losing or doubling the reply.
"""

from __future__ import annotations

from relaykit import Relay, free_port

from triage.config import Settings
from triage.outbound.transport import SmtpTransport

RAW = (
    b"From: a@triage.example\r\nTo: m@example.jp\r\nSubject: x\r\n"
    b"Message-ID: <r.1.x@triage.example>\r\n\r\nbody\r\n"
)


def test_replies_in_one_pass_share_one_connection() -> None:
    relay = Relay(free_port()).start()
    try:
        transport = SmtpTransport(Settings(relay=("127.0.0.1", relay.port), sender_timeout_seconds=5.0))
        for n in range(5):
            transport.send("", f"member{n}@example.jp", RAW)
        transport.close()
        transport.send("", "member5@example.jp", RAW)  # after close: a new connection
        transport.close()
        assert len(relay.handler.received) == 6
        assert len(set(relay.handler.mail_peers[:5])) == 1
        assert relay.handler.mail_peers[5] != relay.handler.mail_peers[0]
    finally:
        relay.stop()


def test_a_connection_the_relay_dropped_is_replaced_once() -> None:
    port = free_port()
    first = Relay(port).start()
    transport = SmtpTransport(Settings(relay=("127.0.0.1", port), sender_timeout_seconds=5.0))
    try:
        transport.send("", "member0@example.jp", RAW)
        first.stop()  # the kept connection dies with it
        second = Relay(port).start()
        try:
            transport.send("", "member1@example.jp", RAW)
            transport.close()
            assert [r.rcpt_tos for r in first.handler.received] == [["member0@example.jp"]]
            assert [r.rcpt_tos for r in second.handler.received] == [["member1@example.jp"]]
        finally:
            second.stop()
    finally:
        first.stop()
        transport.close()
