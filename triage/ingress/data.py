"""The DATA phase: read up to the end marker, dot-unstuffed, into a :class:`Spool`.

The same reading of the stream as aiosmtpd 1.4.6 (only ``<CR><LF>.<CR><LF>`` ends DATA; a
leading dot is removed from a line that follows a CR LF; bare CR and LF are kept), with two
differences: a line of any length is accepted (a piece at a time, as the stream's limit allows),
so an LF-only client or a 65,535-octet line is stored and flagged instead of getting a permanent
``500``; and the bytes go to a spool instead of a list in memory.
"""

from __future__ import annotations

import asyncio
import enum

from triage.ingress.spool import Spool

_END: bytes = b".\r\n"


class DataEnd(enum.Enum):
    COMPLETE = "complete"  # the end marker came, within the size limit
    TOO_BIG = "too big"  # the end marker came, the message was over the limit (nothing kept)
    LOST = "lost"  # the connection ended before the end marker


async def read_data(reader: asyncio.StreamReader, spool: Spool, limit: int | None) -> DataEnd:
    """Read one message's DATA into ``spool`` (emptied again when it grows over ``limit``)."""
    in_line = False  # inside a line: the last piece did not end with CR LF
    too_big = False
    received = 0
    while True:
        try:
            piece = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as over:
            # A line longer than the stream's limit: take what is there, the rest follows. The
            # reader leaves a CR at the end of its buffer in place, so a CR LF is never split.
            piece = await reader.read(over.consumed)
        except asyncio.IncompleteReadError:
            spool.discard()
            return DataEnd.LOST
        if not piece:
            spool.discard()
            return DataEnd.LOST
        if not in_line:
            if piece == _END:
                return DataEnd.TOO_BIG if too_big else DataEnd.COMPLETE
            if piece[:1] == b".":
                piece = piece[1:]
        in_line = not piece.endswith(b"\r\n")
        received += len(piece)
        if too_big:
            continue
        if limit and received > limit:
            too_big = True
            spool.discard()
            continue
        spool.write(piece)
