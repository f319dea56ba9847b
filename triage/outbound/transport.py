"""Hand one composed reply to the SMTP relay, and say how it went (autoreply.md §4).

:class:`SmtpTransport` speaks to ``settings.relay`` with smtplib: optional STARTTLS and login, the
null reverse path allowed, the SMTP transaction step by step so that the one uncertain moment
(after the end of data, before the answer) is known. Outcomes are exceptions from
``triage.errors``: transient (try again), permanent (``5xx``), uncertain (the relay may have
it: sent again later with the same Message-ID, at least once).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from typing import Final, Protocol

from triage.config import Settings
from triage.errors import (
    ConfigError,
    PermanentSendError,
    SendError,
    TransientSendError,
    UncertainSendError,
)
from triage.outbound.compose import address_problem

REPLY_TEXT_MAX: Final = 500
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class ReplyTransport(Protocol):
    """Hands one composed reply to the relay; raises TransientSendError or PermanentSendError."""

    def send(self, mail_from: str, to_addr: str, raw: bytes) -> None: ...


def _reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(f"{code} {_CONTROL.sub(' ', text)}".split())[:REPLY_TEXT_MAX]


def _classified(code: int, message: bytes | str) -> SendError:
    text = _reply_text(code, message)
    if 500 <= code <= 599:
        return PermanentSendError(text)
    return TransientSendError(text)


class SmtpTransport:
    """smtplib to ``settings.relay``: optional STARTTLS and login, the null reverse path allowed.

    Problems before MAIL FROM (connect, greeting, EHLO, STARTTLS, AUTH) are about our session,
    not the reply, so they are transient whatever their code. From MAIL FROM on, ``5xx`` is
    permanent and everything else transient.
    """

    def __init__(self, settings: Settings) -> None:
        if settings.reply_envelope_from and address_problem(settings.reply_envelope_from) is not None:
            raise ConfigError("the reply envelope sender is not a valid address")
        if (
            settings.relay_username
            and not settings.relay_starttls
            and settings.relay is not None
            and settings.relay[0] not in {"127.0.0.1", "::1", "localhost"}
        ):
            raise ConfigError(
                "TRIAGE_RELAY_USERNAME needs TRIAGE_RELAY_STARTTLS=true: the password is never sent in clear"
            )
        self._relay = settings.relay
        self._starttls = settings.relay_starttls
        self._username = settings.relay_username
        self._password = settings.relay_password
        self._ca_file = settings.relay_ca_file
        self._timeout = settings.sender_timeout_seconds
        self._client: smtplib.SMTP | None = None

    def send(self, mail_from: str, to_addr: str, raw: bytes) -> None:
        """One SMTP transaction; the connection stays open for the next reply until :meth:`close`.

        A kept connection the relay has closed meanwhile (or that it refuses at MAIL FROM with a
        4xx, e.g. a per-session message limit) is replaced by a new one once: nothing had been
        handed over on it.
        """
        problem = address_problem(to_addr)
        if problem is not None:
            raise PermanentSendError(f"not sent: recipient {problem}")
        if mail_from and address_problem(mail_from) is not None:
            raise PermanentSendError("not sent: envelope sender is not a valid address")
        if self._client is not None:
            try:
                _transaction(self._client, mail_from, to_addr, raw)
            except _NotStarted:
                self.close()  # stale: a fresh connection below
            except SendError:
                self.close()
                raise
            else:
                return
        self._client = self._connect()
        try:
            _transaction(self._client, mail_from, to_addr, raw)
        except SendError:
            self.close()
            raise

    def close(self) -> None:
        """QUIT the kept connection, if any (the sender calls this when a pass ends)."""
        client, self._client = self._client, None
        if client is not None:
            _quit_quietly(client)

    def _connect(self) -> smtplib.SMTP:
        if self._relay is None:
            raise TransientSendError("no relay configured")
        host, port = self._relay
        client: smtplib.SMTP | None = None
        try:
            client = smtplib.SMTP(host, port, timeout=self._timeout)
            client.ehlo()
            if self._starttls:
                client.starttls(context=ssl.create_default_context(cafile=self._ca_file or None))
                client.ehlo()
            if self._username:
                client.login(self._username, self._password)
        except smtplib.SMTPResponseException as exc:
            if client is not None:
                _quit_quietly(client)
            raise TransientSendError(f"relay session: {_reply_text(exc.smtp_code, exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            if client is not None:
                _quit_quietly(client)
            raise TransientSendError(f"relay unreachable ({type(exc).__name__})") from exc
        return client


class _NotStarted(TransientSendError):
    """MAIL FROM failed with a 4xx or a lost connection: nothing of this reply reached the relay."""


def _dot_stuffed(raw: bytes) -> bytes:
    """DATA payload: leading dots doubled, CRLF at the end, then the end-of-data line."""
    payload = re.sub(rb"(?m)^\.", b"..", raw)
    if not payload.endswith(b"\r\n"):
        payload += b"\r\n"
    return payload + b".\r\n"


def _transaction(client: smtplib.SMTP, mail_from: str, to_addr: str, raw: bytes) -> None:
    """MAIL, RCPT, DATA step by step, so that the one uncertain moment is known.

    Until the end-of-data line has been sent, a lost connection means the relay has nothing:
    transient, try again. After it, a lost answer means the relay may have taken the reply:
    :class:`UncertainSendError` (the sender sends it again with the same Message-ID: at least
    once). smtplib's ``sendmail`` cannot tell the two apart.
    """
    try:
        code, text = client.mail(mail_from)
    except (smtplib.SMTPException, OSError) as exc:
        raise _NotStarted(f"relay connection lost ({type(exc).__name__})") from exc
    if 400 <= code <= 499:
        raise _NotStarted(_reply_text(code, text))
    try:
        if code != 250:
            raise _classified(code, text)
        code, text = client.rcpt(to_addr)
        if code not in (250, 251):
            raise _classified(code, text)
        code, text = client.docmd("DATA")
        if code != 354:
            raise _classified(code, text)
        client.send(_dot_stuffed(raw))
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"relay connection lost ({type(exc).__name__})") from exc
    try:
        code, text = client.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        raise UncertainSendError(
            f"relay connection lost after the whole reply was sent ({type(exc).__name__}): "
            "the relay may have accepted it; sent again with the same Message-ID (at least once)"
        ) from exc
    if code != 250:
        raise _classified(code, text)


def _quit_quietly(client: smtplib.SMTP) -> None:
    """QUIT after the outcome is known: a failure here changes nothing about the delivery."""
    try:
        if client.sock is not None:
            client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
