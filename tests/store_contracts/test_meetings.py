"""MeetingStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from conference.store import Conflict, MeetingNotFound, StoreError
from tests.store_contracts.records import meeting, tree


async def test_meetings_invitations_and_overlap(any_store):
    await any_store.upsert_units(tree())
    first = meeting("m1", 1000, 2000, auto_record=True)
    await any_store.create_meeting(first, ["167", "05503", "05506"])
    assert await any_store.get_meeting("m1") == first
    assert await any_store.invitations("m1") == ["167", "05503", "05506"]
    # Same host site, overlapping window: refused, and nothing changes.
    with pytest.raises(Conflict) as clash:
        await any_store.create_meeting(meeting("m2", 1500, 2500), ["05503"])
    assert "Họp m1" in str(clash.value)
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("m2")
    # Back to back is fine; another host site at the same time is fine.
    await any_store.create_meeting(meeting("m3", 2000, 3000), ["05503"])
    await any_store.create_meeting(meeting("m4", 1000, 2000, host_site="164"), ["05431", "05503"])
    assert [m.id for m in await any_store.list_meetings(0, 10_000)] == ["m1", "m4", "m3"]
    assert [m.id for m in await any_store.list_meetings(2000, 2500)] == ["m3"]
    assert [m.id for m in await any_store.meetings_for_site("05503", 0, 10_000)] == [
        "m1",
        "m4",
        "m3",
    ]
    assert [m.id for m in await any_store.meetings_for_site("167", 0, 10_000)] == [
        "m1",
        "m3",
    ]  # hosts them
    assert [m.id for m in await any_store.meetings_for_site("05431", 0, 1500)] == ["m4"]
    # Update: new invitations, overlap checked against others only.
    moved = meeting("m3", 2100, 3100)
    await any_store.update_meeting(moved, ["05506"])
    assert (await any_store.get_meeting("m3")).start == 2100
    assert await any_store.invitations("m3") == ["05506"]
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m3", 1900, 3100), ["05506"])
    # A cancelled meeting frees its slot.
    await any_store.update_meeting(meeting("m1", 1000, 2000, cancelled_at=5.0), ["167"])
    await any_store.create_meeting(meeting("m5", 1200, 1800), ["05503"])
    with pytest.raises(MeetingNotFound):
        await any_store.update_meeting(meeting("nope", 1, 2), [])
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("bad", 2000, 1000), [])
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("unknown-site", 9000, 9100), ["no-such-site"])
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("unknown-site")


async def test_meeting_windows_are_half_open_and_ordered(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_meeting(meeting("b", 1000, 2000), [])
    await any_store.create_meeting(meeting("a", 1000, 2000, host_site="164"), [])
    await any_store.create_meeting(meeting("c", 500, 900, host_site="05506"), ["167"])
    await any_store.create_meeting(meeting("d", 3000, 4000, cancelled_at=9.0), ["167"])
    assert [m.id for m in await any_store.list_meetings(0, 10_000)] == ["c", "a", "b", "d"]
    assert [m.id for m in await any_store.list_meetings(2000, 3000)] == []  # both ends open
    assert [m.id for m in await any_store.list_meetings(1999, 3001)] == ["a", "b", "d"]
    assert [m.id for m in await any_store.list_meetings(0, 1000)] == ["c"]
    assert [m.id for m in await any_store.meetings_for_site("167", 0, 10_000)] == ["c", "b", "d"]
    assert await any_store.meetings_for_site("05431", 0, 10_000) == []
    assert await any_store.invitations("nope") == []
    with pytest.raises(Conflict):
        await any_store.create_meeting(meeting("b", 5000, 6000), [])  # id taken
    assert (await any_store.get_meeting("b")).start == 1000


async def test_update_meeting_moves_host_and_invitations(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_meeting(meeting("m1", 1000, 2000), ["05503", "05506"])
    await any_store.create_meeting(meeting("m2", 1000, 2000, host_site="164"), ["05431"])
    # Moving m1 to host 164 at the same time clashes with m2 there.
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m1", 1500, 2500, host_site="164"), [])
    moved = meeting("m1", 3000, 4000, host_site="164")
    await any_store.update_meeting(moved, ["05431", "05506", "05431", "19"])
    assert await any_store.get_meeting("m1") == moved
    assert await any_store.invitations("m1") == ["05431", "05506", "19"]  # once each, in order
    assert await any_store.meetings_for_site("167", 0, 10_000) == []  # no longer hosts it
    assert await any_store.meetings_for_site("05503", 0, 10_000) == []  # no longer invited
    assert [m.id for m in await any_store.meetings_for_site("05506", 0, 10_000)] == ["m1"]
    assert [m.id for m in await any_store.meetings_for_site("164", 0, 10_000)] == ["m2", "m1"]
    # Its old slot at host 167 is free again.
    await any_store.create_meeting(meeting("m3", 1000, 2000), [])
    # An update that names an unknown site changes nothing.
    with pytest.raises(StoreError):
        await any_store.update_meeting(meeting("m1", 5000, 6000, host_site="164"), ["nope"])
    assert await any_store.get_meeting("m1") == moved
    assert await any_store.invitations("m1") == ["05431", "05506", "19"]
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("m4", 7000, 8000, host_site="no-such-host"), [])
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("m4")
    # Un-cancelling is checked like any other change.
    await any_store.update_meeting(meeting("m3", 1000, 2000, cancelled_at=1.0), [])
    await any_store.create_meeting(meeting("m5", 1500, 2500), [])
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m3", 1000, 2000), [])


async def test_concurrent_meetings_for_one_host_site_one_wins(any_store):
    await any_store.upsert_units(tree())
    attempts = [meeting(f"race-{n}", 1000 + n, 2000 + n) for n in range(12)]
    results = await asyncio.gather(
        *(any_store.create_meeting(m, ["05503"]) for m in attempts), return_exceptions=True
    )
    unexpected = [r for r in results if r is not None and not isinstance(r, Conflict)]
    assert unexpected == []
    assert sum(r is None for r in results) == 1
    assert len(await any_store.list_meetings(0, 10_000)) == 1
    # Concurrent moves of two meetings into one free slot: one lands.
    await any_store.create_meeting(meeting("early", 100, 200, host_site="164"), [])
    await any_store.create_meeting(meeting("late", 5000, 6000, host_site="164"), [])
    results = await asyncio.gather(
        any_store.update_meeting(meeting("early", 3000, 4000, host_site="164"), []),
        any_store.update_meeting(meeting("late", 3500, 4500, host_site="164"), []),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
    hosted = await any_store.meetings_for_site("164", 0, 10_000)
    for one, other in itertools.pairwise(hosted):
        assert one.end <= other.start
