"""The aiosmtpd handler: recipient policy, one committed store, constant failure replies.

It parses nothing (ingress.md). Replies are module constants; a failure of ours is always a
4xx with a fixed text, never 5xx and never an exception message. Logs carry no body and no
address unmasked: row ids, sizes, counts, error class names, masked refused recipients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final, Protocol

from triage.errors import ConfigError, StoreUnavailable
from triage.ingress.batch import BatchWriter
from triage.ingress.peers import peer_host
from triage.ingress.spool import Received, Spool
from triage.ingress.store import NewInbound, StorageFull
from triage.masking import mask_email

log = logging.getLogger(__name__)

MAILBOX_PREFIX: Final = "secure_"
NULL_REVERSE_PATH: Final = "<>"

REPLY_SENDER_OK: Final = "250 2.1.0 OK"
REPLY_SENDER_SYNTAX: Final = "553 5.1.7 Sender address is not valid UTF-8"
REPLY_RECIPIENT_OK: Final = "250 2.1.5 OK"
REPLY_UNKNOWN_RECIPIENT: Final = "550 5.1.1 Recipient address rejected"
REPLY_TOO_MANY_RECIPIENTS: Final = "452 4.5.3 Too many recipients"
REPLY_QUEUED: Final = "250 2.0.0 Queued as {row_id}"
REPLY_TEMPORARY_FAILURE: Final = "451 4.3.0 Temporary failure, please retry"
REPLY_STORAGE_FULL: Final = "452 4.3.1 Insufficient system storage"


class MessageStore(Protocol):
    """What the handler needs from :class:`triage.ingress.store.InboundStore`."""

    @property
    def writers(self) -> int: ...

    def insert_many(self, messages: list[NewInbound]) -> list[int | Exception]: ...


def format_peer(peer: Any) -> str:
    """``host:port`` (``[v6]:port``) for a TCP peer; other peers as their string."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), peer[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "" if peer is None else str(peer)


def _is_utf8(text: str) -> bool:
    # aiosmtpd decodes command arguments as UTF-8 with surrogateescape: undecodable bytes
    # survive as lone surrogates, which no database column can take.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(error: BaseException) -> str:
    """The error's class and where it was raised: never its message (it may quote data)."""
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
    return f"{type(error).__module__}.{type(error).__qualname__}{where}"


def _in_memory(raw: bytes | None) -> Received:
    """A message handed over the aiosmtpd way (``original_content``), as a :class:`Received`."""
    spool = Spool(threshold=len(raw or b"") + 1)
    spool.write(raw or b"")
    return spool.finish()


class IngressHandler:
    """aiosmtpd hooks: ``handle_MAIL``, ``handle_RCPT``, ``handle_DATA``, ``handle_exception``."""

    def __init__(
        self,
        store: MessageStore,
        mailboxes: Iterable[str],
        *,
        accepted_domains: Iterable[str] = (),
        max_recipients: int = 100,
    ) -> None:
        names = frozenset(name.strip().lower() for name in mailboxes)
        strays = sorted(name for name in names if not name.startswith(MAILBOX_PREFIX) or not name.isascii())
        if strays:
            raise ConfigError(f"ingress mailboxes must be ASCII and start with {MAILBOX_PREFIX!r}: {strays}")
        if max_recipients < 1:
            raise ConfigError(f"max_recipients must be at least 1, not {max_recipients}")
        self.store = store
        self.mailboxes: frozenset[str] = names
        self.accepted_domains: frozenset[str] = frozenset(
            domain.strip().lower().rstrip(".") for domain in accepted_domains if domain.strip()
        )
        self.max_recipients = max_recipients
        self.writer = BatchWriter(store, writers=store.writers)

    def accepts(self, address: str) -> bool:
        """A configured ``secure_*`` local part (ASCII case-insensitive) on an accepted domain.

        Only ASCII addresses are ours: ``str.lower`` turns a KELVIN SIGN into ``k`` and leaves
        full-width letters and IDN domains alone, so a look-alike would open a case that no
        reply can ever answer (issue 12 row 7).
        """
        local, at, domain = address.rpartition("@")
        if not at or not address.isascii():
            return False
        if local.lower() not in self.mailboxes:
            return False
        return not self.accepted_domains or domain.lower().rstrip(".") in self.accepted_domains

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not _is_utf8(address):
            return REPLY_SENDER_SYNTAX
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return REPLY_SENDER_OK

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.accepts(address):
            log.info(
                "ingress refused recipient %s from %s: not one of our mailboxes (550)",
                mask_email(address if _is_utf8(address) else address.encode("utf-8", "replace").decode()),
                peer_host(session.peer),
            )
            return REPLY_UNKNOWN_RECIPIENT
        if any(address.lower() == known.lower() for known in envelope.rcpt_tos):
            return REPLY_RECIPIENT_OK  # the same recipient twice is one recipient
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return REPLY_TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return REPLY_RECIPIENT_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        received: Received = getattr(envelope, "received", None) or _in_memory(envelope.original_content)
        message = NewInbound(
            received.read if received.on_disk else received.read(),  # a file is read in the writer
            "" if envelope.mail_from in (None, NULL_REVERSE_PATH) else envelope.mail_from,
            list(envelope.rcpt_tos),
            format_peer(session.peer),
            session.host_name,
            bool(envelope.smtp_utf8),
            mail_options=list(envelope.mail_options),
            tls=session.ssl is not None,
            sha256=received.sha256,
            bare_line_ends=received.bare_line_ends,
            notes=list(received.notes),
        )
        try:
            row_id = await self.writer.store(message, received.size)
        except StorageFull as exc:
            log.error("ingress store full (%s, %d octets): answered 452", exc, received.size)
            return REPLY_STORAGE_FULL
        except StoreUnavailable as exc:  # its text names only the error class and code
            log.error("ingress store unavailable (%s, %d octets): answered 451", exc, received.size)
            return REPLY_TEMPORARY_FAILURE
        except Exception as exc:
            log.error("ingress store failed (%s, %d octets): answered 451", _describe(exc), received.size)
            return REPLY_TEMPORARY_FAILURE
        log.info("ingress stored inbound message %d (%d octets)", row_id, received.size)
        return REPLY_QUEUED.format(row_id=row_id)

    async def handle_exception(self, error: Exception) -> str:
        # Must never raise: aiosmtpd would then answer "500 Error: (Type) text".
        log.error("ingress SMTP session error (%s): answered 451", _describe(error))
        return REPLY_TEMPORARY_FAILURE
