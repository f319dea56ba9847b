"""Issue 12 "SMTP that one peer cannot starve": the table's ingress rows as tests, real sockets.

Rows 2 (one peer's idle sessions lock everyone out), 3 (LF-only mail over 64 KiB and a line of
65,535 octets refused with a permanent 500), 4 (commands sent before the greeting executed) and
7 (a look-alike recipient accepted), plus issue 10 item 8 (a refused recipient leaves no trace).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from smtpkit import (
    RCPT,
    SENDER,
    MakeIngress,
    deliver,
    ingress_factory,
    open_data,
    open_idle,
    queued_id,
    read_reply,
    rows,
    wait_until,
)

from triage.errors import ConfigError
from triage.ingress.peers import PeerPolicy, parse_networks
from triage.ingress.spool import received_notes


@pytest.fixture
def make_ingress() -> Iterator[MakeIngress]:
    yield from ingress_factory()


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


def test_lf_only_mail_over_64_kib_is_stored_and_flagged(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: lf only\n\n" + b"a line of an LF-only client, as issue 12 shows it\n" * 1500
    assert len(message) > 64 * 1024
    queued_id(deliver(ingress.port, message + b"\r\n"))
    [row] = rows(sqlite_url)
    assert row.raw == message + b"\r\n"
    assert row.has_bare_line_ends is True


def test_a_line_of_65535_octets_is_stored_and_flagged(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: long line\r\n\r\n" + b"x" * 65_535 + b"\r\nend\r\n"
    queued_id(deliver(ingress.port, message))
    [row] = rows(sqlite_url)
    assert row.raw == message
    assert any("65535 octets" in note for note in row.notes), row.notes


def test_commands_sent_before_the_greeting_are_not_executed(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url, smtp_greet_delay_seconds=2.0)
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


# --- beyond the table: what keeps the fixes honest -------------------------------------------


def test_trusted_peers_count_against_no_cap(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(
        sqlite_url,
        max_connections=3,
        smtp_max_connections_per_peer=2,
        smtp_trusted_peers=("127.0.0.9/32",),
    )
    with sockets() as opened:
        for source in ("127.0.0.1", "127.0.0.1"):
            opened.append(connect_from(source, ingress.port))
            assert read_reply(opened[-1]).startswith(b"220 ")
        third = connect_from("127.0.0.1", ingress.port)
        opened.append(third)
        assert read_reply(third) == b"421 4.7.0 Too many connections from your address, try again later\r\n"
        opened.append(connect_from("127.0.0.2", ingress.port))
        assert read_reply(opened[-1]).startswith(b"220 ")  # the global cap of 3 is now reached
        refused = connect_from("127.0.0.3", ingress.port)
        opened.append(refused)
        assert read_reply(refused) == b"421 4.7.0 Too many connections, try again later\r\n"
        for _ in range(5):  # the front MTA: never refused, never delayed
            opened.append(connect_from("127.0.0.9", ingress.port))
            assert read_reply(opened[-1]).startswith(b"220 ")


def test_a_closed_session_frees_its_peer_slot(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url, smtp_max_connections_per_peer=1)
    first = connect_from("127.0.0.1", ingress.port)
    assert read_reply(first).startswith(b"220 ")
    first.sendall(b"QUIT\r\n")
    assert read_reply(first).startswith(b"221")
    first.close()
    wait_until(lambda: ingress.server.session_count == 0)
    queued_id(deliver(ingress.port))


def test_a_dripping_data_phase_is_cut_at_the_data_timeout(sqlite_url: str, make_ingress: MakeIngress) -> None:
    """One byte every 0.1 s: each byte is progress, yet the whole DATA phase has one deadline."""
    ingress = make_ingress(sqlite_url, smtp_command_timeout_seconds=0.5, smtp_data_timeout_seconds=1.0)
    sock = open_data(ingress.port, b"Subject: drip\r\n\r\n")
    began = time.monotonic()
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() - began < 15:
                sock.sendall(b"x")
                time.sleep(0.1)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        assert read_reply(sock) == b"421 4.4.2 Timeout, closing connection\r\n"
        assert 0.9 < time.monotonic() - began < 10  # cut at 1 s (the upper bound only for load)
    finally:
        sock.close()
    assert rows(sqlite_url) == []


def test_repeated_noops_cannot_hold_a_session(sqlite_url: str, make_ingress: MakeIngress) -> None:
    """Each NOOP resets the command timeout; the session bound without a stored mail does not."""
    ingress = make_ingress(sqlite_url, smtp_command_timeout_seconds=0.6, smtp_session_timeout_seconds=1.5)
    sock = open_idle(ingress.port)
    began = time.monotonic()
    replies = []
    try:
        while time.monotonic() - began < 15:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"NOOP\r\n")
            reply = read_reply(sock)
            replies.append(reply)
            if not reply.startswith(b"250"):
                break
            time.sleep(0.3)
    finally:
        sock.close()
    assert replies[-1] == b"421 4.4.2 Timeout, closing connection\r\n", replies
    assert len(replies) > 3  # NOOPs kept the command timer alive ...
    assert 1.4 < time.monotonic() - began < 10  # ... until the session bound (1.5 s)


def test_an_idle_client_is_told_421_at_the_command_timeout(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url, smtp_command_timeout_seconds=0.3)
    sock = open_idle(ingress.port)
    try:
        sock.sendall(b"MAIL FROM:<a@example.jp")  # half a command is not a command
        assert read_reply(sock) == b"421 4.4.2 Timeout, closing connection\r\n"
        assert sock.recv(1) == b""
    finally:
        sock.close()


def test_a_polite_peer_waits_once_and_an_early_one_stores_nothing(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url, smtp_greet_delay_seconds=0.5)
    began = time.monotonic()
    queued_id(deliver(ingress.port))
    assert time.monotonic() - began >= 0.5  # the first connection waited for the greeting
    assert ingress.server.peers.delay_for("127.0.0.1") == 0  # remembered: no delay now
    queued_id(deliver(ingress.port))
    assert len(rows(sqlite_url)) == 2


def test_long_lines_and_lf_only_are_flagged_and_the_worker_keeps_the_note(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url)
    message = b"Subject: two long lines\n\n" + b"y" * 1200 + b"\n" + b"short\n" + b"z" * 3000 + b"\r\n"
    queued_id(deliver(ingress.port, message))
    [row] = rows(sqlite_url)
    assert row.raw == message
    assert row.has_bare_line_ends is True
    assert row.notes == [
        "smtp: 2 lines over 998 octets (RFC 5322), the longest 3000 octets; stored as received"
    ]
    assert received_notes([*row.notes, "a worker note"]) == row.notes


def test_a_message_at_the_size_limit_with_long_lines_is_stored(
    sqlite_url: str, make_ingress: MakeIngress
) -> None:
    ingress = make_ingress(sqlite_url, max_message_bytes=300_000)
    message = (b"a" * 99_998 + b"\n") * 3
    assert len(message) <= 300_000
    queued_id(deliver(ingress.port, message + b"\r\n"))
    assert deliver(ingress.port, b"x" * 300_001 + b"\r\n")[0] == 552
    assert [row.size for row in rows(sqlite_url)] == [len(message) + 2]


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
    ],
)
def test_a_peer_is_an_ipv4_address_or_an_ipv6_64(host: str, key: str) -> None:
    policy = PeerPolicy(max_connections=10, per_peer=1, trusted=parse_networks(["10.0.0.0/8"]))
    assert policy.key(host) == key
    assert policy.admit(host) is None
    assert policy.admit(host) == "peer"
    policy.release(host)
    assert policy.admit(host) is None
    assert policy.is_trusted("::ffff:10.1.2.3") and policy.admit("10.1.2.3") is None


def test_a_bad_trusted_peer_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"'example\.com' is not an IP address or network"):
        parse_networks(["10.0.0.0/8", "example.com"])
