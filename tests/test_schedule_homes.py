"""A cluster node's scheduler opens the rooms of the meetings it is home of, and no others.

One process's real Conference (SQLite store, memory bus) with the real
:class:`~conference.cluster.homes.ClusterHomes` on a real Redis, where the
test plays another live node: its record published, its leases held.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from conference.cluster.homes import ClusterHomes
from conference.cluster.leases import HomeLeases
from conference.cluster.placement import Placement
from conference.cluster.registry import NodeRegistry, open_redis
from conference.service import Conference
from conference.settings import Settings
from conference.store import Meeting, Unit
from conference.store.sqlite import SqliteStore
from tests.support.node_records import KEY, record
from tests.support.redis_keys import delete_prefixed, unique_prefix


@pytest.fixture
async def node_a(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[Conference, Redis, str]]:
    """Node a's conference, its scheduler settling homes in Redis; node b is live."""
    prefix = unique_prefix()
    client = open_redis(redis_url)
    store = SqliteStore(tmp_path / "store.sqlite3")
    conference = Conference(Settings(data_dir=tmp_path), store, b"s" * 32)
    registry = NodeRegistry(client, prefix, KEY)
    for node_id in ("node-a", "node-b"):
        await registry.publish(record(node_id, f"http://{node_id}:8080"))
    live = (await registry.listing()).nodes
    placement = Placement("node-a", registry, HomeLeases(client, prefix, "node-a"))
    conference.scheduler.homes = ClusterHomes(placement, lambda: live)
    try:
        yield conference, client, prefix
    finally:
        await conference.shutdown()
        await store.close()
        await client.aclose(close_connection_pool=True)
        await delete_prefixed(redis_url, prefix)


UNITS = [
    Unit(code="19", name="Tỉnh Thái Nguyên", type="province", parent=None, depth=0),
    Unit(code="167", name="Huyện Định Hóa", type="district", parent="19", depth=1),
]


async def a_meeting_now(conference: Conference, meeting_id: str, host_site: str) -> None:
    """A meeting of ``host_site`` starting now (two of one host would overlap)."""
    await conference.store.upsert_units(UNITS)
    now = time.time()
    await conference.store.create_room("Giao ban", "vp8", room_id=meeting_id)
    meeting = Meeting(
        id=meeting_id,
        title="Giao ban",
        agenda="",
        start=now,
        end=now + 3600,
        host_site=host_site,
        created_by="host",
        room_id=meeting_id,
        created_at=now,
    )
    await conference.store.create_meeting(meeting, [])


async def console_events(conference: Conference, room_id: str, during: Any) -> list[str]:
    """The types of what the meeting's consoles (on any node) hear while ``during`` runs."""
    subscription = conference.bus.subscribe(f"meeting:{room_id}")
    await subscription.ready()
    await during
    await asyncio.sleep(0.1)  # the room's console feed publishes from a task of its own
    await subscription.close()
    return [message["type"] async for message in subscription]


async def copy_dropped(conference: Conference, room_id: str) -> None:
    """A copy of the room opens here, then the scheduler passes."""
    await conference.open_room(await conference.store.get_room(room_id))
    await conference.scheduler.schedule_once(time.time())


async def test_only_the_rooms_homed_here_open_and_an_unused_copy_goes_quietly(node_a):
    conference, client, prefix = node_a
    b = HomeLeases(client, prefix, "node-b")
    await a_meeting_now(conference, "m-here", "19")
    await a_meeting_now(conference, "m-at-b", "167")
    assert await b.claim("m-at-b") == "node-b"  # a site came to b first

    await conference.scheduler.schedule_once(time.time())
    assert set(conference.rooms) == {"m-here"}
    assert await b.holder("m-here") == "node-a"

    # A copy of b's meeting open here (a site's claim here lost the race, say):
    # the next pass drops it, and the meeting's consoles hear nothing of it.
    heard = await console_events(conference, "m-at-b", copy_dropped(conference, "m-at-b"))
    assert set(conference.rooms) == {"m-here"}
    assert heard == ["state"]  # its opening's, as ever; no "closed"
    assert await conference.store.get_attendance("m-at-b") is None

    # A copy something happened in is kept: it closes at the meeting's end.
    room = await conference.open_room(await conference.store.get_room("m-at-b"))
    room.set_locked(True)
    await conference.scheduler.schedule_once(time.time())
    assert set(conference.rooms) == {"m-here", "m-at-b"}


async def test_alone_the_scheduler_opens_every_due_meeting(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    conference = Conference(Settings(data_dir=tmp_path), store, b"s" * 32)
    try:
        await a_meeting_now(conference, "meeting-1", "19")
        await a_meeting_now(conference, "meeting-2", "167")
        await conference.scheduler.schedule_once(time.time())
        assert set(conference.rooms) == {"meeting-1", "meeting-2"}
    finally:
        await conference.shutdown()
        await store.close()
