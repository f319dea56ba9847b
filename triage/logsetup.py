"""Logging for the long-running commands (`serve`, `ingest`): one stderr handler, and a filter
that masks addresses and long digit runs as a safety net (security.md §3).

One format switch: ``text`` (``time LEVEL logger: message``) or ``json`` (one object per line
with ``time``, ``level``, ``logger``, ``message`` and ``exception`` when there is one), from
``--log-format`` or TRIAGE_LOG_FORMAT. Alembic's INFO lines ("Context impl", "Will assume
transactional DDL", one per migration) are held back: `serve` says itself which database it
upgraded.

The mechanism is discipline: log ids, field names, decisions and reasons, never a body, a header
value with an address or a field value. :class:`MaskingFilter` catches what slips through,
including the text of exceptions and their tracebacks.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

from triage.errors import ConfigError
from triage.masking import mask_text

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FORMATTER: Final = logging.Formatter()
# Loggers whose INFO records are noise for an operator; their warnings still show.
QUIET_LOGGERS: Final = ("alembic",)


class JsonFormatter(logging.Formatter):
    """One JSON object per record on one line (json.dumps escapes every newline)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (and traceback, and stack) with :func:`mask_text`.

    The record is changed in place, so handlers after the one carrying this filter see the
    masked text too. A record whose arguments do not fit its format is left for the handler to
    report as a logging error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it; nothing to mask yet
            return True
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of each record (as logging.lastResort
    does), so replacing sys.stderr (tests, daemons) never leaves it writing to a closed stream."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always sys.stderr


def _level(level: int | str) -> int:
    if isinstance(level, int):
        return level
    named = logging.getLevelNamesMapping().get(level.strip().upper())
    if named is None:
        raise ConfigError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    return named


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "text":
        return logging.Formatter(LOG_FORMAT)
    if fmt == "json":
        return JsonFormatter()
    raise ConfigError(f"unknown log format {fmt!r}: use text or json")


def configure_logging(level: int | str = logging.INFO, fmt: str = "text") -> logging.Handler:
    """Send records at ``level`` and above to stderr, masked, as ``fmt`` (text or json).

    Calling it again replaces the handler it installed before (never two handlers).
    """
    formatter = _formatter(fmt)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
    root.setLevel(_level(level))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
