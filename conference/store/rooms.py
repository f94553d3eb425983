"""Meeting rooms: the record and the :class:`RoomStore` protocol."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from conference.settings import VideoCodec
from conference.store.errors import StoreError

ROOM_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")


@dataclass(frozen=True, slots=True)
class Room:
    """A meeting room: a place sites join, with one video codec for all."""

    id: str
    name: str
    codec: VideoCodec
    created_at: float


def new_room_id() -> str:
    """A short id that is safe in URLs and easy to read out on the phone."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return (
        "".join(secrets.choice(alphabet) for _ in range(4))
        + "-"
        + "".join(secrets.choice(alphabet) for _ in range(4))
    )


def new_room(name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
    """A room to create, named and (if ``room_id`` is None) given an id; both engines check so.

    :class:`~conference.store.errors.StoreError` if the name or the id is not one a room may have.
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise StoreError("room name must be 1 to 120 characters")
    if room_id is not None and not ROOM_ID_PATTERN.match(room_id):
        raise StoreError("room id must be 3-64 characters: lower-case letters, digits, '-'")
    return Room(id=room_id or new_room_id(), name=name, codec=codec, created_at=time.time())


class RoomStore(Protocol):
    """The rooms sites join."""

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        """Create and return a room; ``room_id`` must be unused if given."""
        ...

    async def get_room(self, room_id: str) -> Room:
        """Return the room or raise :class:`~conference.store.errors.RoomNotFound`."""
        ...

    async def list_rooms(self) -> list[Room]:
        """All rooms, oldest first."""
        ...

    async def delete_room(self, room_id: str) -> None:
        """Delete a room or raise :class:`~conference.store.errors.RoomNotFound`."""
        ...
