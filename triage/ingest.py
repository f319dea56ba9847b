"""`triage ingest`: files, mbox files and Maildir folders through the whole pipeline, as if each
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
"""

from __future__ import annotations

import mailbox
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from triage.clock import Clock
from triage.config import Settings
from triage.db.models import InboundMessage, InboundStatus, OutboundMessage
from triage.engine.spec import RuleSet
from triage.ingress.store import InboundStore
from triage.parsing.addresses import parse_return_path
from triage.tokens import claim_token
from triage.worker.loop import Worker

EML_SUFFIXES: Final = frozenset({".eml"})
MBOX_SUFFIXES: Final = frozenset({".mbox", ".mbx"})
MAILDIR_SUBDIRS: Final = ("new", "cur")
PEER: Final = "ingest"
# Only the header section is searched for Return-Path, and only this much of it.
_HEADER_SEARCH_BYTES: Final = 256 * 1024
_HEADER_END: Final = re.compile(rb"\r?\n\r?\n")
_RETURN_PATH: Final = re.compile(rb"^Return-Path:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_NUMBERS: Final = re.compile(r"(\d+)")
# How long to wait for another worker (`triage serve` on the same database) that claimed one of
# our rows before we could, before reporting the row as it stands.
OTHER_WORKER_WAIT_SECONDS: Final = 60.0


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
    return [
        (0, int(part)) if part.isdigit() else (1, part.casefold()) for part in _NUMBERS.split(name) if part
    ]


def _starts_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _is_maildir(path: Path) -> bool:
    return all((path / name).is_dir() for name in MAILDIR_SUBDIRS)


def _error(label: str, exc: OSError) -> UnreadableSource:
    return UnreadableSource(f"{label}: cannot read: {exc.strerror or type(exc).__name__}")


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
        if not data.strip():
            raise UnreadableSource(f"{label}: empty, not a mail")
        return data

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
        if not data.strip():
            raise UnreadableSource(f"{label}: empty, not a mail")
        return data

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


def missing_paths(paths: list[str]) -> list[str]:
    """The arguments that name nothing (a usage error: nothing is ingested then)."""
    return [raw for raw in paths if not Path(raw).exists()]


def discover(paths: list[str], max_bytes: int) -> Discovery:
    """Every message under ``paths``, in order; each one is read only when ingested."""
    found = Discovery()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.sources.extend(_folder_sources(path, max_bytes, found))
        else:
            found.sources.extend(_file_sources(path, max_bytes))
    return found


def return_path_address(raw: bytes) -> str:
    """The bare address of the first Return-Path header, or "" (none, or the null path <>)."""
    end = _HEADER_END.search(raw, 0, _HEADER_SEARCH_BYTES)
    head = raw[: end.start() if end is not None else _HEADER_SEARCH_BYTES]
    match = _RETURN_PATH.search(head)
    if match is None:
        return ""
    return parse_return_path(match.group(1).decode("utf-8", "replace"))


@dataclass(frozen=True)
class IngestResult:
    path: str
    inbound_id: int | None
    case_id: int | None
    decision: str | None
    # The inbound row's status (done, duplicate, failed, pending: to be retried by a worker,
    # processing: still with another worker), or "unreadable" (never stored).
    status: str
    outbound_id: int | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.status in {InboundStatus.DONE.value, InboundStatus.DUPLICATE.value}

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "inbound_id": self.inbound_id,
            "case_id": self.case_id,
            "decision": self.decision,
            "status": self.status,
            "outbound_id": self.outbound_id,
            "detail": self.detail,
        }


class Ingester:
    """Stores and processes one message at a time with a worker of its own."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        rules: RuleSet,
        *,
        clock: Clock,
        to: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._store = InboundStore(sessions, now=clock.now)
        self._worker = Worker(sessions, settings, rules, clock=clock, name=f"ingest-{claim_token()}")
        self._rcpt_tos = [to] if to else []

    def ingest(self, source: Source) -> IngestResult:
        """Read, store and process one message. Database failures propagate (StoreUnavailable)."""
        try:
            raw = source.read()
        except UnreadableSource as exc:
            return IngestResult(source.label, None, None, None, "unreadable", None, str(exc))
        inbound_id = self._store.insert(
            raw, return_path_address(raw), self._rcpt_tos, PEER, None, False, origin="ingest"
        )
        if self._worker.claim(inbound_id) == inbound_id:
            result = self._worker.process(inbound_id)
            if result.status is not InboundStatus.PROCESSING:  # not lost to another worker
                return IngestResult(
                    source.label,
                    inbound_id,
                    result.case_id,
                    result.decision,
                    result.status.value,
                    result.outbound_id,
                    result.detail,
                )
        return self._after_other_worker(source.label, inbound_id)

    def _after_other_worker(self, label: str, inbound_id: int) -> IngestResult:
        """Another worker (`triage serve` on this database) took the row: wait for its result."""
        deadline = time.monotonic() + OTHER_WORKER_WAIT_SECONDS
        while True:
            with self._sessions() as session:
                row = session.get(InboundMessage, inbound_id)
                assert row is not None  # we stored it; rows are never deleted while ingesting
                busy = row.status in {InboundStatus.PENDING, InboundStatus.PROCESSING}
                if not busy or time.monotonic() >= deadline:
                    outbound_id = session.scalar(
                        sa.select(sa.func.max(OutboundMessage.id)).where(
                            OutboundMessage.inbound_id == inbound_id
                        )
                    )
                    detail = row.reason or row.last_error or ""
                    if busy:
                        detail = "still with another worker (is `triage serve` running on this database?)"
                    return IngestResult(
                        label, inbound_id, row.case_id, row.decision, row.status.value, outbound_id, detail
                    )
            time.sleep(0.2)


def is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


class Progress:
    """`ingest  120/500  24%` on a terminal, redrawn in place at most ten times a second."""

    def __init__(self, stream: object, total: int, *, enabled: bool) -> None:
        self._stream = stream
        self._total = total
        self._enabled = enabled and total > 0
        self._done = 0
        self._drawn_at = 0.0

    def _write(self, text: str) -> None:
        write = getattr(self._stream, "write", None)
        flush = getattr(self._stream, "flush", None)
        if callable(write):
            write(text)
        if callable(flush):
            flush()

    def _draw(self) -> None:
        percent = self._done * 100 // self._total
        self._write(f"\r\x1b[Kingest  {self._done}/{self._total}  {percent}%")
        self._drawn_at = time.monotonic()

    def start(self) -> None:
        if self._enabled:
            self._draw()

    def advance(self) -> None:
        self._done += 1
        if self._enabled and (self._done == self._total or time.monotonic() - self._drawn_at >= 0.1):
            self._draw()

    def say(self, line: str) -> None:
        """Print a line on the stream without tearing the bar."""
        if self._enabled:
            self._write("\r\x1b[K" + line + "\n")
            self._draw()
        else:
            self._write(line + "\n")

    def finish(self) -> None:
        if self._enabled:
            self._write("\r\x1b[K")


def summary(results: list[IngestResult], skipped: int) -> str:
    """`5 mails: queued 2, needs_info 2, ignored 1` (+ duplicates, failures, skipped files)."""
    counts: dict[str, int] = {}
    for result in results:
        key = result.decision if result.status == InboundStatus.DONE.value and result.decision else None
        key = key or ("failed" if not result.ok else result.status)
        counts[key] = counts.get(key, 0) + 1
    order = ["queued", "needs_info", "icloud_rejected", "unknown_mailbox", "ignored", "duplicate", "failed"]
    keys = sorted(counts, key=lambda key: (order.index(key) if key in order else len(order), key))
    noun = "mail" if len(results) == 1 else "mails"
    text = f"{len(results)} {noun}" + (
        ": " + ", ".join(f"{key} {counts[key]}" for key in keys) if keys else ""
    )
    if skipped:
        text += f"; {skipped} other file{'s' if skipped != 1 else ''} skipped (not .eml, mbox or Maildir)"
    return text
