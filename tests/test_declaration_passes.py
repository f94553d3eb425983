"""A pass stored by the feed manager is checked against travel declarations (both store engines)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from anpr_feed.events_store import CheckpointRule, Declaration, Outbreak
from anpr_feed.manager import FeedManager, FeedRunner
from anpr_feed.pipeline import PassEvent
from anpr_feed.plates import parse
from anpr_feed.worker import _pass_message
from conference.store import Feed


def _message(plate: str, at: float) -> dict:
    parsed = parse(plate)
    assert parsed is not None
    event = PassEvent(parsed, 0.97, at - 1, at, 3, 4, b"", b"", (0, 0, 10, 5), alert=None)
    return _pass_message(event) | {"ended_at": at}


async def test_passes_stored_by_the_manager_raise_declaration_alerts(
    any_store, tmp_path: Path
) -> None:
    manager = FeedManager(any_store, tmp_path, "Asia/Ho_Chi_Minh")
    plates = manager.plates
    now = time.time()
    today = date.fromtimestamp(now)
    await plates.add_outbreak(
        Outbreak(
            "o1",
            "98",
            (today - timedelta(days=2)).isoformat(),
            (today + timedelta(days=2)).isoformat(),
            "vùng dịch",
            "host",
            now,
        )
    )
    await plates.set_checkpoint_rule(CheckpointRule("bg", "98", "none", "host", now))
    await plates.set_checkpoint_rule(CheckpointRule("km52", "20", "all", "host", now))
    await plates.add_declarations(
        [
            Declaration(
                "d1",
                "20A12345",
                "Nguyễn Văn A",
                "29",
                now - 86400,
                now + 86400,
                "",
                "form",
                "167",
                "host",
                now,
            )
        ]
    )
    bac_giang = FeedRunner(
        Feed("bg", "Làn ra", "Chốt QL1 Bắc Giang", "", "file:///x.mp4", "164", 1.0, "admin"),
        manager,
    )
    km52 = FeedRunner(
        Feed("km52", "Làn vào", "Chốt Km 52", "", "file:///y.mp4", "167", 1.0, "admin"), manager
    )
    await manager._store_pass(bac_giang, _message("20A12345", now - 3600))
    assert await plates.list_declaration_alerts() == []  # declared from Hà Nội, seen in Bắc Giang
    await manager._store_pass(km52, _message("20A12345", now - 60))  # ... and now here
    await manager._store_pass(km52, _message("30A99999", now - 30))  # no declaration at all
    undeclared, mismatch = await plates.list_declaration_alerts(["167"])
    assert (mismatch.kind, mismatch.declaration_id, mismatch.checkpoint) == (
        "mismatch",
        "d1",
        "Chốt Km 52",
    )
    [here, there] = [await plates.get_plate_event(i) for i in mismatch.evidence]
    assert (here.feed_id, there.feed_id) == ("km52", "bg")
    assert (undeclared.kind, undeclared.plate, undeclared.declaration_id) == (
        "undeclared",
        "30A99999",
        None,
    )
    assert await plates.list_declaration_alerts(["164"]) == []  # kept for the pass's unit
