"""Time comes from a Clock, so tests can fix it; nothing else calls now() or today()."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def today(self) -> dt.date: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        # Birth dates are calendar dates in Japan: "today" is today in Japan.
        return dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()


@dataclass
class FixedClock:
    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at

    def today(self) -> dt.date:
        return self.at.astimezone(dt.timezone(dt.timedelta(hours=9))).date()
