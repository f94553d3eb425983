"""A camera a host put in a meeting comes back by itself when its reader runs again.

Real ``conference serve`` processes, a real feed worker reading a clip from the
feed files folder, the host's real console socket. The host adds the camera
once; then its reader stops and starts again without any command:

* a single server on its embedded store is stopped and started again (the
  feed's worker with it): the meeting's room opens again, the camera is back
  in its roll call, and a host's removal afterwards is not undone by the sync
  passes that follow (nor by another restart); a kept camera its host may no
  longer see (moved out of the camera's unit meanwhile) does not come back;
* one node on a Redis of the test's own, frozen long enough for the feed's
  lease to lapse: the node stops the feed (one reader per camera) and takes
  it out of the room; once Redis answers, the sync pass claims the feed
  again and the camera rejoins the room.

How long it took is printed as JSON (``camera_back_s``); nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from anpr_feed.manager import STATUS_META
from conference.store import SqliteStore
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.console import Console
from tests.support.feeds import FILES_ADMIN, register_file_feed
from tests.support.media import plain_clip
from tests.support.meetings import open_meeting
from tests.support.own_redis import OwnRedis
from tests.support.peers import SignalingClient
from tests.support.redis_keys import lease_holder as holder_of
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until

HOST = "host.dinhhoa"  # unit 167, as tests.support.meetings.open_meeting makes it


async def feed_status(host: ApiClient, feed_id: str) -> dict[str, Any]:
    reply = await host.call("GET", f"/api/feeds/{feed_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body["status"])


async def open_console(server: ServerProcess, host: ApiClient, meeting: str) -> Console:
    ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    return Console(await host.session.ws_connect(ws_url))


async def logged_in(server: ServerProcess) -> ApiClient:
    host = ApiClient(server.base_url)
    assert (await host.login(HOST, PASSWORD)).status == 200
    return host


async def roll_call_status(host: ApiClient, meeting: str, site: str) -> str | None:
    """``site``'s status in the meeting's roll call (the attendance API), None if absent."""
    reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
    assert reply.status == 200, reply.body
    rows = {row["site_id"]: row for row in reply.body["sites"]}
    return rows[site]["status"] if site in rows else None


def connected(console: Console, site: str) -> bool:
    return console.sites.get(site, {}).get("status") == "connected"


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return plain_clip(tmp_path / "plain.mp4")


async def test_a_camera_is_back_after_its_server_restarts_and_a_host_removal_holds(
    tmp_path: Path, clip: Path
) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    servers = [server]
    clients: list[ApiClient] = []
    consoles: list[Console] = []
    try:
        host, meeting, _tokens = await open_meeting(server, ["05536"])
        clients.append(host)
        feed_id = str((await register_file_feed(server, clip, unit_code="167"))["id"])
        camera = f"feed-{feed_id}"
        await eventually(lambda: _online(host, feed_id), timeout=60)
        await eventually(lambda: _room_live(host, meeting), timeout=30)  # the scheduler opens it
        console = await open_console(server, host, meeting)
        consoles.append(console)
        added = await console.command("add-feed", feed_id)
        assert added["type"] == "result", added
        await wait_until(lambda: connected(console, camera), timeout=30)

        # The server stops (its feed worker and the meeting's room with it) and starts
        # again on the same data: nobody gives a command.
        await console.close()
        assert server.stop() == 0
        server = start_server(data)
        servers.append(server)
        started = time.monotonic()
        host = await logged_in(server)
        clients.append(host)
        console = await open_console(server, host, meeting)
        consoles.append(console)
        await wait_until(lambda: connected(console, camera), timeout=60)
        back = time.monotonic() - started
        print(json.dumps({"case": "server restart", "camera_back_s": round(back, 1)}))
        assert await roll_call_status(host, meeting, camera) == "connected"
        assert (await feed_status(host, feed_id))["watching"] == [meeting]
        # One camera, one participant: its site is in the roll call once, shown once.
        assert sum(1 for s in console.sites if s == camera) == 1

        # The host removes it: the decision is dropped from the store, and the sync
        # passes that follow (two of them, seen by the status each writes) leave it out.
        assert (await console.command("remove-feed", feed_id))["type"] == "result"
        await wait_until(lambda: not connected(console, camera), timeout=30)
        store = SqliteStore(data / "conference.sqlite3")
        try:
            assert await store.room_feeds(meeting) == []
            await two_passes_after(store, feed_id, time.time())
        finally:
            await store.close()
        assert not connected(console, camera)
        assert await roll_call_status(host, meeting, camera) != "connected"
        assert (await feed_status(host, feed_id))["watching"] == []

        # Not after another restart either: what was removed stays removed.
        await console.close()
        assert server.stop() == 0
        server = start_server(data)
        servers.append(server)
        host = await logged_in(server)
        clients.append(host)
        await eventually(lambda: _online(host, feed_id), timeout=60)
        await eventually(lambda: _room_live(host, meeting), timeout=30)
        store = SqliteStore(data / "conference.sqlite3")
        try:
            await two_passes_after(store, feed_id, time.time())
        finally:
            await store.close()
        assert (await feed_status(host, feed_id))["watching"] == []
        assert await roll_call_status(host, meeting, camera) != "connected"
    finally:
        for console in consoles:
            await console.close()
        for client in clients:
            await client.close()
        for each in servers:
            each.stop()


async def test_a_kept_camera_its_host_may_no_longer_see_does_not_come_back(
    tmp_path: Path, clip: Path
) -> None:
    """The scope rule holds for a camera coming back: its host's account as it is now."""
    data = tmp_path / "data"
    server = start_server(data)
    servers = [server]
    clients: list[ApiClient] = []
    try:
        host, meeting, _tokens = await open_meeting(server, ["05536"])
        clients.append(host)
        feed_id = str((await register_file_feed(server, clip, unit_code="167"))["id"])
        await eventually(lambda: _online(host, feed_id), timeout=60)
        await eventually(lambda: _room_live(host, meeting), timeout=30)
        console = await open_console(server, host, meeting)
        try:
            assert (await console.command("add-feed", feed_id))["type"] == "result"
            await wait_until(lambda: connected(console, f"feed-{feed_id}"), timeout=30)
        finally:
            await console.close()
        assert server.stop() == 0

        # While the server is down the host moves to a commune of the district:
        # a district camera (unit 167) is out of their scope from now on.
        store = SqliteStore(data / "conference.sqlite3")
        try:
            user = await store.get_user(HOST)
            assert user is not None
            await store.update_user(dataclasses.replace(user, unit_code="05536"))
        finally:
            await store.close()
        server = start_server(data)
        servers.append(server)
        admin = ApiClient(server.base_url)
        clients.append(admin)
        assert (await admin.login(FILES_ADMIN, PASSWORD)).status == 200
        await eventually(lambda: _online(admin, feed_id), timeout=60)

        store = SqliteStore(data / "conference.sqlite3")
        try:
            await eventually(lambda: _forgotten(store, meeting), timeout=60)
        finally:
            await store.close()
        assert (await feed_status(admin, feed_id))["watching"] == []
        assert await roll_call_status(admin, meeting, f"feed-{feed_id}") != "connected"
        assert f"camera {feed_id} forgotten (it is outside the scope of" in server.log()
    finally:
        for client in clients:
            await client.close()
        for each in servers:
            each.stop()


async def _forgotten(store: SqliteStore, meeting: str) -> bool:
    return await store.room_feeds(meeting) == []


async def _online(host: ApiClient, feed_id: str) -> bool:
    return (await feed_status(host, feed_id))["state"] == "online"


async def two_passes_after(store: SqliteStore, feed_id: str, since: float) -> None:
    """Wait until the feed's status was written more than two sync passes after ``since``."""

    async def later() -> bool:
        raw = await store.get_meta(STATUS_META + feed_id)
        return raw is not None and json.loads(raw)["updated_at"] > since + 5

    await eventually(later, timeout=60)


async def _room_live(host: ApiClient, meeting: str) -> bool:
    reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
    return reply.status == 200 and bool(reply.body["live"])


def lease_holder(own_redis: OwnRedis, feed_id: str) -> str | None:
    return holder_of(own_redis.url, "conference:", "feed", feed_id)


async def test_a_camera_rejoins_its_meeting_when_its_lapsed_lease_is_taken_back(
    tmp_path: Path, clip: Path, own_redis: OwnRedis
) -> None:
    files = tmp_path / "feed-files"
    files.mkdir()
    node = start_server(
        tmp_path / "node",
        "--node-id",
        "node-a",
        env={"CONFERENCE_REDIS_URL": own_redis.url, "CONFERENCE_FEED_FILES_DIR": str(files)},
    )
    clients: list[ApiClient] = []
    console: Console | None = None
    site: SignalingClient | None = None
    try:
        target = files / clip.name
        await asyncio.to_thread(shutil.copyfile, clip, target)
        result = node.cli(
            "feed", "add", "--name", "Làn vào", "--checkpoint", "Chốt Km 52", "--unit", "167",
            "--url", str(target),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        feed_id = result.stdout.strip()
        camera = f"feed-{feed_id}"
        host, meeting, tokens = await open_meeting(node, ["05536"])
        clients.append(host)
        await eventually(lambda: _online(host, feed_id), timeout=90)
        console = await open_console(node, host, meeting)
        site = SignalingClient(node.base_url, meeting, tokens["05536"], publish={})
        await site.connect()  # the room opens here, the feed is read here: one node
        await site.wait_for(lambda m: m["type"] == "welcome")
        assert (await console.command("add-feed", feed_id))["type"] == "result"
        await wait_until(lambda: connected(console, camera), timeout=30)

        # Redis out for longer than a lease: the node stops the feed by its own
        # clock and takes the camera out of the room.
        own_redis.go_out("freeze")
        try:
            await wait_until(lambda: "may have expired; stopped here" in node.log(), timeout=40)
        finally:
            own_redis.come_back("freeze")
        thawed = time.monotonic()

        # Redis answers: the sync pass takes the lease back, the worker starts again and
        # the camera is back in the room, with no command.
        async def back_in_room() -> bool:
            return (await feed_status(host, feed_id))["watching"] == [meeting]

        await eventually(back_in_room, timeout=90, interval=0.25)
        back = time.monotonic() - thawed
        print(json.dumps({"case": "lease lapsed", "camera_back_s": round(back, 1)}))
        assert await asyncio.to_thread(lease_holder, own_redis, feed_id) == "node-a"
        await wait_until(lambda: connected(console, camera), timeout=30)
        assert await roll_call_status(host, meeting, camera) == "connected"
        # Back by the rejoin pass (the log says so), not by a command.
        assert f"camera {feed_id} is back" in node.log()
    finally:
        if site is not None:
            await site.close()
        if console is not None:
            await console.close()
        for client in clients:
            await client.close()
        node.stop()
