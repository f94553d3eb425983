"""SpeakingStore: one contract, each test on SQLite and on Redis."""

from __future__ import annotations

from conference.store import SpeakingInterval, Store


def _turn(meeting: str, site: str, start: float, end: float) -> SpeakingInterval:
    names = {"167": "Huyện Định Hóa", "05539": "Xã Linh Thông"}
    return SpeakingInterval(meeting, site, names.get(site, site), start, end)


async def test_speaking_is_kept_per_meeting_by_start(any_store: Store):
    assert await any_store.meeting_speaking("mtg-1") == []
    first = _turn("mtg-1", "167", 1000.0, 1012.5)
    second = _turn("mtg-1", "05539", 1013.0, 1040.25)
    third = _turn("mtg-1", "167", 1041.0, 1042.0)
    other = _turn("mtg-2", "05539", 999.0, 1001.0)
    # Batches arrive out of order (a batch kept through an outage goes later).
    await any_store.add_speaking([third, other])
    await any_store.add_speaking([second, first])
    await any_store.add_speaking([])

    kept = await any_store.meeting_speaking("mtg-1")
    assert kept == [first, second, third]
    assert kept[1].name == "Xã Linh Thông" and kept[1].seconds == 27.25
    assert await any_store.meeting_speaking("mtg-2") == [other]
