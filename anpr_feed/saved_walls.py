"""Saved camera walls: a user's named walls (layout and feeds), kept in the store's meta.

Each account keeps up to :data:`MAX_SAVED` walls under one meta key
(``saved-walls:<username>``), in both store engines. A saved wall holds feed
ids only: whether its owner may still see each feed is checked when the wall
is opened (:meth:`anpr_feed.wall.CameraWall.open`), not when it is saved.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conference.store import Store

logger = logging.getLogger(__name__)

META_KEY = "saved-walls:"
MAX_SAVED = 20
FEED_ID = r"^[A-Za-z0-9_-]{1,64}$"


class SavedWall(BaseModel):
    """One named wall: its size and its feeds in tile order (``POST /api/wall/saved``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    layout: Literal[16, 25, 36]
    feeds: list[Annotated[str, Field(pattern=FEED_ID)]] = Field(min_length=1, max_length=36)


class SavedWalls:
    """The saved walls of each account."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def of(self, username: str) -> list[SavedWall]:
        """The account's saved walls, by name (a damaged record reads as none)."""
        raw = await self.store.get_meta(META_KEY + username)
        if not raw:
            return []
        try:
            return [SavedWall.model_validate(item) for item in json.loads(raw)]
        except (ValueError, TypeError, ValidationError):
            logger.warning("saved walls of %s are unreadable; shown as none", username)
            return []

    async def save(self, username: str, wall: SavedWall) -> list[SavedWall]:
        """Save (or replace, by name) one wall; ValueError past :data:`MAX_SAVED`."""
        walls = [w for w in await self.of(username) if w.name != wall.name]
        if len(walls) >= MAX_SAVED:
            raise ValueError(f"at most {MAX_SAVED} saved walls per account")
        walls = sorted([*walls, wall], key=lambda w: w.name)
        await self._write(username, walls)
        return walls

    async def delete(self, username: str, name: str) -> bool:
        """Forget one saved wall; False if there was none of that name."""
        walls = await self.of(username)
        kept = [w for w in walls if w.name != name]
        if len(kept) == len(walls):
            return False
        await self._write(username, kept)
        return True

    async def _write(self, username: str, walls: list[SavedWall]) -> None:
        value = json.dumps([w.model_dump() for w in walls], ensure_ascii=False)
        await self.store.set_meta(META_KEY + username, value)
