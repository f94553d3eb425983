"""RoomStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from conference.store import RoomNotFound, StoreError


async def test_rooms(any_store):
    room = await any_store.create_room("Họp giao ban", "vp8")
    assert await any_store.get_room(room.id) == room
    with pytest.raises(StoreError):
        await any_store.create_room("Trùng", "vp8", room_id=room.id)
    assert [r.id for r in await any_store.list_rooms()] == [room.id]
    await any_store.delete_room(room.id)
    with pytest.raises(RoomNotFound):
        await any_store.get_room(room.id)


async def test_rooms_order_and_bad_input(any_store):
    first = await any_store.create_room("Giao ban", "vp8", room_id="giao-ban")
    second = await any_store.create_room("  Phòng H.264  ", "h264")
    assert second.name == "Phòng H.264"
    assert await any_store.list_rooms() == [first, second]
    for name, room_id in (("", None), ("x" * 121, None), ("ok", "Bad Id!")):
        with pytest.raises(StoreError):
            await any_store.create_room(name, "vp8", room_id)
    with pytest.raises(RoomNotFound):
        await any_store.delete_room("khong-co")
    assert await any_store.list_rooms() == [first, second]
