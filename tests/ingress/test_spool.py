"""The DATA spool: memory, then a file; line facts computed piece by piece; large mail byte-exact."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from smtpkit import MakeIngress, deliver, ingress_factory, queued_id, rows

from triage.ingress.spool import LineStats, Spool, has_bare_line_ends


@pytest.fixture
def make_ingress() -> Iterator[MakeIngress]:
    yield from ingress_factory()


def reference(raw: bytes) -> tuple[bool, int, int]:
    """Bare line ends, lines over 998 octets and the longest: by the obvious slow reading."""
    bare = any(
        (byte == 0x0D and raw[i + 1 : i + 2] != b"\n") or (byte == 0x0A and raw[i - 1 : i] != b"\r")
        for i, byte in enumerate(raw)
    )
    lengths = [len(line) - line.endswith(b"\r") for line in raw.split(b"\n")[:-1]]
    long = [length for length in lengths if length > 998]
    return bare, len(long), max(long, default=0)


@pytest.mark.parametrize("seed", range(40))
def test_line_stats_in_any_pieces_match_the_slow_reading(seed: int) -> None:
    rng = random.Random(seed)
    parts = [b"\r\n", b"\n", b"\r", b"x" * rng.choice((1, 80, 997, 998, 999, 2000)), b"y"]
    raw = b"".join(rng.choice(parts) for _ in range(rng.randint(0, 60)))
    stats = LineStats()
    start = 0
    while start < len(raw):
        size = rng.randint(1, 1500)
        stats.feed(raw[start : start + size])
        start += size
    assert (stats.bare_line_ends, stats.long_lines, stats.longest) == reference(raw)
    assert has_bare_line_ends(raw) is reference(raw)[0]


def test_the_spool_moves_to_a_file_past_its_threshold() -> None:
    spool = Spool(threshold=1000)
    pieces = [b"a" * 600 + b"\r\n", b"b" * 600 + b"\n", b"c\r\n"]
    for piece in pieces:
        spool.write(piece)
    received = spool.finish()
    raw = b"".join(pieces)
    try:
        assert received.on_disk is True
        assert received.read() == raw
        assert (received.size, received.sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
        assert received.bare_line_ends is True
    finally:
        received.close()
    small = Spool(threshold=1000)
    small.write(b"x\r\n")
    kept = small.finish()
    assert (kept.on_disk, kept.read(), kept.notes) == (False, b"x\r\n", ())


def test_a_large_spooled_mail_is_stored_byte_exact(sqlite_url: str, make_ingress: MakeIngress) -> None:
    ingress = make_ingress(sqlite_url, smtp_spool_threshold_bytes=4096, max_message_bytes=8 * 1024 * 1024)
    rng = random.Random(7)
    lines = [
        bytes(rng.randrange(1, 256) for _ in range(rng.randint(0, 300)))
        .replace(b"\r", b"")
        .replace(b"\n", b"")
        for _ in range(5000)
    ]
    body = b"\r\n".join(b"." + line if n % 7 == 0 else line for n, line in enumerate(lines))
    message = b"Subject: large\r\n\r\n" + body + b"\r\n" + b"L" * 70_000 + b"\r\n"
    assert len(message) > 500_000
    queued_id(deliver(ingress.port, message))  # smtplib dot-stuffs, the ingress unstuffs
    [row] = rows(sqlite_url)
    assert row.raw == message
    assert row.sha256 == hashlib.sha256(row.raw).hexdigest()
    assert row.notes == [
        "smtp: 1 line over 998 octets (RFC 5322), the longest 70000 octets; stored as received"
    ]
