"""Where a worker's time goes, per phase (bench/pipeline.py prints it per mail).

parse (MIME structure and decoding), read (screening, extraction, the verdict), decide (the case:
duplicates, follow-ups, merged values, the verdict again), reply (render, guards, compose, the
outbox row), write (claims, leases, loading the batch's rows, commits). Counting costs two clock
reads per phase and mail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

PHASES = ("parse", "read", "decide", "reply", "write")


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    mails: int = 0

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - started)

    def per_mail_ms(self) -> dict[str, float]:
        count = max(1, self.mails)
        return {phase: round(self.seconds[phase] * 1000 / count, 3) for phase in self.seconds}
