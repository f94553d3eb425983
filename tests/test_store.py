"""The embedded store."""

from __future__ import annotations

import sqlite3

import pytest

from anpr_feed.events_store import plate_store_for
from conference.store import RoomNotFound, SqliteStore, StoreError
from conference.store.sqlite import MIGRATIONS


async def test_rooms_round_trip(store):
    room = await store.create_room("Họp giao ban tỉnh", "vp8")
    assert (await store.get_room(room.id)) == room
    named = await store.create_room("Phòng H.264", "h264", room_id="phong-h264")
    assert named.id == "phong-h264"
    assert [r.id for r in await store.list_rooms()] == [room.id, "phong-h264"]
    await store.delete_room(room.id)
    with pytest.raises(RoomNotFound):
        await store.get_room(room.id)


async def test_bad_rooms_are_refused_and_nothing_is_damaged(store):
    kept = await store.create_room("Giữ lại", "vp8", room_id="giu-lai")
    for name, room_id in (("", None), ("x" * 121, None), ("ok", "Bad Id!"), ("ok", "giu-lai")):
        with pytest.raises(StoreError):
            await store.create_room(name, "vp8", room_id)
    assert await store.list_rooms() == [kept]
    with pytest.raises(RoomNotFound):
        await store.delete_room("khong-co")


async def test_meta_values(store):
    assert await store.get_meta("demo") is None
    await store.set_meta("demo", "a")
    await store.set_meta("demo", "b")
    assert await store.get_meta("demo") == "b"


async def test_reopening_keeps_data_and_schema_version(tmp_path):
    path = tmp_path / "s.sqlite3"
    first = SqliteStore(path)
    room = await first.create_room("Bền vững", "vp8")
    await first.close()
    second = SqliteStore(path)
    assert await second.get_room(room.id) == room
    await second.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_upgrading_keeps_plate_events_from_before_colours(tmp_path):
    """A store made before plate colours were kept opens with its events intact."""
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("".join(MIGRATIONS[:4]) + "PRAGMA user_version = 4;")
    conn.execute(
        "INSERT INTO plate_events (id, feed_id, checkpoint, at, plate, display, province_code,"
        " confidence) VALUES ('old', 'cam', 'Chốt Km 52', 1.0, '20A12345', '20A-123.45', '20', 0.9)"
    )
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    plates = plate_store_for(store)
    old = await plates.get_plate_event("old")
    assert (old.plate, old.colour) == ("20A12345", None)
    assert [e.id for e in await plates.search_plate_events(plate="2345")] == ["old"]
    await store.close()


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError):
        SqliteStore(path)
