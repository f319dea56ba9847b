"""Raw bytes -> ParsedMail. The only module that imports mail-parser.

mail-parser reads the structure (the compat32 MIME tree, the attachment list, defects) of every
mail with several parts, a defect or a file; a lone, clean text part (most phone mail) is read by
the stdlib tree alone, which is all mail-parser would walk there. Every piece of text (bodies,
Subject, display names) is decoded by triage's own charset layer, because mail-parser leaves
7bit ISO-2022-JP undecoded and wipes Shift_JIS bodies (parsing.md §1). Hostile input is bounded
before parsing: the header section, the whole message, the number of parts, the length of the
member's text.
"""

from __future__ import annotations

import dataclasses
import logging
from email.message import Message
from typing import Any

import mailparser
from mailparser.exceptions import MailParserError

from triage import textmatch
from triage.errors import ParseFailure
from triage.parsing.addresses import message_ids, parse_address_list, parse_from, parse_return_path
from triage.parsing.charsets import decode_bytes
from triage.parsing.emoji import note_sender, sender_scope
from triage.parsing.flowed import is_flowed, unflow
from triage.parsing.headers import decode_header
from triage.parsing.htmltext import html_to_text
from triage.parsing.model import Address, Attachment, ParsedMail, PartInfo
from triage.parsing.quotes import split_quoted
from triage.parsing.structure import DEFAULT_LIMITS, Limits, bound_bytes, read_structure

__all__ = ["DEFAULT_LIMITS", "Limits", "parse_mail"]

log = logging.getLogger(__name__)


# Characters dropped from an attachment's name: controls, zero-width and bidirectional marks.
_NAME_DROP = dict.fromkeys([*range(0x20), 0x7F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_NAME_DROP_DECODED = {**_NAME_DROP, **dict.fromkeys(range(0x200B, 0x2010))}
_CTE_ALIASES = {
    "quoted-printable": "quoted-printable",
    "quoted printable": "quoted-printable",
    "quotedprintable": "quoted-printable",
    "qp": "quoted-printable",
    "base64": "base64",
    "7bit": "7bit",
    "7-bit": "7bit",
    "8bit": "8bit",
    "8bits": "8bit",
    "8-bit": "8bit",
    "binary": "binary",
    "plain": "7bit",
    "": "7bit",
}
_ADDRESS_HEADERS = ("to", "cc")
_ADDRESS_FIELDS = 2  # of each: with ADDRESS_CHARS per field, the stdlib parser's time is bounded


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    return [(name, value if isinstance(value, str) else str(value)) for name, value in msg.raw_items()]


def _transfer_encoding(part: Message) -> str:
    raw = part.get("Content-Transfer-Encoding")
    token = (str(raw) if raw is not None else "").strip().strip(";").strip().lower()
    return _CTE_ALIASES.get(token, token)


def _payload_bytes(part: Message) -> bytes:
    """Decoded payload bytes, tolerating the broken transfer-encoding tokens seen in the wild."""
    cte = _transfer_encoding(part)
    if (
        cte in ("quoted-printable", "base64")
        and str(part.get("Content-Transfer-Encoding", "")).strip().lower() != cte
    ):
        # Normalise e.g. "quoted printable" or "quoted-printable;" so the stdlib decodes it.
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = cte
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("ascii", "surrogateescape")
    return b""


def _charset_label(part: Message) -> str | None:
    try:
        label = part.get_param("charset")
    except (ValueError, UnicodeError, IndexError):
        return None
    if isinstance(label, tuple):  # RFC 2231 form
        label = label[2]
    return str(label).strip() if label else None


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    try:
        return bool(part.get_param("filename", header="content-disposition") or part.get_param("name"))
    except (ValueError, UnicodeError, IndexError):
        return True


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (
        ValueError,
        UnicodeError,
        LookupError,
        IndexError,
    ):  # RFC 2231 split mid-character (cpython#132794)
        return "(undecodable name)"
    if not name:
        return None
    if "\ufffd" in name:  # raw 8-bit bytes, which compat32 replaced: read them as a header is read
        name = _raw_8bit_filename(part) or name
    decoded = decode_header(name) if "=?" in name else name
    cleaned = decoded.translate(_NAME_DROP_DECODED)
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return cleaned[:200] or None


def _raw_8bit_filename(part: Message) -> str | None:
    """The file name of a part whose parameter holds raw 8-bit bytes (a UTF-8 or Shift_JIS name
    written without RFC 2047/2231), decoded like any raw header value."""
    retry = Message()
    for header in ("content-disposition", "content-type"):
        raw = next((str(value) for key, value in part.raw_items() if key.lower() == header), None)
        if raw is not None:
            retry[header] = decode_header(raw)
    try:
        return retry.get_filename()
    except (ValueError, UnicodeError, LookupError, IndexError):
        return None


def _walk(msg: Message, limits: Limits, defects: list[str]) -> list[tuple[str, Message]]:
    """Leaves of the tree with their positions, depth-first, capped in count."""
    leaves: list[tuple[str, Message]] = []
    stack: list[tuple[str, Message]] = [("", msg)]
    seen = 0
    while stack:
        path, part = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            defects.append(f"TooManyParts: listing stopped after {limits.max_parts} parts")
            break
        ctype = part.get_content_type().lower()
        if ctype.startswith("message/") and path:
            leaves.append((path, part))  # forwarded mail or a report part: listed, never read for values
            continue
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                for index in range(len(children) - 1, -1, -1):
                    child = children[index]
                    if isinstance(child, Message):
                        stack.append((f"{path}.{index + 1}" if path else str(index + 1), child))
            continue
        leaves.append((path, part))
    return leaves


def _decode_part(part: Message, charset: str | None) -> tuple[str, str, int]:
    data = _payload_bytes(part)
    text, how = decode_bytes(data, charset)
    return text, how, len(data)


def parse_mail(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMail:
    """Parse raw mail bytes. Raises ParseFailure only when the structure cannot be walked at all.

    The sender's phone carrier (From domain) picks the carrier emoji table for the Subject and
    the bodies (`triage.parsing.emoji`). Runs inside the reading budget of the mail
    (`textmatch.reading`, opened here when the caller has not opened one); a step that gave up on
    its time limit is listed in the defects.
    """
    with sender_scope(), textmatch.reading() as budget:
        before = len(budget.timeouts)
        mail = _parse(raw, limits)
        gave_up = budget.timeouts[before:]
    if not gave_up:
        return mail
    notes = tuple(f"ReadingTimeLimit: {step}" for step in gave_up)
    return dataclasses.replace(mail, defects=tuple(dict.fromkeys((*mail.defects, *notes))))


def _plain_single_part(structure: Message) -> bool:
    return (
        not structure.is_multipart()
        and structure.get_content_maintype() == "text"
        and not structure.defects
        and structure.get_content_disposition() is None
        and structure.get_filename() is None
    )


def _mail_parser(structure: Message, defects: list[str]) -> tuple[Message | None, list[str], list[Any]]:
    """mail-parser's reading of the tree: its message, defect categories and attachment list."""
    try:
        parser = mailparser.MailParser(structure)
        msg = parser.message
        mp_defects = list(parser.defects_categories)
        mp_attachments = parser.attachments
    except MailParserError as exc:
        raise ParseFailure(f"MIME structure cannot be parsed: {exc}") from exc
    except RecursionError as exc:
        raise ParseFailure("MIME nesting too deep to parse") from exc
    except (AttributeError, TypeError, ValueError, IndexError, LookupError) as exc:
        # mail-parser's own post-processing crashed (e.g. its epilogue search on a report whose
        # boundary it could not find): read the structure with the stdlib alone.
        defects.append(f"MailParserCrashed: {type(exc).__name__}")
        msg = structure
        mp_defects = [type(defect).__name__ for part in msg.walk() for defect in part.defects]
        mp_attachments = []
    return msg, mp_defects, mp_attachments


def _parse(raw: bytes, limits: Limits) -> ParsedMail:
    defects: list[str] = []
    raw = bound_bytes(raw, limits, defects)
    try:
        structure = read_structure(raw, defects)
    except RecursionError as exc:
        raise ParseFailure("MIME nesting too deep to parse") from exc
    msg: Message | None = structure
    mp_defects: list[str] = []
    mp_attachments: list[Any] = []
    if not _plain_single_part(structure):
        # One text part, no defects, no file: mail-parser would walk the same single node and add
        # nothing (no attachment, no defect category) at half a millisecond per mail.
        msg, mp_defects, mp_attachments = _mail_parser(structure, defects)
    if msg is None:
        msg = structure
    defects.extend(sorted(str(category) for category in mp_defects))

    raw_items = _raw_headers(msg)
    if len(raw_items) > limits.max_headers:
        defects.append(f"TooManyHeaders: {len(raw_items)} header fields, the first {limits.max_headers} kept")
        raw_items = raw_items[: limits.max_headers]

    by_name: dict[str, list[str]] = {}  # lower-cased name -> every value, in order
    for key, value in raw_items:
        by_name.setdefault(key.lower(), []).append(value)

    def raw_first(name: str) -> str | None:
        values = by_name.get(name.lower())
        return values[0] if values else None

    def raw_all(name: str) -> list[str]:
        return list(by_name.get(name.lower(), ()))

    from_raw = raw_first("From")
    from_addr, from_ambiguous = parse_from(from_raw) if from_raw is not None else (None, True)
    if len(raw_all("From")) > 1:
        from_ambiguous = True
    note_sender(from_addr.addr if from_addr is not None else None)
    headers = tuple((name, decode_header(value)) for name, value in raw_items)  # after the carrier hint
    recipients: dict[str, tuple[Address, ...]] = {}
    for name in _ADDRESS_HEADERS:
        found: list[Address] = []
        for value in raw_all(name)[:_ADDRESS_FIELDS]:
            found.extend(parse_address_list(value)[0])
        recipients[name] = tuple(found)
        if len(raw_all(name)) > _ADDRESS_FIELDS:
            defects.append(
                f"TooManyAddressFields: only the first {_ADDRESS_FIELDS} {name.title()} fields read"
            )
    return_path_raw = raw_first("Return-Path")

    try:
        leaves = _walk(msg, limits, defects)
    except RecursionError as exc:
        raise ParseFailure("MIME nesting too deep to parse") from exc

    parts: list[PartInfo] = []
    plain: tuple[str, str] | None = None
    html: tuple[str, str] | None = None
    for path, part in leaves:
        ctype = part.get_content_type().lower()
        attachment = _is_attachment(part) or ctype.startswith("message/")
        filename = _filename(part)
        # No or an illegal boundary: the stdlib found no parts; read the payload as text (§4).
        unsplit = ctype.startswith("multipart/") and not part.is_multipart()
        charset = _charset_label(part)  # read once: each read parses the Content-Type again
        if (ctype.startswith("text/") or unsplit) and not attachment:
            text, how, size = _decode_part(part, charset)
            if ctype == "text/plain":
                flowed, delsp = is_flowed(str(part.get("Content-Type", "")))
                if flowed:  # RFC 3676: join the client's soft breaks (a wrapped number reads whole)
                    text = unflow(text, delsp=delsp)
            if (ctype == "text/plain" or unsplit) and text.strip():
                # A second text part after an inline image is the member's too (issue 8): join them.
                plain = (text, how) if plain is None else (plain[0].rstrip("\n") + "\n\n" + text, plain[1])
            elif ctype == "text/html" and html is None and text.strip():
                html = (text, how)
        else:
            how = "binary"
            size = _leaf_size(part)
        parts.append(
            PartInfo(
                path=path,
                content_type=ctype,
                declared_charset=charset,
                transfer_encoding=_transfer_encoding(part) or None,
                how=how,
                size=size,
                is_attachment=attachment,
                filename=filename,
            )
        )
    attachments = tuple(
        Attachment(filename=info.filename, content_type=info.content_type, size=info.size)
        for info in parts
        if info.is_attachment
    )
    if not attachments and mp_attachments:  # mail-parser found some we did not classify as such
        attachments = tuple(
            Attachment(
                filename=_clean_name(str(item.get("filename") or "")),
                content_type=str(item.get("mail_content_type") or "application/octet-stream"),
                size=len(str(item.get("payload") or "")),
            )
            for item in mp_attachments
        )

    if plain is not None:
        body, text_how, source = plain[0], plain[1], "text/plain"
    elif html is not None:
        body, text_how, source = html_to_text(html[0]), html[1], "text/html"
    else:
        body, text_how, source = "", "none", "none"
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if len(body) > limits.max_text_chars:
        defects.append(f"TextTruncated: member text cut to {limits.max_text_chars} characters")
        body = body[: limits.max_text_chars]
    own, quoted = split_quoted(body)

    def ids(name: str) -> tuple[str, ...]:
        return tuple(item for value in raw_all(name) for item in message_ids(value))

    message_id = next(iter(ids("Message-ID")), None)
    subject_raw = raw_first("Subject")
    return ParsedMail(
        headers=headers,
        subject=decode_header(subject_raw) if subject_raw is not None else "",
        from_addr=from_addr,
        from_ambiguous=from_ambiguous,
        to=recipients["to"],
        cc=recipients["cc"],
        return_path=parse_return_path(return_path_raw) if return_path_raw is not None else None,
        message_id=message_id,
        in_reply_to=ids("In-Reply-To"),
        references=ids("References"),
        content_type=msg.get_content_type().lower(),
        text=own,
        quoted=quoted,
        text_how=text_how,
        text_source=source,
        parts=tuple(parts),
        attachments=attachments,
        defects=tuple(dict.fromkeys(defects)),
        header_names_lower=frozenset(by_name),
    )


def _clean_name(name: str) -> str | None:
    cleaned = name.translate(_NAME_DROP).replace("\\", "/")
    return cleaned.rsplit("/", 1)[-1][:200] or None


def _leaf_size(part: Message) -> int:
    """Bytes of a leaf; of a forwarded message, its bytes flattened (0 when nested too deep to)."""
    if part.is_multipart():
        children = part.get_payload()
        try:
            return sum(len(child.as_bytes()) for child in children if isinstance(child, Message))
        except RecursionError:  # message/rfc822 nested hundreds deep: the size is not worth a crash
            return 0
    return len(_payload_bytes(part))
