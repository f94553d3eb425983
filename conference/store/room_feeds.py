"""Cameras hosts put in rooms: the :class:`RoomFeed` record and :class:`RoomFeedStore`.

A host's decision outlives the camera's reader: a feed whose worker stops
(its lease lapsed, its node died, it was restarted) is out of the room until
it runs again on the room's node, then it joins again by itself
(anpr_feed/in_meetings.py). The decision is kept here, not in the node's
memory, so that a node restarted or taking over the room knows it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoomFeed:
    """A camera a host put in a room, and who did (whose scope it must stay in)."""

    room_id: str
    feed_id: str
    added_by: str  # the host's username: the camera rejoins only while they may see it
    added_at: float


class RoomFeedStore(Protocol):
    """The cameras each room should show, until a host takes them out or the room ends."""

    async def put_room_feed(self, entry: RoomFeed) -> None:
        """Keep ``entry`` (the same room and feed again: the newer host and time replace it)."""
        ...

    async def room_feeds(self, room_id: str) -> list[RoomFeed]:
        """The cameras ``room_id`` should show, by feed id."""
        ...

    async def remove_room_feed(self, room_id: str, feed_id: str) -> None:
        """A host took the camera out of the room; no error if it was not kept."""
        ...

    async def clear_room_feeds(self, room_id: str) -> None:
        """The room ended: it should show no camera any more."""
        ...
