"""PlateEventStore contract: a plate event keeps its camera's unit, searches scope by it.

Both engines (``any_plates``): the unit is stored with each event and searched
by, whatever becomes of the feed; events stored before units were kept get
their feed's unit once (SQLite: a migration; Redis: the first plate-event
call), or none (administrators only) when the feed is gone; registering a
feed past a limit is refused atomically.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from anpr_feed.events_store import PlateEvent, plate_store_for
from conference.store import Feed, SqliteStore
from conference.store.sqlite import MIGRATIONS
from tests.support.redis_keys import delete_prefixed, unique_prefix

UNITS = ["167", "05536", "164", "19", None]  # None: a camera of no unit (admins only)


def event(event_id: str, at: float, plate: str, unit: str | None, **extra: object) -> PlateEvent:
    return PlateEvent(
        event_id,
        str(extra.pop("feed_id", "cam-1")),
        str(extra.pop("checkpoint", "Chốt Km 52")),
        at,
        plate,
        plate,
        plate[:2],
        0.9,
        unit_code=unit,
        **extra,  # type: ignore[arg-type]
    )


def feed(feed_id: str, unit: str | None) -> Feed:
    return Feed(feed_id, f"Làn {feed_id}", "Chốt Km 52", "", "rtsp://10.0.0.1/s", unit, 1.0, "t")


async def test_an_event_keeps_its_unit_and_a_scope_finds_only_its_units(any_plates):
    await any_plates.add_plate_events(
        [
            event("a1", 1000.0, "20A12345", "05536"),
            event("a2", 2000.0, "20A12346", "167", feed_id="cam-2"),
            event("b1", 3000.0, "20A12347", "164", feed_id="cam-3"),
            event("x1", 4000.0, "20A12348", None, feed_id="cam-4"),
        ]
    )
    assert (await any_plates.get_plate_event("a1")).unit_code == "05536"
    assert (await any_plates.get_plate_event("x1")).unit_code is None

    async def ids(**query: object) -> list[str]:
        return [e.id for e in await any_plates.search_plate_events(**query)]  # type: ignore[arg-type]

    assert await ids() == ["x1", "b1", "a2", "a1"]  # no scope: an administrator's search
    assert await ids(unit_codes=["167", "05536"]) == ["a2", "a1"]
    assert await ids(unit_codes=["164"], plate="20A") == ["b1"]
    assert await ids(unit_codes=["164"], plate="2347") == ["b1"]
    assert await ids(unit_codes=["164"], plate="2345") == []
    assert await ids(unit_codes=[]) == []  # no unit in scope: nothing, not everything
    assert await ids(unit_codes=["999"]) == []
    assert await ids(unit_codes=["167"], feed_ids=["cam-1"]) == []
    assert await ids(unit_codes=["05536"], checkpoint="Chốt Km 52", start=500.0) == ["a1"]
    # An event of no unit is in no unit's scope, whatever the query.
    for query in ({}, {"plate": "2348"}, {"plate": "8"}, {"feed_ids": ["cam-4"]}):
        assert "x1" not in await ids(unit_codes=UNITS[:4], **query)

    # Retention takes events out of their unit's index too.
    assert [e.id for e in await any_plates.delete_plate_events_before(2500.0)] == ["a1", "a2"]
    assert await ids(unit_codes=["167", "05536"]) == []
    assert await ids(unit_codes=["164", "167"]) == ["b1"]


async def test_unit_scoped_search_agrees_with_a_brute_force_filter(any_plates):
    """Many events over few units: every path of both engines (walk, merge, unit indexes)."""
    rng = random.Random(8)
    plates = [f"{rng.randint(11, 99)}A{rng.randint(0, 99999):05d}" for _ in range(300)]
    events = [
        event(
            f"ev-{n:04d}",
            1_700_000_000 + n * 7.0,
            rng.choice(plates),
            rng.choices(UNITS, weights=[30, 5, 60, 1, 4])[0],
            feed_id=f"cam-{rng.randint(1, 6)}",
            checkpoint=rng.choice(["Chốt Km 52", "Chốt Km 30"]),
        )
        for n in range(3000)
    ]
    for first in range(0, len(events), 1000):
        await any_plates.add_plate_events(events[first : first + 1000])

    def brute(**query: object) -> list[str]:
        part = str(query.get("plate") or "")
        units = query.get("unit_codes")
        start, checkpoint = query.get("start"), query.get("checkpoint")
        hits = [
            e
            for e in events
            if part in e.plate
            and (units is None or e.unit_code in units)  # type: ignore[operator]
            and (start is None or e.at >= start)  # type: ignore[operator]
            and (checkpoint is None or e.checkpoint == checkpoint)
        ]
        hits.sort(key=lambda e: e.at, reverse=True)
        return [e.id for e in hits[: int(query.get("limit", 100))]]  # type: ignore[call-overload]

    scopes = [["19"], ["05536"], ["167", "05536"], ["164"], ["164", "167", "05536", "19"]]
    queries: list[dict[str, object]] = [{"unit_codes": scope} for scope in scopes]
    for _ in range(120):
        query: dict[str, object] = {"unit_codes": rng.choice(scopes), "limit": rng.choice([1, 20])}
        plate = rng.choice(plates)
        if rng.random() < 0.8:
            length = rng.randint(1, 6)
            query["plate"] = plate[len(plate) - length :]
        if rng.random() < 0.3:
            query["start"] = 1_700_000_000 + rng.randint(0, 3000) * 7.0
        if rng.random() < 0.3:
            query["checkpoint"] = "Chốt Km 30"
        queries.append(query)
    for query in queries:
        found = [e.id for e in await any_plates.search_plate_events(**query)]  # type: ignore[arg-type]
        assert found == brute(**query), query


async def test_sqlite_migration_gives_old_events_their_feeds_unit(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:6]):  # the schema before units were kept
        conn.executescript("BEGIN;" + script + f"PRAGMA user_version = {number + 1};COMMIT;")
    conn.execute(
        "INSERT INTO feeds VALUES ('cam-a', 'Làn 1', 'Chốt Km 52', '', 'rtsp://10.0.0.1/', "
        "'167', 1.0, 'admin', 0)"
    )
    conn.execute(
        "INSERT INTO feeds VALUES ('cam-x', 'Làn 2', 'Chốt Km 52', '', 'rtsp://10.0.0.2/', "
        "NULL, 1.0, 'admin', 0)"
    )
    for n, feed_id in enumerate(["cam-a", "cam-gone", "cam-x"]):
        conn.execute(
            "INSERT INTO plate_events (id, feed_id, checkpoint, at, plate, display, "
            "province_code, confidence) VALUES (?, ?, 'Chốt Km 52', ?, ?, ?, '20', 0.9)",
            (f"old-{feed_id}", feed_id, 1000.0 + n, f"20A1234{n}", f"20A-123.4{n}"),
        )
    conn.commit()
    conn.close()

    store = SqliteStore(path)
    plates = plate_store_for(store)
    try:
        units = {e.id: e.unit_code for e in await plates.search_plate_events()}
        assert units == {"old-cam-a": "167", "old-cam-gone": None, "old-cam-x": None}
        scoped = await plates.search_plate_events(plate="20A", unit_codes=["167"])
        assert [e.id for e in scoped] == ["old-cam-a"]
    finally:
        await store.close()


async def test_redis_gives_old_events_their_feeds_unit_once(redis_url: str):
    from conference.store.redis import RedisStore

    prefix = unique_prefix()
    store = RedisStore(redis_url, prefix=prefix)
    try:
        await store.create_feed(feed("cam-a", "167"))
        await store.create_feed(feed("cam-x", None))
        await plate_store_for(store).add_plate_events(
            [
                event("old-a", 1000.0, "20A12340", "167", feed_id="cam-a"),
                event("old-gone", 1001.0, "20A12341", "164", feed_id="cam-gone"),
                event("old-x", 1002.0, "20A12342", None, feed_id="cam-x"),
            ]
        )
        # Make them what an older version wrote: no unit field, no unit index, no marker.
        client = store._redis
        for event_id, raw in (await client.hgetall(prefix + "plate_events")).items():
            record = json.loads(raw)
            del record["unit_code"]
            await client.hset(prefix + "plate_events", event_id, json.dumps(record))
        await client.delete(prefix + "unit_events:167", prefix + "unit_events:164")
        await client.hdel(prefix + "meta", "schema:plate-event-units")
    finally:
        await store.close()

    upgraded = RedisStore(redis_url, prefix=prefix)
    try:
        units = {e.id: e.unit_code for e in await plate_store_for(upgraded).search_plate_events()}
        assert units == {"old-a": "167", "old-gone": None, "old-x": None}
        scoped = await plate_store_for(upgraded).search_plate_events(unit_codes=["167", "164"])
        assert [e.id for e in scoped] == ["old-a"]
        assert await upgraded.get_meta("schema:plate-event-units") is not None
        # Once: an event stored later without a unit field (an older node) stays as it is.
        raw = json.loads(await upgraded._redis.hget(prefix + "plate_events", "old-a"))
        del raw["unit_code"]
        await upgraded._redis.hset(prefix + "plate_events", "old-a", json.dumps(raw))
        again = RedisStore(redis_url, prefix=prefix)
        try:
            assert (await plate_store_for(again).get_plate_event("old-a")).unit_code is None
        finally:
            await again.close()
    finally:
        await upgraded.close()
        await delete_prefixed(redis_url, prefix)
