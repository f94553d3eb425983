"""Log lines that cannot flood the log: at most one per interval per kind.

A fault that repeats per packet or per connection (an oversized packet, a
failing accept) would otherwise write megabytes a second and bury the line
that explains it. The first occurrence is logged at once; later ones within
the interval are counted and the count goes out with the next line.
"""

from __future__ import annotations

import logging
import time


class RateLimitedLog:
    """One kind of log line, written at most once per ``interval`` seconds."""

    __slots__ = ("_interval", "_last", "_level", "_logger", "_suppressed")

    def __init__(
        self, logger: logging.Logger, interval: float = 10.0, level: int = logging.WARNING
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._level = level
        self._last = -interval
        self._suppressed = 0

    def log(self, message: str, *args: object, exc_info: bool = False) -> bool:
        """Write ``message % args`` unless one was written within the interval; True if written."""
        now = time.monotonic()
        if now - self._last < self._interval:
            self._suppressed += 1
            return False
        self._last = now
        if self._suppressed:
            message += " (%d more like this in the last %.0f s were not logged)"
            args = (*args, self._suppressed, self._interval)
            self._suppressed = 0
        self._logger.log(self._level, message, *args, exc_info=exc_info)
        return True

    warning = log
