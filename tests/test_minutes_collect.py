"""The minutes collected after the meeting, on each store engine, and written in Vietnamese.

A real :class:`~conference.service.Conference` runs the meeting's room (the
sites are room participants whose microphones the test sets); after the
room closes, the minutes come from the store alone: the roll call as saved,
the turns as written, the chat and the vote as kept.
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from docx import Document as open_docx
from pypdf import PdfReader

from conference.minutes.collect import collect_minutes
from conference.minutes.pdf import minutes_pdf
from conference.minutes.text import duration, file_name, size, when
from conference.minutes.word import minutes_docx
from conference.rooms.console_events import AlertMatch, PlateAlert
from conference.rooms.participant import Participant
from conference.service import Conference
from conference.settings import Settings
from conference.store import Ballot, ChatMessage, Meeting, Store, Unit, Vote
from conference.tokens import Role
from tests.support.waiting import wait_until

UNITS = [
    Unit(code="19", name="Tỉnh Thái Nguyên", type="Tỉnh", parent=None, depth=0),
    Unit(code="167", name="Huyện Định Hóa", type="Huyện", parent="19", depth=1),
    Unit(code="05539", name="Xã Linh Thông", type="Xã", parent="167", depth=2),
    Unit(code="05542", name="Xã Lam Vỹ", type="Xã", parent="167", depth=2),
]
TZ = "Asia/Ho_Chi_Minh"


class Microphone:
    """A site's audio source as the room reads it: only its speech activity."""

    def __init__(self) -> None:
        self.level = 0.0

    def speech_activity(self, now: float) -> float:
        return self.level


@pytest.fixture
async def conference(any_store: Store, tmp_path: Path) -> AsyncIterator[Conference]:
    the_conference = Conference(Settings(data_dir=tmp_path), any_store, b"s" * 32)
    await any_store.upsert_units(UNITS)
    try:
        yield the_conference
    finally:
        await the_conference.shutdown()


async def test_the_minutes_after_the_meeting_come_from_the_store(conference: Conference):
    store = conference.store
    now = time.time()
    await store.create_room("Họp", "vp8", room_id="mtg-after")
    meeting = Meeting(
        id="mtg-after",
        title="Sơ kết công tác quý IV",
        agenda="Đánh giá kết quả",
        start=now - 60,
        end=now + 3600,
        host_site="167",
        created_by="host.dinhhoa",
        room_id="mtg-after",
        created_at=now - 120,
    )
    await store.create_meeting(meeting, ["167", "05539", "05542"])
    room = await conference.open_room(await store.get_room("mtg-after"))
    microphones = {}
    for site_id, name in (("167", "Huyện Định Hóa"), ("05539", "Xã Linh Thông")):
        microphones[site_id] = Microphone()
        participant = Participant(id=site_id, name=name, role=Role.PARTICIPANT)
        participant.sources["audio"] = microphones[site_id]  # type: ignore[assignment]
        room.join(participant)
    microphones["05539"].level = 7.0
    await wait_until(lambda: room.speaking.speaking == "05539", timeout=10)
    await store.add_chat(
        ChatMessage("mtg-after", now, "05539", "Xã Linh Thông", "all", "Đề nghị bổ sung <kinh phí>")
    )
    await store.open_vote(
        Vote(
            "v1",
            "mtg-after",
            "Thông qua báo cáo?",
            ["Tán thành", "Không tán thành"],
            False,
            now,
            "host",
        )
    )
    await store.cast_ballot("mtg-after", "v1", Ballot("05539", "Xã Linh Thông", 0, now))
    await store.close_vote("mtg-after", "v1", now + 1)
    # A checkpoint camera in the meeting reads a plate on the watch list.
    alert = PlateAlert(
        event="ev-77",
        feed="cam1",
        site="feed-cam1",
        checkpoint="Chốt Quán Vuông",
        at=now,
        plate="20A12345",
        display="20A-123.45",
        province_code="20",
        confidence=0.97,
        colour="white",
        alerts=[AlertMatch(kind="watch", reason="Xe bị truy tìm", pattern="20A12345", fuzzy=None)],
        text=None,
        crop=None,
        frame=None,
    )
    room.plate_alert("feed-cam1", alert)
    await conference.scheduler.schedule_once(time.time())  # the pass writes it
    assert [a.event_id for a in await store.meeting_alerts("mtg-after")] == ["ev-77"]
    room.plate_alert("feed-cam1", alert)  # shown again (a console caught up): kept once
    await conference.close_room("mtg-after", "ended")
    assert len(await store.meeting_alerts("mtg-after")) == 1

    roll_call, running = await conference.attendance(meeting)
    assert not running
    minutes = await collect_minutes(
        store, meeting, roll_call, running, live=None, recordings=[], timezone=TZ, now=time.time()
    )
    assert [(t.label, t.present, t.total) for t in minutes.tiers] == [
        ("Cấp huyện", 1, 1),
        ("Cấp xã", 1, 2),
    ]
    assert minutes.actual_start is not None and minutes.actual_end is not None
    assert minutes.actual_start <= minutes.actual_end <= time.time()
    assert [(s.name, s.turns) for s in minutes.speakers] == [("Xã Linh Thông", 1)]
    assert minutes.votes[0].options == [("Tán thành", 1), ("Không tán thành", 0)]
    assert minutes.votes[0].voters == [("Xã Linh Thông", "Tán thành")]
    assert [(a.checkpoint, a.plate, a.reason) for a in minutes.alerts] == [
        ("Chốt Quán Vuông", "20A-123.45", "Xe bị truy tìm")
    ]

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(minutes_pdf(minutes))).pages)
    for expected in (
        "BIÊN BẢN CUỘC HỌP",
        "Sơ kết công tác quý IV",
        "Vắng mặt (1): Xã Lam Vỹ.",
        "Đề nghị bổ sung <kinh phí>",  # user text is text, never markup
        "Thông qua báo cáo?",
        "Cuộc họp không được ghi hình.",
        "Chốt Quán Vuông",
        "20A-123.45",
        f"Thời gian thực tế: {when(minutes.actual_start, TZ)}",
    ):
        assert expected in text, (expected, text)
    assert "đang diễn ra" not in text
    word = open_docx(io.BytesIO(minutes_docx(minutes)))
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert "Xã Linh Thông" in cells and "Cấp xã" in cells and "Tán thành" in cells


def test_the_formats_are_vietnamese():
    at = 1765157400.0  # 2025-12-08 01:30 UTC: 08:30 in Hà Nội
    assert when(at, TZ) == "08/12/2025 08:30"
    assert duration(3725) == "1 giờ 02 phút" and duration(75) == "1 phút 15 giây"
    assert duration(9.6) == "10 giây"
    assert size(1_572_864) == "1,5 MB" and size(900) == "900 B"
    assert file_name('Đảng ủy: Họp / "đặc biệt"', at, TZ, "pdf") == (
        "bien-ban-dang-uy-hop-dac-biet-2025-12-08.pdf"
    )
    assert file_name("…", at, TZ, "docx") == "bien-ban-cuoc-hop-2025-12-08.docx"
