"""The verdict: one ordered table over the facts, first match wins (product.md "Decide")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Decision(StrEnum):
    UNKNOWN_MAILBOX = "unknown_mailbox"
    IGNORED = "ignored"
    ICLOUD_REJECTED = "icloud_rejected"
    NEEDS_INFO = "needs_info"
    QUEUED = "queued"


@dataclass(frozen=True)
class Facts:
    mailbox: str | None
    auto_reasons: tuple[str, ...]
    sender_is_icloud: bool
    missing: tuple[str, ...]
    blocking_invalid: tuple[str, ...]


VERDICTS: Final[tuple[tuple[Decision, Callable[[Facts], bool]], ...]] = (
    (Decision.UNKNOWN_MAILBOX, lambda f: f.mailbox is None),
    (Decision.IGNORED, lambda f: bool(f.auto_reasons)),
    (Decision.ICLOUD_REJECTED, lambda f: f.sender_is_icloud),
    (Decision.NEEDS_INFO, lambda f: bool(f.missing or f.blocking_invalid)),
    (Decision.QUEUED, lambda f: True),
)


def decide(facts: Facts) -> Decision:
    return next(decision for decision, applies in VERDICTS if applies(facts))


def reason(decision: Decision, facts: Facts) -> str:
    """One line for staff and `check --json`: why this verdict."""
    if decision is Decision.UNKNOWN_MAILBOX:
        return "no recipient is a configured secure_* mailbox"
    if decision is Decision.IGNORED:
        return "automatic mail: " + ", ".join(facts.auto_reasons)
    if decision is Decision.ICLOUD_REJECTED:
        return "sender writes from an iCloud address"
    if decision is Decision.NEEDS_INFO:
        pieces = []
        if facts.missing:
            pieces.append("missing: " + ", ".join(facts.missing))
        if facts.blocking_invalid:
            pieces.append("invalid: " + ", ".join(facts.blocking_invalid))
        return "; ".join(pieces)
    return "complete"
