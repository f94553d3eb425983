"""AttendanceStore: one contract on SQLite and on Redis, and the records older versions kept in meta.

Older versions saved a meeting's roll call as JSON in ``meta`` under
``attendance:<meeting id>``; a database of theirs must read back the same
record (SQLite moves them in a migration, Redis on first read).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from conference.store import AttendanceRecord, SqliteStore
from conference.store.sqlite import MIGRATIONS
from tests.support.redis_keys import delete_prefixed, unique_prefix

ROWS = [
    {
        "site_id": "167",
        "name": "Huyện Định Hóa",
        "depth": 1,
        "status": "connected",
        "present_seconds": 125.5,
        "joins": [[1000.0, None]],
    },
    {"site_id": "05503", "name": "Thị trấn Chợ Chu", "depth": 2, "status": "not-joined"},
]
HOST_STATE = {"locked": True, "removed": ["05506"], "host_muted": ["05503"]}


def legacy_blob(meeting_id: str, saved_at: float, room: object = HOST_STATE) -> str:
    """The document older versions kept in meta (``json.dumps`` as they wrote it)."""
    saved: dict[str, object] = {"meeting": meeting_id, "saved_at": saved_at, "sites": ROWS}
    if room is not None:
        saved["room"] = room
    return json.dumps(saved)


async def test_attendance_is_saved_replaced_and_read_back(any_store):
    assert await any_store.get_attendance("m1") is None
    first = AttendanceRecord("m1", 1000.5, ROWS, HOST_STATE)
    await any_store.save_attendance(first)
    assert await any_store.get_attendance("m1") == first
    later = AttendanceRecord("m1", 1030.0, ROWS[:1], {"locked": False, "removed": []})
    await any_store.save_attendance(later)
    assert await any_store.get_attendance("m1") == later
    other = AttendanceRecord("m2", 2000.0)  # no rows yet, no host decision
    await any_store.save_attendance(other)
    assert await any_store.get_attendance("m2") == AttendanceRecord("m2", 2000.0, [], {})
    assert await any_store.get_attendance("m1") == later
    # The record is not meta: the meta keys of older versions stay empty.
    assert await any_store.get_meta("attendance:m1") is None


async def test_sqlite_upgrade_moves_attendance_out_of_meta(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:8]):  # the schema before attendance had a table
        assert isinstance(script, str)
        conn.executescript("BEGIN;" + script + f"PRAGMA user_version = {number + 1};COMMIT;")
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [
            ("attendance:m1", legacy_blob("m1", 1000.5)),
            ("attendance:m2", legacy_blob("m2", 2000.0, room=None)),  # before host decisions
            ("attendance:bad", "{not json"),
            ("demo", "phong-demo"),
        ],
    )
    conn.commit()
    conn.close()

    store = SqliteStore(path)
    try:
        assert await store.get_attendance("m1") == AttendanceRecord("m1", 1000.5, ROWS, HOST_STATE)
        assert await store.get_attendance("m2") == AttendanceRecord("m2", 2000.0, ROWS, {})
        assert await store.get_attendance("bad") is None
        for key in ("attendance:m1", "attendance:m2", "attendance:bad"):
            assert await store.get_meta(key) is None
        assert await store.get_meta("demo") == "phong-demo"  # other state stays
    finally:
        await store.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)


async def test_redis_moves_attendance_out_of_meta_on_first_read(redis_url: str):
    from conference.store.redis import RedisStore

    prefix = unique_prefix()
    store = RedisStore(redis_url, prefix=prefix)
    try:
        saved_at = time.time()
        await store.set_meta("attendance:m1", legacy_blob("m1", saved_at))
        await store.set_meta("attendance:m2", legacy_blob("m2", 5.0))
        await store.set_meta("attendance:bad", "[]")
        await store.set_meta("demo", "phong-demo")

        expected = AttendanceRecord("m1", saved_at, ROWS, HOST_STATE)
        assert await store.get_attendance("m1") == expected
        assert await store.get_meta("attendance:m1") is None  # moved, not copied
        again = RedisStore(redis_url, prefix=prefix)  # another node reads the moved record
        try:
            assert await again.get_attendance("m1") == expected
        finally:
            await again.close()
        # A save before any read replaces the old document.
        newer = AttendanceRecord("m2", 6.0, ROWS[1:], {})
        await store.save_attendance(newer)
        assert await store.get_meta("attendance:m2") is None
        assert await store.get_attendance("m2") == newer
        assert await store.get_attendance("bad") is None
        assert await store.get_meta("attendance:bad") is None
        assert await store.get_meta("demo") == "phong-demo"
    finally:
        await store.close()
        await delete_prefixed(redis_url, prefix)
