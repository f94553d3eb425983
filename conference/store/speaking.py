"""A meeting's active-speaker timeline: :class:`SpeakingInterval` and :class:`SpeakingStore`.

The meeting's home room notes who was heard as the active speaker
(:mod:`conference.rooms.speaking`) and writes the closed intervals in
batches (:mod:`conference.speaking_log`); the minutes read them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SpeakingInterval:
    """One site heard as the meeting's active speaker from ``start`` to ``end`` (unix seconds)."""

    meeting_id: str
    site: str
    name: str  # the site's name when it spoke (a guest has no unit to name it later)
    start: float
    end: float

    @property
    def seconds(self) -> float:
        """How long it spoke."""
        return max(0.0, self.end - self.start)


class SpeakingStore(Protocol):
    """Each meeting's speaking intervals."""

    async def add_speaking(self, intervals: Sequence[SpeakingInterval]) -> None:
        """Keep a batch of closed intervals (of one or more meetings)."""
        ...

    async def meeting_speaking(self, meeting_id: str) -> list[SpeakingInterval]:
        """The meeting's intervals by start time (then site); [] if none."""
        ...


def in_order(intervals: list[SpeakingInterval]) -> list[SpeakingInterval]:
    """``intervals`` by start time, then site (the order both engines answer in)."""
    return sorted(intervals, key=lambda i: (i.start, i.site, i.end))
