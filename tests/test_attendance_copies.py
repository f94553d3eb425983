"""A copy of a meeting's room that no site joins never overwrites the meeting's roll call.

Another process or node may open the meeting's room (its schedule opens every
meeting that starts) while the sites are at the meeting's home; when that
empty copy closed, its final save replaced the home's roll call with an
older or empty one. Real store (SQLite and Redis), real Room and Attendance.
"""

from __future__ import annotations

import time

from conference.attendance import Attendance
from conference.rooms.room import Room
from conference.store import AttendanceRecord, Meeting, Store

PRESENT = {
    "site_id": "167",
    "name": "Huyện Định Hóa",
    "depth": 1,
    "status": "connected",
    "present_seconds": 125.5,
    "joins": [[1000.0, None]],
}


def a_meeting() -> Meeting:
    now = time.time()
    return Meeting(
        id="m-copies",
        title="Giao ban",
        agenda="",
        start=now,
        end=now + 3600,
        host_site="167",
        created_by="host",
        room_id="m-copies",
        created_at=now,
    )


async def open_copy(attendance: Attendance, meeting: Meeting) -> Room:
    """What LiveRooms does when it opens a meeting's room: restore, then note it."""
    room = Room(meeting.room_id, meeting.title, "VP8")
    saved = await attendance.saved(meeting)
    if saved is not None:
        room.restore(*saved)
    attendance.opened(room)
    return room


async def test_an_unjoined_copy_leaves_the_homes_roll_call_alone(any_store: Store) -> None:
    meeting = a_meeting()
    await any_store.save_attendance(AttendanceRecord(meeting.id, 1000.0, [PRESENT], {}))
    copy = await open_copy(Attendance(any_store), meeting)
    # The home goes on: a newer roll call, saved after the copy opened.
    newer = AttendanceRecord(
        meeting.id, 2000.0, [dict(PRESENT, present_seconds=900.0)], {"locked": True}
    )
    await any_store.save_attendance(newer)
    attendance = Attendance(any_store)
    attendance.opened(copy)
    await attendance.save(copy, meeting)
    await attendance.save(copy, meeting, final=True)
    assert await any_store.get_attendance(meeting.id) == newer


async def test_a_copy_with_nothing_saved_writes_no_empty_roll_call(any_store: Store) -> None:
    meeting = a_meeting()
    attendance = Attendance(any_store)
    copy = await open_copy(attendance, meeting)
    await attendance.save(copy, meeting, final=True)
    assert await any_store.get_attendance(meeting.id) is None


async def test_a_site_joining_the_room_is_saved(any_store: Store) -> None:
    meeting = a_meeting()
    attendance = Attendance(any_store)
    room = await open_copy(attendance, meeting)
    room.roll_call.joined("167", "Huyện Định Hóa")
    await attendance.save(room, meeting)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None and [r["site_id"] for r in record.sites] == ["167"]
    room.locked = True  # a host decision alone is a change too
    await attendance.save(room, meeting, final=True)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None and record.room["locked"] is True


async def test_a_first_join_is_saved_at_the_next_pass_and_a_leave_waits(any_store: Store) -> None:
    """Who came is in the store within a scheduler pass: a node taking the meeting over
    (its home died) restores it; other changes keep the 30 s throttle."""
    meeting = a_meeting()
    attendance = Attendance(any_store)
    room = await open_copy(attendance, meeting)
    room.roll_call.joined("167", "Huyện Định Hóa")
    await attendance.save(room, meeting)
    room.roll_call.joined("05536", "Xã Yên Bình")  # a moment later, before 30 s
    await attendance.save(room, meeting)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None
    first = {row["site_id"]: row["first_joined_at"] for row in record.sites}
    assert set(first) == {"167", "05536"} and all(first.values())
    room.roll_call.left("05536")  # not an arrival: saved with a later pass
    await attendance.save(room, meeting)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None
    assert {row["site_id"]: row["status"] for row in record.sites}["05536"] == "connecting"
    await attendance.save(room, meeting, final=True)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None
    assert {row["site_id"]: row["status"] for row in record.sites}["05536"] == "left"


async def test_a_final_save_keeps_the_sites_another_half_saved(any_store: Store) -> None:
    """A meeting that ran in two halves (a Redis outage longer than a lease): the
    half that closes last must not erase the sites only the other half saw."""
    meeting = a_meeting()
    attendance = Attendance(any_store)
    room = await open_copy(attendance, meeting)
    room.roll_call.joined("05536", "Xã Yên Bình")
    await attendance.save(room, meeting)
    # Meanwhile the other half (another node) saved its own roll call: site 167.
    await any_store.save_attendance(AttendanceRecord(meeting.id, time.time(), [PRESENT], {}))
    room.roll_call.left("05536")
    await attendance.save(room, meeting, final=True)
    record = await any_store.get_attendance(meeting.id)
    assert record is not None
    status = {row["site_id"]: row["status"] for row in record.sites}
    assert status == {"05536": "left", "167": "connected"}
    # Read back as a roll call, the other half's site counts as having been there.
    rows = await attendance.roll_call(meeting, None)
    assert "167" in rows[0].entries and rows[0].entries["167"].present_seconds >= 125.5
