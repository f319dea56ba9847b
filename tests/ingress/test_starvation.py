"""Issue 12 "SMTP that one peer cannot starve": the table's ingress rows as tests, real sockets.

Rows 2 (one peer's idle sessions lock everyone out), 3 (LF-only mail over 64 KiB and a line of
65,535 octets refused with a permanent 500), 4 (commands sent before the greeting executed) and
7 (a look-alike recipient accepted), plus issue 10 item 8 (a refused recipient leaves no trace).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

import pytest
from smtpkit import RCPT, SENDER, MakeIngress, deliver, queued_id, read_reply, rows


@contextlib.contextmanager
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def connect_from(source: str, port: int) -> socket.socket:
    """A TCP connection to the ingress from ``source`` (any 127.0.0.0/8 address is loopback)."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


@pytest.mark.xfail(strict=True, reason="issue 12 row 2: the connection cap is global")
def test_one_peer_with_100_idle_sessions_does_not_lock_others_out(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)  # default caps: 100 in all
    with sockets() as opened:
        for _ in range(100):
            opened.append(connect_from("127.0.0.1", ingress.port))  # one peer, idle
        greetings = [read_reply(sock)[:3] for sock in opened]
        assert greetings.count(b"220") < 100  # the peer is capped well before the global cap
        other = connect_from("127.0.0.2", ingress.port)
        opened.append(other)
        assert read_reply(other).startswith(b"220 ")


@pytest.mark.xfail(strict=True, reason="issue 12 row 3: LF-only mail over 64 KiB gets a permanent 500")
def test_lf_only_mail_over_64_kib_is_stored_and_flagged(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: lf only\n\n" + b"a line of an LF-only client, as issue 12 shows it\n" * 1500
    assert len(message) > 64 * 1024
    queued_id(deliver(ingress.port, message + b"\r\n"))
    [row] = rows(sqlite_url)
    assert row.raw == message + b"\r\n"
    assert row.has_bare_line_ends is True


@pytest.mark.xfail(strict=True, reason="issue 12 row 3: a line of 65,535 octets gets a permanent 500")
def test_a_line_of_65535_octets_is_stored_and_flagged(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: long line\r\n\r\n" + b"x" * 65_535 + b"\r\nend\r\n"
    queued_id(deliver(ingress.port, message))
    [row] = rows(sqlite_url)
    assert row.raw == message
    assert any("65535 octets" in note for note in row.notes), row.notes


@pytest.mark.xfail(strict=True, reason="issue 12 row 4: commands sent before the greeting are executed")
def test_commands_sent_before_the_greeting_are_not_executed(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)
    with sockets() as opened:
        sock = socket.create_connection(("127.0.0.1", ingress.port), timeout=10)
        opened.append(sock)
        sock.sendall(
            b"EHLO early.test\r\n"
            + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n".encode()
            + b"Subject: early\r\n\r\nbody\r\n.\r\nQUIT\r\n"
        )
        replies = []
        while line := read_reply(sock):
            replies.append(line)
    assert len(replies) == 1, replies
    assert replies[0].startswith(b"554 5.5.1 "), replies
    assert rows(sqlite_url) == []


@pytest.mark.xfail(strict=True, reason="issue 12 row 7: a look-alike recipient is accepted")
@pytest.mark.parametrize(
    "recipient",
    [
        "secure_jo\u212a@example.jp",  # KELVIN SIGN: str.lower() makes it an ASCII k
        "secure_jo1@ｅｘａｍｐｌｅ.jp",  # full-width letters
        "secure_jo1@例え.jp",  # an IDN domain in Unicode
        "ｓｅｃｕｒｅ_jo1@example.jp",
    ],
    ids=["kelvin", "fullwidth-domain", "idn-domain", "fullwidth-local"],
)
def test_a_look_alike_recipient_gets_550_and_is_logged_masked(
    sqlite_url: str, make_ingress: MakeIngress, caplog: pytest.LogCaptureFixture, recipient: str
) -> None:
    ingress = make_ingress(sqlite_url, mailboxes=["secure_jok", "secure_jo1"])
    with (
        caplog.at_level(logging.INFO, logger="triage.ingress"),
        socket.create_connection(("127.0.0.1", ingress.port), timeout=10) as sock,
    ):
        assert read_reply(sock).startswith(b"220 ")
        sock.sendall(b"EHLO client.test\r\n")
        while not read_reply(sock).startswith(b"250 "):
            pass
        sock.sendall(f"MAIL FROM:<{SENDER}> SMTPUTF8\r\n".encode())
        assert read_reply(sock).startswith(b"250 ")
        sock.sendall(f"RCPT TO:<{recipient}>\r\n".encode())
        assert read_reply(sock) == b"550 5.1.1 Recipient address rejected\r\n"
    local = recipient.partition("@")[0]
    logged = [record.getMessage() for record in caplog.records if "recipient" in record.getMessage()]
    assert logged, "the refused recipient leaves a log line"
    assert all(local not in line for line in logged), logged  # masked
    assert any(f"{local[:2]}***@" in line for line in logged), logged


@pytest.mark.xfail(strict=True, reason="issue 10 item 8: a refused recipient leaves no trace")
def test_an_unknown_recipient_is_logged_masked(
    sqlite_url: str, make_ingress: MakeIngress, caplog: pytest.LogCaptureFixture
) -> None:
    ingress = make_ingress(sqlite_url)
    with (
        caplog.at_level(logging.INFO, logger="triage.ingress"),
        socket.create_connection(("127.0.0.1", ingress.port), timeout=10) as sock,
    ):
        assert read_reply(sock).startswith(b"220 ")
        sock.sendall(b"HELO client.test\r\n")
        assert read_reply(sock).startswith(b"250 ")
        sock.sendall(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<postmaster@example.jp>\r\n".encode())
        assert read_reply(sock).startswith(b"250 ")
        assert read_reply(sock).startswith(b"550 5.1.1 ")
    logged = [record.getMessage() for record in caplog.records]
    assert any("po***@example.jp" in line and "127.0.0.1" in line for line in logged), logged
    assert all("postmaster@" not in line for line in logged), logged
