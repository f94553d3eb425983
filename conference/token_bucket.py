"""A token bucket per key: ``burst`` actions at once, then one each ``1 / rate`` seconds."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBuckets:
    """Rate limits keyed by a string (a site, a host); in memory, per process.

    Keys whose bucket is full again are forgotten, so the map holds only
    those who sent recently.
    """

    def __init__(
        self, burst: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = burst / per_seconds  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Take one token: 0.0 if granted, else the seconds until one is there."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        full = [
            k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
