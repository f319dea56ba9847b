"""What reading a mail produces: candidates, the values chosen, and why (plain data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from triage.engine.text import Span

# How a candidate was found, strongest first (the resolver's default ranking).
SOURCE_RANK = {"label": 0, "compound": 0, "split": 0, "inline": 1, "prose": 2, "position": 2, "scan": 3}


@dataclass(frozen=True)
class Candidate:
    """A piece of the member's text that may be the value of a field."""

    target: str  # a field key, CARRIER_ID or "compound:N"
    text: str  # normalised text of the value
    line: int  # 1-based line of the member's own text
    source: str  # label, compound, split, inline, prose, scan
    spans: tuple[Span, ...] = ()
    cue: str = ""  # the label as written, or what found it
    corrected: bool = False  # on a line that corrects an earlier value (readings.md 7)
    # The start of the next line when the value runs on there (a wrapped line, a flowed soft
    # break): tried only when the value alone is not valid (`090-3616-` + `1284`).
    more: str = ""
    more_spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Found:
    field: str
    value: str | int
    written: str  # the value as written, after the global normalisation
    line: int  # 1-based line of the member's own text
    source: str  # "label", "inline", "prose", "scan", "compound", "split", "inferred", "derived"
    suggestion: str | None = None
    spans: tuple[Span, ...] = ()  # character offsets into the member's own text
    cue: str = ""


@dataclass(frozen=True)
class Invalid:
    field: str
    written: str
    reason_ja: str
    reason_en: str
    line: int
    suggestion: str | None = None
    spans: tuple[Span, ...] = ()
    source: str = "label"


@dataclass(frozen=True)
class Considered:
    """One candidate the resolver looked at, and what became of it (for `check --explain`)."""

    field: str
    written: str
    source: str
    line: int
    spans: tuple[Span, ...]
    cue: str
    outcome: str  # chosen, added, invalid, not_given, duplicate, outranked, not_its_shape, dropped
    why: str


@dataclass
class Extraction:
    found: dict[str, list[Found]] = field(default_factory=dict)
    invalid: list[Invalid] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    considered: list[Considered] = field(default_factory=list)

    def has_valid(self, key: str) -> bool:
        return bool(self.found.get(key))

    def has_invalid(self, key: str) -> bool:
        return any(item.field == key for item in self.invalid)

    def value(self, key: str) -> str | int | list[str] | None:
        items = self.found.get(key)
        if not items:
            return None
        if key == "emails":
            return [str(item.value) for item in items]
        return items[0].value

    def fields_json(self, order: Iterable[str]) -> dict[str, str | int | list[str]]:
        out: dict[str, str | int | list[str]] = {}
        for key in order:
            value = self.value(key)
            if value is not None:
                out[key] = value
        return out
