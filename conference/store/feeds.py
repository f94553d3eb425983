"""Checkpoint cameras: the :class:`Feed` record, registration limits and :class:`FeedStore`.

What the cameras read (plate events, the watch list, outbreak provinces)
lives with them in :mod:`anpr_feed.events_store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from conference.store.errors import FeedLimitReached


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed: a camera configured in the service (its URL, name, checkpoint and unit)."""

    id: str
    name: str
    checkpoint: str  # the checkpoint's name, e.g. "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên"
    location: str
    url: str  # rtsp://, http(s):// (MJPEG or a file), or a local file
    unit_code: str | None  # the unit the checkpoint belongs to (scope of its operators)
    created_at: float
    created_by: str
    passthrough: bool = False  # an H.264 camera forwarded as it is (no annotation)


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """How many cameras may be registered: in all, and for one unit.

    Each feed runs a process that keeps about one core busy at 720p25 and
    holds some 180 MiB, whether its camera answers or not.
    """

    total: int  # CONFERENCE_MAX_FEEDS
    per_unit: int  # CONFERENCE_MAX_FEEDS_PER_UNIT (a feed of no unit counts in the total only)

    def refusal(self, feed: Feed, total: int, in_unit: int) -> FeedLimitReached | None:
        """Why ``feed`` may not join ``total`` feeds (``in_unit`` of its unit), or None."""
        if total >= self.total:
            return FeedLimitReached(
                "too-many-feeds",
                self.total,
                f"this server runs at most {self.total} camera feeds (CONFERENCE_MAX_FEEDS); "
                "remove one, or have the administrator raise the limit for a larger machine",
            )
        if feed.unit_code is not None and in_unit >= self.per_unit:
            return FeedLimitReached(
                "too-many-unit-feeds",
                self.per_unit,
                f"unit {feed.unit_code} already has {self.per_unit} camera feeds, its limit "
                "(CONFERENCE_MAX_FEEDS_PER_UNIT); remove one first",
            )
        return None


class FeedStore(Protocol):
    """The registered checkpoint cameras."""

    async def create_feed(self, feed: Feed, limits: FeedLimits | None = None) -> None:
        """Register a camera; :class:`~conference.store.errors.Conflict` if the id is taken.

        With ``limits``, counting the feeds and adding this one is atomic:
        :class:`~conference.store.errors.FeedLimitReached` if it would pass either limit.
        """
        ...

    async def get_feed(self, feed_id: str) -> Feed:
        """The feed or :class:`~conference.store.errors.NotFound`."""
        ...

    async def list_feeds(self) -> list[Feed]:
        """Every feed, by checkpoint then name."""
        ...

    async def delete_feed(self, feed_id: str) -> None:
        """Remove a feed (its events stay); :class:`~conference.store.errors.NotFound` if unknown."""
        ...
