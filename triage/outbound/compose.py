"""Compose a rendered reply into the RFC 5322 bytes the sender will hand to the relay.

7-bit, CRLF, with the RFC 3834 fields of autoreply.md §2. Every value is validated or cleaned
here first: the recipient is one plain ASCII address, msg-ids are plain ASCII ids, echoed text
(subject, display names) has CR, LF, NUL and every other character Python's folder treats as a
line break replaced, before and after the header parser has decoded RFC 2047 words (CPython
before 3.11.10 turns ``=?utf-8?q?=0D=0A?=`` in a value set through the API into a real line
break: CVE-2024-6923).

Two paths turn the clean values into bytes (issue 11: the stdlib's header objects and folding
were most of the cost of a reply):

- fast (:func:`_build_fast`): the fields the desk produces are built directly
  (:mod:`~triage.outbound.compose_fast`); the fields that are the same on every reply (From per
  desk, the RFC 3834 fields) are folded once by the stdlib and their bytes reused. It declines
  what it does not handle (a Subject holding ``=?``, text that is not valid Unicode, a
  Message-ID not of our own form), and those parts or the whole reply go the stdlib way.
- stdlib (:func:`_build_stdlib`): every field set through :class:`email.message.EmailMessage`
  (security.md §5). It is the reference: tests hold the fast path to it
  (``tests/outbound/test_compose_equivalence.py``) and ``bench/compose.py`` times both.

Whichever path made them, the bytes are parsed back (header block only,
:mod:`~triage.outbound.compose_check`): same header names and counts as were built, nothing
unsafe once folding is undone and encoded words decoded, one recipient; any surprise is a
:class:`ComposeError` and the reply is not sent. Error messages name the fault, never the value
(they reach logs and cases).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from triage.engine.emails import CARRIER_DOMAINS
from triage.errors import ComposeError
from triage.outbound.compose_check import check_round_trip
from triage.outbound.compose_fast import body_part, fold_ids, text_field
from triage.outbound.compose_policy import POLICY
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


def _folded(header: str) -> bytes:
    """A header object as the generator writes it (``fold`` of the 7-bit policy)."""
    fold = getattr(header, "fold", None)
    text = fold(policy=POLICY) if fold is not None else f"{header}{POLICY.linesep}"
    return str(text).encode("utf-8")  # anything not 7-bit is refused by the parse-back check


@functools.lru_cache(maxsize=256)
def _from_field(value: str) -> tuple[bytes, str]:
    """(the From field's bytes, its address): the stdlib's own folding, made once per desk."""
    header, addr = _from_header(value)
    return _folded(header), addr


@functools.lru_cache(maxsize=1024)
def _stdlib_text_field(name: str, text: str) -> bytes:
    """An unstructured field as the stdlib path makes it (for text the fast encoder declines)."""
    scratch = EmailMessage(policy=POLICY)
    _set_text(scratch, name, text)
    return _folded(scratch[name])


@functools.lru_cache(maxsize=64)
def _fixed_fields(loop_id: str) -> bytes:
    """Auto-Submitted, X-Auto-Response-Suppress and X-Triage-Loop: the same on every reply."""
    return b"".join(_folded(_fixed_header(name, value)) for name, value in _fixed_values(loop_id))


def _fixed_values(loop_id: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Triage-Loop", loop_id),
    )


# Our own msg-ids (new_message_id) are made of these; anything else goes the stdlib way.
_PLAIN_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
_LONGEST_ID_ON_LINE: Final = 78 - len("Message-ID: <>")  # longer ones the stdlib folds its own way


@dataclass(frozen=True, slots=True)
class _Reply:
    """A reply's values, validated and cleaned: what either path turns into bytes."""

    to: str
    from_mailbox: str
    subject: str
    message_id: str
    parent: str | None
    refs: list[str]
    loop_id: str
    date: dt.datetime
    body: str


def _prepare(
    reply: RenderedReply,
    *,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    instance_id: str,
    date: dt.datetime,
) -> _Reply:
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
    subject = header_safe(_auto_subject(reply.subject, reply.language), cap=ECHO_MAX + 16)
    body = reply.body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return _Reply(reply.to, reply.from_mailbox, subject, own_id, parent, refs, loop_id, date, body)


def _build_stdlib(r: _Reply) -> tuple[bytes, list[str], str]:
    """(bytes, field names, From address) through :class:`EmailMessage`: the reference path."""
    msg = EmailMessage(policy=POLICY)
    from_header, from_addr = _from_header(r.from_mailbox)
    msg["From"] = from_header
    msg["To"] = r.to
    _set_text(msg, "Subject", r.subject)
    msg["Date"] = r.date
    msg["Message-ID"] = f"<{r.message_id}>"
    if r.parent is not None:
        msg["In-Reply-To"] = f"<{r.parent}>"
    if r.refs:
        msg["References"] = " ".join(f"<{ref}>" for ref in r.refs)
    for name, value in _fixed_values(r.loop_id):
        msg[name] = _fixed_header(name, value)
    cte = "quoted-printable" if r.body.isascii() else "base64"
    msg.set_content(r.body, subtype="plain", charset="utf-8", cte=cte)
    return msg.as_bytes(policy=POLICY), list(msg.keys()), from_addr


_HEAD_NAMES: Final = ("From", "To", "Subject", "Date", "Message-ID")
_FIXED_NAMES: Final = ("Auto-Submitted", "X-Auto-Response-Suppress", "X-Triage-Loop")


def _build_fast(r: _Reply) -> tuple[bytes, list[str], str] | None:
    """The same reply with its fields built directly (compose_fast); None where it declines."""
    if not _PLAIN_ID_CHARS.issuperset(r.message_id) or len(r.message_id) > _LONGEST_ID_ON_LINE:
        return None
    try:
        content_names, content = body_part(r.body)
    except UnicodeEncodeError:
        return None
    subject = text_field("Subject", r.subject) or _stdlib_text_field("Subject", r.subject)
    from_field, from_addr = _from_field(r.from_mailbox)
    names = list(_HEAD_NAMES)
    parts = [
        from_field,
        f"To: {r.to}\r\n".encode("ascii"),
        subject,
        f"Date: {format_datetime(r.date)}\r\nMessage-ID: <{r.message_id}>\r\n".encode("ascii"),
    ]
    if r.parent is not None:
        names.append("In-Reply-To")
        parts.append(fold_ids("In-Reply-To", (f"<{r.parent}>",)).encode("ascii"))
    if r.refs:
        names.append("References")
        parts.append(fold_ids("References", [f"<{ref}>" for ref in r.refs]).encode("ascii"))
    names += _FIXED_NAMES
    parts.append(_fixed_fields(r.loop_id))
    names += content_names
    parts.append(content)
    return b"".join(parts), names, from_addr


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
    r = _prepare(
        reply,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        instance_id=instance_id,
        date=date,
    )
    built = _build_fast(r) or _build_stdlib(r)
    raw, names, from_addr = built
    check_round_trip(names, raw, to_addr=r.to, from_addr=from_addr, message_id=r.message_id)
    return raw


def compose_stdlib(
    reply: RenderedReply,
    *,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    instance_id: str,
    date: dt.datetime,
) -> bytes:
    """:func:`compose` through :class:`EmailMessage` only: the reference the fast path is held to
    (tests, ``bench/compose.py``)."""
    r = _prepare(
        reply,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        instance_id=instance_id,
        date=date,
    )
    raw, names, from_addr = _build_stdlib(r)
    check_round_trip(names, raw, to_addr=r.to, from_addr=from_addr, message_id=r.message_id)
    return raw
