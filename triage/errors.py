"""The exception hierarchy: one root, narrow subclasses."""

from __future__ import annotations

from dataclasses import dataclass


class TriageError(Exception):
    """Root of every error triage raises on purpose."""


class UnreadableMail(TriageError):
    """The input cannot be read as a mail at all (not a file, unreadable, empty)."""


class ParseFailure(TriageError):
    """The mail was read but its structure could not be parsed (too deep, too many parts ...)."""


class ConfigError(TriageError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class SourceLocation:
    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class RulePackError(TriageError):
    """A problem in a rule pack or template, with the file and line where it is."""

    def __init__(self, message: str, where: SourceLocation) -> None:
        super().__init__(f"{where}: {message}")
        self.message = message
        self.where = where


class StoreUnavailable(TriageError):
    """The database cannot take the write right now (down, locked, read-only)."""


class ComposeError(TriageError):
    """A reply cannot be composed safely (bad recipient, unsafe header); it is not sent."""


class SendError(TriageError):
    """The relay did not take a reply; ``reply_text`` is its answer or what went wrong."""

    def __init__(self, reply_text: str) -> None:
        super().__init__(reply_text)
        self.reply_text = reply_text


class TransientSendError(SendError):
    """A 4xx reply or a connection problem: try again later."""


class UncertainSendError(SendError):
    """The whole message went out but the relay's answer never came: it may have accepted it.

    At least once: such a reply is ``delivery_unknown`` and sent again with the same Message-ID.
    """


class PermanentSendError(SendError):
    """A 5xx reply (or an address that must never be tried): do not try again."""


class CannotListen(ConfigError):
    """An address to listen on is in use or not allowed (`triage` exits 4)."""
