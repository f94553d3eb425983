"""What the stored events cost (SQLite file and tables, Redis memory) and the Redis clean-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path


async def redis_used_memory(url: str) -> int:
    """Redis's ``used_memory`` now, in bytes."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        return int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()


async def delete_prefixed(url: str, prefix: str) -> int:
    """Delete every key under ``prefix``; how many were deleted."""
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
    """The database's files' size, and its plate-event tables' (where SQLite has dbstat)."""
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
