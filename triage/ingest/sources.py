"""What `triage ingest` reads: files, mbox files and Maildir folders through the whole pipeline, as if each
mail had come by SMTP: stored (origin ``ingest``), claimed, decided, merged into its case, the
reply put in the outbox. One mail at a time, in order, so follow-ups in one batch merge in order.

What is read (docs/decisions.md "Ingest"):
- a file named on the command line: one message (always, for ``.eml``), or an mbox when it
  starts with ``From ``;
- a Maildir (a folder with ``cur`` and ``new``): the files of ``new`` and ``cur`` in the order of
  their names (a delivery timestamp comes first); ``tmp`` holds deliveries still being written
  and is not read;
- any other folder, recursively in name order (``2.eml`` before ``10.eml``): ``.eml`` files, mbox
  files (``.mbox``, ``.mbx`` or starting with ``From ``) and Maildirs; other files are skipped.
Messages of an mbox are numbered from 1: ``inbox.mbox#3`` is the third.

Each message is checked before it is stored: empty input, binary data (NUL bytes) and text with no
header section at the top are reported as not a mail and skipped; so are paths that do not exist
or cannot be read. The others are still ingested.
"""

from __future__ import annotations

import itertools
import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from triage import textmatch
from triage.parsing.addresses import parse_return_path

EML_SUFFIXES: Final = frozenset({".eml"})
MBOX_SUFFIXES: Final = frozenset({".mbox", ".mbx"})
MAILDIR_SUBDIRS: Final = ("new", "cur")
# Only the header section is searched for Return-Path, and only this much of it.
HEADER_SEARCH_BYTES: Final = 256 * 1024
_RETURN_PATH: Final = textmatch.compile_bytes(
    rb"^Return-Path:[ \t]*([^\r\n]*)", textmatch.IGNORECASE | textmatch.MULTILINE, name="ingest Return-Path"
)
# A header field name (RFC 5322 §3.6.8: printable ASCII but the colon) and its colon.
_FIELD_NAME_BYTES: Final = frozenset(range(33, 127)) - {ord(":")}
# A header section has at least one of these (a text file that happens to start "Note: ..." has not).
MAIL_FIELDS: Final = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"received",
        b"return-path",
        b"delivered-to",
        b"sender",
        b"reply-to",
        b"mime-version",
        b"x-original-to",
        b"content-type",
    }
)


class UnreadableSource(Exception):
    """One input could not be read; the message is one line, for the user."""


@dataclass(frozen=True)
class Source:
    """One message to ingest: where it is (``path`` or ``path#n``) and how to read it."""

    label: str
    read: Callable[[], bytes]


@dataclass
class Discovery:
    sources: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in folders that are not mail


def _natural(name: str) -> list[tuple[int, int | str]]:
    """Sort key: runs of digits compare as numbers (`2.eml` before `10.eml`), before letters."""
    runs = ("".join(group) for _, group in itertools.groupby(name, key=str.isdigit))
    return [(0, int(part)) if part.isdigit() else (1, part.casefold()) for part in runs]


def _starts_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _is_maildir(path: Path) -> bool:
    return all((path / name).is_dir() for name in MAILDIR_SUBDIRS)


def _error(label: str, exc: OSError) -> UnreadableSource:
    return UnreadableSource(f"{label}: cannot read ({exc.strerror or type(exc).__name__}); skipped")


def _checked(label: str, data: bytes) -> bytes:
    if not data.strip():
        raise UnreadableSource(f"{label}: empty, not a mail; skipped")
    why = not_mail(data)
    if why is not None:
        raise UnreadableSource(f"{label}: {why}; skipped")
    return data


def _file_reader(path: Path, label: str, max_bytes: int) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise _error(label, exc) from exc
        if len(data) > max_bytes:
            raise UnreadableSource(
                f"{label}: larger than {max_bytes} bytes (TRIAGE_MAX_MESSAGE_BYTES); "
                "the SMTP ingress would refuse it too"
            )
        if data.startswith(b"From "):  # an mbox envelope line is not part of the message
            data = data.partition(b"\n")[2]
        return _checked(label, data)

    return read


def _failing(message: str) -> Callable[[], bytes]:
    def read() -> bytes:
        raise UnreadableSource(message)

    return read


def _mbox_sources(path: Path, max_bytes: int) -> Iterator[Source]:
    label = str(path)
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.keys())
    except OSError as exc:
        yield Source(label, _failing(str(_error(label, exc))))
        return
    except mailbox.Error as exc:
        yield Source(label, _failing(f"{label}: not a readable mbox ({type(exc).__name__})"))
        return
    if not keys:
        yield Source(label, _failing(f"{label}: an mbox with no messages"))
        return
    for number, key in enumerate(keys, start=1):
        yield Source(f"{label}#{number}", _mbox_reader(box, key, f"{label}#{number}", max_bytes))


def _mbox_reader(box: mailbox.mbox, key: str, label: str, max_bytes: int) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            data = box.get_bytes(key)
        except OSError as exc:
            raise _error(label, exc) from exc
        if len(data) > max_bytes:
            raise UnreadableSource(f"{label}: larger than {max_bytes} bytes (TRIAGE_MAX_MESSAGE_BYTES)")
        return _checked(label, data)

    return read


def _maildir_sources(
    path: Path, max_bytes: int, subdirs: tuple[str, ...] = MAILDIR_SUBDIRS
) -> Iterator[Source]:
    files: list[Path] = []
    for sub in subdirs:
        try:
            entries = list((path / sub).iterdir())
        except OSError as exc:
            yield Source(str(path / sub), _failing(str(_error(str(path / sub), exc))))
            continue
        files.extend(entry for entry in entries if not entry.name.startswith(".") and entry.is_file())
    for file in sorted(files, key=lambda entry: (_natural(entry.name), entry.parent.name)):
        yield Source(str(file), _file_reader(file, str(file), max_bytes))


def _file_sources(path: Path, max_bytes: int) -> Iterator[Source]:
    # An .eml file is one message even when it starts with an mbox "From " line (dropped): a
    # bounce that quotes an unescaped "From " line further down must not be split into two mails.
    if path.suffix.lower() not in EML_SUFFIXES and _starts_like_mbox(path):
        yield from _mbox_sources(path, max_bytes)
    else:
        yield Source(str(path), _file_reader(path, str(path), max_bytes))


def _folder_sources(path: Path, max_bytes: int, found: Discovery) -> Iterator[Source]:
    if _is_maildir(path):
        yield from _maildir_sources(path, max_bytes)
        return
    if path.name in MAILDIR_SUBDIRS and _is_maildir(path.parent):  # `Maildir/cur` named alone
        yield from _maildir_sources(path.parent, max_bytes, (path.name,))
        return
    try:
        entries = sorted(path.iterdir(), key=lambda entry: _natural(entry.name))
    except OSError as exc:
        yield Source(str(path), _failing(str(_error(str(path), exc))))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        suffix = entry.suffix.lower()
        if entry.is_dir():
            yield from _folder_sources(entry, max_bytes, found)
        elif not entry.is_file():  # a broken link, a socket, ...: a mail name is reported
            if suffix in EML_SUFFIXES | MBOX_SUFFIXES:
                yield Source(str(entry), _file_reader(entry, str(entry), max_bytes))
            else:
                found.skipped.append(str(entry))
        elif suffix in EML_SUFFIXES:
            yield from _file_sources(entry, max_bytes)
        elif suffix in MBOX_SUFFIXES or _starts_like_mbox(entry):
            yield from _mbox_sources(entry, max_bytes)
        else:
            found.skipped.append(str(entry))


def discover(paths: list[str], max_bytes: int) -> Discovery:
    """Every message under ``paths``, in order; each one is read only when ingested.

    A path that names nothing is a source that fails when read (reported, the others go on).
    """
    found = Discovery()
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            found.sources.append(Source(raw, _failing(f"{raw}: no such file or directory; skipped")))
        elif path.is_dir():
            found.sources.extend(_folder_sources(path, max_bytes, found))
        else:
            found.sources.extend(_file_sources(path, max_bytes))
    return found


def header_section(raw: bytes) -> bytes:
    """The bytes before the first blank line (at most HEADER_SEARCH_BYTES of them)."""
    head = raw[:HEADER_SEARCH_BYTES]
    ends = [index for index in (head.find(b"\n\n"), head.find(b"\r\n\r\n")) if index >= 0]
    return head[: min(ends)] if ends else head


def return_path_address(raw: bytes) -> str:
    """The bare address of the first Return-Path header, or "" (none, or the null path <>)."""
    try:
        match = _RETURN_PATH.search(header_section(raw))
    except textmatch.MatchTimeout:  # stored without an envelope sender rather than lost
        textmatch.note_timeout(_RETURN_PATH.name)
        return ""
    if match is None:
        return ""
    return parse_return_path(match.group(1).decode("utf-8", "replace"))


def _field_name(line: bytes) -> bytes | None:
    """The lower-cased field name of a header line, or None when the line is not one."""
    name, colon, _ = line.partition(b":")
    if not colon or not name or not all(byte in _FIELD_NAME_BYTES for byte in name):
        return None
    return name.lower()


def not_mail(data: bytes) -> str | None:
    """Why ``data`` is not a mail (binary, no header section), or None when it may be one."""
    if b"\x00" in data[:HEADER_SEARCH_BYTES]:
        return "binary data (NUL bytes), not a mail"
    lines = header_section(data.removeprefix(b"\xef\xbb\xbf")).splitlines()
    if not lines or _field_name(lines[0]) is None:
        return "no header section at the top (a mail starts with lines like `From: ...`), not a mail"
    names = {_field_name(line) for line in lines if line[:1] not in (b" ", b"\t")}
    if not names & MAIL_FIELDS:
        return "no From, To, Subject, Date or Message-ID header, not a mail"
    return None
