"""The active-speaker timeline: kept by a meeting's home room, written in batches, both stores.

The room's own routing loop runs (real :class:`~conference.service.Conference`,
each store engine); the sites' microphones are stand-ins whose speech
activity the test sets, as an RFC 6464 level stream would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.rooms.speaking import PAUSE_SECONDS, SpeakingTimeline, Turn
from conference.service import Conference
from conference.settings import Settings
from conference.store import Meeting, Store, Unit
from conference.tokens import Role
from tests.support.waiting import wait_until

UNITS = [
    Unit(code="19", name="Tỉnh Thái Nguyên", type="province", parent=None, depth=0),
    Unit(code="167", name="Huyện Định Hóa", type="district", parent="19", depth=1),
    Unit(code="05539", name="Xã Linh Thông", type="commune", parent="167", depth=2),
]


class Microphone:
    """A site's audio source as the room reads it: only its speech activity."""

    def __init__(self) -> None:
        self.level = 0.0

    def speech_activity(self, now: float) -> float:
        return self.level


def _site(site_id: str, name: str) -> tuple[Participant, Microphone]:
    microphone = Microphone()
    participant = Participant(id=site_id, name=name, role=Role.PARTICIPANT)
    participant.sources["audio"] = microphone  # type: ignore[assignment]
    return participant, microphone


@pytest.fixture
async def conference(any_store: Store, tmp_path: Path) -> AsyncIterator[Conference]:
    the_conference = Conference(Settings(data_dir=tmp_path), any_store, b"s" * 32)
    await any_store.upsert_units(UNITS)
    try:
        yield the_conference
    finally:
        await the_conference.shutdown()


async def _meeting_room(conference: Conference, meeting_id: str) -> Room:
    now = time.time()
    await conference.store.create_room("Giao ban", "vp8", room_id=meeting_id)
    meeting = Meeting(
        id=meeting_id,
        title="Giao ban",
        agenda="",
        start=now,
        end=now + 3600,
        host_site="167",
        created_by="host",
        room_id=meeting_id,
        created_at=now,
    )
    await conference.store.create_meeting(meeting, ["167", "05539"])
    return await conference.open_room(await conference.store.get_room(meeting_id))


async def test_two_sites_speak_in_turn_and_the_intervals_are_stored(conference: Conference):
    store = conference.store
    room = await _meeting_room(conference, "mtg-speak")
    district, district_mic = _site("167", "Huyện Định Hóa")
    commune, commune_mic = _site("05539", "Xã Linh Thông")
    room.join(district)
    room.join(commune)
    began = time.time()

    district_mic.level = 8.0  # the district speaks
    await wait_until(lambda: room.speaking.speaking == "167", timeout=10)
    district_mic.level = 0.0
    commune_mic.level = 9.0  # the commune takes over (past the detector's hysteresis)
    await wait_until(lambda: room.speaking.speaking == "05539", timeout=10)

    # The scheduler's pass writes the closed turn; the open one waits.
    await conference.scheduler.schedule_once(time.time())
    stored = await store.meeting_speaking("mtg-speak")
    assert [(i.site, i.name) for i in stored] == [("167", "Huyện Định Hóa")]
    assert began <= stored[0].start < stored[0].end <= time.time()

    # The room's close ends the commune's turn and writes it.
    await conference.close_room("mtg-speak", "ended")
    stored = await store.meeting_speaking("mtg-speak")
    assert [(i.site, i.name) for i in stored] == [
        ("167", "Huyện Định Hóa"),
        ("05539", "Xã Linh Thông"),
    ]
    assert stored[0].end <= stored[1].start < stored[1].end <= time.time()
    assert all(i.meeting_id == "mtg-speak" for i in stored)


async def test_a_carrier_copy_records_no_timeline(conference: Conference):
    room = await _meeting_room(conference, "mtg-copy")
    room.carrier = True  # the meeting's home is another node: it keeps the timeline
    district, district_mic = _site("167", "Huyện Định Hóa")
    room.join(district)
    district_mic.level = 8.0
    await wait_until(lambda: room.detector.speaker == "167", timeout=10)
    await conference.scheduler.schedule_once(time.time())
    await conference.close_room("mtg-copy", "ended")
    assert await conference.store.meeting_speaking("mtg-copy") == []


def _ticks(timeline: SpeakingTimeline, plan: list[tuple[float, str | None, bool]]) -> None:
    for now, speaker, heard in plan:
        timeline.tick(speaker, speaker.upper() if speaker else "", heard, now)


def test_a_pause_longer_than_the_limit_ends_a_turn_and_a_breath_does_not():
    timeline = SpeakingTimeline(tick_seconds=0.2)
    plan: list[tuple[float, Any, bool]] = [(t / 5, "a", True) for t in range(0, 11)]  # 0-2 s
    plan += [(2.2, "a", False), (2.4, "a", True)]  # a breath
    plan += [(2.4 + PAUSE_SECONDS + 0.2 * k, "a", False) for k in range(1, 3)]  # silence
    plan += [(10.0, "b", True), (10.2, "b", True), (10.4, None, False)]  # b speaks, leaves
    _ticks(timeline, plan)
    assert timeline.take() == [
        Turn("a", "A", 0.0, pytest.approx(2.6)),
        Turn("b", "B", 10.0, pytest.approx(10.4)),
    ]
    assert timeline.take() == []
    timeline.tick("c", "C", True, 20.0)
    timeline.stop(21.0)
    assert timeline.take() == [Turn("c", "C", 20.0, pytest.approx(20.2))]
