"""Stored plate events: what a pass keeps, and retention (old rows and pictures go)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from anpr_feed.events_store import PlateEvent
from anpr_feed.manager import FeedManager, FeedRunner
from anpr_feed.pipeline import PassEvent
from anpr_feed.plates import parse
from anpr_feed.worker import _pass_message
from conference.store import Feed

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def stored_event(files: Path, event_id: str, plate: str, at: float) -> PlateEvent:
    """An event as FeedManager stores it: a row plus two JPEG files under DATA_DIR/anpr/DAY/."""
    day = datetime.fromtimestamp(at, ZONE).strftime("%Y-%m-%d")
    (files / day).mkdir(parents=True, exist_ok=True)
    names = []
    for kind in ("plate", "frame"):
        name = f"{day}/{event_id}-{kind}.jpg"
        (files / name).write_bytes(b"\xff\xd8\xff\xe0 jpeg")
        names.append(name)
    return PlateEvent(
        event_id, "cam-1", "Chốt Km 52", at, plate, plate, plate[:2], 0.95, names[0], names[1]
    )


async def test_expire_deletes_old_events_and_their_pictures(any_store, tmp_path: Path) -> None:
    manager = FeedManager(any_store, tmp_path, "Asia/Ho_Chi_Minh")
    now = time.time()
    old = [
        stored_event(manager.files_dir, f"old-{i}", f"20A1234{i}", now - (100 + i) * 86400)
        for i in range(3)
    ]
    recent = [
        stored_event(manager.files_dir, f"new-{i}", f"99A5678{i}", now - i * 86400)
        for i in range(2)
    ]
    await manager.plates.add_plate_events(old + recent)

    assert await manager.expire(0) == 0  # 0 keeps everything
    assert await manager.plates.count_plate_events() == 5

    assert await manager.expire(90) == 3
    assert await manager.plates.count_plate_events() == 2
    left = await manager.plates.search_plate_events(limit=10)
    assert {e.id for e in left} == {"new-0", "new-1"}
    for event in old:
        assert manager.image_path(event.crop or "") is None
        assert not (manager.files_dir / (event.thumbnail or "")).exists()
    for event in recent:
        assert manager.image_path(event.crop or "") is not None
        assert manager.image_path(event.thumbnail or "") is not None
    # A name that is not one of ours is never a path (no way out of the folder).
    assert manager.image_path("../secret.key") is None
    assert manager.image_path("2026-01-01/../../x") is None


def _pass(plate: str, colour: str | None) -> PassEvent:
    parsed = parse(plate)
    assert parsed is not None
    return PassEvent(
        parsed, 0.97, 10.0, 11.0, 3, 4, b"", b"", (0, 0, 10, 5), colour=colour, alert=None
    )


async def test_a_pass_is_stored_with_its_plate_colour(any_store, tmp_path: Path) -> None:
    """What a worker sends of a pass reaches the store: the colour too, when it is one."""
    manager = FeedManager(any_store, tmp_path, "Asia/Ho_Chi_Minh")
    feed = Feed("cam-1", "Làn vào", "Chốt Km 52", "Km 52", "file:///x.mp4", "167", 1.0, "admin")
    runner = FeedRunner(feed, manager)
    await manager._store_pass(runner, _pass_message(_pass("20C12345", "yellow")))
    await manager._store_pass(runner, _pass_message(_pass("29A99999", None)))
    bad = _pass_message(_pass("99A11111", None)) | {"colour": "purple<script>"}
    await manager._store_pass(runner, bad)
    stored = {e.plate: e.colour for e in await manager.plates.search_plate_events(limit=10)}
    assert stored == {"20C12345": "yellow", "29A99999": None, "99A11111": None}
