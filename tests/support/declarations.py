"""A "khai báo không trung thực" alert made the way a server makes one, for the API and page tests.

Two cameras (a checkpoint of the officer's district in Thái Nguyên, and one
in Bắc Giang, an outbreak province, of another district), a declaration
that the car comes from Hà Nội, and two passes written as
``anpr_feed.manager.FeedManager`` stores them (a row, a crop and a frame
under ``DATA_DIR/anpr/<day>/``); then the manager's own check
(:class:`~anpr_feed.declarations.checker.DeclarationChecker`) runs on the
second pass, on the server's store (its SQLite file or its Redis keys).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from anpr_feed.declarations.checker import DeclarationChecker
from anpr_feed.events_store import DeclarationAlert, PlateEvent, plate_store_for
from conference.store import open_store
from tests.support import synth
from tests.support.api_client import ApiClient
from tests.support.feeds import register_feed
from tests.support.server import ServerProcess

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UNREACHABLE = "rtsp://127.0.0.1:9/Streaming/Channels/101"  # nothing listens on port 9
PLATE, DISPLAY = "20A12345", "20A-123.45"


@dataclass
class Mismatch:
    """What :func:`make_mismatch` made."""

    alert: DeclarationAlert
    here: PlateEvent  # the pass at the officer's checkpoint
    elsewhere: PlateEvent  # the earlier pass in Bắc Giang
    declaration_id: str


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(data)


def _pass(data_dir: Path, feed: dict, at: float) -> PlateEvent:
    local = datetime.fromtimestamp(at, VN)
    event_id = local.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(5)
    folder = local.strftime("%Y-%m-%d")
    spec = synth.PlateSpec(PLATE, DISPLAY, (DISPLAY,), "car_1line", "white", "20")
    crop = synth.render_plate(spec, 0.5)
    frame = np.full((270, 480, 3), (70, 80, 90), np.uint8)
    frame[150 : 150 + crop.shape[0], 180 : 180 + crop.shape[1]] = crop
    directory = data_dir / "anpr" / folder
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{event_id}-plate.jpg").write_bytes(_jpeg(crop))
    (directory / f"{event_id}-frame.jpg").write_bytes(_jpeg(frame))
    return PlateEvent(
        id=event_id,
        feed_id=feed["id"],
        checkpoint=feed["checkpoint"],
        at=at,
        plate=PLATE,
        display=DISPLAY,
        province_code="20",
        confidence=0.96,
        crop=f"{folder}/{event_id}-plate.jpg",
        thumbnail=f"{folder}/{event_id}-frame.jpg",
        unit_code=feed["unit_code"],
    )


async def make_mismatch(
    server: ServerProcess, admin: ApiClient, officer: ApiClient, unit: str, other_unit: str
) -> Mismatch:
    """The alert of a car declared from Hà Nội that a Bắc Giang camera read five hours ago.

    ``officer`` (of ``unit``) enters the declaration by hand; the Bắc Giang
    camera is ``other_unit``'s. The passes go to the server's store, whichever
    engine it runs on.
    """
    data_dir = server.data_dir
    here_feed = await register_feed(
        admin, UNREACHABLE, unit_code=unit, name="Làn vào 1", checkpoint="Chốt Km 52 Định Hóa"
    )
    there_feed = await register_feed(
        admin, UNREACHABLE, unit_code=other_unit, name="Làn ra", checkpoint="Chốt QL1 Bắc Giang"
    )
    for feed, province in ((here_feed, "Thái Nguyên"), (there_feed, "Bắc Giang")):
        reply = await admin.call(
            "PUT",
            f"/api/anpr/feeds/{feed['id']}/declaration-rule",
            {"province_code": province, "required": "none"},
        )
        assert reply.status == 200, reply.body
    today = date.today()
    reply = await admin.call(
        "POST",
        "/api/anpr/outbreaks",
        {
            "province_code": "98",
            "start": (today - timedelta(days=3)).isoformat(),
            "end": (today + timedelta(days=3)).isoformat(),
            "reason": "Bắc Giang giãn cách",
        },
    )
    assert reply.status == 201, reply.body
    now = time.time()
    reply = await officer.call(
        "POST",
        "/api/anpr/declarations",
        {
            "plate": DISPLAY,
            "driver": "Nguyễn Văn Bình",
            "origin": "Hà Nội",
            "valid_from": datetime.fromtimestamp(now - 86400, VN).isoformat(),
            "valid_to": datetime.fromtimestamp(now + 86400, VN).isoformat(),
            "phone": "0912 345 678",
        },
    )
    assert reply.status == 201, reply.body
    elsewhere = _pass(data_dir, there_feed, now - 5 * 3600)
    here = _pass(data_dir, here_feed, now - 60)
    store = open_store(
        data_dir,
        server.env.get("CONFERENCE_REDIS_URL"),
        server.env.get("CONFERENCE_REDIS_PREFIX", "conference:"),
    )
    try:
        plates = plate_store_for(store)
        await plates.add_plate_events([elsewhere, here])
        alert = await DeclarationChecker(plates, VN).check(here)
    finally:
        await store.close()
    assert alert is not None
    return Mismatch(alert, here, elsewhere, reply.body["id"])
