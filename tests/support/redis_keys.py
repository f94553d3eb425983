"""Keys of one test in a shared Redis: a prefix of its own, deleted afterwards."""

from __future__ import annotations

import uuid


def unique_prefix() -> str:
    """A key prefix of its own for one test, so tests never see each other's keys."""
    return f"test:{uuid.uuid4().hex}:"


def lease_holder(url: str, prefix: str, kind: str, name: str) -> str | None:
    """Who holds the lease ``PREFIX KIND:NAME`` (``home`` of a room, ``feed`` of a
    camera), read straight from Redis; None if nobody does."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        raw = client.get(f"{prefix}{kind}:{name}")
    finally:
        client.close()
    return None if raw is None else bytes(raw).decode()


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
