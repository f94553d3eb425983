"""A copy of a meeting carried for another node's home forgets none of the meeting's cameras.

A host's decision to show a camera in a meeting is kept in the store until the
meeting ends (``FeedsInMeetings.room_closing``). With the cascade a node may
hold a carrier copy of the room and close it when its own sites are gone: that
must not erase what the home's meeting keeps. Real SQLite store, the real
extension; no feed runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from anpr_feed.in_meetings import FeedsInMeetings
from anpr_feed.manager import FeedManager
from conference.rooms.room import Room
from conference.settings import Settings
from conference.sfu import SfuMetrics
from conference.store import RoomFeed, open_store


async def test_closing_a_carrier_copy_keeps_the_cameras_closing_the_home_forgets_them(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_store(tmp_path, None, "test:")
    try:
        feeds = FeedManager(store, tmp_path, settings.timezone)
        extension = FeedsInMeetings(settings, store, feeds, None, SfuMetrics())  # type: ignore[arg-type]
        await store.put_room_feed(RoomFeed("hop-1", "cam-1", "host.dinhhoa", time.time()))
        copy = Room("hop-1", "Họp giao ban", "vp8")
        copy.carrier = True
        await extension.room_closing(copy, "elsewhere")
        assert [e.feed_id for e in await store.room_feeds("hop-1")] == ["cam-1"]
        home = Room("hop-1", "Họp giao ban", "vp8")
        await extension.room_closing(home, "ended")
        assert await store.room_feeds("hop-1") == []
    finally:
        await store.close()
