"""A safety net under every log line: no one kind of warning or error may flood the log.

When something fails once per connection, per packet or per accept (the
descriptor table full, a client sending garbage in a loop), the same line
with the same traceback is written thousands of times a second: the disk
fills, and the line that explains the fault is lost among copies of it.
:class:`FloodFilter`, installed on the log handlers when the server starts,
lets through at most ``burst`` records of one kind (same logger, level and
message template) per ``period`` seconds, counts the rest, and adds the count
to the next record of that kind that goes out. Records below WARNING (the
access log, debug output) are not limited.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

_MAX_KINDS = 2048  # message templates tracked at once; preformatted messages make new ones


class _Window:
    __slots__ = ("count", "start", "suppressed", "suppressed_since")

    def __init__(self, start: float) -> None:
        self.start = start
        self.count = 0
        self.suppressed = 0
        self.suppressed_since = start


class FloodFilter(logging.Filter):
    """Let through at most ``burst`` records of one kind per ``period`` seconds."""

    def __init__(
        self,
        burst: int = 5,
        period: float = 1.0,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.level = level
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a record over its kind's budget; a record that passes reports the dropped."""
        if record.levelno < self.level:
            return True
        verdict: bool | None = getattr(record, "_flood_verdict", None)
        if verdict is None:  # one decision per record, however many handlers share the filter
            verdict = self._decide(record)
            record._flood_verdict = verdict
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        key = (record.name, record.levelno, str(record.msg)[:200])
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= _MAX_KINDS:
                self._forget(now)
            window = self._windows[key] = _Window(now)
        elif now - window.start >= self.period:
            window.start = now
            window.count = 0
        if window.count >= self.burst:
            if not window.suppressed:
                window.suppressed_since = now
            window.suppressed += 1
            return False
        window.count += 1
        if window.suppressed:
            text = record.getMessage()
            record.msg = "%s [%d more like this in the last %.0f s were not logged]"
            record.args = (text, window.suppressed, now - window.suppressed_since)
            window.suppressed = 0
        return True

    def _forget(self, now: float) -> None:
        """Drop the kinds that are quiet (a flood still running keeps its count)."""
        for key, window in list(self._windows.items()):
            if now - window.start >= self.period and not window.suppressed:
                del self._windows[key]
        if len(self._windows) >= _MAX_KINDS:
            self._windows.clear()


def install(burst: int = 5, period: float = 1.0) -> FloodFilter:
    """Put one :class:`FloodFilter` on every handler of the root logger (once)."""
    root = logging.getLogger()
    for handler in root.handlers:
        for existing in handler.filters:
            if isinstance(existing, FloodFilter):
                return existing
    flood_filter = FloodFilter(burst, period)
    for handler in root.handlers:
        handler.addFilter(flood_filter)
    return flood_filter
