"""The room's own rules, without media: roll call, floor, host mute, lock, large rooms."""

from __future__ import annotations

import pytest

from conference.rooms.events import (
    FloorChanged,
    MutedByHost,
    ParticipantCount,
    ParticipantJoined,
)
from conference.rooms.participant import Participant
from conference.rooms.roll_call import InvitedSite, Quality, RollCall
from conference.rooms.room import Room, RoomRefused
from conference.tokens import Role

INVITED = [
    InvitedSite("167", "Huyện Định Hóa", "167", 1, "Huyện"),
    InvitedSite("05536", "Thị trấn Chợ Chu", "05536", 2, "Thị trấn"),
    InvitedSite("05539", "Xã Linh Thông", "05539", 2, "Xã"),
    InvitedSite("05542", "Xã Lam Vỹ", "05542", 2, "Xã"),
]


def site(site_id: str, inbox: list) -> Participant:
    return Participant(id=site_id, name=site_id, role=Role.PARTICIPANT, notify=inbox.append)


@pytest.fixture
async def room():
    published: list[dict] = []  # console events in their wire form, as the bus carries them
    the_room = Room(
        "r",
        "Họp",
        "vp8",
        invited=INVITED,
        publish=lambda event: published.append(event.to_wire()),
        large_room=3,
    )
    the_room.published = published  # type: ignore[attr-defined]
    yield the_room
    await the_room.close()


async def test_roll_call_counts_per_tier(room):
    assert [(t["label"], t["present"], t["total"]) for t in room.roll_call.tiers()] == [
        ("Huyện", 0, 1),
        ("Xã", 0, 3),
    ]
    room.join(site("05539", []))
    room.join(site("guest", []))  # not invited: its own group, not attendance
    camera = Participant(
        id="feed-cam1", name="Chốt Sơn Cẩm", role=Role.PARTICIPANT, client="camera"
    )
    room.join(camera)
    assert [(t["label"], t["kind"], t["present"], t["total"]) for t in room.roll_call.tiers()] == [
        ("Huyện", "site", 0, 1),
        ("Xã", "site", 1, 3),
        ("Khách mời", "guest", 1, 1),
        ("Camera", "camera", 1, 1),
    ]
    assert room.roll_call.entries["guest"].invited is False
    assert room.roll_call.entries["feed-cam1"].as_json()["kind"] == "camera"
    assert room.console_state()["present"] == 2  # two sites; the camera is not one
    room.leave(room.participants["05539"])
    assert room.roll_call.entries["05539"].status.value == "left"
    room.roll_call.connection("guest", "connected")
    room.roll_call.quality("guest", Quality(rtt_ms=900, loss=0.0, at=1.0))
    assert room.roll_call.entries["guest"].status.value == "poor"
    changes = room.roll_call.take_changes()
    assert {row["site_id"] for row in changes} >= {"05539", "guest"}
    assert room.roll_call.take_changes() == []


async def test_floor_and_host_mute(room):
    inboxes = {code: [] for code in ("167", "05536", "05539")}
    for code, inbox in inboxes.items():
        room.join(site(code, inbox))
    room.raise_hand("05539", True)
    assert list(room.hands) == ["05539"]
    room.mute(["05539"])
    assert room.participants["05539"].audio_muted and any(
        isinstance(e, MutedByHost) for e in inboxes["05539"]
    )
    # Reconnecting does not escape the host's mute...
    fresh: list = []
    room.join(site("05539", fresh))
    assert room.participants["05539"].host_muted and room.participants["05539"].audio_muted
    # ...but the floor lifts it, lowers the hand and features the site for everyone.
    room.give_floor("05539")
    assert room.featured() == "05539" and not room.hands
    assert not room.participants["05539"].host_muted
    floor = [e for e in inboxes["05536"] if isinstance(e, FloorChanged)][-1]
    assert (floor.participant_id, floor.name) == ("05539", "05539")
    room.give_floor(None)
    assert room.floor is None
    with pytest.raises(RoomRefused):
        room.give_floor("nobody")


async def test_remove_readmit_and_lock(room):
    room.join(site("05536", []))
    gone = room.remove("05536")
    assert gone is not None
    room.leave(gone, "removed")
    assert room.roll_call.entries["05536"].status.value == "removed"
    with pytest.raises(RoomRefused) as refused:
        room.admit("05536")
    assert refused.value.code == "removed"
    room.readmit("05536")
    room.admit("05536")
    assert room.roll_call.entries["05536"].status.value == "left"
    room.set_locked(True)
    room.admit("05536")  # was in before: may come back
    with pytest.raises(RoomRefused) as refused:
        room.admit("05542")
    assert refused.value.code == "room-locked"
    assert {"type": "locked", "locked": True} in room.published


async def test_large_room_sends_counts_not_every_join(room):
    first: list = []
    room.join(site("167", first))
    for code in ("05536", "05539", "05542", "x1", "x2"):
        room.join(site(code, []))
    joins = [e for e in first if isinstance(e, ParticipantJoined)]
    assert len(joins) == 2  # while the room was small (3 sites or fewer)
    room.flush_console(10**9, force=True)
    counts = [e for e in first if isinstance(e, ParticipantCount)]
    assert counts and counts[-1].count == 6


def test_roll_call_counts_time_in_the_meeting_and_restores_it() -> None:
    roll_call = RollCall(INVITED)
    roll_call.joined("05539", "Xã Linh Thông", now=100.0)
    assert roll_call.entries["05539"].present_for(160.0) == 60.0
    roll_call.left("05539", now=190.0)
    roll_call.joined("05539", "Xã Linh Thông", now=300.0)  # back after a break
    roll_call.joined("05539", "Xã Linh Thông", now=310.0)  # a reconnect: same stretch goes on
    entry = roll_call.entries["05539"]
    assert (entry.first_joined_at, entry.present_for(400.0)) == (100.0, 190.0)
    roll_call.joined("guest", "Khách", now=350.0)
    revision = roll_call.revision
    roll_call.muted("05539", True, False)
    assert roll_call.revision == revision  # mutes are not attendance

    # A saved copy, read back by a room that reopened at 500: who was in left at 400.
    again = RollCall(INVITED)
    rows = [*roll_call.snapshot(), {"site_id": "x", "status": "nonsense"}, {"name": "no id"}]
    again.restore(rows, saved_at=400.0)
    restored = again.entries["05539"]
    assert (restored.status.value, restored.left_at) == ("left", 400.0)
    assert (restored.first_joined_at, restored.present_for(999.0)) == (100.0, 190.0)
    assert again.entries["guest"].kind.value == "guest"
    assert again.entries["guest"].present_seconds == 50.0
    assert "x" not in again.entries
    assert again.entries["05542"].status.value == "not-joined"
    tiers = {t["label"]: (t["present"], t["total"]) for t in again.tiers()}
    assert tiers["Xã"] == (0, 3) and tiers["Khách mời"] == (0, 1)
