"""FeedStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

import asyncio

import pytest

from conference.store import Conflict, Feed, FeedLimitReached, FeedLimits, NotFound
from tests.store_contracts.records import feed


async def test_feeds(any_store):
    await any_store.create_feed(feed())
    await any_store.create_feed(feed("cam-2", "Chốt Km 30"))
    with pytest.raises(Conflict):
        await any_store.create_feed(feed())
    assert [f.id for f in await any_store.list_feeds()] == ["cam-2", "cam-1"]  # by checkpoint
    assert await any_store.get_feed("cam-1") == feed()
    await any_store.delete_feed("cam-2")
    with pytest.raises(NotFound):
        await any_store.get_feed("cam-2")
    with pytest.raises(NotFound):
        await any_store.delete_feed("cam-2")


def unit_feed(feed_id: str, unit: str | None) -> Feed:
    return Feed(feed_id, f"Làn {feed_id}", "Chốt Km 52", "", "rtsp://10.0.0.1/s", unit, 1.0, "t")


async def test_feed_limits_are_counted_and_kept_atomically(any_store):
    limits = FeedLimits(total=3, per_unit=2)
    await any_store.create_feed(unit_feed("f1", "167"), limits)
    await any_store.create_feed(unit_feed("f2", "167"), limits)
    with pytest.raises(FeedLimitReached) as refused:
        await any_store.create_feed(unit_feed("f3", "167"), limits)
    assert refused.value.code == "too-many-unit-feeds" and refused.value.limit == 2
    assert "CONFERENCE_MAX_FEEDS_PER_UNIT" in str(refused.value)
    await any_store.create_feed(unit_feed("f3", None), limits)  # no unit: counts in the total only
    with pytest.raises(FeedLimitReached) as refused:
        await any_store.create_feed(unit_feed("f4", "164"), limits)
    assert refused.value.code == "too-many-feeds" and refused.value.limit == 3
    assert sorted(f.id for f in await any_store.list_feeds()) == ["f1", "f2", "f3"]

    # Many registrations at once for the last place: exactly one gets it.
    await any_store.delete_feed("f3")
    results = await asyncio.gather(
        *(any_store.create_feed(unit_feed(f"r{n}", "164"), limits) for n in range(8)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(r is None or isinstance(r, FeedLimitReached) for r in results), results
    assert len(await any_store.list_feeds()) == 3
