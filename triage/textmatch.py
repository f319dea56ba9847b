"""One way to match member text: every pattern runs under the current mail's deadline.

Patterns are compiled with :func:`compile` (the `regex` module underneath) and matched only through
the methods of :class:`Pattern`, which pass `regex` a timeout: the smaller of a per-call cap and
what is left of the budget of the mail being read. :func:`reading` opens that budget for one mail
(parse + screen + extract + decide); outside it each call has the per-call cap alone. A call that
runs out raises :class:`MatchTimeout` (a ``TimeoutError``); the reader catches it, notes which
pattern gave up, and goes on without that pattern's answer, so the whole read of one mail is
bounded whatever the text.

No other module of ``triage`` imports ``re`` or ``regex``: tests/test_textmatch.py checks it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import regex

# Flags, re-exported so callers need not import regex.
IGNORECASE: Final = regex.IGNORECASE
MULTILINE: Final = regex.MULTILINE
DOTALL: Final = regex.DOTALL
VERSION1: Final = regex.VERSION1
VERBOSE: Final = regex.VERBOSE
ASCII: Final = regex.ASCII

Match = regex.Match
Replacement = str | Callable[[regex.Match[str]], str]
error = regex.error

PER_CALL_SECONDS: Final = 0.25  # no single call may take longer, inside or outside a budget
MAIL_BUDGET_SECONDS: Final = 1.5  # parse + read + decide of one mail (issue: any mail under 2 s)


class MatchTimeout(TimeoutError):
    """A pattern ran out of time: its call's cap or the mail's budget."""

    def __init__(self, pattern: str, budget_spent: bool) -> None:
        what = "the mail's reading budget is spent" if budget_spent else "the pattern hit its time limit"
        super().__init__(f"{what}: {pattern[:60]!r}")
        self.pattern = pattern
        self.budget_spent = budget_spent


@dataclass
class Budget:
    """The deadline of one mail's read, and the names of the patterns that gave up."""

    deadline: float
    timeouts: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0


_CURRENT: ContextVar[Budget | None] = ContextVar("triage_textmatch_budget", default=None)


@contextmanager
def reading(seconds: float = MAIL_BUDGET_SECONDS) -> Iterator[Budget]:
    """Bound every pattern run inside the block by one deadline. Nested blocks keep the outer one."""
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(time.monotonic() + seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def current_budget() -> Budget | None:
    return _CURRENT.get()


def note_timeout(name: str) -> None:
    """Record on the current budget that a named step gave up (shown in `check` notes)."""
    budget = _CURRENT.get()
    if budget is not None and name not in budget.timeouts:
        budget.timeouts.append(name)


def _timeout(pattern: str) -> float:
    budget = _CURRENT.get()
    if budget is None:
        return PER_CALL_SECONDS
    left = budget.remaining()
    if left <= 0:
        raise MatchTimeout(pattern, budget_spent=True)
    return min(PER_CALL_SECONDS, left)


class Pattern:
    """A compiled pattern whose every match carries a timeout."""

    __slots__ = ("_compiled", "name")

    def __init__(self, compiled: regex.Pattern[str], name: str | None = None) -> None:
        self._compiled = compiled
        self.name = name or compiled.pattern[:40]

    @property
    def pattern(self) -> str:
        return self._compiled.pattern

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._compiled.groupindex)

    @property
    def flags(self) -> int:
        return int(self._compiled.flags)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        limit = _timeout(self.name)
        try:
            return method(*args, timeout=limit, **kwargs)
        except TimeoutError as exc:
            budget = _CURRENT.get()
            spent = budget is not None and budget.spent
            if budget is not None:
                note_timeout(self.name)
            raise MatchTimeout(self.name, budget_spent=spent) from exc

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        end = len(text) if endpos is None else endpos
        result: regex.Match[str] | None = self._call(self._compiled.search, text, pos, end)
        return result

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        end = len(text) if endpos is None else endpos
        result: regex.Match[str] | None = self._call(self._compiled.match, text, pos, end)
        return result

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        end = len(text) if endpos is None else endpos
        result: regex.Match[str] | None = self._call(self._compiled.fullmatch, text, pos, end)
        return result

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> list[regex.Match[str]]:
        """Every match, as a list: the whole scan runs under one timeout."""
        end = len(text) if endpos is None else endpos
        limit = _timeout(self.name)
        started = time.monotonic()
        out: list[regex.Match[str]] = []
        try:
            for found in self._compiled.finditer(text, pos, end, timeout=limit):
                out.append(found)
                if time.monotonic() - started > limit:
                    raise TimeoutError
        except TimeoutError as exc:
            budget = _CURRENT.get()
            if budget is not None:
                note_timeout(self.name)
            raise MatchTimeout(self.name, budget_spent=budget is not None and budget.spent) from exc
        return out

    def findall(self, text: str, pos: int = 0, endpos: int | None = None) -> list[Any]:
        end = len(text) if endpos is None else endpos
        result: list[Any] = self._call(self._compiled.findall, text, pos, end)
        return result

    def sub(self, repl: Replacement, text: str, count: int = 0) -> str:
        result: str = self._call(self._compiled.sub, repl, text, count)
        return result

    def subn(self, repl: Replacement, text: str, count: int = 0) -> tuple[str, int]:
        result: tuple[str, int] = self._call(self._compiled.subn, repl, text, count)
        return result

    def split(self, text: str, maxsplit: int = 0) -> list[str]:
        result: list[str] = self._call(self._compiled.split, text, maxsplit)
        return result

    def __repr__(self) -> str:
        return f"textmatch.Pattern({self._compiled.pattern!r})"


_COMPILED: dict[tuple[str, int], Pattern] = {}


def compile(source: str, flags: int = 0, *, name: str | None = None) -> Pattern:
    """Compile once (cached); a bad pattern raises `error` here, never at match time."""
    key = (source, flags)
    found = _COMPILED.get(key)
    if found is None:
        found = Pattern(regex.compile(source, flags), name)
        _COMPILED[key] = found
    return found


def escape(text: str) -> str:
    return str(regex.escape(text))


# Module-level shortcuts for one-off patterns (compiled once, cached).
def search(source: str, text: str, flags: int = 0) -> regex.Match[str] | None:
    return compile(source, flags).search(text)


def match(source: str, text: str, flags: int = 0) -> regex.Match[str] | None:
    return compile(source, flags).match(text)


def fullmatch(source: str, text: str, flags: int = 0) -> regex.Match[str] | None:
    return compile(source, flags).fullmatch(text)


def sub(source: str, repl: Replacement, text: str, flags: int = 0, count: int = 0) -> str:
    return compile(source, flags).sub(repl, text, count)


def split(source: str, text: str, flags: int = 0, maxsplit: int = 0) -> list[str]:
    return compile(source, flags).split(text, maxsplit)


def findall(source: str, text: str, flags: int = 0) -> list[Any]:
    return compile(source, flags).findall(text)


def finditer(source: str, text: str, flags: int = 0) -> list[regex.Match[str]]:
    return compile(source, flags).finditer(text)
