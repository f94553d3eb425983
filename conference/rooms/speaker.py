"""Active speaker detection with hysteresis.

Switching the main video on every breath is worse than a short delay: a
challenger must out-speak the current speaker by a margin for a while before
the main slot moves, and silence never moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_ACTIVITY = 1.5  # below this nobody is speaking
SWITCH_RATIO = 1.5  # a challenger must be this many times as active...
SWITCH_MARGIN = 1.0  # ...plus this much
HOLD_SECONDS = 0.6  # ...for this long
MIN_TENURE_SECONDS = 1.5  # and the current speaker keeps the floor at least this long


@dataclass
class ActiveSpeakerDetector:
    """Decides the room's active speaker from per-site speech activity."""

    speaker: str | None = None
    _challenger: str | None = None
    _challenger_since: float = 0.0
    _speaker_since: float = 0.0
    recent: list[str] = field(default_factory=list)  # most recent speaker first

    def update(self, activity: dict[str, float], now: float) -> bool:
        """Feed the activity of every site; True if the speaker changed."""
        if self.speaker is not None and self.speaker not in activity:
            self.forget(self.speaker)
        if not activity:
            return False
        loudest = max(activity, key=lambda k: activity[k])
        level = activity[loudest]
        if level < MIN_ACTIVITY or loudest == self.speaker:
            self._challenger = None
            return False
        if self.speaker is None:
            self._set(loudest, now)
            return True
        current = activity.get(self.speaker, 0.0)
        if level < current * SWITCH_RATIO + SWITCH_MARGIN:
            self._challenger = None
            return False
        if self._challenger != loudest:
            self._challenger = loudest
            self._challenger_since = now
            return False
        if (
            now - self._challenger_since < HOLD_SECONDS
            or now - self._speaker_since < MIN_TENURE_SECONDS
        ):
            return False
        self._set(loudest, now)
        return True

    def force(self, site: str | None, now: float) -> None:
        """Make ``site`` the speaker (floor given by the host)."""
        if site is not None:
            self._set(site, now)
        else:
            self.speaker = None

    def forget(self, site: str) -> None:
        """A site left: it can no longer be the speaker."""
        if self.speaker == site:
            self.speaker = None
        if self._challenger == site:
            self._challenger = None
        if site in self.recent:
            self.recent.remove(site)

    def _set(self, site: str, now: float) -> None:
        self.speaker = site
        self._speaker_since = now
        self._challenger = None
        if site in self.recent:
            self.recent.remove(site)
        self.recent.insert(0, site)
        del self.recent[32:]
