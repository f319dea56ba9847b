"""The address of a MAIL FROM or RCPT TO command, read without the email header parser when it is
the plain shape nearly every client sends (`<local@domain>`, then parameters).

aiosmtpd reads it with the email package's header parser (``get_angle_addr``) and defines a
Protocol class on every call: together about a fifth of the ingress's CPU per message under
`smtp-source`. For an ASCII dot-atom local part and a dot-atom domain in angle brackets the
parser's answer is the text between the brackets and the rest after them, with leading blanks
removed; anything else (quoted local parts, comments, routes, `<>`, non-ASCII, odd dots) goes to
aiosmtpd's own reading. A hypothesis test holds the two to the same answers.
"""

from __future__ import annotations

from typing import Final

_ATEXT: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
_DOMAIN: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def _dot_atom(text: str, allowed: frozenset[str]) -> bool:
    return bool(text) and all(part and allowed.issuperset(part) for part in text.split("."))


def plain_address(arg: str, local_part_limit: int) -> tuple[str | None, str | None] | None:
    """aiosmtpd's ``(address, rest)`` for a plain ``<local@domain> params`` argument; None when
    the argument is not that plain shape (the caller then asks aiosmtpd)."""
    if not arg.startswith("<"):
        return None
    end = arg.find(">")
    if end < 0:
        return None
    address, rest = arg[1:end], arg[end + 1 :]
    local, at, domain = address.partition("@")
    if not at or not _dot_atom(local, _ATEXT) or not _dot_atom(domain, _DOMAIN):
        return None
    rest = rest.lstrip(" \t")
    if rest.startswith("("):
        return None  # a comment after the address: the parser's to read
    if local_part_limit and len(local) > local_part_limit:
        return None, None
    return address, rest
