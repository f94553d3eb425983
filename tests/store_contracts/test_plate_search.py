"""PlateEventStore search by any part of a plate agrees with a brute-force filter, on both engines."""

from __future__ import annotations

import random

import pytest

from anpr_feed.events_store import PlateEvent, plate_query, plate_store_for
from conference.store import NotFound, SqliteStore
from tests.store_contracts.records import plate_event

CHECKPOINT_FEEDS = {
    "Chốt Km 52": ["cam-1", "cam-2"],
    "Chốt Km 30": ["cam-3", "cam-4"],
    "Chốt cầu Đa Phúc": ["cam-5", "cam-6"],
}


def random_plate(rng: random.Random) -> str:
    """A plate as the reader normalises it: cars, motorbikes, LD series, odd short ones."""
    province = str(rng.randint(11, 99))
    series = rng.choice("ABCDEFGHKLMNPSTUVXYZ")
    kind = rng.random()
    if kind < 0.55:
        return f"{province}{series}{rng.randint(0, 99999):05d}"
    if kind < 0.8:
        return f"{province}{series}{rng.randint(1, 9)}{rng.randint(0, 99999):05d}"
    if kind < 0.97:
        return f"{province}LD{rng.randint(0, 9999):04d}"
    return rng.choice(["", "8", "A1", "QQ", "80NG", "NG123"])


def random_search(rng: random.Random, events: list[PlateEvent], times: list[float]) -> dict:
    """Search arguments: parts of stored plates (any length, any spelling), windows, scopes."""
    query: dict = {}
    plate = rng.choice(events).plate if events else ""
    if plate and rng.random() < 0.8:
        length = rng.randint(1, min(len(plate), 7))
        at = rng.randint(0, len(plate) - length)
        part = plate[at : at + length]
        if rng.random() < 0.3:  # as a person types it
            part = part.lower()[:2] + "-" + part.lower()[2:] + "."
        query["plate"] = part
    elif rng.random() < 0.7:
        query["plate"] = rng.choice(["QQ", "ZZ9", "W", "9Z", "LD", "00000", "2-9a", "đ", "...", ""])
    if rng.random() < 0.5:
        lo, hi = sorted(rng.sample(times, 2))
        kind = rng.random()
        if kind < 0.4:
            query["start"], query["end"] = lo, hi
        elif kind < 0.6:
            query["start"], query["end"] = lo, lo + rng.choice([1.0, 60.0, 3600.0])
        elif kind < 0.8:
            query["start"] = lo
        else:
            query["end"] = hi
    if rng.random() < 0.3:
        query["checkpoint"] = rng.choice([*CHECKPOINT_FEEDS, "Chốt không có"])
    if rng.random() < 0.3:
        feeds = [f for fs in CHECKPOINT_FEEDS.values() for f in fs] + ["cam-gone"]
        query["feed_ids"] = rng.sample(feeds, rng.randint(0, 4))
    query["limit"] = rng.choice([1, 5, 20, 100, 100, 1000, 5000, 0])
    return query


def brute_force(events: list[PlateEvent], **query) -> list[PlateEvent]:
    """What a search must answer, by reading every event."""
    wanted = plate_query(query.get("plate"))
    start, end = query.get("start"), query.get("end")
    checkpoint, feed_ids = query.get("checkpoint"), query.get("feed_ids")
    hits = [
        e
        for e in events
        if wanted in e.plate
        and (start is None or e.at >= start)
        and (end is None or e.at < end)
        and (not checkpoint or e.checkpoint == checkpoint)
        and (feed_ids is None or e.feed_id in feed_ids)
    ]
    hits.sort(key=lambda e: e.at, reverse=True)
    return hits[: max(1, min(query.get("limit", 100), 1000))]


async def test_plate_search_agrees_with_a_brute_force_filter(any_plates):
    rng = random.Random(20211101)
    pool = [random_plate(rng) for _ in range(1500)]  # vehicles that pass again and again
    # Distinct times (a quarter second apart at least): the order is then one.
    times = [1_635_700_000 + t / 4 for t in rng.sample(range(2_000_000), 6000)]
    events: list[PlateEvent] = []
    for n, at in enumerate(times[:5000]):
        checkpoint = rng.choice(list(CHECKPOINT_FEEDS))
        plate = rng.choice(pool) if rng.random() < 0.6 else random_plate(rng)
        events.append(
            PlateEvent(
                f"ev-{n:05d}",
                rng.choice(CHECKPOINT_FEEDS[checkpoint]),
                checkpoint,
                at,
                plate,
                plate[:3] + "-" + plate[3:],
                plate[:2],
                round(rng.uniform(0.5, 1.0), 3),
                crop=f"ev-{n}-crop.jpg" if n % 3 else None,
                thumbnail=f"ev-{n}.jpg" if n % 3 else None,
                alert="watch: 29A*" if n % 17 == 0 else None,
            )
        )
    for first in range(0, len(events), 1000):  # several batches: plates come back across them
        await any_plates.add_plate_events(events[first : first + 1000])
    assert await any_plates.count_plate_events() == 5000

    async def agree(rounds: int) -> None:
        for _ in range(rounds):
            query = random_search(rng, events, times)
            assert await any_plates.search_plate_events(**query) == brute_force(events, **query), (
                query
            )

    # Fixed cases first: a common part, a rare one, each plate length, no plate.
    some = events[1234].plate
    for query in (
        {},
        {"plate": "1"},
        {"plate": "29"},
        {"plate": some},
        {"plate": some[2:6]},
        {"plate": some[-3:], "limit": 1000},
        {"plate": "QQ"},
        {"plate": "8"},
        {"plate": "LD", "checkpoint": "Chốt Km 30", "limit": 1000},
        {"plate": "A", "feed_ids": ["cam-1", "cam-6"], "start": times[100]},
        {"feed_ids": ["cam-2"], "limit": 1000},
        {"feed_ids": []},
    ):
        assert await any_plates.search_plate_events(**query) == brute_force(events, **query), query
    await agree(150)

    # Retention: the older half goes, every index follows.
    cutoff = sorted(times[:5000])[2500]
    gone = await any_plates.delete_plate_events_before(cutoff)
    assert sorted(e.id for e in gone) == sorted(e.id for e in events if e.at < cutoff)
    assert {e.id: e for e in gone} == {e.id: e for e in events if e.at < cutoff}
    events = [e for e in events if e.at >= cutoff]
    assert await any_plates.count_plate_events() == len(events) == 2500
    assert await any_plates.delete_plate_events_before(cutoff) == []
    with pytest.raises(NotFound):
        await any_plates.get_plate_event(gone[0].id)
    # A plate all of whose passes went is not found any more, by any part.
    vanished = next(
        e.plate for e in gone if len(e.plate) >= 8 and e.plate not in {x.plate for x in events}
    )
    assert await any_plates.search_plate_events(plate=vanished) == []
    assert await any_plates.search_plate_events(plate=vanished[1:7]) == brute_force(
        events, plate=vanished[1:7]
    )
    await agree(100)

    # Passes of gone plates come back (newest times), and are found again.
    back = [
        PlateEvent(f"back-{n}", "cam-3", "Chốt Km 30", at, e.plate, e.display, e.province_code, 0.8)
        for n, (at, e) in enumerate(zip(times[5000:5600], gone, strict=False))
    ]
    await any_plates.add_plate_events(back)
    events += back
    assert await any_plates.search_plate_events(plate=vanished) == brute_force(
        events, plate=vanished
    )
    await agree(100)


async def test_plate_search_agrees_when_walks_give_up_at_once(any_plates, monkeypatch):
    """Rare parts at scale are answered from indexes once a walk newest first has
    read too much: the same answers with every walk cut short at once (the
    trigrams holding a 1- or 2-character part, plates too short for a trigram,
    a feed scope's own index)."""
    import anpr_feed.events_store.redis
    import anpr_feed.events_store.sqlite.events

    monkeypatch.setattr(anpr_feed.events_store.sqlite.events, "_WALK_BUDGET", 1)
    monkeypatch.setattr(
        anpr_feed.events_store.redis.RedisPlateStore,
        "_walk_budget",
        staticmethod(lambda walk, merge: 1),
    )
    rng = random.Random(1507)
    pool = [random_plate(rng) for _ in range(300)] + ["", "8", "A1", "QQ", "80NG", "NG123", "R9"]
    times = [1_635_700_000 + t / 4 for t in rng.sample(range(400_000), 1500)]
    events = []
    for n, at in enumerate(times):
        checkpoint = rng.choice(list(CHECKPOINT_FEEDS))
        plate = rng.choice(pool)
        events.append(
            PlateEvent(
                f"ev-{n:05d}",
                rng.choice(CHECKPOINT_FEEDS[checkpoint]),
                checkpoint,
                at,
                plate,
                plate,
                plate[:2],
                0.9,
            )
        )
    await any_plates.add_plate_events(events)
    for query in (
        {"plate": "QQ"},
        {"plate": "Q"},
        {"plate": "8"},
        {"plate": "A1", "limit": 1000},
        {"plate": "NG", "checkpoint": "Chốt Km 30"},
        {"plate": "R", "feed_ids": ["cam-3"]},
        {"plate": "W"},
        {"plate": "ZZ"},
        {"feed_ids": ["cam-gone"]},
        {"feed_ids": ["cam-1", "cam-gone"], "start": times[700]},
        {"feed_ids": ["cam-5"], "plate": "9", "end": times[900], "limit": 5},
    ):
        assert await any_plates.search_plate_events(**query) == brute_force(events, **query), query
    for _ in range(150):
        query = random_search(rng, events, times)
        assert await any_plates.search_plate_events(**query) == brute_force(events, **query), query
    gone = await any_plates.delete_plate_events_before(times[750])
    events = [e for e in events if e.at >= times[750]]
    assert len(gone) + len(events) == len(times)
    for _ in range(50):
        query = random_search(rng, events, times)
        assert await any_plates.search_plate_events(**query) == brute_force(events, **query), query


async def test_sqlite_plate_search_with_a_checkpoint_reads_the_trigram_index_first(tmp_path):
    """A part of a plate and a checkpoint: the few plates holding the part are read,
    not every event of the checkpoint with one trigram lookup each (the planner's
    choice by the checkpoint's index took seconds at a million events)."""
    store = SqliteStore(tmp_path / "plan.sqlite3")
    plates = plate_store_for(store)
    try:
        rng = random.Random(52)
        events = [
            plate_event(f"e{n}", f"{rng.randint(11, 99)}A{rng.randint(0, 99999):05d}", n * 2.0)
            for n in range(20000)
        ]
        events.append(plate_event("needle", "20C13579", 50000.0))
        for first in range(0, len(events), 5000):
            await plates.add_plate_events(events[first : first + 5000])
        steps = 0

        def count(conn) -> None:
            def tick() -> int:
                nonlocal steps
                steps += 1
                return 0

            conn.set_progress_handler(tick, 100)  # every 100 virtual-machine steps

        await store.engine.run(count)
        found = await plates.search_plate_events(plate="C1357", checkpoint="Chốt Km 52")
        assert [e.id for e in found] == ["needle"]
        assert found == await plates.search_plate_events(plate="c-135.79", checkpoint="Chốt Km 52")
        assert await plates.search_plate_events(plate="C1357", checkpoint="Chốt Km 30") == []
        # Reading the checkpoint's 20,001 events would be well over 200 x 100 steps.
        assert steps < 200, steps
    finally:
        await store.close()
