"""Reading DATA in large pieces gives exactly what aiosmtpd's line-by-line reading gives."""

from __future__ import annotations

import asyncio
import random

import pytest

from triage.ingress.data import DataEnd, read_data
from triage.ingress.spool import Spool


def line_by_line(stream: bytes) -> tuple[bytes, bytes]:
    """aiosmtpd 1.4.6's reading: CRLF lines, a lone dot ends, a leading dot is removed."""
    out: list[bytes] = []
    pos = 0
    while True:
        end = stream.index(b"\r\n", pos) + 2
        line, pos = stream[pos:end], end
        if line == b".\r\n":
            return b"".join(out), stream[pos:]
        out.append(line[1:] if line.startswith(b".") else line)


async def read(
    stream: bytes, limit: int, pieces: list[int], size_limit: int | None
) -> tuple[DataEnd, bytes, bytes]:
    reader = asyncio.StreamReader(limit=limit)
    spool = Spool(threshold=64)

    async def feed() -> None:
        start = 0
        for size in pieces:
            reader.feed_data(stream[start : start + size])
            start += size
            await asyncio.sleep(0)
        reader.feed_data(stream[start:])
        reader.feed_eof()

    feeding = asyncio.create_task(feed())
    end = await read_data(reader, spool, size_limit)
    await feeding
    rest = await reader.read()
    kept = spool.finish().read() if end is DataEnd.COMPLETE else b""
    return end, kept, rest


@pytest.mark.parametrize("seed", range(300))
def test_pieces_and_lines_agree(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = [b".", b"\r", b"\n", b"\r\n", b"a", b"\r\n.", b".\r\n"]
    body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    stream = body + b"\r\n.\r\n" + b"MAIL FROM:<next@example.jp>\r\n"
    expected, leftover = line_by_line(stream)
    pieces = [rng.randint(1, 9) for _ in range(rng.randint(0, 20))]
    end, kept, rest = asyncio.run(read(stream, rng.choice((8, 16, 64, 1024)), pieces, None))
    assert (end, kept, rest) == (DataEnd.COMPLETE, expected, leftover)


def test_an_empty_message_and_a_lost_connection() -> None:
    assert asyncio.run(read(b".\r\nQUIT\r\n", 64, [], None)) == (DataEnd.COMPLETE, b"", b"QUIT\r\n")
    assert asyncio.run(read(b"half a message\r\n.", 64, [], None))[0] is DataEnd.LOST


def test_too_big_reads_to_the_end_and_keeps_nothing() -> None:
    end, kept, rest = asyncio.run(read(b"x" * 500 + b"\r\n.\r\nNOOP\r\n", 16, [3, 7], 100))
    assert (end, kept, rest) == (DataEnd.TOO_BIG, b"", b"NOOP\r\n")
