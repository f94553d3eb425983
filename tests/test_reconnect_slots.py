"""A site that reconnects (a network drop, a new peer connection) comes back where it was:
the same slot in every other site's layout, the same place in the join order, the same
roll-call row, and its own page shows the others where it showed them before.
"""

from __future__ import annotations

from conference.rooms.participant import Participant
from conference.rooms.room import Room
from conference.sfu import SfuMetrics
from conference.slot import Slot
from conference.tokens import Role
from tests.support.slots import make_source

SLOTS = ["main", "thumb-1", "thumb-2"]


def site(site_id: str, metrics: SfuMetrics, video: bool = True) -> Participant:
    """A site with a main and two thumbnail slots, and a camera unless ``video`` is false."""
    participant = Participant(
        id=site_id,
        name=f"Xã {site_id}",
        role=Role.PARTICIPANT,
        slots=[Slot(name, "video", metrics) for name in SLOTS],
    )
    if video:
        participant.sources["video"] = make_source(metrics, [], name=site_id)
    return participant


def where(room: Room, viewer: str, shown: str) -> str | None:
    """The slot of ``viewer``'s layout that shows ``shown``."""
    plan = room.participants[viewer].plan
    return next((slot for slot, site_id in plan.items() if site_id == shown), None)


async def test_a_reconnecting_site_keeps_its_slots_and_its_own_view() -> None:
    metrics = SfuMetrics()
    room = Room("r", "Họp", "vp8")
    try:
        for site_id in ("a", "b", "c", "d"):
            room.join(site(site_id, metrics))
        room.reroute()
        before = {viewer: where(room, viewer, "a") for viewer in ("b", "c", "d")}
        assert all(before.values()), before
        own_before = dict(room.participants["a"].plan)
        order_before = list(room.participants)

        # The new connection has no camera yet (its answer has not come back).
        again = site("a", metrics, video=False)
        replaced = room.join(again)
        assert replaced is not None and replaced is not again
        room.reroute()
        assert {viewer: where(room, viewer, "a") for viewer in ("b", "c", "d")} == before
        assert list(room.participants) == order_before
        assert room.participants["a"].plan == own_before
        assert len([e for e in room.roll_call.entries if e == "a"]) == 1

        # Its camera arrives: the same slots now carry the new source.
        again.sources["video"] = make_source(metrics, [], name="a")
        room.media_changed(again)
        for viewer, slot_name in before.items():
            assert where(room, viewer, "a") == slot_name
            slot = next(s for s in room.participants[viewer].slots if s.name == slot_name)
            assert slot.source is again.sources["video"]
    finally:
        await room.close()


async def test_the_grace_ends_for_a_site_that_comes_back_without_a_camera() -> None:
    metrics = SfuMetrics()
    room = Room("r", "Họp", "vp8")
    try:
        for site_id in ("a", "b"):
            room.join(site(site_id, metrics))
        room.reroute()
        assert where(room, "b", "a") == "main"
        again = site("a", metrics, video=False)
        room.join(again)
        room.reroute()
        assert where(room, "b", "a") == "main"  # kept while it comes back
        room.reroute(now=again.returning_until + 1)
        assert where(room, "b", "a") is None  # no camera after the grace: the slot is freed
    finally:
        await room.close()


async def test_a_lost_connection_keeps_its_slot_until_the_site_is_back() -> None:
    metrics = SfuMetrics()
    room = Room("r", "Họp", "vp8")
    try:
        for site_id in ("a", "b", "c"):
            room.join(site(site_id, metrics))
        room.reroute()
        before = {viewer: where(room, viewer, "a") for viewer in ("b", "c")}
        own_before = dict(room.participants["a"].plan)
        # Its connection is lost (not left): the others keep its slot, empty meanwhile.
        room.leave(room.participants["a"], "connection-lost")
        room.reroute()
        assert {viewer: where(room, viewer, "a") for viewer in ("b", "c")} == before
        for viewer, slot_name in before.items():
            slot = next(s for s in room.participants[viewer].slots if s.name == slot_name)
            assert slot.source is None
        assert room.roll_call.entries["a"].status.value == "left"

        back = site("a", metrics, video=False)
        room.join(back)
        room.reroute()
        assert room.participants["a"].plan == own_before
        back.sources["video"] = make_source(metrics, [], name="a")
        room.media_changed(back)
        for viewer, slot_name in before.items():
            slot = next(s for s in room.participants[viewer].slots if s.name == slot_name)
            assert slot.source is back.sources["video"]
        assert room.roll_call.entries["a"].status.value != "left"
    finally:
        await room.close()


async def test_a_site_that_leaves_on_purpose_frees_its_slot_at_once() -> None:
    metrics = SfuMetrics()
    room = Room("r", "Họp", "vp8")
    try:
        for site_id in ("a", "b"):
            room.join(site(site_id, metrics))
        room.reroute()
        assert where(room, "b", "a") == "main"
        room.leave(room.participants["a"], "left")
        room.reroute()
        assert where(room, "b", "a") is None
        # A lost one is given up after the grace.
        room.join(site("a", metrics))
        room.reroute()
        room.leave(room.participants["a"], "connection-lost")
        room.reroute()
        assert where(room, "b", "a") == "main"
        deadline = room.returning["a"][0]
        room.reroute(now=deadline + 1)
        assert where(room, "b", "a") is None and "a" not in room.returning
    finally:
        await room.close()
