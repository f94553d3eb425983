"""State behind one protocol; engines live side by side in this package."""

from __future__ import annotations

from pathlib import Path

from conference.store.base import (
    AccountRole,
    Attempt,
    Backoff,
    Conflict,
    Feed,
    Grant,
    Login,
    Meeting,
    MeetingNotFound,
    NotFound,
    Outbreak,
    PlateEvent,
    Room,
    RoomNotFound,
    Site,
    Store,
    StoreError,
    Unit,
    UnitNotFound,
    User,
    WatchEntry,
    login_key,
    plate_query,
)
from conference.store.sqlite import SqliteStore

__all__ = [
    "AccountRole",
    "Attempt",
    "Backoff",
    "Conflict",
    "Feed",
    "Grant",
    "Login",
    "Meeting",
    "MeetingNotFound",
    "NotFound",
    "Outbreak",
    "PlateEvent",
    "Room",
    "RoomNotFound",
    "Site",
    "SqliteStore",
    "Store",
    "StoreError",
    "Unit",
    "UnitNotFound",
    "User",
    "WatchEntry",
    "login_key",
    "open_store",
    "plate_query",
]


def open_store(
    data_dir: Path | str, redis_url: str | None = None, redis_prefix: str = "conference:"
) -> Store:
    """The Redis engine when ``redis_url`` is given, else SQLite in ``data_dir``."""
    if redis_url:
        from conference.store.redis import RedisStore

        return RedisStore(redis_url, prefix=redis_prefix)
    return SqliteStore(Path(data_dir) / "conference.sqlite3")
