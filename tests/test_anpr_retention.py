"""Retention of plate events: old rows and their pictures go, recent ones stay."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from anpr_feed.manager import FeedManager
from conference.store import PlateEvent

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
    await any_store.add_plate_events(old + recent)

    assert await manager.expire(0) == 0  # 0 keeps everything
    assert await any_store.count_plate_events() == 5

    assert await manager.expire(90) == 3
    assert await any_store.count_plate_events() == 2
    left = await any_store.search_plate_events(limit=10)
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
