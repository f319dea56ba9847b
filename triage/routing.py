"""Which mailbox a mail is for (cli.md): `--to`/the envelope, else the first secure_* header address."""

from __future__ import annotations

from dataclasses import dataclass

from triage.parsing.addresses import parse_address_list
from triage.parsing.model import ParsedMail

ROUTING_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
MAILBOX_PREFIX = "secure_"


@dataclass(frozen=True)
class Route:
    recipient: str | None  # the address the mail was routed by
    mailbox: str | None  # the configured mailbox (lower-case local part), None = unknown_mailbox


def local_part(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[0].lower() if "@" in address else address.lower()


def is_secure_address(address: str) -> bool:
    return local_part(address).startswith(MAILBOX_PREFIX)


def header_recipient(mail: ParsedMail) -> str | None:
    """The first secure_* address among Delivered-To, X-Original-To, To and Cc, in that order."""
    for name in ROUTING_HEADERS:
        for value in mail.header_all(name):
            addresses, _ = parse_address_list(value)
            for address in addresses:
                if is_secure_address(address.addr):
                    return address.addr
    return None


def route(mail: ParsedMail, envelope_to: str | None, mailboxes: frozenset[str]) -> Route:
    recipient = envelope_to if envelope_to else header_recipient(mail)
    if recipient is None:
        return Route(recipient=None, mailbox=None)
    name = local_part(recipient)
    return Route(recipient=recipient, mailbox=name if name in mailboxes else None)
