"""STARTTLS on the ingress (issue 12 item 7): a real TLS client on loopback, a certificate made here.

The self-signed certificate comes from the ``openssl`` command line (Debian's openssl package),
valid for ``ingress.test`` and 127.0.0.1; the clients verify it against itself as the CA.
"""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtpkit import MESSAGE, RCPT, SENDER, MakeIngress, ingress_factory, queued_id, read_reply, rows

from triage.config import Settings
from triage.errors import ConfigError
from triage.ingress.server import session_limits


@pytest.fixture
def make_ingress() -> Iterator[MakeIngress]:
    yield from ingress_factory()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make the test certificate (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=ingress.test", "-addext", "subjectAltName=DNS:ingress.test,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def client_context(cert: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert)  # verifies the chain and the address


def test_starttls_encrypts_the_session_and_the_row_says_so(
    sqlite_url: str, make_ingress: MakeIngress, certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    ingress = make_ingress(sqlite_url, tls_cert_file=cert, tls_key_file=key)
    with smtplib.SMTP("127.0.0.1", ingress.port, local_hostname="client.test", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert smtp.starttls(context=client_context(cert))[0] == 220
        smtp.ehlo()
        assert not smtp.has_extn("starttls")  # once is enough
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in {"TLSv1.2", "TLSv1.3"}
        smtp.mail(SENDER)
        smtp.rcpt(RCPT)
        row_id = queued_id(smtp.data(MESSAGE))
    [row] = rows(sqlite_url)
    assert (row.id, row.raw, row.tls) == (row_id, MESSAGE, True)


def test_plaintext_mail_is_still_accepted_when_tls_is_optional(
    sqlite_url: str, make_ingress: MakeIngress, certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    ingress = make_ingress(sqlite_url, tls_cert_file=cert, tls_key_file=key)
    with smtplib.SMTP("127.0.0.1", ingress.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail(SENDER)
        smtp.rcpt(RCPT)
        queued_id(smtp.data(MESSAGE))
    assert [row.tls for row in rows(sqlite_url)] == [False]


def test_required_tls_refuses_mail_before_starttls(
    sqlite_url: str, make_ingress: MakeIngress, certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    ingress = make_ingress(sqlite_url, tls_cert_file=cert, tls_key_file=key, tls_required=True)
    with smtplib.SMTP("127.0.0.1", ingress.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.mail(SENDER)[0] == 530
        smtp.starttls(context=client_context(cert))
        smtp.ehlo()
        assert smtp.mail(SENDER)[0] == 250
        smtp.rcpt(RCPT)
        queued_id(smtp.data(MESSAGE))
    assert [row.tls for row in rows(sqlite_url)] == [True]


def test_plaintext_pipelined_behind_starttls_is_discarded(
    sqlite_url: str, make_ingress: MakeIngress, certificate: tuple[str, str]
) -> None:
    """CVE-2024-34083: commands sent in the clear behind STARTTLS must not run inside TLS."""
    cert, key = certificate
    ingress = make_ingress(sqlite_url, tls_cert_file=cert, tls_key_file=key)
    raw = socket.create_connection(("127.0.0.1", ingress.port), timeout=10)
    try:
        assert read_reply(raw).startswith(b"220 ")
        raw.sendall(b"EHLO client.test\r\n")
        while not read_reply(raw).startswith(b"250 "):
            pass
        raw.sendall(f"STARTTLS\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{RCPT}>\r\n".encode())
        assert read_reply(raw).startswith(b"220 ")
        tls = client_context(cert).wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(b"NOOP\r\n")
        assert read_reply(tls).startswith(b"250 ")  # NOOP's answer: MAIL and RCPT never ran
        tls.sendall(b"RCPT TO:<secure_jo1@example.jp>\r\n")
        assert read_reply(tls).startswith(b"503 ")  # no MAIL transaction exists
        tls.close()
    finally:
        raw.close()
    assert rows(sqlite_url) == []


def test_tls_settings_are_checked_at_start(tmp_path: Path, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    with pytest.raises(ConfigError, match="set both or neither"):
        session_limits(Settings(tls_cert_file=cert))
    with pytest.raises(ConfigError, match="TRIAGE_TLS_KEY_FILE: no such file"):
        session_limits(Settings(tls_cert_file=cert, tls_key_file=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfigError, match="TRIAGE_TLS_REQUIRED needs"):
        session_limits(Settings(tls_required=True))
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("nothing here\n")
    with pytest.raises(ConfigError, match="cannot load the TLS certificate"):
        session_limits(Settings(tls_cert_file=cert, tls_key_file=str(not_a_key)))
    assert session_limits(Settings(tls_cert_file=cert, tls_key_file=key)).tls_context is not None
