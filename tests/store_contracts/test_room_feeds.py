"""RoomFeedStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from conference.store import RoomFeed


async def test_room_feeds_are_kept_until_removed_or_the_room_ends(any_store):
    assert await any_store.room_feeds("room-1") == []
    await any_store.put_room_feed(RoomFeed("room-1", "cam-b", "host.a", 1.0))
    await any_store.put_room_feed(RoomFeed("room-1", "cam-a", "host.a", 2.0))
    await any_store.put_room_feed(RoomFeed("room-2", "cam-a", "host.b", 3.0))
    assert await any_store.room_feeds("room-1") == [
        RoomFeed("room-1", "cam-a", "host.a", 2.0),
        RoomFeed("room-1", "cam-b", "host.a", 1.0),
    ]
    # Added again by another host: one entry, the newer host's.
    await any_store.put_room_feed(RoomFeed("room-1", "cam-b", "host.c", 4.5))
    assert [(e.feed_id, e.added_by, e.added_at) for e in await any_store.room_feeds("room-1")] == [
        ("cam-a", "host.a", 2.0),
        ("cam-b", "host.c", 4.5),
    ]

    await any_store.remove_room_feed("room-1", "cam-a")
    await any_store.remove_room_feed("room-1", "cam-a")  # not kept: no error
    assert [e.feed_id for e in await any_store.room_feeds("room-1")] == ["cam-b"]
    await any_store.clear_room_feeds("room-1")
    await any_store.clear_room_feeds("room-9")
    assert await any_store.room_feeds("room-1") == []
    # Another room's cameras are its own.
    assert await any_store.room_feeds("room-2") == [RoomFeed("room-2", "cam-a", "host.b", 3.0)]
