"""The DATA phase: read up to the end marker, dot-unstuffed, into a :class:`Spool`.

The same reading of the stream as aiosmtpd 1.4.6 (only ``<CR><LF>.<CR><LF>`` ends DATA, the
CR LF of the 354's line counting as the first; a leading dot is removed from every line that
follows a CR LF; bare CR and LF are kept), with two differences:

- lines of any length are accepted, so an LF-only client or a 65,535-octet line is stored and
  flagged instead of getting a permanent ``500``;
- the stream is read in large pieces, each up to the end marker or the reader's limit, not a
  line at a time: ``StreamReader.readuntil`` finds the marker in C, and unstuffing is one
  ``bytes.replace`` per piece. When the marker is not found within the limit the reader hands
  over only bytes that cannot begin a marker, so a marker is never split between two pieces.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Final

from triage.ingress.spool import Spool

END_MARKER: Final = b"\r\n.\r\n"
_LINE_START_DOT: Final = b"\r\n."


class DataEnd(enum.Enum):
    COMPLETE = "complete"  # the end marker came, within the size limit
    TOO_BIG = "too big"  # the end marker came, the message was over the limit (nothing kept)
    LOST = "lost"  # the connection ended before the end marker


class _Unstuffer:
    """Removes the dot that starts a line, across pieces (it keeps the last two raw bytes)."""

    def __init__(self) -> None:
        self._carry = b"\r\n"  # DATA starts at the beginning of a line

    def __call__(self, piece: bytes) -> bytes:
        if not piece:
            return piece
        joined = self._carry + piece
        self._carry = joined[-2:]
        if _LINE_START_DOT not in joined:
            return piece
        # Only the third byte of each match is deleted, so the two carried bytes stay in front.
        return joined.replace(_LINE_START_DOT, b"\r\n")[2:]


def _pending_marker(seen: bytes) -> int:
    """How many trailing bytes of ``seen`` are a beginning of the end marker (0 to 4)."""
    for length in range(min(len(END_MARKER) - 1, len(seen)), 0, -1):
        if seen.endswith(END_MARKER[:length]):
            return length
    return 0


async def read_data(reader: asyncio.StreamReader, spool: Spool, limit: int | None) -> DataEnd:
    """Read one message's DATA into ``spool`` (emptied again when it grows over ``limit``)."""
    unstuff = _Unstuffer()
    received = 0
    too_big = False

    def keep(raw: bytes) -> None:
        nonlocal received, too_big
        received += len(raw)
        if too_big:
            return
        if limit and received > limit:
            too_big = True
            spool.discard()
            return
        spool.write(unstuff(raw))

    try:
        # The first bytes, one at a time while they may still be the marker's (".\r\n" right
        # after the 354 is an empty message): readuntil cannot see the line end before them.
        start = b""
        while _pending_marker(b"\r\n" + start):
            start += await reader.readexactly(1)
            if (b"\r\n" + start).endswith(END_MARKER):
                keep(start[:-3])
                return DataEnd.TOO_BIG if too_big else DataEnd.COMPLETE
        keep(start)
        while True:
            try:
                piece = await reader.readuntil(END_MARKER)
            except asyncio.LimitOverrunError as over:
                keep(await reader.readexactly(over.consumed))
                continue
            keep(piece[:-3])  # the CR LF before the dot is the message's last line end
            return DataEnd.TOO_BIG if too_big else DataEnd.COMPLETE
    except asyncio.IncompleteReadError:
        spool.discard()
        return DataEnd.LOST
