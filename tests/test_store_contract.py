"""One contract for every Store engine: each test runs on SQLite and on Redis."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time

import pytest

from conference.store import (
    AccountRole,
    Conflict,
    Feed,
    Grant,
    Login,
    Meeting,
    MeetingNotFound,
    NotFound,
    Outbreak,
    PlateEvent,
    RoomNotFound,
    Site,
    StoreError,
    Unit,
    UnitNotFound,
    User,
    WatchEntry,
)
from conference.store.sqlite import plate_query
from tests.conftest import ROOT


def tree() -> list[Unit]:
    """A province with two districts of two communes each (codes as in the GSO list)."""
    return [
        Unit("19", "Tỉnh Thái Nguyên", "Tỉnh", None, 0, 0),
        Unit("164", "Thành phố Thái Nguyên", "Thành phố", "19", 1, 0),
        Unit("05431", "Phường Quán Triều", "Phường", "164", 2, 0),
        Unit("05434", "Phường Quang Vinh", "Phường", "164", 2, 1),
        Unit("167", "Huyện Định Hóa", "Huyện", "19", 1, 1),
        Unit("05503", "Thị trấn Chợ Chu", "Thị trấn", "167", 2, 0),
        Unit("05506", "Xã Linh Thông", "Xã", "167", 2, 1),
    ]


def meeting(meeting_id: str, start: float, end: float, host_site: str = "167", **extra) -> Meeting:
    return Meeting(
        id=meeting_id,
        title=f"Họp {meeting_id}",
        agenda="1. Tình hình",
        start=start,
        end=end,
        host_site=host_site,
        created_by="host.dinhhoa",
        room_id=meeting_id,
        created_at=1.0,
        **extra,
    )


def user(username: str, role: AccountRole = AccountRole.HOST, unit: str | None = "167") -> User:
    return User(username, username.title(), role, unit, "scrypt$x", 1.0)


async def test_rooms(any_store):
    room = await any_store.create_room("Họp giao ban", "vp8")
    assert await any_store.get_room(room.id) == room
    with pytest.raises(StoreError):
        await any_store.create_room("Trùng", "vp8", room_id=room.id)
    assert [r.id for r in await any_store.list_rooms()] == [room.id]
    await any_store.delete_room(room.id)
    with pytest.raises(RoomNotFound):
        await any_store.get_room(room.id)


async def test_units_tree(any_store):
    assert await any_store.upsert_units(tree()) == 7
    assert await any_store.count_units() == 7
    assert [u.code for u in await any_store.children(None)] == ["19"]
    assert [u.code for u in await any_store.children("19")] == ["164", "167"]
    assert [u.code for u in await any_store.subtree("19")] == [
        "19",
        "164",
        "05431",
        "05434",
        "167",
        "05503",
        "05506",
    ]
    assert [u.code for u in await any_store.subtree("167")] == ["167", "05503", "05506"]
    assert [u.code for u in await any_store.ancestors("05506")] == ["19", "167"]
    assert await any_store.ancestors("19") == []
    unit = await any_store.get_unit("05506")
    assert (unit.name, unit.type, unit.parent, unit.depth) == ("Xã Linh Thông", "Xã", "167", 2)
    assert set(await any_store.get_units(["19", "nope", "05431"])) == {"19", "05431"}
    for missing in (
        any_store.get_unit("nope"),
        any_store.subtree("nope"),
        any_store.ancestors("nope"),
    ):
        with pytest.raises(UnitNotFound):
            await missing


async def test_units_reimport_updates_and_keeps_sites(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_site(Site("167-2", "167", "Hội trường 2 huyện Định Hóa"))
    renamed = [
        u if u.code != "05506" else Unit("05506", "Xã Linh Thông (mới)", "Xã", "167", 2, 1)
        for u in tree()
    ]
    await any_store.upsert_units(renamed)
    assert (await any_store.get_unit("05506")).name == "Xã Linh Thông (mới)"
    assert await any_store.count_units() == 7
    sites = await any_store.sites_of(["167", "05506"])
    assert [s.id for s in sites] == ["167", "167-2", "05506"]
    assert (await any_store.get_site("05506")).name == "Xã Linh Thông (mới)"
    with pytest.raises(Conflict):
        await any_store.add_site(Site("167-2", "167", "again"))
    with pytest.raises(NotFound):
        await any_store.get_site("nope")


async def test_orphan_units_are_refused_whole(any_store):
    await any_store.upsert_units(tree()[:2])
    with pytest.raises(StoreError):
        await any_store.upsert_units(
            [
                Unit("99999", "Xã mồ côi", "Xã", "888", 2, 0),
                Unit("05431", "Phường Quán Triều", "Phường", "164", 2, 0),
            ]
        )
    assert await any_store.count_units() == 2  # nothing of the failed batch was written


async def test_users_and_logins(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_user(user("host.dinhhoa"))
    with pytest.raises(Conflict):
        await any_store.create_user(user("host.dinhhoa", AccountRole.SITE, "05506"))
    assert (await any_store.get_user("host.dinhhoa")).role is AccountRole.HOST  # untouched
    assert await any_store.get_user("nobody") is None
    admin = User("admin", "Quản trị", AccountRole.ADMIN, None, "scrypt$y", 2.0)
    await any_store.create_user(admin)
    assert [u.username for u in await any_store.list_users()] == ["admin", "host.dinhhoa"]
    await any_store.update_user(
        User("admin", "Admin", AccountRole.ADMIN, None, "scrypt$z", 2.0, disabled=True)
    )
    changed = await any_store.get_user("admin")
    assert (changed.display_name, changed.password_hash, changed.disabled) == (
        "Admin",
        "scrypt$z",
        True,
    )
    with pytest.raises(NotFound):
        await any_store.update_user(user("ghost"))

    now = time.time()
    await any_store.create_login(Login("sess-1", "admin", "csrf", now, now + 60))
    assert (await any_store.get_login("sess-1", now)).csrf_token == "csrf"
    assert await any_store.get_login("sess-1", now + 61) is None  # expired
    await any_store.delete_login("sess-1")
    assert await any_store.get_login("sess-1", now) is None
    await any_store.delete_login("never-existed")


async def test_meetings_invitations_and_overlap(any_store):
    await any_store.upsert_units(tree())
    first = meeting("m1", 1000, 2000, auto_record=True)
    await any_store.create_meeting(first, ["167", "05503", "05506"])
    assert await any_store.get_meeting("m1") == first
    assert await any_store.invitations("m1") == ["167", "05503", "05506"]
    # Same host site, overlapping window: refused, and nothing changes.
    with pytest.raises(Conflict) as clash:
        await any_store.create_meeting(meeting("m2", 1500, 2500), ["05503"])
    assert "Họp m1" in str(clash.value)
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("m2")
    # Back to back is fine; another host site at the same time is fine.
    await any_store.create_meeting(meeting("m3", 2000, 3000), ["05503"])
    await any_store.create_meeting(meeting("m4", 1000, 2000, host_site="164"), ["05431", "05503"])
    assert [m.id for m in await any_store.list_meetings(0, 10_000)] == ["m1", "m4", "m3"]
    assert [m.id for m in await any_store.list_meetings(2000, 2500)] == ["m3"]
    assert [m.id for m in await any_store.meetings_for_site("05503", 0, 10_000)] == [
        "m1",
        "m4",
        "m3",
    ]
    assert [m.id for m in await any_store.meetings_for_site("167", 0, 10_000)] == [
        "m1",
        "m3",
    ]  # hosts them
    assert [m.id for m in await any_store.meetings_for_site("05431", 0, 1500)] == ["m4"]
    # Update: new invitations, overlap checked against others only.
    moved = meeting("m3", 2100, 3100)
    await any_store.update_meeting(moved, ["05506"])
    assert (await any_store.get_meeting("m3")).start == 2100
    assert await any_store.invitations("m3") == ["05506"]
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m3", 1900, 3100), ["05506"])
    # A cancelled meeting frees its slot.
    await any_store.update_meeting(meeting("m1", 1000, 2000, cancelled_at=5.0), ["167"])
    await any_store.create_meeting(meeting("m5", 1200, 1800), ["05503"])
    with pytest.raises(MeetingNotFound):
        await any_store.update_meeting(meeting("nope", 1, 2), [])
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("bad", 2000, 1000), [])
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("unknown-site", 9000, 9100), ["no-such-site"])
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("unknown-site")


async def test_grants(any_store):
    await any_store.upsert_units(tree())
    grant = Grant("19", "167", "host.tinh", 3.0)
    await any_store.add_grant(grant)
    await any_store.add_grant(grant)
    assert await any_store.grants_to("167") == [grant]
    assert await any_store.grants_from("19") == [grant]
    await any_store.remove_grant("19", "167")
    assert await any_store.grants_to("167") == []
    await any_store.remove_grant("19", "167")


async def test_meta(any_store):
    assert await any_store.get_meta("k") is None
    await any_store.set_meta("k", "v1")
    await any_store.set_meta("k", "v2")
    assert await any_store.get_meta("k") == "v2"


# -- further contract: what the engines must agree on beyond the basics --------------


def flatten(nodes: list[dict], parent: str | None, depth: int, into: list[Unit]) -> None:
    """The nested units of the source file as a list, parents first."""
    for position, node in enumerate(nodes):
        into.append(Unit(node["code"], node["name"], node["type"], parent, depth, position))
        flatten(node.get("children", []), node["code"], depth + 1, into)


def national_units() -> tuple[list[Unit], str]:
    """The national list (11,367 units, a copy is in tests/data), read as the CLI reads it.

    Parents come before children and ``position`` is the order among
    siblings, as an import from the source file gives them.
    """
    name = "vn-admin-units-2021-11-01.json"
    for folder in (ROOT / "tests" / "data", ROOT.parent / "shared" / "data"):
        path = folder / name
        if path.is_file():
            units: list[Unit] = []
            flatten(json.loads(path.read_text(encoding="utf-8"))["units"], None, 0, units)
            return units, str(path)
    synthetic: list[Unit] = []
    for p in range(63):
        province = f"{p:02d}"
        synthetic.append(Unit(province, f"Tỉnh {p}", "Tỉnh", None, 0, p))
        for d in range(10):
            district = f"{province}{d:02d}"
            synthetic.append(Unit(district, f"Huyện {d}", "Huyện", province, 1, d))
            for c in range(16):
                synthetic.append(Unit(f"{district}{c:02d}", f"Xã {c}", "Xã", district, 2, c))
    return synthetic, "synthetic (63 x 10 x 16)"


async def test_national_import(any_store, request, capsys):
    units, source = national_units()
    started = time.perf_counter()
    assert await any_store.upsert_units(units) == len(units)
    took = time.perf_counter() - started
    # Reported, not asserted: a loaded CI machine must not fail on speed.
    with capsys.disabled():
        print(
            f"\n[national import] {request.node.callspec.id}: {len(units)} units "
            f"in {took:.2f} s from {source}"
        )
    assert await any_store.count_units() == len(units)
    roots = [u for u in units if u.parent is None]
    assert [u.code for u in await any_store.children(None)] == [u.code for u in roots]
    first = roots[0]
    below = {first.code}
    for unit in units:  # parents come first, so one pass finds the whole subtree
        if unit.parent in below:
            below.add(unit.code)
    subtree = await any_store.subtree(first.code)
    assert subtree[0].code == first.code
    assert {u.code for u in subtree} == below
    leaf = units[-1]
    chain = await any_store.ancestors(leaf.code)
    assert [u.depth for u in chain] == list(range(leaf.depth))
    assert chain[-1].code == leaf.parent
    assert [s.id for s in await any_store.sites_of([leaf.code])] == [leaf.code]
    # Importing the same file again updates in place.
    assert await any_store.upsert_units(units) == len(units)
    assert await any_store.count_units() == len(units)


async def test_children_order_and_moving_a_unit(any_store):
    await any_store.upsert_units(
        [
            *tree(),
            # Same position as 05503: the code breaks the tie.
            Unit("05500", "Xã Bảo Linh", "Xã", "167", 2, 0),
            # A parent may be stored already and come later in the batch too.
            Unit("05509", "Xã Phúc Chu", "Xã", "167", 2, 5),
            Unit("167", "Huyện Định Hóa", "Huyện", "19", 1, 1),
        ]
    )
    assert [u.code for u in await any_store.children("167")] == [
        "05500",
        "05503",
        "05506",
        "05509",
    ]
    assert await any_store.children("05506") == []
    assert await any_store.children("nope") == []
    # Move a commune to the other district: it leaves the old parent's list.
    await any_store.upsert_units([Unit("05509", "Xã Phúc Chu", "Xã", "164", 2, 0)])
    assert [u.code for u in await any_store.children("164")] == ["05431", "05509", "05434"]
    assert "05509" not in [u.code for u in await any_store.children("167")]
    assert [u.code for u in await any_store.subtree("164")] == ["164", "05431", "05509", "05434"]
    assert [u.code for u in await any_store.ancestors("05509")] == ["19", "164"]
    assert await any_store.count_units() == 9


async def test_parent_later_in_the_batch_is_refused(any_store):
    with pytest.raises(StoreError):
        await any_store.upsert_units(
            [
                Unit("164", "Thành phố Thái Nguyên", "Thành phố", "19", 1, 0),
                Unit("19", "Tỉnh Thái Nguyên", "Tỉnh", None, 0, 0),
            ]
        )
    assert await any_store.count_units() == 0
    assert await any_store.children(None) == []
    with pytest.raises(NotFound):
        await any_store.get_site("19")  # no default site either
    assert await any_store.upsert_units([]) == 0


async def test_sites_order_and_errors(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_site(Site("167-b", "167", "Phòng B"))
    await any_store.add_site(Site("167-a", "167", "Phòng A"))
    sites = await any_store.sites_of(["05506", "167", "05506", "nope"])
    assert [s.id for s in sites] == ["05506", "167", "167-a", "167-b"]
    assert await any_store.get_site("167-a") == Site("167-a", "167", "Phòng A")
    assert await any_store.sites_of([]) == []
    with pytest.raises(StoreError):  # SQLite says Conflict: the unit is unknown
        await any_store.add_site(Site("ghost-room", "nope", "Phòng ma"))
    with pytest.raises(NotFound):
        await any_store.get_site("ghost-room")


async def test_users_need_a_known_unit(any_store):
    await any_store.upsert_units(tree())
    with pytest.raises(StoreError) as refused:
        await any_store.create_user(user("host.ghost", unit="nope"))
    assert not isinstance(refused.value, Conflict)
    assert await any_store.get_user("host.ghost") is None
    await any_store.create_user(user("site.linhthong", AccountRole.SITE, "05506"))
    assert (await any_store.get_user("site.linhthong")) == user(
        "site.linhthong", AccountRole.SITE, "05506"
    )


async def test_login_expires_at_its_instant(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_user(user("host.dinhhoa"))
    now = time.time()
    login = Login("sess-2", "host.dinhhoa", "csrf-2", now, now + 3600)
    await any_store.create_login(login)
    assert await any_store.get_login("sess-2", now) == login
    assert await any_store.get_login("sess-2", now + 3600) is None  # expires_at <= now
    assert await any_store.get_login("never", now) is None


async def test_rooms_order_and_bad_input(any_store):
    first = await any_store.create_room("Giao ban", "vp8", room_id="giao-ban")
    second = await any_store.create_room("  Phòng H.264  ", "h264")
    assert second.name == "Phòng H.264"
    assert await any_store.list_rooms() == [first, second]
    for name, room_id in (("", None), ("x" * 121, None), ("ok", "Bad Id!")):
        with pytest.raises(StoreError):
            await any_store.create_room(name, "vp8", room_id)
    with pytest.raises(RoomNotFound):
        await any_store.delete_room("khong-co")
    assert await any_store.list_rooms() == [first, second]


async def test_meeting_windows_are_half_open_and_ordered(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_meeting(meeting("b", 1000, 2000), [])
    await any_store.create_meeting(meeting("a", 1000, 2000, host_site="164"), [])
    await any_store.create_meeting(meeting("c", 500, 900, host_site="05506"), ["167"])
    await any_store.create_meeting(meeting("d", 3000, 4000, cancelled_at=9.0), ["167"])
    assert [m.id for m in await any_store.list_meetings(0, 10_000)] == ["c", "a", "b", "d"]
    assert [m.id for m in await any_store.list_meetings(2000, 3000)] == []  # both ends open
    assert [m.id for m in await any_store.list_meetings(1999, 3001)] == ["a", "b", "d"]
    assert [m.id for m in await any_store.list_meetings(0, 1000)] == ["c"]
    assert [m.id for m in await any_store.meetings_for_site("167", 0, 10_000)] == ["c", "b", "d"]
    assert await any_store.meetings_for_site("05431", 0, 10_000) == []
    assert await any_store.invitations("nope") == []
    with pytest.raises(Conflict):
        await any_store.create_meeting(meeting("b", 5000, 6000), [])  # id taken
    assert (await any_store.get_meeting("b")).start == 1000


async def test_update_meeting_moves_host_and_invitations(any_store):
    await any_store.upsert_units(tree())
    await any_store.create_meeting(meeting("m1", 1000, 2000), ["05503", "05506"])
    await any_store.create_meeting(meeting("m2", 1000, 2000, host_site="164"), ["05431"])
    # Moving m1 to host 164 at the same time clashes with m2 there.
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m1", 1500, 2500, host_site="164"), [])
    moved = meeting("m1", 3000, 4000, host_site="164")
    await any_store.update_meeting(moved, ["05431", "05506", "05431", "19"])
    assert await any_store.get_meeting("m1") == moved
    assert await any_store.invitations("m1") == ["05431", "05506", "19"]  # once each, in order
    assert await any_store.meetings_for_site("167", 0, 10_000) == []  # no longer hosts it
    assert await any_store.meetings_for_site("05503", 0, 10_000) == []  # no longer invited
    assert [m.id for m in await any_store.meetings_for_site("05506", 0, 10_000)] == ["m1"]
    assert [m.id for m in await any_store.meetings_for_site("164", 0, 10_000)] == ["m2", "m1"]
    # Its old slot at host 167 is free again.
    await any_store.create_meeting(meeting("m3", 1000, 2000), [])
    # An update that names an unknown site changes nothing.
    with pytest.raises(StoreError):
        await any_store.update_meeting(meeting("m1", 5000, 6000, host_site="164"), ["nope"])
    assert await any_store.get_meeting("m1") == moved
    assert await any_store.invitations("m1") == ["05431", "05506", "19"]
    with pytest.raises(StoreError):
        await any_store.create_meeting(meeting("m4", 7000, 8000, host_site="no-such-host"), [])
    with pytest.raises(MeetingNotFound):
        await any_store.get_meeting("m4")
    # Un-cancelling is checked like any other change.
    await any_store.update_meeting(meeting("m3", 1000, 2000, cancelled_at=1.0), [])
    await any_store.create_meeting(meeting("m5", 1500, 2500), [])
    with pytest.raises(Conflict):
        await any_store.update_meeting(meeting("m3", 1000, 2000), [])


async def test_concurrent_meetings_for_one_host_site_one_wins(any_store):
    await any_store.upsert_units(tree())
    attempts = [meeting(f"race-{n}", 1000 + n, 2000 + n) for n in range(12)]
    results = await asyncio.gather(
        *(any_store.create_meeting(m, ["05503"]) for m in attempts), return_exceptions=True
    )
    unexpected = [r for r in results if r is not None and not isinstance(r, Conflict)]
    assert unexpected == []
    assert sum(r is None for r in results) == 1
    assert len(await any_store.list_meetings(0, 10_000)) == 1
    # Concurrent moves of two meetings into one free slot: one lands.
    await any_store.create_meeting(meeting("early", 100, 200, host_site="164"), [])
    await any_store.create_meeting(meeting("late", 5000, 6000, host_site="164"), [])
    results = await asyncio.gather(
        any_store.update_meeting(meeting("early", 3000, 4000, host_site="164"), []),
        any_store.update_meeting(meeting("late", 3500, 4500, host_site="164"), []),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
    hosted = await any_store.meetings_for_site("164", 0, 10_000)
    for one, other in itertools.pairwise(hosted):
        assert one.end <= other.start


async def test_grants_order_and_unknown_units(any_store):
    await any_store.upsert_units(tree())
    await any_store.add_grant(Grant("19", "05506", "host.tinh", 3.0))
    await any_store.add_grant(Grant("164", "05506", "host.tp", 4.0))
    await any_store.add_grant(Grant("19", "05506", "someone.else", 9.0))  # kept as first given
    assert await any_store.grants_to("05506") == [
        Grant("164", "05506", "host.tp", 4.0),
        Grant("19", "05506", "host.tinh", 3.0),
    ]
    with pytest.raises(StoreError):
        await any_store.add_grant(Grant("19", "nope", "host.tinh", 3.0))
    assert await any_store.grants_from("nope") == []
    assert await any_store.grants_from("164") == [Grant("164", "05506", "host.tp", 4.0)]


async def test_unit_cycles_are_refused(any_store):
    await any_store.upsert_units(tree())
    with pytest.raises(StoreError):
        await any_store.upsert_units([Unit("88888", "Tự làm cha", "Xã", "88888", 1, 0)])
    with pytest.raises(StoreError):  # a loop inside the batch
        await any_store.upsert_units(
            [Unit("77771", "A", "Xã", "77772", 1, 0), Unit("77772", "B", "Xã", "77771", 1, 0)]
        )
    with pytest.raises(StoreError):  # a district moved under its own commune
        await any_store.upsert_units([Unit("167", "Huyện Định Hóa", "Huyện", "05506", 3, 0)])
    assert [u.code for u in await any_store.subtree("19")][:2] == ["19", "164"]
    assert await any_store.count_units() == 7


def feed(feed_id: str = "cam-1", checkpoint: str = "Chốt Km 52") -> Feed:
    return Feed(
        feed_id,
        f"Camera {feed_id}",
        checkpoint,
        "QL3, Phổ Yên",
        "rtsp://10.0.0.5/stream1",
        "172",
        100.0,
        "operator.phoyen",
    )


def plate_event(
    event_id: str, plate: str, at: float, checkpoint: str = "Chốt Km 52", **extra
) -> PlateEvent:
    return PlateEvent(
        event_id,
        "cam-1",
        checkpoint,
        at,
        plate,
        plate[:3] + "-" + plate[3:],
        plate[:2],
        0.93,
        **extra,
    )


async def test_feeds(any_store):
    await any_store.create_feed(feed())
    await any_store.create_feed(feed("cam-2", "Chốt Km 30"))
    with pytest.raises(Conflict):
        await any_store.create_feed(feed())
    assert [f.id for f in await any_store.list_feeds()] == ["cam-2", "cam-1"]  # by checkpoint
    assert await any_store.get_feed("cam-1") == feed()
    await any_store.delete_feed("cam-2")
    with pytest.raises(NotFound):
        await any_store.get_feed("cam-2")
    with pytest.raises(NotFound):
        await any_store.delete_feed("cam-2")


async def test_plate_events_search_by_any_part(any_store):
    events = [
        plate_event("e1", "20A12345", 1000.0),
        plate_event("e2", "29A99999", 2000.0, checkpoint="Chốt Km 30"),
        plate_event(
            "e3",
            "20B123456",
            3000.0,
            crop="e3-crop.jpg",
            thumbnail="e3.jpg",
            alert="watch: 20B*",
            colour="yellow",
        ),
        plate_event("e4", "98C11234", 4000.0),
    ]
    await any_store.add_plate_events(events)
    with pytest.raises(Conflict):
        await any_store.add_plate_events([plate_event("e1", "11A11111", 1.0)])
    assert await any_store.count_plate_events() == 4

    async def ids(**query) -> list[str]:
        return [e.id for e in await any_store.search_plate_events(**query)]

    assert await ids() == ["e4", "e3", "e2", "e1"]  # newest first
    assert await ids(plate="1234") == ["e4", "e3", "e1"]  # inside the plate
    assert await ids(plate="20a-123.4") == ["e1"]  # separators and case do not matter
    assert await ids(plate="99") == ["e2"]  # short parts too
    assert await ids(plate="A") == ["e2", "e1"]
    assert await ids(plate="12345", start=1500.0) == ["e3"]
    assert await ids(plate="9", end=2500.0) == ["e2"]
    assert await ids(checkpoint="Chốt Km 30") == ["e2"]
    assert await ids(limit=2) == ["e4", "e3"]
    assert await ids(plate="77777") == []
    assert await any_store.get_plate_event("e3") == events[2]  # every field, colour too
    assert (await any_store.get_plate_event("e4")).colour is None
    gone = await any_store.delete_plate_events_before(2500.0)
    assert sorted(e.id for e in gone) == ["e1", "e2"]
    assert [e.id for e in gone] == ["e1", "e2"]  # oldest first, on both engines
    assert await ids(plate="1234") == ["e4", "e3"]
    assert await any_store.count_plate_events() == 2
    with pytest.raises(NotFound):
        await any_store.get_plate_event("e1")


async def test_watch_list_and_outbreaks(any_store):
    await any_store.add_watch(WatchEntry("w1", "30A12345", "xe vi phạm", "host.tinh", 1.0, "19"))
    await any_store.add_watch(WatchEntry("w2", "29A*", "kiểm tra", "host.tinh", 2.0))
    with pytest.raises(Conflict):
        await any_store.add_watch(WatchEntry("w3", "29A*", "trùng", "host.tinh", 3.0))
    assert [(w.pattern, w.unit_code) for w in await any_store.list_watch()] == [
        ("29A*", None),
        ("30A12345", "19"),
    ]
    await any_store.delete_watch("w2")
    assert [w.id for w in await any_store.list_watch()] == ["w1"]
    with pytest.raises(NotFound):
        await any_store.delete_watch("w2")
    await any_store.add_outbreak(
        Outbreak("o1", "29", "2021-11-01", "2021-11-30", "vùng dịch", "host.tinh", 1.0, "19")
    )
    await any_store.add_outbreak(
        Outbreak("o2", "99", "2021-10-15", "2021-11-10", "vùng dịch", "host.tinh", 1.0)
    )
    with pytest.raises(Conflict):  # the same id again: refused alike by both engines
        await any_store.add_outbreak(
            Outbreak("o1", "30", "2021-11-01", "2021-11-30", "trùng", "host.tinh", 2.0)
        )
    assert [(o.id, o.unit_code) for o in await any_store.list_outbreaks()] == [
        ("o2", None),
        ("o1", "19"),
    ]
    await any_store.delete_outbreak("o1")
    with pytest.raises(NotFound):
        await any_store.delete_outbreak("o1")


CHECKPOINT_FEEDS = {
    "Chốt Km 52": ["cam-1", "cam-2"],
    "Chốt Km 30": ["cam-3", "cam-4"],
    "Chốt cầu Đa Phúc": ["cam-5", "cam-6"],
}


def random_plate(rng: random.Random) -> str:
    """A plate as the reader normalises it: cars, motorbikes, LD series, odd short ones."""
    province = str(rng.randint(11, 99))
    series = rng.choice("ABCDEFGHKLMNPSTUVXYZ")
    kind = rng.random()
    if kind < 0.55:
        return f"{province}{series}{rng.randint(0, 99999):05d}"
    if kind < 0.8:
        return f"{province}{series}{rng.randint(1, 9)}{rng.randint(0, 99999):05d}"
    if kind < 0.97:
        return f"{province}LD{rng.randint(0, 9999):04d}"
    return rng.choice(["", "8", "A1", "QQ", "80NG", "NG123"])


def random_search(rng: random.Random, events: list[PlateEvent], times: list[float]) -> dict:
    """Search arguments: parts of stored plates (any length, any spelling), windows, scopes."""
    query: dict = {}
    plate = rng.choice(events).plate if events else ""
    if plate and rng.random() < 0.8:
        length = rng.randint(1, min(len(plate), 7))
        at = rng.randint(0, len(plate) - length)
        part = plate[at : at + length]
        if rng.random() < 0.3:  # as a person types it
            part = part.lower()[:2] + "-" + part.lower()[2:] + "."
        query["plate"] = part
    elif rng.random() < 0.7:
        query["plate"] = rng.choice(["QQ", "ZZ9", "W", "9Z", "LD", "00000", "2-9a", "đ", "...", ""])
    if rng.random() < 0.5:
        lo, hi = sorted(rng.sample(times, 2))
        kind = rng.random()
        if kind < 0.4:
            query["start"], query["end"] = lo, hi
        elif kind < 0.6:
            query["start"], query["end"] = lo, lo + rng.choice([1.0, 60.0, 3600.0])
        elif kind < 0.8:
            query["start"] = lo
        else:
            query["end"] = hi
    if rng.random() < 0.3:
        query["checkpoint"] = rng.choice([*CHECKPOINT_FEEDS, "Chốt không có"])
    if rng.random() < 0.3:
        feeds = [f for fs in CHECKPOINT_FEEDS.values() for f in fs] + ["cam-gone"]
        query["feed_ids"] = rng.sample(feeds, rng.randint(0, 4))
    query["limit"] = rng.choice([1, 5, 20, 100, 100, 1000, 5000, 0])
    return query


def brute_force(events: list[PlateEvent], **query) -> list[PlateEvent]:
    """What a search must answer, by reading every event."""
    wanted = plate_query(query.get("plate"))
    start, end = query.get("start"), query.get("end")
    checkpoint, feed_ids = query.get("checkpoint"), query.get("feed_ids")
    hits = [
        e
        for e in events
        if wanted in e.plate
        and (start is None or e.at >= start)
        and (end is None or e.at < end)
        and (not checkpoint or e.checkpoint == checkpoint)
        and (feed_ids is None or e.feed_id in feed_ids)
    ]
    hits.sort(key=lambda e: e.at, reverse=True)
    return hits[: max(1, min(query.get("limit", 100), 1000))]


async def test_plate_search_agrees_with_a_brute_force_filter(any_store):
    rng = random.Random(20211101)
    pool = [random_plate(rng) for _ in range(1500)]  # vehicles that pass again and again
    # Distinct times (a quarter second apart at least): the order is then one.
    times = [1_635_700_000 + t / 4 for t in rng.sample(range(2_000_000), 6000)]
    events: list[PlateEvent] = []
    for n, at in enumerate(times[:5000]):
        checkpoint = rng.choice(list(CHECKPOINT_FEEDS))
        plate = rng.choice(pool) if rng.random() < 0.6 else random_plate(rng)
        events.append(
            PlateEvent(
                f"ev-{n:05d}",
                rng.choice(CHECKPOINT_FEEDS[checkpoint]),
                checkpoint,
                at,
                plate,
                plate[:3] + "-" + plate[3:],
                plate[:2],
                round(rng.uniform(0.5, 1.0), 3),
                crop=f"ev-{n}-crop.jpg" if n % 3 else None,
                thumbnail=f"ev-{n}.jpg" if n % 3 else None,
                alert="watch: 29A*" if n % 17 == 0 else None,
            )
        )
    for first in range(0, len(events), 1000):  # several batches: plates come back across them
        await any_store.add_plate_events(events[first : first + 1000])
    assert await any_store.count_plate_events() == 5000

    async def agree(rounds: int) -> None:
        for _ in range(rounds):
            query = random_search(rng, events, times)
            assert await any_store.search_plate_events(**query) == brute_force(events, **query), (
                query
            )

    # Fixed cases first: a common part, a rare one, each plate length, no plate.
    some = events[1234].plate
    for query in (
        {},
        {"plate": "1"},
        {"plate": "29"},
        {"plate": some},
        {"plate": some[2:6]},
        {"plate": some[-3:], "limit": 1000},
        {"plate": "QQ"},
        {"plate": "8"},
        {"plate": "LD", "checkpoint": "Chốt Km 30", "limit": 1000},
        {"plate": "A", "feed_ids": ["cam-1", "cam-6"], "start": times[100]},
        {"feed_ids": ["cam-2"], "limit": 1000},
        {"feed_ids": []},
    ):
        assert await any_store.search_plate_events(**query) == brute_force(events, **query), query
    await agree(150)

    # Retention: the older half goes, every index follows.
    cutoff = sorted(times[:5000])[2500]
    gone = await any_store.delete_plate_events_before(cutoff)
    assert sorted(e.id for e in gone) == sorted(e.id for e in events if e.at < cutoff)
    assert {e.id: e for e in gone} == {e.id: e for e in events if e.at < cutoff}
    events = [e for e in events if e.at >= cutoff]
    assert await any_store.count_plate_events() == len(events) == 2500
    assert await any_store.delete_plate_events_before(cutoff) == []
    with pytest.raises(NotFound):
        await any_store.get_plate_event(gone[0].id)
    # A plate all of whose passes went is not found any more, by any part.
    vanished = next(
        e.plate for e in gone if len(e.plate) >= 8 and e.plate not in {x.plate for x in events}
    )
    assert await any_store.search_plate_events(plate=vanished) == []
    assert await any_store.search_plate_events(plate=vanished[1:7]) == brute_force(
        events, plate=vanished[1:7]
    )
    await agree(100)

    # Passes of gone plates come back (newest times), and are found again.
    back = [
        PlateEvent(f"back-{n}", "cam-3", "Chốt Km 30", at, e.plate, e.display, e.province_code, 0.8)
        for n, (at, e) in enumerate(zip(times[5000:5600], gone, strict=False))
    ]
    await any_store.add_plate_events(back)
    events += back
    assert await any_store.search_plate_events(plate=vanished) == brute_force(
        events, plate=vanished
    )
    await agree(100)


async def test_plate_search_agrees_when_walks_give_up_at_once(any_store, monkeypatch):
    """Rare parts at scale are answered from indexes once a walk newest first has
    read too much: the same answers with every walk cut short at once (the
    trigrams holding a 1- or 2-character part, plates too short for a trigram,
    a feed scope's own index)."""
    import conference.store.redis
    import conference.store.sqlite

    monkeypatch.setattr(conference.store.sqlite, "_WALK_BUDGET", 1)
    monkeypatch.setattr(
        conference.store.redis.RedisStore, "_walk_budget", staticmethod(lambda walk, merge: 1)
    )
    rng = random.Random(1507)
    pool = [random_plate(rng) for _ in range(300)] + ["", "8", "A1", "QQ", "80NG", "NG123", "R9"]
    times = [1_635_700_000 + t / 4 for t in rng.sample(range(400_000), 1500)]
    events = []
    for n, at in enumerate(times):
        checkpoint = rng.choice(list(CHECKPOINT_FEEDS))
        plate = rng.choice(pool)
        events.append(
            PlateEvent(
                f"ev-{n:05d}",
                rng.choice(CHECKPOINT_FEEDS[checkpoint]),
                checkpoint,
                at,
                plate,
                plate,
                plate[:2],
                0.9,
            )
        )
    await any_store.add_plate_events(events)
    for query in (
        {"plate": "QQ"},
        {"plate": "Q"},
        {"plate": "8"},
        {"plate": "A1", "limit": 1000},
        {"plate": "NG", "checkpoint": "Chốt Km 30"},
        {"plate": "R", "feed_ids": ["cam-3"]},
        {"plate": "W"},
        {"plate": "ZZ"},
        {"feed_ids": ["cam-gone"]},
        {"feed_ids": ["cam-1", "cam-gone"], "start": times[700]},
        {"feed_ids": ["cam-5"], "plate": "9", "end": times[900], "limit": 5},
    ):
        assert await any_store.search_plate_events(**query) == brute_force(events, **query), query
    for _ in range(150):
        query = random_search(rng, events, times)
        assert await any_store.search_plate_events(**query) == brute_force(events, **query), query
    gone = await any_store.delete_plate_events_before(times[750])
    events = [e for e in events if e.at >= times[750]]
    assert len(gone) + len(events) == len(times)
    for _ in range(50):
        query = random_search(rng, events, times)
        assert await any_store.search_plate_events(**query) == brute_force(events, **query), query


async def test_sqlite_plate_search_with_a_checkpoint_reads_the_trigram_index_first(tmp_path):
    """A part of a plate and a checkpoint: the few plates holding the part are read,
    not every event of the checkpoint with one trigram lookup each (the planner's
    choice by the checkpoint's index took seconds at a million events)."""
    from conference.store import SqliteStore

    store = SqliteStore(tmp_path / "plan.sqlite3")
    try:
        rng = random.Random(52)
        events = [
            plate_event(f"e{n}", f"{rng.randint(11, 99)}A{rng.randint(0, 99999):05d}", n * 2.0)
            for n in range(20000)
        ]
        events.append(plate_event("needle", "20C13579", 50000.0))
        for first in range(0, len(events), 5000):
            await store.add_plate_events(events[first : first + 5000])
        steps = 0

        def count(conn) -> None:
            def tick() -> int:
                nonlocal steps
                steps += 1
                return 0

            conn.set_progress_handler(tick, 100)  # every 100 virtual-machine steps

        await store._run(count)
        found = await store.search_plate_events(plate="C1357", checkpoint="Chốt Km 52")
        assert [e.id for e in found] == ["needle"]
        assert found == await store.search_plate_events(plate="c-135.79", checkpoint="Chốt Km 52")
        assert await store.search_plate_events(plate="C1357", checkpoint="Chốt Km 30") == []
        # Reading the checkpoint's 20,001 events would be well over 200 x 100 steps.
        assert steps < 200, steps
    finally:
        await store.close()


async def test_a_refused_batch_of_plate_events_stores_nothing(any_store):
    await any_store.add_plate_events([plate_event("e1", "20A12345", 1000.0)])
    with pytest.raises(Conflict):
        await any_store.add_plate_events(
            [plate_event("e2", "99Z99999", 2000.0), plate_event("e1", "11A11111", 3000.0)]
        )
    with pytest.raises(Conflict):  # the same id twice in one batch
        await any_store.add_plate_events(
            [plate_event("e3", "99Z99999", 2000.0), plate_event("e3", "99Z99999", 2000.0)]
        )
    assert await any_store.count_plate_events() == 1
    assert await any_store.search_plate_events(plate="99Z") == []
    assert [e.id for e in await any_store.search_plate_events()] == ["e1"]
