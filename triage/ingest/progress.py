"""The progress bar of `triage ingest` on a terminal (rich's, not a hand-drawn one).

Problem lines are printed above the bar without tearing it; off a terminal there is no bar and
the lines go straight to the stream.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TaskProgressColumn, TextColumn
from rich.progress import Progress as RichProgress


def is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


class Progress:
    """`ingest ━━━━━━━━━━  120/500  24%`, redrawn in place; ``say`` prints a line above it."""

    def __init__(self, stream: TextIO, total: int, *, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled and total > 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        if self._enabled:
            console = Console(file=stream, force_terminal=True, highlight=False, markup=False)
            self._bar = RichProgress(
                TextColumn("ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                console=console,
                transient=True,  # cleared at the end: the summary follows on stdout
                refresh_per_second=10,
            )
            self._task = self._bar.add_task("ingest", total=total)

    def start(self) -> None:
        if self._bar is not None:
            self._bar.start()

    def advance(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)

    def say(self, line: str) -> None:
        """Print one line on the stream (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            self._stream.write(line + "\n")
            self._stream.flush()

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
