"""One way to match member text: every pattern runs under the current mail's deadline.

Patterns are compiled with :func:`compile` (the `regex` module underneath) and matched only through
the methods of :class:`Pattern`, which pass `regex` a timeout: the smaller of a per-call cap and
what is left of the budget of the mail being read. :func:`reading` opens that budget for one mail
(parse + screen + extract + decide); outside it each call has the per-call cap alone. A call that
runs out raises :class:`MatchTimeout` (a ``TimeoutError``); the reader catches it, notes which
pattern gave up, and goes on without that pattern's answer, so the whole read of one mail is
bounded whatever the text.

No other module of ``triage`` imports ``re`` or ``regex``: tests/test_bounded_patterns.py checks it
(with a short allowlist of modules that never see member text). :func:`per_call_cap` lowers the
cap so tests can make every pattern time out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

import regex

from triage.firstchars import first_atoms

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


def now() -> float:
    """The clock of every reading deadline: CPU time of the reading thread.

    A budget bounds the work one mail costs, not the wall time it takes: on a machine busy with
    other processes (a renewal-day burst, a benchmark beside us) wall time runs several times
    faster than the mail's own work, and a wall-clock budget would cut ordinary mail short and
    answer it as if nothing had been written. A budget is opened and read in one thread (the
    worker and `check` read a mail in one thread). regex's own per-call timeout stays in wall
    time: it is only the backstop of one call.
    """
    return time.thread_time()


_SURE: Final = 0.5  # seconds of lower bound below which a deadline asks the CPU clock itself


class Deadline:
    """A point in the reading thread's CPU time, cheap to check.

    The CPU clock is a system call (several microseconds) and a read checks its deadline before
    every pattern. A thread's CPU time never runs ahead of wall time, so until the wall clock
    (read in nanoseconds) shows less than half a second to go, the deadline is surely not near
    and the CPU clock is not asked.
    """

    __slots__ = ("cpu", "wall")

    def __init__(self, cpu: float, wall: float) -> None:
        self.cpu = cpu  # the deadline in now() terms
        self.wall = wall  # wall time before which at least (wall - now) seconds of CPU remain

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(now() + seconds, time.monotonic() + seconds)

    def earliest(self, other: Deadline | None) -> Deadline:
        if other is None:
            return self
        return Deadline(min(self.cpu, other.cpu), min(self.wall, other.wall))

    def left(self) -> float:
        """Seconds of CPU time left: exact near the end, a lower bound of at least 0.5 s before."""
        floor = self.wall - time.monotonic()
        if floor > _SURE:
            return floor
        return self.cpu - now()

    def passed(self) -> bool:
        return self.left() <= 0


@dataclass
class Budget:
    """The deadline of one mail's read, and the names of the patterns that gave up."""

    deadline: Deadline
    timeouts: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline.left()

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0


def deadline_within(seconds: float) -> Deadline:
    """`seconds` from now, or the current mail's deadline when that comes first."""
    budget = _STATE.get().budget
    return Deadline.after(seconds).earliest(budget.deadline if budget is not None else None)


@dataclass(frozen=True, slots=True)
class _State:
    """What bounds a call in this context: the mail's budget (if any) and the per-call cap."""

    budget: Budget | None = None
    cap: float = PER_CALL_SECONDS
    only: str | None = None  # the cap applies to this pattern alone (others keep PER_CALL_SECONDS)


# One context variable, read once per call: the wrapper is on the path of every pattern.
_NO_BUDGET: Final = _State()  # frozen: safe to share as the default
_STATE: ContextVar[_State] = ContextVar("triage_textmatch_state", default=_NO_BUDGET)


@contextmanager
def per_call_cap(seconds: float, *, only: str | None = None) -> Iterator[None]:
    """Lower (or raise) the per-call cap inside the block, for every pattern or the one named
    `only`: tests make patterns time out with it (0: the pattern gives up without running)."""
    state = _STATE.get()
    token = _STATE.set(_State(state.budget, seconds, only))
    try:
        yield
    finally:
        _STATE.reset(token)


@contextmanager
def reading(seconds: float = MAIL_BUDGET_SECONDS) -> Iterator[Budget]:
    """Bound every pattern run inside the block by one deadline. Nested blocks keep the outer one."""
    state = _STATE.get()
    if state.budget is not None:
        yield state.budget
        return
    budget = Budget(Deadline.after(seconds))
    token = _STATE.set(_State(budget, state.cap, state.only))
    try:
        yield budget
    finally:
        _STATE.reset(token)


def current_budget() -> Budget | None:
    return _STATE.get().budget


def note_timeout(name: str) -> None:
    """Record on the current budget that a named step gave up (shown in `check` notes)."""
    budget = _STATE.get().budget
    if budget is not None and name not in budget.timeouts:
        budget.timeouts.append(name)


def _timeout(pattern: str) -> float:
    state = _STATE.get()
    cap = state.cap
    if state.only is not None and state.only != pattern:
        cap = PER_CALL_SECONDS
    if cap <= 0:  # per_call_cap(0): no pattern may run at all (tests of every fallback)
        note_timeout(pattern)
        raise MatchTimeout(pattern, budget_spent=False)
    budget = state.budget
    if budget is None:
        return cap
    deadline = budget.deadline
    if cap <= _SURE and deadline.wall - time.monotonic() > _SURE:
        return cap  # far from the deadline (Deadline.left without the call): the hot path
    left = deadline.left()
    if left <= 0:
        note_timeout(pattern)
        raise MatchTimeout(pattern, budget_spent=True)
    return cap if cap < left else left


def _gave_up(name: str, exc: BaseException) -> MatchTimeout:
    budget = _STATE.get().budget
    if budget is not None:
        note_timeout(name)
    return MatchTimeout(name, budget_spent=budget is not None and budget.spent)


def _run(name: str, method: Callable[..., Any], *args: Any) -> Any:
    limit = _timeout(name)
    try:
        return method(*args, timeout=limit)
    except TimeoutError as exc:
        raise _gave_up(name, exc) from exc


class Pattern:
    """A compiled pattern whose every match carries a timeout."""

    __slots__ = ("_compiled", "_source", "name")

    def __init__(
        self, compiled: regex.Pattern[str], name: str | None = None, source: str | None = None
    ) -> None:
        self._compiled = compiled
        self._source = source  # the pattern as written, when `compiled` is a faster equivalent
        self.name = name or (source or compiled.pattern)[:40]

    @property
    def pattern(self) -> str:
        return self._source if self._source is not None else self._compiled.pattern

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._compiled.groupindex)

    @property
    def flags(self) -> int:
        return int(self._compiled.flags)

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        return _run(self.name, method, *args)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        limit = _timeout(self.name)  # inlined (not _run): this is the hottest path of a read
        try:
            return self._compiled.search(text, pos, len(text) if endpos is None else endpos, timeout=limit)
        except TimeoutError as exc:
            raise _gave_up(self.name, exc) from exc

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        limit = _timeout(self.name)  # inlined (not _run): this is the hottest path of a read
        try:
            return self._compiled.match(text, pos, len(text) if endpos is None else endpos, timeout=limit)
        except TimeoutError as exc:
            raise _gave_up(self.name, exc) from exc

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
        limit = _timeout(self.name)  # inlined (not _run): this is the hottest path of a read
        try:
            return self._compiled.fullmatch(text, pos, len(text) if endpos is None else endpos, timeout=limit)
        except TimeoutError as exc:
            raise _gave_up(self.name, exc) from exc

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> list[regex.Match[str]]:
        """Every match, as a list: the whole scan runs under one timeout."""
        end = len(text) if endpos is None else endpos
        limit = _timeout(self.name)
        try:
            # regex counts the timeout over the whole iteration (from the first match on), so the
            # scan as a whole is bounded, not each match.
            return list(self._compiled.finditer(text, pos, end, timeout=limit))
        except TimeoutError as exc:
            raise _gave_up(self.name, exc) from exc

    def findall(self, text: str, pos: int = 0, endpos: int | None = None) -> list[Any]:
        end = len(text) if endpos is None else endpos
        result: list[Any] = self._call(self._compiled.findall, text, pos, end)
        return result

    def sub(self, repl: Replacement, text: str, count: int = 0) -> str:
        limit = _timeout(self.name)
        try:
            result: str = self._compiled.sub(repl, text, count, timeout=limit)
        except TimeoutError as exc:
            raise _gave_up(self.name, exc) from exc
        return result

    def subn(self, repl: Replacement, text: str, count: int = 0) -> tuple[str, int]:
        result: tuple[str, int] = self._call(self._compiled.subn, repl, text, count)
        return result

    def split(self, text: str, maxsplit: int = 0) -> list[str]:
        result: list[str] = self._call(self._compiled.split, text, maxsplit)
        return result

    def __repr__(self) -> str:
        return f"textmatch.Pattern({self.pattern!r})"


class BytesPattern:
    """A compiled pattern over raw mail bytes (headers before decoding, a bounce's text)."""

    __slots__ = ("_compiled", "name")

    def __init__(self, compiled: regex.Pattern[bytes], name: str | None = None) -> None:
        self._compiled = compiled
        self.name = name or compiled.pattern[:40].decode("ascii", "replace")

    def search(self, data: bytes, pos: int = 0, endpos: int | None = None) -> regex.Match[bytes] | None:
        end = len(data) if endpos is None else endpos
        result: regex.Match[bytes] | None = _run(self.name, self._compiled.search, data, pos, end)
        return result

    def findall(self, data: bytes, pos: int = 0, endpos: int | None = None) -> list[Any]:
        end = len(data) if endpos is None else endpos
        result: list[Any] = _run(self.name, self._compiled.findall, data, pos, end)
        return result

    def sub(self, repl: bytes | Callable[[regex.Match[bytes]], bytes], data: bytes, count: int = 0) -> bytes:
        result: bytes = _run(self.name, self._compiled.sub, repl, data, count)
        return result

    def __repr__(self) -> str:
        return f"textmatch.BytesPattern({self._compiled.pattern!r})"


_COMPILED: dict[tuple[str, int], Pattern] = {}
_COMPILED_BYTES: dict[tuple[bytes, int], BytesPattern] = {}


def compile(source: str, flags: int = 0, *, name: str | None = None) -> Pattern:
    """Compile once (cached); a bad pattern raises `error` here, never at match time."""
    key = (source, flags)
    found = _COMPILED.get(key)
    if found is None:
        found = Pattern(regex.compile(source, flags), name)
        _COMPILED[key] = found
    return found


def compile_bytes(source: bytes, flags: int = 0, *, name: str | None = None) -> BytesPattern:
    """Like :func:`compile`, for patterns over raw bytes."""
    key = (source, flags)
    found = _COMPILED_BYTES.get(key)
    if found is None:
        found = BytesPattern(regex.compile(source, flags), name)
        _COMPILED_BYTES[key] = found
    return found


def any_of(patterns: tuple[Pattern, ...], *, name: str) -> Pattern | None:
    """Several patterns as one alternation (one call instead of one per pattern); a leading
    `(?i)` becomes a scoped `(?i:…)`. None for no patterns. Compiled once per set."""
    if not patterns:
        return None
    found = _ANY_OF.get((patterns, name))
    if found is not None:
        return found
    sources = [pattern.pattern for pattern in patterns]
    parts = [f"(?i:{source[4:]})" if source.startswith("(?i)") else f"(?:{source})" for source in sources]
    combined = with_first_chars(compile("|".join(parts), VERSION1, name=name))
    _ANY_OF[(patterns, name)] = combined
    return combined


_ANY_OF: dict[tuple[tuple[Pattern, ...], str], Pattern] = {}


def with_first_chars(pattern: Pattern) -> Pattern:
    """The same pattern, searching faster: a look-ahead on the characters every match starts with
    (triage.firstchars) lets `regex` skip the positions where none can start. Every match, group
    and span is the one of `pattern`; `pattern.pattern` is unchanged. The pattern as it is when
    its first characters cannot be told (or it may match the empty string)."""
    found = _FIRST.get(pattern)
    if found is not None:
        return found
    source, flags = pattern.pattern, pattern.flags
    scoped = source.startswith("(?i)")
    body = f"(?i:{source[4:]})" if scoped else f"(?:{source})"
    if scoped:
        flags &= ~IGNORECASE  # now scoped to the body: the look-ahead stays case-sensitive
    atoms = None if flags & (VERBOSE | IGNORECASE) else first_atoms(body)
    if atoms is None or not all(_is_char(atom) for atom in atoms):
        found = pattern  # a class or a property first: the look-ahead costs more than it saves
    else:
        faster = regex.compile(f"(?={_look_ahead(atoms)}){body}", flags)
        found = Pattern(faster, pattern.name, source=source)
    _FIRST[pattern] = found
    return found


_FIRST: dict[Pattern, Pattern] = {}


def first_chars(pattern: Pattern) -> frozenset[str] | None:
    """The characters every match of ``pattern`` starts with, or None when they cannot be told:
    a caller skips ``pattern.match(text)`` when ``text[:1]`` is not among them (cached)."""
    if pattern in _STARTS:
        return _STARTS[pattern]
    source, flags = pattern.pattern, pattern.flags
    if source.startswith("(?i)"):
        flags &= ~IGNORECASE  # first_atoms reads the prefix and gives every case
    atoms = None if flags & (VERBOSE | IGNORECASE) else first_atoms(source)
    chars = frozenset(atom[-1] for atom in atoms) if atoms and all(_is_char(a) for a in atoms) else None
    _STARTS[pattern] = chars
    return chars


_STARTS: dict[Pattern, frozenset[str] | None] = {}


def _is_char(atom: str) -> bool:
    return len(atom) == 1 or (len(atom) == 2 and atom[0] == "\\")


def _look_ahead(atoms: list[str]) -> str:
    """The first characters as one class."""
    return "[" + "".join(atom if len(atom) == 2 else regex.escape(atom) for atom in atoms) + "]"


def escape(text: str) -> str:
    return str(regex.escape(text))


def escape_bytes(data: bytes) -> bytes:
    return bytes(regex.escape(data))


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
