"""Address headers: From, To, Cc, Return-Path and message-id lists.

Never `email.utils.parseaddr` (CVE-2023-27043 reads `alice@x <bob@y>` as alice@x). A value that
ends in an angle-bracket address has that address: it is what mail clients reply to. Other values
go through `email.headerregistry`, whose defects mark the From as ambiguous.

The stdlib's structural parser is slow on long values (quadratic on runs of quotes) and
recurses once per nested comment, so it sees at most ADDRESS_CHARS of a value (cut after an
address), and a value it fails on is a defect, not a crash. The patterns are linear (each tried
only from a `<`). Should the reading budget run out, a From or Return-Path has no address (and
the From is ambiguous: never evidence of identity), and a list of message ids is empty.
"""

from __future__ import annotations

import base64
import binascii
from email.errors import HeaderParseError
from email.headerregistry import HeaderRegistry

from triage import textmatch
from triage.parsing.headers import decode_header
from triage.parsing.model import Address

_REGISTRY = HeaderRegistry()
ADDRESS_CHARS = 4096  # a To or Cc longer than this lists hundreds of recipients; the rest is not read
_TRAILING_ANGLE = textmatch.compile(r"<\s*([^<>\s]*)\s*>\s*$", name="addresses.trailing-angle")
_MSGID = textmatch.compile(r"<[^<>\s]{1,998}>", name="addresses.message-id")
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])
# The shapes nearly every real address field has: `local@domain` or `Plain Name <local@domain>`,
# ASCII atoms only (no quotes, comments, encoded words, groups or dots in the name). They read the
# same through the structural parser, which costs a third of a millisecond per field; anything
# else still goes through it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_SIMPLE_ITEM = textmatch.compile(
    rf" *(?:(?P<bare>{_DOT_ATOM}@{_DOT_ATOM})"
    rf"|(?P<name>{_ATOM}(?: +{_ATOM})*) *<(?P<addr>{_DOT_ATOM}@{_DOT_ATOM})>) *",
    name="addresses.simple-item",
)
_SIMPLE_LIMIT = 50  # more items than this: the structural parser (it also notes the defects)
# `=?UTF-8?B?…?= <taro@example.jp>`: the From of most Japanese mail. Whether the structural parser
# finds a defect in it depends only on its encoded words, checked here the way it checks them.
_B_WORD = r"=\?[A-Za-z0-9_-]+\?[Bb]\?[A-Za-z0-9+/]*=*\?="
_ENCODED_NAME_ITEM = textmatch.compile(
    rf"(?P<words>{_B_WORD}(?: +{_B_WORD})*) +<{_DOT_ATOM}@{_DOT_ATOM}>", name="addresses.encoded-name"
)


def _ascii_view(raw: str) -> str:
    """Raw header text with 8-bit bytes (surrogate-escaped) replaced, for the structural parser."""
    return "".join(ch if ord(ch) < 0x80 else "?" for ch in raw)


def _unfold(raw: str) -> str:
    lines = raw.replace("\r\n", "\n").split("\n")
    return " ".join([lines[0], *(line.lstrip(" \t") for line in lines[1:])]).strip()


def _address_text(spec: str) -> str:
    """An address as written, raw 8-bit bytes (surrogate-escaped by compat32) read as UTF-8
    (RFC 6532), anything else as U+FFFD: never a lone surrogate, which no database stores."""
    if spec.isascii():
        return spec
    try:
        return spec.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate outside U+DC80..U+DCFF
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in spec)


def _clean_display(raw: str) -> str:
    name = decode_header(raw).strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').strip()
    return name


def _simple_list(value: str) -> list[Address] | None:
    """The addresses of a field of the common shapes only; None sends it to the full parser."""
    if len(value) > ADDRESS_CHARS or not value.isascii() or '"' in value or "=?" in value:
        return None
    if value.count(",") >= _SIMPLE_LIMIT:
        return None
    found: list[Address] = []
    try:
        for item in value.split(","):
            match = _SIMPLE_ITEM.fullmatch(item)
            if match is None:
                return None
            if match.group("bare"):
                found.append(Address(display_name="", addr=match.group("bare")))
            else:
                found.append(
                    Address(display_name=" ".join(match.group("name").split()), addr=match.group("addr"))
                )
    except textmatch.MatchTimeout:
        return None
    return found


def parse_address_list(raw: str) -> tuple[list[Address], bool]:
    """Every address in an address header and whether the parse had defects."""
    value = _unfold(raw)
    if not value:
        return [], True
    simple = _simple_list(value)
    if simple is not None:
        return simple, False
    return structural_list(value)


def structural_list(value: str) -> tuple[list[Address], bool]:
    """The stdlib's structural parse of an unfolded address field (at most ADDRESS_CHARS read)."""
    cut = len(value) > ADDRESS_CHARS
    if cut:
        value = value[: max(value.rfind(",", 0, ADDRESS_CHARS), 0)] or value[:ADDRESS_CHARS]
    try:
        header = _REGISTRY("to", _ascii_view(value))
    except (HeaderParseError, IndexError, ValueError, TypeError, AttributeError, RecursionError):
        # The stdlib parser fails in several ways on hostile values (e.g. `:;:;` raises
        # AttributeError in 3.11): no address, and the From counts as ambiguous.
        return [], True
    defects = bool(header.defects) or cut
    found: list[Address] = []
    for group in header.groups:  # type: ignore[attr-defined]
        for addr in group.addresses:
            spec = (addr.addr_spec or "").translate(_CONTROL)
            if spec and spec != "<>":
                found.append(Address(display_name=addr.display_name or "", addr=spec))
    return found, defects


def _clean_encoded_word(word: str) -> bool:
    """True when the stdlib's parse of this B encoded word has no defect: padded base64 of its
    alphabet, bytes its charset decodes strictly, decoded text without controls or surrogates
    (email._encoded_words.decode and _header_value_parser.get_encoded_word)."""
    _, charset, _, payload, _ = word.split("?")
    if len(payload) % 4:
        return False
    try:
        text = base64.b64decode(payload, validate=True).decode(charset)
    except (binascii.Error, LookupError, UnicodeError):
        return False
    return not any((ch < " " and ch != "\t") or ch == "\x7f" or "\ud800" <= ch <= "\udfff" for ch in text)


def _defects_of_from(value: str) -> bool:
    """Whether the structural parse of an unfolded From value has defects; a value of encoded
    words and an address is answered without running that parse (a third of a millisecond)."""
    if len(value) <= ADDRESS_CHARS and value.isascii():
        try:
            match = _ENCODED_NAME_ITEM.fullmatch(value)
        except textmatch.MatchTimeout:
            match = None
        if match is not None and all(
            _clean_encoded_word(word) for word in match.group("words").split(" ") if word
        ):
            return False
    return parse_address_list(value)[1]


def parse_from(raw: str) -> tuple[Address | None, bool]:
    """The From address and whether it is ambiguous (defects, several addresses, none)."""
    value = _unfold(raw)
    try:
        match = _TRAILING_ANGLE.search(value) if "<" in value else None
    except textmatch.MatchTimeout:
        textmatch.note_timeout("addresses: From not read")
        return None, True
    if match:
        spec = _address_text(match.group(1).translate(_CONTROL))
        if not spec:
            return None, True
        display = _clean_display(value[: match.start()])
        defects = _defects_of_from(value)
        return Address(display_name=display, addr=spec), defects
    found, defects = parse_address_list(value)
    if not found:
        return None, True
    first = found[0]
    return Address(display_name=_clean_display(first.display_name), addr=first.addr), defects or len(
        found
    ) > 1


def parse_return_path(raw: str) -> str:
    """`<>` is the null reverse path (""); otherwise the address without brackets."""
    value = _unfold(raw)
    try:
        match = _TRAILING_ANGLE.search(value) if "<" in value else None
    except textmatch.MatchTimeout:
        textmatch.note_timeout("addresses: Return-Path read without its pattern")
        return _address_text(value.strip().strip("<>").strip().translate(_CONTROL))
    spec = match.group(1) if match else value.strip()
    return _address_text(spec.translate(_CONTROL))


def message_ids(raw: str) -> tuple[str, ...]:
    """Every `<id>` token of a Message-ID, In-Reply-To or References field, in order."""
    try:
        return tuple(_MSGID.findall(_unfold(raw))) if "<" in raw else ()
    except textmatch.MatchTimeout:
        textmatch.note_timeout("addresses: message ids not read")
        return ()
