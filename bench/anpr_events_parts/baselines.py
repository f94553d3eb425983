"""The naive answers the store's searches are compared with: SQL LIKE, a Redis HSCAN."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from anpr_feed.events_store import plate_query


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
