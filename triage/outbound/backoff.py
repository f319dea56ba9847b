"""Retry delays for replies: capped exponential backoff with ±20 % jitter (autoreply.md §4)."""

from __future__ import annotations

import secrets
from typing import Final

_JITTER: Final = (0.8, 1.2)
_RANDOM: Final = secrets.SystemRandom()


def jittered(seconds: float) -> float:
    """``seconds`` ± 20 %, so that many senders retrying at once spread out."""
    return seconds * _RANDOM.uniform(*_JITTER)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """min(cap, base * 2**(attempts - 1)) with ±20 % jitter."""
    raw = base * 2.0 ** min(max(attempts - 1, 0), 62)
    return jittered(min(cap, raw))
