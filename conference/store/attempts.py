"""Attempt counters (the login throttle, shared by every process): :class:`AttemptStore`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often attempts under one key may come (see :meth:`AttemptStore.take_attempt`).

    The first ``free`` attempts go back to back; after the ``free``-th the
    next one waits ``delay`` seconds, and each further one twice as long as
    the one before, up to ``max_delay``. A key is forgotten ``window``
    seconds after its last counted attempt (or once its wait is over, if
    that is later).
    """

    free: int
    delay: float
    max_delay: float
    window: float


def backoff_wait(backoff: Backoff, count: int) -> float:
    """The wait after the ``count``-th attempt under a key (both engines use this rule)."""
    if count < backoff.free:
        return 0.0
    return float(min(backoff.max_delay, backoff.delay * 2.0 ** min(count - backoff.free, 60)))


@dataclass(frozen=True, slots=True)
class Attempt:
    """The answer of :meth:`AttemptStore.take_attempt`."""

    granted: bool
    count: int  # attempts counted under the key, this one included when granted
    wait: float  # refused: seconds until one is allowed; granted: before the next one is


class AttemptStore(Protocol):
    """Counters of attempts under a key, atomic across processes and nodes."""

    async def take_attempt(self, key: str, now: float, backoff: Backoff) -> Attempt:
        """Count one attempt under ``key`` if ``backoff`` allows one at ``now``.

        Atomic across processes and nodes: of many concurrent callers, only
        as many are granted as the backoff allows. A refused attempt is not
        counted and changes nothing.
        """
        ...

    async def return_attempt(self, key: str, forget: bool = False) -> None:
        """Give back one counted attempt under ``key`` or, with ``forget``, the whole key."""
        ...
