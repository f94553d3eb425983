"""Plate-event storage at scale: insert, search by any part of a plate, retention.

The requirement: events are kept in the store (SQLite or Redis) with
retention, and searching a million events by partial plate answers in under
200 ms. Each engine is filled with ``--events`` synthetic passes (default
1,000,000: ~80 cameras at 40 checkpoints over 14 days, plates with real
province codes and realistic series and numbers, ~5% of passes by vehicles
that come back again and again) through ``PlateEventStore.add_plate_events`` in
batches, then

* ``search_plate_events`` is timed per query kind (p50/p95/max over
  ``--queries`` queries, the same queries on both engines);
* a naive baseline answers queries of the same kinds in the same run, on the
  same data: SQLite ``plate LIKE '%x%' ORDER BY at DESC LIMIT n`` on the
  table (no FTS index), Redis an HSCAN of every event filtered in Python;
  its answers are checked against the store's;
* the storage per event (SQLite file size, Redis ``used_memory`` delta) and
  the retention time (``delete_plate_events_before`` for the oldest day, as
  ``FeedManager.expire`` calls it) are measured.

    .venv/bin/python bench/anpr_events.py [--events 1000000] [--engines sqlite,redis]
        [--queries 50] [--baseline-queries 10] [--redis-url redis://127.0.0.1:6379/14]

Redis keys live under a prefix of their own (``bench-anpr-<random>:``) and
are deleted at the end, as is the SQLite temp dir. JSON goes to stdout,
progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anpr_feed.events_store import PlateEvent, plate_query, plate_store_for  # noqa: E402
from anpr_feed.plates import SERIES_LETTERS, display_of  # noqa: E402
from anpr_feed.provinces import PROVINCES  # noqa: E402
from conference.store import Store, open_store  # noqa: E402
from conference.store.sqlite import SqliteStore  # noqa: E402

ZONE = timezone(timedelta(hours=7))
DAY = 86400.0
DAYS = 14
# The data ends here (a fixed instant: the run is reproducible).
END = datetime(2021, 11, 15, tzinfo=ZONE).timestamp()
START = END - DAYS * DAY
BATCH = 1000
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

# Checkpoints around Hà Nội and Thái Nguyên get most traffic from these.
BUSY_PROVINCES = {"29": 8, "30": 10, "20": 8, "99": 3, "98": 3, "88": 3, "89": 2, "90": 2}
CHECKPOINT_NAMES = [
    "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên",
    "Chốt cầu Đa Phúc",
    "Chốt QL3 Phổ Yên",
    "Chốt QL1A Bắc Ninh",
    "Chốt cửa ngõ Pháp Vân",
    "Chốt QL5 Như Quỳnh",
    "Chốt QL18 Chí Linh",
    "Chốt Km 30 QL3",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------


def checkpoints_and_feeds() -> dict[str, list[str]]:
    """40 checkpoints with 2 cameras each (in and out): 80 feeds."""
    result: dict[str, list[str]] = {}
    for n in range(40):
        name = f"{CHECKPOINT_NAMES[n % len(CHECKPOINT_NAMES)]} #{n // len(CHECKPOINT_NAMES) + 1}"
        result[name] = [f"cam-{n:02d}-in", f"cam-{n:02d}-out"]
    return result


def random_plate(rng: random.Random, codes: list[str], weights: list[float]) -> tuple[str, str]:
    """A normalised plate and its display form: cars (5 or 4 digits), motorbikes, LD, KT."""
    code = rng.choices(codes, weights)[0]
    kind = rng.random()
    if kind < 0.50:  # car, 5 digits: 30A12345
        series, number, family, lines = (
            rng.choice(SERIES_LETTERS),
            f"{rng.randint(1, 99999):05d}",
            "car",
            1,
        )
    elif kind < 0.58:  # older car, 4 digits: 29A1234
        series, number, family, lines = (
            rng.choice(SERIES_LETTERS),
            f"{rng.randint(1, 9999):04d}",
            "car",
            1,
        )
    elif kind < 0.95:  # motorbike: 29B112345
        series = rng.choice(SERIES_LETTERS) + str(rng.randint(1, 9))
        number, family, lines = f"{rng.randint(1, 99999):05d}", "motorbike", 2
    elif kind < 0.98:  # foreign-invested enterprise: 29LD12345
        series, number, family, lines = "LD", f"{rng.randint(1, 99999):05d}", "car", 1
    else:  # military enterprise, 4 digits
        series, number, family, lines = "KT", f"{rng.randint(1, 9999):04d}", "car", 1
    return code + series + number, display_of(code, series, number, family, lines)


def make_events(count: int, seed: int = 20211101) -> list[PlateEvent]:
    """``count`` passes, oldest first; ~5% by a pool of vehicles that come back."""
    rng = random.Random(seed)
    codes = sorted(PROVINCES)
    weights = [float(BUSY_PROVINCES.get(code, 1)) for code in codes]
    places = checkpoints_and_feeds()
    feeds = [(checkpoint, feed) for checkpoint, fs in places.items() for feed in fs]
    feed_weights = [rng.uniform(0.3, 3.0) for _ in feeds]  # some roads are busier
    regulars = [random_plate(rng, codes, weights) for _ in range(max(1, count // 400))]
    times = sorted(rng.uniform(START, END) for _ in range(count))
    chosen = rng.choices(range(len(feeds)), feed_weights, k=count)
    events = []
    for n, at in enumerate(times):
        checkpoint, feed = feeds[chosen[n]]
        plate, display = (
            rng.choice(regulars) if rng.random() < 0.05 else random_plate(rng, codes, weights)
        )
        local = datetime.fromtimestamp(at, ZONE)
        event_id = f"{local:%Y%m%d%H%M%S}-{rng.getrandbits(40):010x}"
        pictures = rng.random() < 0.9
        events.append(
            PlateEvent(
                id=event_id,
                feed_id=feed,
                checkpoint=checkpoint,
                at=round(at, 3),
                plate=plate,
                display=display,
                province_code=plate[:2],
                confidence=round(rng.uniform(0.6, 0.99), 3),
                crop=f"{local:%Y-%m-%d}/{event_id}-plate.jpg" if pictures else None,
                thumbnail=f"{local:%Y-%m-%d}/{event_id}-frame.jpg" if pictures else None,
                alert="watch: 29A*" if rng.random() < 0.002 else None,
            )
        )
    return events


# -- queries ------------------------------------------------------------------------------


def make_queries(events: list[PlateEvent], per_kind: int, seed: int = 7) -> dict[str, list[dict]]:
    """Search arguments per kind, parts of stored plates (the number's middle)."""
    rng = random.Random(seed)
    feeds = sorted({e.feed_id for e in events})
    checkpoints = sorted({e.checkpoint for e in events})
    cars = [
        e for e in events if len(e.plate) == 8 and e.plate[2].isalpha() and e.plate[3:].isdigit()
    ]
    pool = cars or events

    def number(event: PlateEvent) -> str:
        return event.plate[-5:]

    def part(length: int) -> str:
        if length == 4:  # series letter + the number's first three digits: "A123"
            return rng.choice(pool).plate[2:6]
        digits = number(rng.choice(pool))
        first = rng.randint(0, len(digits) - length)
        return digits[first : first + length]

    def window() -> tuple[float, float]:
        lo = rng.uniform(START, END - DAY)
        return lo, lo + DAY

    kinds: dict[str, Callable[[], dict]] = {
        "partial_3": lambda: {"plate": part(3)},
        "partial_4": lambda: {"plate": part(4)},
        "partial_5": lambda: {"plate": part(5)},
        "full_plate": lambda: {"plate": rng.choice(events).plate},
        "partial_4_day_window": lambda: (
            dict(zip(("start", "end"), window(), strict=True)) | {"plate": part(4)}
        ),
        "partial_4_checkpoint": lambda: {"plate": part(4), "checkpoint": rng.choice(checkpoints)},
        "partial_4_feed_scope_5": lambda: {"plate": part(4), "feed_ids": rng.sample(feeds, 5)},
        "partial_3_feed_scope_5": lambda: {"plate": part(3), "feed_ids": rng.sample(feeds, 5)},
        "common_prefix_2": lambda: {
            "plate": rng.choice(["20", "29", "30", "99", "98"]),
            "limit": 100,
        },
        "no_match_5": lambda: {"plate": rng.choice(["ZZ999", "QQ123", "W7777", "00000Z", "LDLD1"])},
        "rare_2_chars": lambda: {"plate": rng.choice(["QQ", "WW", "ZZ", "JJ", "OO"])},
        # A letter no Vietnamese plate has: the worst case of a short part.
        "rare_1_char": lambda: {"plate": rng.choice(["W", "J", "O", "I", "Q"])},
        "no_plate_feed_scope_5": lambda: {"feed_ids": rng.sample(feeds, 5)},
    }
    return {kind: [make() for _ in range(per_kind)] for kind, make in kinds.items()}


def summary(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


async def timed(
    queries: list[dict], run: Callable[[dict], Awaitable[list[str]]]
) -> tuple[list[float], list[list[str]]]:
    samples, answers = [], []
    for query in queries:
        began = time.perf_counter()
        answer = await run(query)
        samples.append((time.perf_counter() - began) * 1000)
        answers.append(answer)
    return samples, answers


# -- baselines ----------------------------------------------------------------------------


def sqlite_baseline(path: Path) -> Callable[[dict], Awaitable[list[str]]]:
    """The obvious query on the table: LIKE over the plate column, no FTS index."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    async def run(query: dict) -> list[str]:
        clauses, params = ["plate LIKE ?"], [f"%{plate_query(query.get('plate'))}%"]
        if "start" in query:
            clauses.append("at >= ?")
            params.append(query["start"])
        if "end" in query:
            clauses.append("at < ?")
            params.append(query["end"])
        if query.get("checkpoint"):
            clauses.append("checkpoint = ?")
            params.append(query["checkpoint"])
        if query.get("feed_ids") is not None:
            clauses.append(f"feed_id IN ({', '.join('?' * len(query['feed_ids']))})")
            params.extend(query["feed_ids"])
        params.append(max(1, min(query.get("limit", 100), 1000)))
        sql = f"SELECT id FROM plate_events WHERE {' AND '.join(clauses)} ORDER BY at DESC LIMIT ?"
        rows = await asyncio.to_thread(lambda: conn.execute(sql, params).fetchall())
        return [row[0] for row in rows]

    return run


def redis_baseline(url: str, prefix: str) -> Callable[[dict], Awaitable[list[str]]]:
    """A scan over every stored event (HSCAN), filtered and sorted in Python."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    key = prefix + "plate_events"

    async def run(query: dict) -> list[str]:
        wanted = plate_query(query.get("plate"))
        start, end = query.get("start"), query.get("end")
        checkpoint, feed_ids = query.get("checkpoint"), query.get("feed_ids")
        hits = []
        async for _, raw in client.hscan_iter(key, count=5000):
            record = json.loads(raw)
            if (
                wanted in record["plate"]
                and (start is None or record["at"] >= start)
                and (end is None or record["at"] < end)
                and (not checkpoint or record["checkpoint"] == checkpoint)
                and (feed_ids is None or record["feed_id"] in feed_ids)
            ):
                hits.append((record["at"], record["id"]))
        hits.sort(reverse=True)
        return [event_id for _, event_id in hits[: max(1, min(query.get("limit", 100), 1000))]]

    return run


# -- one engine ---------------------------------------------------------------------------


async def redis_used_memory(url: str) -> int:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        return int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()


async def delete_prefixed(url: str, prefix: str) -> int:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await client.unlink(*batch)
                batch = []
        if batch:
            deleted += await client.unlink(*batch)
    finally:
        await client.aclose()
    return deleted


def sqlite_bytes(path: Path) -> dict[str, int]:
    files = {
        p.name: p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name)
    }
    sizes = {"file_bytes": sum(files.values())}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'plate_events%' "
            "OR name LIKE 'sqlite_autoindex_plate_events%' GROUP BY name"
        ).fetchall()
        conn.close()
        sizes |= {f"{name}_bytes": int(size) for name, size in rows}
    except sqlite3.Error:
        pass  # no dbstat in this build
    return sizes


async def bench_engine(
    engine: str,
    events: list[PlateEvent],
    queries: dict[str, list[dict]],
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    prefix = f"bench-anpr-{secrets.token_hex(4)}:"
    result: dict[str, Any] = {"engine": engine}
    store: Store
    if engine == "sqlite":
        data_dir = work / "sqlite"
        store = open_store(data_dir)
        path = data_dir / "conference.sqlite3"
        baseline = sqlite_baseline(path)
        baseline_kinds = list(queries)
        baseline_count = args.baseline_queries
    else:
        before_memory = await redis_used_memory(args.redis_url)
        store = open_store(work, redis_url=args.redis_url, redis_prefix=prefix)
        baseline = redis_baseline(args.redis_url, prefix)
        # A full scan costs the same whatever the filter: the partial kinds suffice.
        baseline_kinds = ["partial_3", "partial_4", "partial_5", "full_plate"]
        baseline_count = args.redis_baseline_queries
        result["redis_prefix"] = prefix
    plates = plate_store_for(store)
    try:
        log(f"{engine}: inserting {len(events)} events in batches of {BATCH}")
        batch_ms = []
        began = time.perf_counter()
        for first in range(0, len(events), BATCH):
            t0 = time.perf_counter()
            await plates.add_plate_events(events[first : first + BATCH])
            batch_ms.append((time.perf_counter() - t0) * 1000)
            if first and first % 200_000 == 0:
                log(f"{engine}: {first} inserted")
        elapsed = time.perf_counter() - began
        assert await plates.count_plate_events() == len(events)
        result["insert"] = {
            "events": len(events),
            "batch": BATCH,
            "seconds": round(elapsed, 1),
            "events_per_s": round(len(events) / elapsed),
            "batch_ms": summary(batch_ms),
        }
        if isinstance(store, SqliteStore):
            await store.engine.run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            sizes = sqlite_bytes(path)
            result["storage"] = sizes | {
                "bytes_per_event": round(sizes["file_bytes"] / len(events))
            }
        else:
            used = await redis_used_memory(args.redis_url) - before_memory
            result["storage"] = {
                "used_memory_delta_bytes": used,
                "bytes_per_event": round(used / len(events)),
            }
        log(f"{engine}: {result['insert']['events_per_s']} events/s; {result['storage']}")

        async def search(query: dict) -> list[str]:
            return [e.id for e in await plates.search_plate_events(**query)]

        # Warm up (first script loads, page cache).
        for query in queries["partial_4"][:3]:
            await search(query)
        searches: dict[str, Any] = {}
        over = []
        for kind, kind_queries in queries.items():
            samples, answers = await timed(kind_queries, search)
            searches[kind] = summary(samples) | {
                "mean_hits": round(statistics.mean(len(a) for a in answers), 1)
            }
            if searches[kind]["p95_ms"] > 200:
                over.append(kind)
            log(f"{engine} {kind}: {searches[kind]}")
        result["search"] = searches
        result["kinds_over_200ms_p95"] = over

        base: dict[str, Any] = {}
        for kind in baseline_kinds:
            kind_queries = queries[kind][:baseline_count]
            samples, answers = await timed(kind_queries, baseline)
            agree = [
                answer == await search(query)
                for query, answer in zip(kind_queries, answers, strict=True)
            ]
            base[kind] = summary(samples) | {
                "store_answers_agree": all(agree),
                "p50_ratio_baseline_over_store": round(
                    statistics.median(samples) / max(searches[kind]["p50_ms"], 1e-3), 1
                ),
            }
            log(f"{engine} baseline {kind}: {base[kind]}")
        result["baseline"] = {
            "what": (
                "SELECT id FROM plate_events WHERE plate LIKE '%x%' [filters] ORDER BY at DESC LIMIT n"
                if engine == "sqlite"
                else "HSCAN of every event, JSON-decoded and filtered in Python, sorted by time"
            ),
            "kinds": base,
        }

        # Retention: keep 13 of the 14 days (FeedManager.expire(13) at the data's end).
        cutoff = START + DAY
        expected = sum(1 for e in events if e.at < cutoff)
        began = time.perf_counter()
        gone = await plates.delete_plate_events_before(cutoff)
        seconds = time.perf_counter() - began
        assert len(gone) == expected, (len(gone), expected)
        result["retention"] = {
            "deleted": len(gone),
            "seconds": round(seconds, 2),
            "events_per_s": round(len(gone) / seconds) if seconds else None,
            "remaining": await plates.count_plate_events(),
        }
        log(f"{engine} retention: {result['retention']}")
    finally:
        await store.close()
        if engine == "redis":
            result["cleanup_deleted_keys"] = await delete_prefixed(args.redis_url, prefix)
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    log(f"generating {args.events} events")
    events = make_events(args.events)
    queries = make_queries(events, args.queries)
    report: dict[str, Any] = {
        "benchmark": "anpr_events",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
        },
        "data": {
            "events": len(events),
            "plates": len({e.plate for e in events}),
            "feeds": len({e.feed_id for e in events}),
            "checkpoints": len({e.checkpoint for e in events}),
            "days": DAYS,
            "from": datetime.fromtimestamp(START, UTC).isoformat(),
        },
        "queries_per_kind": args.queries,
        "target_ms": 200,
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-anpr-") as tmp:
        for engine in args.engines.split(","):
            report["engines"][engine] = await bench_engine(
                engine.strip(), events, queries, args, Path(tmp)
            )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,redis")
    parser.add_argument("--queries", type=int, default=50, help="queries per kind")
    parser.add_argument(
        "--baseline-queries", type=int, default=10, help="baseline queries per kind"
    )
    parser.add_argument(
        "--redis-baseline-queries",
        type=int,
        default=2,
        help="Redis baseline queries per kind (each reads every event: ~30 s at 1M)",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
