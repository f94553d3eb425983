"""OutbreakStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from anpr_feed.events_store import Outbreak
from conference.store import Conflict, NotFound


async def test_outbreaks(any_plates):
    await any_plates.add_outbreak(
        Outbreak("o1", "29", "2021-11-01", "2021-11-30", "vùng dịch", "host.tinh", 1.0, "19")
    )
    await any_plates.add_outbreak(
        Outbreak("o2", "99", "2021-10-15", "2021-11-10", "vùng dịch", "host.tinh", 1.0)
    )
    with pytest.raises(Conflict):  # the same id again: refused alike by both engines
        await any_plates.add_outbreak(
            Outbreak("o1", "30", "2021-11-01", "2021-11-30", "trùng", "host.tinh", 2.0)
        )
    assert [(o.id, o.unit_code) for o in await any_plates.list_outbreaks()] == [
        ("o2", None),
        ("o1", "19"),
    ]
    await any_plates.delete_outbreak("o1")
    with pytest.raises(NotFound):
        await any_plates.delete_outbreak("o1")
