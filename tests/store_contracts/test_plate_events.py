"""PlateEventStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import pytest

from conference.store import Conflict, NotFound
from tests.store_contracts.records import plate_event


async def test_plate_events_search_by_any_part(any_plates):
    events = [
        plate_event("e1", "20A12345", 1000.0),
        plate_event("e2", "29A99999", 2000.0, checkpoint="Chốt Km 30"),
        plate_event(
            "e3",
            "20B123456",
            3000.0,
            crop="e3-crop.jpg",
            thumbnail="e3.jpg",
            alert="watch: 20B*",
            colour="yellow",
        ),
        plate_event("e4", "98C11234", 4000.0),
    ]
    await any_plates.add_plate_events(events)
    with pytest.raises(Conflict):
        await any_plates.add_plate_events([plate_event("e1", "11A11111", 1.0)])
    assert await any_plates.count_plate_events() == 4

    async def ids(**query) -> list[str]:
        return [e.id for e in await any_plates.search_plate_events(**query)]

    assert await ids() == ["e4", "e3", "e2", "e1"]  # newest first
    assert await ids(plate="1234") == ["e4", "e3", "e1"]  # inside the plate
    assert await ids(plate="20a-123.4") == ["e1"]  # separators and case do not matter
    assert await ids(plate="99") == ["e2"]  # short parts too
    assert await ids(plate="A") == ["e2", "e1"]
    assert await ids(plate="12345", start=1500.0) == ["e3"]
    assert await ids(plate="9", end=2500.0) == ["e2"]
    assert await ids(checkpoint="Chốt Km 30") == ["e2"]
    assert await ids(limit=2) == ["e4", "e3"]
    assert await ids(plate="77777") == []
    assert await any_plates.get_plate_event("e3") == events[2]  # every field, colour too
    assert (await any_plates.get_plate_event("e4")).colour is None
    gone = await any_plates.delete_plate_events_before(2500.0)
    assert sorted(e.id for e in gone) == ["e1", "e2"]
    assert [e.id for e in gone] == ["e1", "e2"]  # oldest first, on both engines
    assert await ids(plate="1234") == ["e4", "e3"]
    assert await any_plates.count_plate_events() == 2
    with pytest.raises(NotFound):
        await any_plates.get_plate_event("e1")


async def test_a_refused_batch_of_plate_events_stores_nothing(any_plates):
    await any_plates.add_plate_events([plate_event("e1", "20A12345", 1000.0)])
    with pytest.raises(Conflict):
        await any_plates.add_plate_events(
            [plate_event("e2", "99Z99999", 2000.0), plate_event("e1", "11A11111", 3000.0)]
        )
    with pytest.raises(Conflict):  # the same id twice in one batch
        await any_plates.add_plate_events(
            [plate_event("e3", "99Z99999", 2000.0), plate_event("e3", "99Z99999", 2000.0)]
        )
    assert await any_plates.count_plate_events() == 1
    assert await any_plates.search_plate_events(plate="99Z") == []
    assert [e.id for e in await any_plates.search_plate_events()] == ["e1"]
