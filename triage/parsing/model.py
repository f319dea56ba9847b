"""What parsing produces: frozen, plain data, no behaviour beyond look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Address:
    """One parsed address. `addr` is lower-case-preserving as written; compare with .lower()."""

    display_name: str
    addr: str

    @property
    def local_part(self) -> str:
        return self.addr.rpartition("@")[0] if "@" in self.addr else self.addr

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2].lower() if "@" in self.addr else ""


@dataclass(frozen=True)
class PartInfo:
    """One leaf of the MIME tree and how its text was decoded."""

    path: str  # "1", "1.2" ... position in the tree ("" for a single-part mail)
    content_type: str  # lower-case, e.g. "text/plain"
    declared_charset: str | None
    transfer_encoding: str | None
    how: str  # decode path: "ascii", "utf-8", "cp932", "jis", "sniff:euc-jp", "binary", ...
    size: int  # decoded payload bytes
    is_attachment: bool
    filename: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str | None  # decoded and cleaned for display (no path, no controls)
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    headers: tuple[tuple[str, str], ...]  # (name as written, decoded value), in order
    subject: str
    from_addr: Address | None
    from_ambiguous: bool  # the From field had defects or several addresses: not evidence of identity
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    return_path: str | None  # None: no Return-Path header; "": the null reverse path <>
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    content_type: str  # of the root, lower-case
    text: str  # the member's own text (quoted text removed)
    quoted: str  # the quoted text split off
    text_how: str  # how the chosen text part was decoded ("none" when there is no text)
    text_source: str  # "text/plain", "text/html", or "none"
    parts: tuple[PartInfo, ...]
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    header_names_lower: frozenset[str] = field(default=frozenset())

    def header_all(self, name: str) -> list[str]:
        """Every decoded value of a header field, case-insensitive name."""
        low = name.lower()
        return [value for key, value in self.headers if key.lower() == low]

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def has_header(self, name: str) -> bool:
        return name.lower() in self.header_names_lower
