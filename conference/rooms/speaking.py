"""The active-speaker timeline: who was heard as the room's speaker, from when to when.

The room ticks it every routing pass (:data:`~conference.rooms.room.TICK_SECONDS`)
with the detector's speaker and whether that site is heard now. A turn opens
when the speaker is heard and closes when another site takes over, the site
leaves, or it has been silent for :data:`PAUSE_SECONDS` (its end is when it
was last heard): the detector keeps a silent speaker in the main slot, but a
silent meeting is nobody's speaking time. Closed turns wait in memory until
:meth:`SpeakingTimeline.take` hands them to the store in a batch
(:mod:`conference.speaking_log`), never one write per packet or per tick.
"""

from __future__ import annotations

from dataclasses import dataclass

PAUSE_SECONDS = 2.0  # a shorter pause (a breath, between sentences) does not end a turn
MAX_WAITING = 20_000  # closed turns kept while the store is out of reach; the oldest go first


@dataclass(frozen=True, slots=True)
class Turn:
    """One site heard as the active speaker (unix seconds)."""

    site: str
    name: str
    start: float
    end: float


class SpeakingTimeline:
    """The turns of one room, the open one and those closed and not yet saved."""

    def __init__(self, tick_seconds: float = 0.2) -> None:
        self._tick = tick_seconds
        self._site: str | None = None
        self._name = ""
        self._start = 0.0
        self._heard = 0.0  # when the open turn's site was last heard
        self._closed: list[Turn] = []
        self.dropped = 0  # turns lost because too many waited (the store was out for hours)

    @property
    def speaking(self) -> str | None:
        """The site whose turn is open."""
        return self._site

    def tick(self, speaker: str | None, name: str, heard: bool, now: float) -> None:
        """The room's speaker now (None: nobody), and whether it is heard (above the threshold)."""
        if self._site is not None:
            if speaker != self._site or (not heard and now - self._heard >= PAUSE_SECONDS):
                self._close(now)
            elif heard:
                self._heard = now
        if self._site is None and speaker is not None and heard:
            self._site, self._name, self._start, self._heard = speaker, name, now, now

    def open_turn(self, now: float) -> Turn | None:
        """The turn under way as if it ended now (minutes made during the meeting)."""
        if self._site is None:
            return None
        end = min(now, self._heard + self._tick)
        return Turn(self._site, self._name, self._start, max(end, self._start))

    def stop(self, now: float) -> None:
        """Close the open turn (the room closes)."""
        if self._site is not None:
            self._close(now)

    def take(self) -> list[Turn]:
        """The turns closed since the last call, oldest first."""
        taken, self._closed = self._closed, []
        return taken

    def _close(self, now: float) -> None:
        # Heard at the last tick: it spoke through that tick's period, not past now.
        end = min(now, self._heard + self._tick)
        self._closed.append(Turn(self._site or "", self._name, self._start, max(end, self._start)))
        if len(self._closed) > MAX_WAITING:
            excess = len(self._closed) - MAX_WAITING
            del self._closed[:excess]
            self.dropped += excess
        self._site = None
