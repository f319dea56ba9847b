"""STARTTLS for the ingress: a server context from the configured certificate and key.

Opportunistic by default (RFC 3207: a sending MTA encrypts when offered, and does not verify our
certificate); ``require`` refuses mail before STARTTLS (``530``). We never ask the client for a
certificate. aiosmtpd ≥ 1.4.6 discards plaintext pipelined behind STARTTLS (CVE-2024-34083).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from triage.errors import ConfigError


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS 1.2+ server context; a clear one-line error for a missing or unreadable pair."""
    for what, name in (("TRIAGE_TLS_CERT_FILE", cert_file), ("TRIAGE_TLS_KEY_FILE", key_file)):
        if not Path(name).is_file():
            raise ConfigError(f"{what}: no such file {name!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE  # SMTP clients do not present certificates to us
    try:
        context.load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load the TLS certificate {cert_file!r} with key {key_file!r}: {exc.strerror or exc}"
        ) from exc
    return context
