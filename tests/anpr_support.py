"""What the checkpoint-camera tests share: registering a feed (accounts: tests/accounts.py)."""

from __future__ import annotations

from tests.api_client import ApiClient

CHECKPOINT = "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên"


def feed_body(
    url: str, name: str = "Làn vào 1", checkpoint: str = CHECKPOINT, **extra: object
) -> dict[str, object]:
    """A ``POST /api/feeds`` body at the Km 52 checkpoint."""
    return {"name": name, "checkpoint": checkpoint, "location": "Km 52", "url": url, **extra}


async def register_feed(client: ApiClient, url: str, **extra: object) -> dict:
    """Register a feed (``feed_body`` with ``extra``); the new feed."""
    created = await client.call("POST", "/api/feeds", feed_body(url, **extra))
    assert created.status == 201, created.body
    return dict(created.body)
