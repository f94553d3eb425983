"""One contract for every Store engine: each test runs on SQLite and on Redis."""

from __future__ import annotations

import time

import pytest

from conference.store import (
    AccountRole,
    Conflict,
    Grant,
    Login,
    Meeting,
    MeetingNotFound,
    NotFound,
    RoomNotFound,
    Site,
    StoreError,
    Unit,
    UnitNotFound,
    User,
)


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
