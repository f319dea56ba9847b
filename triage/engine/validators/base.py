"""What every validator shares: its result types, its context and the helpers that read a value.

A validator takes a value as the member wrote it and a :class:`FieldContext`, and returns
``None`` (no value: a placeholder or nothing usable), :class:`Ok` (the normal form of fields.md,
perhaps with a suggestion, never applied) or :class:`Bad` (written but invalid, with member-facing
reasons in Japanese and English).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass

from triage import textmatch
from triage.engine.normalize import DASHES, for_report, is_placeholder


@dataclass(frozen=True)
class Ok:
    value: str | int | list[str]  # the normal form of fields.md
    suggestion: str | None = None  # e.g. "taro@gmail.com" for "taro@gmail.con" (suggest, never rewrite)


@dataclass(frozen=True)
class Bad:
    reason_ja: str
    reason_en: str
    suggestion: str | None = None


@dataclass(frozen=True)
class FieldContext:
    today: datetime.date
    member_phone: str | None = None  # normalised phone of the same mail (for the au rule)
    our_local_parts: frozenset[str] = frozenset()  # our secure_* mailboxes: never a member's e-mail


Result = Ok | Bad | None
Validator = Callable[[str, FieldContext], Result]


def bounded(validator: Validator) -> Validator:
    """The validator, reading no value (``None``) when one of its patterns runs out of time.

    A value whose check timed out is neither valid nor invalid: it is not read, as if not given
    (textmatch notes the pattern on the mail's budget, so `check` shows it).
    """

    @functools.wraps(validator)
    def run(raw: str, ctx: FieldContext) -> Result:
        try:
            return validator(raw, ctx)
        except textmatch.MatchTimeout:
            return None

    return run


HAN = textmatch.compile(r"\p{Han}", name="validators.han")
ANY_DIGIT = textmatch.compile(r"\p{Nd}", name="validators.any_digit")
LETTER = textmatch.compile(r"[A-Za-z]", name="validators.letter")
NOT_DIGIT = textmatch.compile(r"[^0-9]", name="validators.not_digit")
# A number: groups of digits joined by the separators members put inside numbers.
_SEPARATOR = rf"[ ./{textmatch.escape(DASHES)}]"
DIGIT_RUN = textmatch.compile(rf"[0-9]+(?:{_SEPARATOR}{{1,3}}[0-9]+)*", name="validators.digit_run")
DATE_LIKE_RUN = textmatch.compile(
    rf"[0-9]+(?:(?:{_SEPARATOR}|[年月日]){{1,3}}[0-9]+)*", name="validators.date_like_run"
)


def prepare(raw: str, *, keep_punctuation: bool = False) -> str | None:
    """for_report; None for an empty value or a placeholder answer."""
    value = for_report(raw, keep_punctuation=keep_punctuation)
    if not value or is_placeholder(value):
        return None
    return value


def digits_only(text: str) -> str:
    """The ASCII digits of ``text``, in order."""
    return NOT_DIGIT.sub("", text)


def first_number(value: str, pattern: textmatch.Pattern = DIGIT_RUN) -> tuple[str, bool] | None:
    """Digits of the first number in ``value`` (separators removed), and whether a letter touches it.

    Text after the number is ignored (``090-1234-5678（携帯）``); a letter glued to it
    (``A1234``, ``1234x``) means the value is not a plain number.
    """
    match = pattern.search(value)
    if match is None:
        return None
    before = value[match.start() - 1 : match.start()]
    after = value[match.end() : match.end() + 1]
    glued = bool(LETTER.match(before) or LETTER.match(after))
    return digits_only(match.group()), glued


def count_ja(n: int) -> str:
    return f"{n}桁"
