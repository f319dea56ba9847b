"""Compose a rendered reply into the RFC 5322 bytes the sender will hand to the relay.

Every field is set through :class:`email.message.EmailMessage` (security.md §5), with the RFC 3834
fields of autoreply.md §2. Whatever reaches a header is checked for CR, LF, NUL and the other
characters Python's folder treats as line breaks, before and after the header parser has decoded
RFC 2047 words (CPython before 3.11.10 turns ``=?utf-8?q?=0D=0A?=`` in a value set through the API
into a real line break: CVE-2024-6923). The serialised bytes are parsed back and their header
names and counts compared with what was built; any surprise is a :class:`ComposeError` and the
reply is not sent; only the header block is parsed back (see :func:`_check_round_trip`). Error
messages name the fault, never the value (they reach logs and cases).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import functools
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import Policy, compat32
from email.utils import getaddresses
from typing import Any, Final

from triage.engine.emails import CARRIER_DOMAINS
from triage.errors import ComposeError
from triage.outbound.render import RenderedReply

#: Marks a subject as sent automatically (RFC 3834 §3.1.5), by reply language.
AUTO_PREFIXES: Final = {"ja": "【自動送信】", "en": "Auto: "}
DEFAULT_AUTO_PREFIX: Final = "Auto: "
#: Echoed text (subject, display names) is cut to this many characters.
ECHO_MAX: Final = 120
#: How many of the member's References are kept (their Message-ID is added after them).
REFERENCES_KEPT: Final = 10
MESSAGE_ID_MAX: Final = 250
LOOP_ID_MAX: Final = 64

# CR, LF, NUL and every other character str.splitlines() (and so the header folder) breaks on,
# plus the remaining C0/C1 controls and DEL.
_HEADER_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ATEXT: Final = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_DOT_ATOM_LOCAL: Final = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
# Legacy docomo/au local parts: dots anywhere ("taro..yamada", "taro.") on carrier domains only.
_CARRIER_LOCAL: Final = re.compile(rf"[{_ATEXT}.]+")
_LABEL: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A msg-id between the brackets: dot-atom text, "@", dot-atom text or a [literal]; ASCII only.
_MSGID_CHARS: Final = rf"{_ATEXT}.\[\]:"
_MSGID_INNER: Final = re.compile(rf"[{_MSGID_CHARS}]+@[{_MSGID_CHARS}]+")
_TRAILING_ANGLE: Final = re.compile(r"^(.*)<([^<>]*)>\s*$", re.DOTALL)


class _MessageIdList(BaseHeader):
    """Header mixin for In-Reply-To and References: ids kept verbatim, folded only between ids.

    The stdlib treats these fields as unstructured text and RFC 2047-encodes any id longer than
    a line (``=?utf-8?q?=3Cid=40host=3E?=``), which breaks threading in the member's client.
    Values come from :func:`_clean_ids` only (validated ASCII msg-ids), never raw text.
    """

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["decoded"] = " ".join(value.split())
        kwds["parse_tree"] = None

    def fold(self, *, policy: Policy) -> str:
        name = self.name
        limit = policy.max_line_length or 998
        lines: list[str] = []
        line = f"{name}:"
        for token in str(self).split():
            if line != f"{name}:" and len(line) + 1 + len(token) > limit:
                lines.append(line)
                line = ""
            line += f" {token}"
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


class _Registry(HeaderRegistry):
    """The stdlib registry makes a new header class on every lookup; this one makes each once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


def _registry() -> HeaderRegistry:
    registry = _Registry()
    registry.map_to_type("in-reply-to", _MessageIdList)
    registry.map_to_type("references", _MessageIdList)
    return registry


# 7-bit output: RFC 2047 headers, base64 or quoted-printable body, CRLF line ends.
POLICY: Final = email.policy.SMTP.clone(header_factory=_registry(), utf8=False, max_line_length=78)
# A line break inside a folded header (CRLF then white space) and a CR or LF anywhere else.
_FOLD: Final = re.compile(r"\r\n(?=[ \t])")
_BARE_LINE_END: Final = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def header_safe(text: str, cap: int = ECHO_MAX) -> str:
    """``text`` with line breaks and controls replaced by spaces, runs collapsed, cut to ``cap``."""
    return " ".join(_HEADER_UNSAFE.sub(" ", text).split())[:cap]


def address_problem(addr: object) -> str | None:
    """Why ``addr`` is not one plain, syntactically valid ASCII address; None when it is.

    No display name, brackets, spaces, controls, quoting, comments or address literals; a
    dot-atom local part (carrier domains may keep their legacy dots) and a host name domain.
    The answer never contains the address.
    """
    if not isinstance(addr, str) or not addr:
        return "is empty"
    if len(addr) > 254:
        return "is too long"
    if _HEADER_UNSAFE.search(addr) or any(ch.isspace() for ch in addr):
        return "contains a space or a control character"
    if not addr.isascii():
        return "is not ASCII"
    if "<" in addr or ">" in addr:
        return "contains angle brackets"
    if addr.count("@") != 1:
        return "does not contain exactly one @"
    local, _, domain = addr.partition("@")
    if not local or len(local) > 64:
        return "has an empty or too long local part"
    pattern = _CARRIER_LOCAL if domain.lower() in CARRIER_DOMAINS else _DOT_ATOM_LOCAL
    if not pattern.fullmatch(local) or "=?" in local:
        return "has an invalid local part"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return "has an invalid domain"
    return None


def new_message_id(outbox_id: int, our_domain: str) -> str:
    """``r.{id}.{random}@{domain}``, without angle brackets (autoreply.md §2)."""
    domain = our_domain.strip().lower()
    if address_problem(f"r@{domain}") is not None:
        raise ComposeError("our domain is not a valid domain for a Message-ID")
    return f"r.{int(outbox_id)}.{secrets.token_urlsafe(8)}@{domain}"


def _bare_id(value: str) -> str | None:
    """A msg-id without brackets if it is a plain ASCII one that fits in a header, else None."""
    inner = value.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if len(inner) > MESSAGE_ID_MAX or "=?" in inner or not _MSGID_INNER.fullmatch(inner):
        return None
    return inner


def _clean_ids(in_reply_to: str | None, references: Sequence[str]) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References): the last ten distinct references, then the member's Message-ID."""
    parent = _bare_id(in_reply_to) if in_reply_to else None
    seen: set[str] = set()
    refs: list[str] = []
    for value in reversed(list(references)):
        bare = _bare_id(value)
        if bare is None or bare == parent or bare in seen:
            continue
        seen.add(bare)
        refs.append(bare)
        if len(refs) == REFERENCES_KEPT:
            break
    refs.reverse()
    if parent is not None:
        refs.append(parent)
    return parent, refs


def _auto_subject(subject: str, language: str) -> str:
    prefix = AUTO_PREFIXES.get(language, DEFAULT_AUTO_PREFIX)
    text = header_safe(subject)
    if text.startswith(prefix.strip()):
        return text
    return f"{prefix}{text}"


def _set_text(msg: EmailMessage, name: str, value: str) -> None:
    """Set an unstructured field; re-clean until the header parser leaves the value unchanged.

    The parser decodes RFC 2047 words in values set through the API, so text that looked clean
    can carry a line break after decoding; the decoded value is cleaned and set again.
    """
    wanted = header_safe(value, cap=ECHO_MAX + 16)
    for _ in range(3):
        del msg[name]
        msg[name] = wanted
        got = str(msg[name])
        if got == wanted:
            return
        wanted = header_safe(got, cap=ECHO_MAX + 16)
    raise ComposeError(f"{name} changes when parsed (nested encoded words)")


def _from_mailbox(value: str) -> tuple[str, str]:
    """(display name, address) of the reply's From: ``addr`` or ``Display <addr>``."""
    match = _TRAILING_ANGLE.match(value)
    if match is None:
        return "", value
    display = header_safe(match.group(1)).strip().strip('"').strip()
    return display, match.group(2)


def _set_from(msg: EmailMessage, value: str) -> str:
    display, addr = _from_mailbox(value)
    problem = address_problem(addr)
    if problem is not None:
        raise ComposeError(f"From address {problem}")
    if display:
        try:
            msg["From"] = Address(display_name=display, addr_spec=addr)
        except (ValueError, IndexError, HeaderParseError):
            del msg["From"]
            msg["From"] = addr
            return addr
        header = msg["From"]
        got: Sequence[Address] = getattr(header, "addresses", ())
        if (
            len(got) == 1
            and got[0].addr_spec == addr
            and not _HEADER_UNSAFE.search(got[0].display_name)
            and "=?" not in got[0].display_name
        ):
            return addr
        del msg["From"]  # the display name did not survive parsing as given: drop it
    msg["From"] = addr
    return addr


@functools.lru_cache(maxsize=256)
def _from_header(value: str) -> tuple[str, str]:
    """(the From header as set, its address): one per desk and language, so made once each.

    Header objects are immutable strings: the one made here is set on every reply as it is.
    """
    scratch = EmailMessage(policy=POLICY)
    addr = _set_from(scratch, value)
    return scratch["From"], addr


@functools.lru_cache(maxsize=64)
def _fixed_header(name: str, value: str) -> str:
    """A header whose value is the same on every reply (the loop id, the RFC 3834 fields)."""
    scratch = EmailMessage(policy=POLICY)
    _set_text(scratch, name, value)
    header: str = scratch[name]
    return header


def compose(
    reply: RenderedReply,
    *,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    instance_id: str,
    date: dt.datetime,
) -> bytes:
    """The reply as RFC 5322 bytes (7-bit, CRLF); :class:`ComposeError` if it cannot be made safe."""
    problem = address_problem(reply.to)
    if problem is not None:
        raise ComposeError(f"recipient {problem}")
    own_id = _bare_id(message_id)
    if own_id is None or own_id != message_id:
        raise ComposeError("Message-ID is not a plain msg-id without brackets")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ComposeError("Date must be timezone-aware")
    loop_id = header_safe(instance_id, cap=LOOP_ID_MAX)
    if not loop_id:
        raise ComposeError("instance id is empty")
    parent, refs = _clean_ids(in_reply_to, references)

    msg = EmailMessage(policy=POLICY)
    from_header, from_addr = _from_header(reply.from_mailbox)
    msg["From"] = from_header
    msg["To"] = reply.to
    _set_text(msg, "Subject", _auto_subject(reply.subject, reply.language))
    msg["Date"] = date
    msg["Message-ID"] = f"<{own_id}>"
    if parent is not None:
        msg["In-Reply-To"] = f"<{parent}>"
    if refs:
        msg["References"] = " ".join(f"<{ref}>" for ref in refs)
    msg["Auto-Submitted"] = _fixed_header("Auto-Submitted", "auto-replied")
    msg["X-Auto-Response-Suppress"] = _fixed_header("X-Auto-Response-Suppress", "All")
    msg["X-Triage-Loop"] = _fixed_header("X-Triage-Loop", loop_id)
    body = reply.body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    cte = "quoted-printable" if body.isascii() else "base64"
    msg.set_content(body, subtype="plain", charset="utf-8", cte=cte)

    raw = msg.as_bytes(policy=POLICY)
    _check_round_trip(msg, raw, to_addr=reply.to, from_addr=from_addr, message_id=own_id)
    return raw


def _check_round_trip(
    built: EmailMessage, raw: bytes, *, to_addr: str, from_addr: str, message_id: str
) -> None:
    """Parse the header block of ``raw`` back: same header names and counts, one recipient,
    nothing unsafe once folding is undone and RFC 2047 words are decoded.

    Only the headers are parsed again (they are what a hostile value could break; the body is
    the stdlib's base64 or quoted-printable of text we rendered), with the plain compat32 parser
    and the decoders a receiving client uses: a fraction of the cost of parsing the whole message
    with header objects, which was most of the time of composing a reply.
    """
    if not raw.isascii():
        raise ComposeError("serialised reply is not 7-bit")
    if _BARE_LINE_END.search(raw):
        raise ComposeError("serialised reply has a bare CR or LF")
    head, separator, _ = raw.partition(b"\r\n\r\n")
    if not separator:
        raise ComposeError("serialised reply has no end of its header block")
    back = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    if back.defects:
        raise ComposeError("serialised reply has structural defects")
    expected = Counter(name.lower() for name in built.keys())  # noqa: SIM118 - a Message, not a dict
    if Counter(name.lower() for name in back.keys()) != expected:  # noqa: SIM118
        raise ComposeError("header names or counts changed in serialisation")
    values: dict[str, str] = {}
    for name, folded in back.items():
        value = _FOLD.sub("", str(folded))
        if _HEADER_UNSAFE.search(value) or _HEADER_UNSAFE.search(_decoded(value)):
            raise ComposeError(f"{name} holds a line break or control character after decoding")
        values[name.lower()] = value
    if [addr for _, addr in getaddresses([values.get("to", "")])] != [to_addr]:
        raise ComposeError("To does not parse back as the one recipient")
    if [addr for _, addr in getaddresses([values.get("from", "")])] != [from_addr]:
        raise ComposeError("From does not parse back as the mailbox")
    if values.get("message-id", "").strip() != f"<{message_id}>":
        raise ComposeError("Message-ID does not parse back unchanged")


def _decoded(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded, as a mail client shows it."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError) as exc:
        raise ComposeError("a header holds an encoded word that does not decode") from exc
