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
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The pieces live next to this script (its folder is sys.path[0] when it runs).
from anpr_events_parts.baselines import redis_baseline, sqlite_baseline  # noqa: E402
from anpr_events_parts.queries import make_queries  # noqa: E402
from anpr_events_parts.storage import delete_prefixed, redis_used_memory, sqlite_bytes  # noqa: E402
from anpr_events_parts.traffic import DAY, DAYS, START, make_events  # noqa: E402

from anpr_feed.events_store import PlateEvent, plate_store_for  # noqa: E402
from conference.store import Store, open_store  # noqa: E402
from conference.store.sqlite import SqliteStore  # noqa: E402

BATCH = 1000
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def log(message: str) -> None:
    """Write one time-stamped progress line to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """Count, p50, p95 and max of timings in milliseconds."""
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
    """Run the queries one after the other: each one's milliseconds and answer."""
    samples, answers = [], []
    for query in queries:
        began = time.perf_counter()
        answer = await run(query)
        samples.append((time.perf_counter() - began) * 1000)
        answers.append(answer)
    return samples, answers


async def bench_engine(
    engine: str,
    events: list[PlateEvent],
    queries: dict[str, list[dict]],
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """Fill one engine, time its searches and the baseline's, measure storage and retention."""
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
    """Generate the events and queries once; the report over every engine asked for."""
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
    """Run the benchmark; print the JSON report."""
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
