"""A checkpoint camera read by one node shown in a meeting whose home is another (the cascade).

Cameras are read by the node holding their lease (often machines of their own),
meetings live at their home. With ``CONFERENCE_CASCADE=spread`` the host's
``add-feed`` at the home keeps the camera for the meeting; the node that reads
it opens a copy of the meeting and the camera joins there, its video relayed to
the home once. ``remove-feed`` at the home takes it out there. Real nodes, one
Redis, a file feed in a shared folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.cascade import UNITS
from tests.support.console import Console
from tests.support.homes import meeting_home
from tests.support.media import plain_clip
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.redis_keys import lease_holder as holder_of
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until


@pytest.fixture
def nodes_env(
    tmp_path: Path, redis_url: str
) -> Iterator[tuple[dict[str, str], list[ServerProcess]]]:
    prefix = unique_prefix()
    files = tmp_path / "feed-files"
    files.mkdir()
    started: list[ServerProcess] = []
    env = {
        "CONFERENCE_REDIS_URL": redis_url,
        "CONFERENCE_REDIS_PREFIX": prefix,
        "CONFERENCE_FEED_FILES_DIR": str(files),
        "CONFERENCE_CASCADE": "spread",
        # Định Hóa's meetings live at node-b; the camera is read at node-a.
        "CONFERENCE_PLACEMENT": "167=node-b",
    }
    yield env, started
    for node in started:
        node.stop()
    asyncio.run(delete_prefixed(redis_url, prefix))


async def test_a_camera_read_at_one_node_is_shown_in_a_meeting_at_another(
    tmp_path: Path, nodes_env: tuple[dict[str, str], list[ServerProcess]]
) -> None:
    env, started = nodes_env
    a = start_server(tmp_path / "node-a", "--node-id", "node-a", env=env)
    started.append(a)
    clip = plain_clip(tmp_path / "plain.mp4", seconds=8)
    target = Path(env["CONFERENCE_FEED_FILES_DIR"]) / clip.name
    target.write_bytes(clip.read_bytes())
    added = a.cli(
        *("feed", "add", "--name", "Làn vào", "--checkpoint", "Chốt Km 52"),
        *("--unit", "167", "--url", str(target)),
    )
    assert added.returncode == 0, added.stderr
    feed_id = added.stdout.strip()

    def reader() -> str | None:
        return holder_of(
            env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "feed", feed_id
        )

    async def read_at_a() -> bool:
        return await asyncio.to_thread(reader) == "node-a"

    await eventually(read_at_a, timeout=60)
    b = start_server(tmp_path / "node-b", "--node-id", "node-b", env=env)
    started.append(b)
    nodes = {"node-a": a, "node-b": b}
    host, meeting, tokens = await open_meeting(a, UNITS)
    await host.close()
    assert (await meeting_home(env, nodes, meeting))[0] == "node-b"

    viewer = SignalingClient(b.base_url, meeting, tokens["05536"], publish={})
    at_b = ApiClient(b.base_url)
    assert (await at_b.login("host.dinhhoa", PASSWORD)).status == 200
    console = Console(
        await at_b.session.ws_connect(b.base_url.replace("http", "ws") + f"/ws/console/{meeting}")
    )
    camera = f"feed-{feed_id}"
    try:
        await viewer.connect()
        await viewer.wait_for(lambda m: m["type"] == "welcome")
        added_feed = await console.command("add-feed", feed_id)
        assert added_feed["type"] == "result", added_feed
        assert await asyncio.to_thread(reader) == "node-a"  # still read where it was
        # node-a opens its copy of the meeting, the camera joins there and reaches b.
        joined = await viewer.wait_for(
            lambda m: m["type"] == "participant-joined" and m["participant"]["id"] == camera,
            timeout=60,
        )
        assert joined["participant"]["client"] == "camera"
        assert (await console.command("spotlight", camera))["type"] == "result"
        await wait_until(lambda: viewer.current_slots().get("main") == camera, timeout=30)
        await wait_until(lambda: len(viewer.captures["main"].frames) >= 25, timeout=60)
        # The host takes it out at the home: it leaves the meeting at node-a too.
        removed = await console.command("remove-feed", camera)
        assert removed["type"] == "result", removed
        left = await viewer.wait_for(
            lambda m: m["type"] == "participant-left" and m["id"] == camera, timeout=40
        )
        assert left["id"] == camera
    finally:
        await viewer.close()
        await console.close()
        await at_b.close()
    for node in (a, b):
        assert "Traceback" not in node.log()
