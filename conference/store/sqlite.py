"""The embedded engine: SQLite in the data directory, with migrations.

SQLite calls run on one worker thread so the event loop never waits on the
disk, and a second process (the ``conference`` admin verbs while the server
runs) can use the same file thanks to WAL mode.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from conference.settings import VideoCodec
from conference.store.base import ROOM_ID_PATTERN, Room, RoomNotFound, StoreError, new_room_id

T = TypeVar("T")

# Each entry moves the schema one version up; never edit a shipped entry.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        codec TEXT NOT NULL CHECK (codec IN ('vp8', 'h264')),
        created_at REAL NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; return that version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"database schema version {version} is newer than this program "
            f"({len(MIGRATIONS)}); upgrade the program"
        )
    for number in range(version, len(MIGRATIONS)):
        with conn:
            conn.executescript(
                "BEGIN;" + MIGRATIONS[number] + f"PRAGMA user_version = {number + 1};"
            )
    return len(MIGRATIONS)


class SqliteStore:
    """:class:`conference.store.Store` on a SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            self._conn = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a scheduled session must survive kill -9 and power loss alike.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self._conn)

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        name = name.strip()
        if not name or len(name) > 120:
            raise StoreError("room name must be 1 to 120 characters")
        if room_id is not None and not ROOM_ID_PATTERN.match(room_id):
            raise StoreError("room id must be 3-64 characters: lower-case letters, digits, '-'")
        room = Room(id=room_id or new_room_id(), name=name, codec=codec, created_at=time.time())

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO rooms (id, name, codec, created_at) VALUES (?, ?, ?, ?)",
                    (room.id, room.name, room.codec, room.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"room {room.id!r} already exists") from exc

        await self._run(insert)
        return room

    async def get_room(self, room_id: str) -> Room:
        def select(conn: sqlite3.Connection) -> tuple | None:
            return conn.execute(
                "SELECT id, name, codec, created_at FROM rooms WHERE id = ?", (room_id,)
            ).fetchone()

        row = await self._run(select)
        if row is None:
            raise RoomNotFound(f"no room with id {room_id!r}")
        return Room(*row)

    async def list_rooms(self) -> list[Room]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT id, name, codec, created_at FROM rooms ORDER BY created_at"
            ).fetchall()
        )
        return [Room(*row) for row in rows]

    async def delete_room(self, room_id: str) -> None:
        deleted = await self._run(
            lambda conn: conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount
        )
        if not deleted:
            raise RoomNotFound(f"no room with id {room_id!r}")

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )

    async def close(self) -> None:
        await self._run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)
