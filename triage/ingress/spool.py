"""Where DATA goes while it arrives: memory up to a threshold, then a file in the spool folder.

aiosmtpd keeps the whole message in memory (about 4× its size per session, ingress.md §1); a
:class:`Spool` keeps at most ``threshold`` octets in memory and writes the rest to an unnamed
temporary file (``tempfile.TemporaryFile``: removed by the system when closed, even after a
crash), so memory does not grow with message size or with concurrent large uploads.

:class:`LineStats` looks at the same bytes for what staff should see: bare CR or LF line ends
and lines over RFC 5322's 998 octets. Both are counted with ``bytes.count``/``find``: no pattern,
no per-byte Python loop.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO, Final

RFC5322_LINE_LIMIT: Final = 998  # octets, without the CRLF (RFC 5322 §2.1.1)
NOTE_PREFIX: Final = "smtp: "  # notes the ingress writes; the worker keeps them (received_notes)


class LineStats:
    """Bare line ends and over-long lines of a byte stream fed in pieces."""

    def __init__(self) -> None:
        self._lf = self._cr = self._crlf = 0
        self._ends_with_cr = False
        self._run = 0  # octets of the current line so far (a CR before its LF included)
        self.longest = 0  # the longest line over the limit, 0 if none (CR LF / LF excluded)
        self.long_lines = 0

    def feed(self, data: bytes) -> None:
        if not data:
            return
        after_cr = self._ends_with_cr
        self._lf += data.count(b"\n")
        self._cr += data.count(b"\r")
        self._crlf += data.count(b"\r\n") + (after_cr and data[0] == 0x0A)
        self._ends_with_cr = data[-1] == 0x0D
        first = data.find(b"\n")
        if first < 0:
            self._run += len(data)
            return
        self._end_line(self._run + first - (data[first - 1] == 0x0D if first else after_cr))
        last = data.rfind(b"\n")
        if last - first - 1 > RFC5322_LINE_LIMIT:  # a line between them may be long: look
            start = first + 1
            while start <= last:
                end = data.find(b"\n", start)
                self._end_line(end - start - (end > start and data[end - 1] == 0x0D))
                start = end + 1
        self._run = len(data) - last - 1

    def _end_line(self, length: int) -> None:
        if length > RFC5322_LINE_LIMIT:
            self.long_lines += 1
            self.longest = max(self.longest, length)

    @property
    def bare_line_ends(self) -> bool:
        """A CR not followed by LF or an LF not preceded by CR was seen."""
        return self._lf > self._crlf or self._cr > self._crlf

    def notes(self) -> list[str]:
        """The ingress's notes on the stored mail (bare line ends have their own column)."""
        if not self.long_lines:
            return []
        lines = "1 line" if self.long_lines == 1 else f"{self.long_lines} lines"
        return [
            f"{NOTE_PREFIX}{lines} over {RFC5322_LINE_LIMIT} octets (RFC 5322), "
            f"the longest {self.longest} octets; stored as received"
        ]


def has_bare_line_ends(raw: bytes) -> bool:
    """True if ``raw`` holds a CR not followed by LF or an LF not preceded by CR."""
    stats = LineStats()
    stats.feed(raw)
    return stats.bare_line_ends


def received_notes(notes: list[str] | None) -> list[str]:
    """The notes the ingress wrote on a stored mail (the worker keeps them when it writes its own)."""
    return [note for note in notes or () if note.startswith(NOTE_PREFIX)]


@dataclass(frozen=True)
class Received:
    """One message as received: its size, digest, line facts and its bytes (memory or file)."""

    size: int
    sha256: str
    bare_line_ends: bool
    notes: tuple[str, ...]
    on_disk: bool
    _memory: bytes
    _file: IO[bytes] | None

    def read(self) -> bytes:
        """The whole message (for the database insert; call it off the event loop)."""
        if self._file is None:
            return self._memory
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class Spool:
    """Collects one message's bytes: in memory up to ``threshold`` octets, then in a file."""

    def __init__(self, threshold: int, directory: str | None = None) -> None:
        self._threshold = threshold
        self._directory = directory or None
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._stats = LineStats()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is None:
            self._chunks.append(data)
            if self.size > self._threshold:
                self._roll_over()
            return
        self._hash.update(data)
        self._stats.feed(data)
        self._file.write(data)

    def _roll_over(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="triage-spool-", dir=self._directory)  # noqa: SIM115 - closed by Received.close / discard
        for chunk in self._chunks:
            self._hash.update(chunk)
            self._stats.feed(chunk)
            self._file.write(chunk)
        self._chunks = []

    def discard(self) -> None:
        """Drop what was collected (too big, or the session ended)."""
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None
        self.size = 0

    def finish(self) -> Received:
        """The collected message; the spool must not be written to afterwards."""
        if self._file is None:
            raw = b"".join(self._chunks)
            self._chunks = []
            stats = LineStats()
            stats.feed(raw)
            return Received(
                len(raw), hashlib.sha256(raw).hexdigest(), stats.bare_line_ends, tuple(stats.notes()), False,
                raw, None,
            )  # fmt: skip
        self._file.flush()
        received = Received(
            self.size, self._hash.hexdigest(), self._stats.bare_line_ends, tuple(self._stats.notes()), True,
            b"", self._file,
        )  # fmt: skip
        self._file = None
        return received
