"""What the engine's unit tests share: the project's rules, and one call of `extract` on a text."""

from __future__ import annotations

import datetime
from pathlib import Path

from triage.engine.extract import Extraction, extract
from triage.engine.loader import load_rules

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(PROJECT_ROOT / "rules", PROJECT_ROOT / "replies")
TODAY = datetime.date(2026, 11, 21)
OURS = frozenset(RULES.packs)


def run(text: str, mailbox: str | None = None, *, today: datetime.date = TODAY) -> Extraction:
    """The extraction of ``text`` as written to ``mailbox`` (None: every pack's fields)."""
    return extract(text, RULES, today=today, our_local_parts=OURS, mailbox=mailbox)


def invalid_of(extraction: Extraction, key: str) -> list[str]:
    """The written forms of ``key``'s invalid values."""
    return [item.written for item in extraction.invalid if item.field == key]
