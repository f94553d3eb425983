"""A camera wall a host put in a meeting comes back by itself after its server restarts.

A real ``conference serve`` on its embedded store, a real feed worker reading a
clip, the host's real console socket. The host adds a wall once (``add-wall``);
the server stops and starts again on the same data: the meeting's room opens
again and the wall is back in its roll call under the same site
(``wall-<id>``), without any command. A host's removal afterwards is dropped
from the store, so another restart does not bring it back; a kept wall whose
host may no longer see one of its cameras is forgotten instead of shown.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from anpr_feed.room_walls import RoomWalls
from conference.store import SqliteStore
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.console import Console
from tests.support.feeds import register_file_feed
from tests.support.media import plain_clip
from tests.support.meetings import open_meeting
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until

HOST = "host.dinhhoa"  # unit 167, as tests.support.meetings.open_meeting makes it
PRESENT = {"connecting", "connected", "poor"}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return plain_clip(tmp_path / "plain.mp4")


async def open_console(server: ServerProcess, host: ApiClient, meeting: str) -> Console:
    ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    return Console(await host.session.ws_connect(ws_url))


async def logged_in(server: ServerProcess) -> ApiClient:
    host = ApiClient(server.base_url)
    assert (await host.login(HOST, PASSWORD)).status == 200
    return host


async def room_live(host: ApiClient, meeting: str) -> bool:
    reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
    return reply.status == 200 and bool(reply.body["live"])


def walls_in(console: Console) -> list[str]:
    """The walls present in the console's roll call."""
    return [
        s
        for s, row in console.sites.items()
        if s.startswith("wall-") and row.get("status") in PRESENT
    ]


async def kept_walls(data: Path, meeting: str) -> list[str]:
    store = SqliteStore(data / "conference.sqlite3")
    try:
        return [w.id for w in await RoomWalls(store).of(meeting)]
    finally:
        await store.close()


async def test_a_wall_is_back_after_its_server_restarts_and_a_host_removal_holds(
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
        await eventually(lambda: room_live(host, meeting), timeout=30)
        console = await open_console(server, host, meeting)
        consoles.append(console)
        added = await console.command("add-wall", feeds=[feed_id])
        assert added["type"] == "result", added
        await wait_until(lambda: len(walls_in(console)) == 1, timeout=30)
        wall = walls_in(console)[0]
        assert await kept_walls(data, meeting) == [wall[5:]]

        # The server stops and starts again on the same data: nobody gives a command.
        await console.close()
        assert server.stop() == 0
        server = start_server(data)
        servers.append(server)
        host = await logged_in(server)
        clients.append(host)
        console = await open_console(server, host, meeting)
        consoles.append(console)
        await wait_until(lambda: walls_in(console) == [wall], timeout=60)
        assert console.sites[wall]["name"] == "Màn hình camera (1 camera)"

        # The host removes it: forgotten by the store, so another restart leaves it out.
        assert (await console.command("remove-wall", wall))["type"] == "result"
        await wait_until(lambda: walls_in(console) == [], timeout=30)
        assert await kept_walls(data, meeting) == []
        await console.close()
        assert server.stop() == 0
        server = start_server(data)
        servers.append(server)
        host = await logged_in(server)
        clients.append(host)
        await eventually(lambda: room_live(host, meeting), timeout=30)
        assert await kept_walls(data, meeting) == []
    finally:
        for console in consoles:
            await console.close()
        for client in clients:
            await client.close()
        for each in servers:
            each.stop()


async def test_a_kept_wall_its_host_may_no_longer_see_is_forgotten(
    tmp_path: Path, clip: Path
) -> None:
    """The scope rule holds for a wall coming back: its host's account as it is now."""
    data = tmp_path / "data"
    server = start_server(data)
    servers = [server]
    clients: list[ApiClient] = []
    try:
        host, meeting, _tokens = await open_meeting(server, ["05536"])
        clients.append(host)
        feed_id = str((await register_file_feed(server, clip, unit_code="167"))["id"])
        await eventually(lambda: room_live(host, meeting), timeout=30)
        console = await open_console(server, host, meeting)
        try:
            assert (await console.command("add-wall", feeds=[feed_id]))["type"] == "result"
            await wait_until(lambda: len(walls_in(console)) == 1, timeout=30)
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

        async def forgotten() -> bool:
            return await kept_walls(data, meeting) == []

        await eventually(forgotten, timeout=60)
        assert "forgotten (out-of-scope for 'host.dinhhoa', who added it)" in server.log()
        assert " is back" not in "\n".join(
            line for line in server.log().splitlines() if "camera wall" in line
        )
    finally:
        for client in clients:
            await client.close()
        for each in servers:
            each.stop()
