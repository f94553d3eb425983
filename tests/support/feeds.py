"""What the feed tests share: registering a feed (accounts: tests/support/accounts.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.server import ServerProcess

CHECKPOINT = "Chốt Km 52 cao tốc Hà Nội - Thái Nguyên"
# The tests' cameras (an MJPEG server, a closed port) are on this machine: their
# servers allow loopback explicitly, as an administrator would for a camera there.
LOCAL_CAMERAS = {"CONFERENCE_CAMERA_NETWORKS": "127.0.0.1/32"}
FILES_ADMIN = "admin.feed-files"


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


def feed_file(server: ServerProcess, clip: Path) -> str:
    """Put ``clip`` in the server's feed files folder, as its administrator would; its path."""
    folder = server.data_dir / "feed-files"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / clip.name
    if not target.exists():
        try:
            os.link(clip, target)
        except OSError:
            shutil.copyfile(clip, target)
    return str(target)


async def register_file_feed(server: ServerProcess, clip: Path, **extra: object) -> dict:
    """``clip`` as a file feed: put in the feed files folder and registered by an administrator.

    Only administrators register file feeds; the tests' hosts and operators
    then see and use the feed in their unit's scope (give ``unit_code``).
    """
    result = server.cli(
        "user", "add", FILES_ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0 or "already taken" in result.stderr, result.stderr
    admin = ApiClient(server.base_url)
    try:
        assert (await admin.login(FILES_ADMIN, PASSWORD)).status == 200
        return await register_feed(admin, feed_file(server, clip), **extra)
    finally:
        await admin.close()
