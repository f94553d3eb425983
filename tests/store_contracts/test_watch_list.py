"""WatchListStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from anpr_feed.events_store import WatchEntry
from conference.store import Conflict, NotFound


async def test_watch_list(any_plates):
    await any_plates.add_watch(WatchEntry("w1", "30A12345", "xe vi phạm", "host.tinh", 1.0, "19"))
    await any_plates.add_watch(WatchEntry("w2", "29A*", "kiểm tra", "host.tinh", 2.0))
    with pytest.raises(Conflict):
        await any_plates.add_watch(WatchEntry("w3", "29A*", "trùng", "host.tinh", 3.0))
    assert [(w.pattern, w.unit_code) for w in await any_plates.list_watch()] == [
        ("29A*", None),
        ("30A12345", "19"),
    ]
    await any_plates.delete_watch("w2")
    assert [w.id for w in await any_plates.list_watch()] == ["w1"]
    with pytest.raises(NotFound):
        await any_plates.delete_watch("w2")
