"""Camera walls kept in meetings: a host's ``add-wall`` survives a server restart.

Like a camera a host adds (:class:`~conference.store.RoomFeed`), a wall added
to a meeting is kept in the store until a host removes it or the room ends;
after a restart each pass of :class:`anpr_feed.wall.CameraWall` puts the
kept walls of the live rooms back, under the same id (so the same site,
``wall-<id>``). They sit in the store's meta under ``room-walls:<room>``
(one small JSON list per room, at most a few walls), in both engines.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from conference.store import Store

logger = logging.getLogger(__name__)

META_KEY = "room-walls:"
FEED_ID = r"^[A-Za-z0-9_-]{1,64}$"


class RoomWall(BaseModel):
    """One wall in one meeting: its id, its feeds in tile order, who added it and when."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{1,32}$")
    feeds: list[Annotated[str, Field(pattern=FEED_ID)]] = Field(min_length=1, max_length=36)
    added_by: str = Field(min_length=1, max_length=64)
    added_at: float


_WALLS = TypeAdapter(list[RoomWall])


class RoomWalls:
    """The walls kept in each meeting's room."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def of(self, room_id: str) -> list[RoomWall]:
        """The room's kept walls (a damaged record reads as none, and is logged)."""
        raw = await self.store.get_meta(META_KEY + room_id)
        if not raw:
            return []
        try:
            return _WALLS.validate_python(json.loads(raw))
        except (ValueError, TypeError, ValidationError):
            logger.warning("room %s: its kept camera walls are unreadable; none kept", room_id)
            return []

    async def put(self, room_id: str, wall: RoomWall) -> None:
        """Keep ``wall`` in the room (replacing one of the same id)."""
        walls = [w for w in await self.of(room_id) if w.id != wall.id]
        await self._write(room_id, [*walls, wall])

    async def remove(self, room_id: str, wall_id: str) -> bool:
        """Forget one wall of the room; False if it was not kept."""
        walls = await self.of(room_id)
        kept = [w for w in walls if w.id != wall_id]
        if len(kept) == len(walls):
            return False
        await self._write(room_id, kept)
        return True

    async def clear(self, room_id: str) -> None:
        """Forget every wall of the room (it ended)."""
        if await self.store.get_meta(META_KEY + room_id):
            await self.store.set_meta(META_KEY + room_id, "")

    async def _write(self, room_id: str, walls: list[RoomWall]) -> None:
        value = json.dumps([w.model_dump() for w in walls]) if walls else ""
        await self.store.set_meta(META_KEY + room_id, value)
