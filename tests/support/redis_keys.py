"""Keys of one test in a shared Redis: a prefix of its own, deleted afterwards."""

from __future__ import annotations

import uuid


def unique_prefix() -> str:
    """A key prefix of its own for one test, so tests never see each other's keys."""
    return f"test:{uuid.uuid4().hex}:"


async def delete_prefixed(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN, then DEL in batches)."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()
