"""Issue 11, "Failure": Redis out for a few seconds; media keeps flowing, state catches up.

A redis-server of the test's own (append-only file, so a restart keeps the
data, as a production one would) serves a real ``conference serve`` node. A
publisher and a viewer are in one meeting, the host's console is open. Then
Redis is frozen (SIGSTOP: connections hang, nothing answers) or killed and
started again on the same port, for about five seconds. Throughout, the
viewer must keep receiving frames and the node must answer HTTP; a command
the host gives meanwhile must be carried out (the room lives in this
process); what needs the store (an API call, a new site's join) fails with
``store-unavailable``, not a hang or "internal"; once Redis is back the node's heartbeat shows again, its home
lease is still its own, a new site joins, the console (over the bus
subscription made before the outage) sees it, and the roll call with the
host's decision from the outage reaches the store.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from conference.store.redis import RedisStore
from tests.support.console import Console
from tests.support.media import EncodedClip, PacketTrack, encode_opus, encode_vp8
from tests.support.meetings import open_meeting
from tests.support.own_redis import OwnRedis
from tests.support.peers import SignalingClient
from tests.support.redis_keys import lease_holder as holder_of
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until

OUTAGE_SECONDS = 5.0
NODE = "node-a"
PREFIX = "conference:"  # the server's default: this Redis is the test's alone


@pytest.fixture(scope="module")
def clips() -> tuple[EncodedClip, EncodedClip]:
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


def heartbeat_at(own_redis: OwnRedis) -> float | None:
    """When the node last wrote its record, as the record says (None if there is none).

    The record's MAC is not checked here: the test only asks when it was written.
    """
    client = own_redis.client()
    try:
        raw = client.get(f"{PREFIX}node:{NODE}")
    finally:
        client.close()
    if raw is None:
        return None
    return float(json.loads(json.loads(raw)["body"])["heartbeat_at"])


def lease_holder(own_redis: OwnRedis, room: str) -> str | None:
    return holder_of(own_redis.url, PREFIX, "home", room)


def subscribers(own_redis: OwnRedis, channels: list[str]) -> list[int]:
    """How many connections are subscribed to each of ``channels`` (PUBSUB NUMSUB)."""
    client = own_redis.client()
    try:
        return [int(count) for _name, count in client.pubsub_numsub(*channels)]
    finally:
        client.close()


async def healthz(http: aiohttp.ClientSession, node: ServerProcess) -> int:
    # A generous timeout: a hang is a failure, a slow answer on a busy machine is not.
    async with http.get(f"{node.base_url}/healthz", timeout=aiohttp.ClientTimeout(20)) as r:
        return r.status


async def nodes_listed(node: ServerProcess) -> list[str]:
    result = await asyncio.to_thread(node.cli, "nodes", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["id"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("outage", ["freeze", "restart"])
async def test_media_flows_through_a_redis_outage_and_state_catches_up(
    tmp_path, own_redis, clips, outage
):
    node = start_server(
        tmp_path / "node", "--node-id", NODE, env={"CONFERENCE_REDIS_URL": own_redis.url}
    )
    video, audio = clips
    host, meeting, tokens = await open_meeting(node, ["05536", "05539", "05542"])
    console = Console(
        await host.session.ws_connect(
            node.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
    )
    publisher = SignalingClient(
        node.base_url,
        meeting,
        tokens["05536"],
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    viewer = SignalingClient(node.base_url, meeting, tokens["05539"], publish={})
    late = SignalingClient(node.base_url, meeting, tokens["05542"], publish={})
    http = aiohttp.ClientSession()
    out = False
    try:
        await publisher.connect()
        await viewer.connect()
        welcome = await viewer.wait_for(lambda m: m["type"] == "welcome")
        room = welcome["room"]["id"]
        await wait_until(lambda: viewer.current_slots().get("main") == "05536")
        main = viewer.captures["main"]
        await wait_until(lambda: len(main.frames) >= 10)
        await wait_until(lambda: console.status_count("connected") == 2)
        assert await asyncio.to_thread(lease_holder, own_redis, room) == NODE

        # -- Redis is out -----------------------------------------------------------------
        own_redis.go_out(outage)
        out = True
        frames_before = len(main.frames)
        # The host mutes the publisher meanwhile: the room is in this process.
        muting = asyncio.ensure_future(console.command("mute", "05536"))
        answers = []
        loop = asyncio.get_running_loop()
        outage_end = loop.time() + OUTAGE_SECONDS
        # Out for OUTAGE_SECONDS, and longer if the mute has not been answered yet
        # (Console.command gives up after its own generous deadline).
        while loop.time() < outage_end or not muting.done():
            answers.append(await healthz(http, node))
            await asyncio.sleep(0.5)
        # What needs the store says so clearly, and at once: an API call, a join.
        reply = await host.call("GET", f"/api/meetings/{meeting}")
        refused = SignalingClient(node.base_url, meeting, tokens["05542"], publish={})
        await refused.connect()
        try:
            join_error = await refused.wait_for(lambda m: m["type"] in ("error", "welcome"))
            closed = await refused.wait_for(lambda m: m["type"] == "_closed")
        finally:
            await refused.close()
        frames_during = len(main.frames) - frames_before
        own_redis.come_back(outage)
        out = False
        back_at = time.time()

        assert frames_during > 0, "no frame reached the viewer while Redis was out"
        assert answers and set(answers) == {200}, answers
        assert node.process.poll() is None, node.log()
        assert reply.status == 503, reply.body
        assert reply.body["error"]["code"] == "store-unavailable"
        assert (join_error["type"], join_error["code"], join_error["fatal"]) == (
            "error",
            "store-unavailable",
            True,
        ), join_error
        assert closed["code"] == 4503  # the page joins again with its backoff
        # Carried out while Redis was still out: the site was told.
        answer = muting.result()
        assert answer["type"] == "result" and "05536" in answer["muted"], answer
        told = await publisher.wait_for(lambda m: m["type"] == "muted-by-host")
        assert told["muted"] is True

        # -- Redis is back ----------------------------------------------------------------
        async def heartbeat_after_return() -> bool:
            written = await asyncio.to_thread(heartbeat_at, own_redis)
            return written is not None and written > back_at

        await eventually(heartbeat_after_return)
        assert NODE in await nodes_listed(node)

        # The home lease is the node's (renewed, or claimed again if it lapsed
        # during a long outage: the room is open here).
        async def home_here() -> bool:
            return await asyncio.to_thread(lease_holder, own_redis, room) == NODE

        await eventually(home_here)
        # The node listens on the bus again: the console's meeting channel and
        # the channel other nodes send console commands on.
        channels = [f"{PREFIX}meeting:{room}", f"{PREFIX}node-commands:{NODE}"]

        async def subscribed_again() -> bool:
            counts = await asyncio.to_thread(subscribers, own_redis, channels)
            return all(count >= 1 for count in counts)

        await eventually(subscribed_again)
        # Media went on, and still goes on.
        frames_after = len(main.frames)
        await wait_until(lambda: len(main.frames) > frames_after + 10)

        # A new site joins, and the console's bus subscription from before the
        # outage brings its arrival.
        await late.connect()
        joined = await late.wait_for(lambda m: m["type"] in ("welcome", "error", "_closed"))
        assert joined["type"] == "welcome", joined
        await wait_until(lambda: console.sites.get("05542", {}).get("status") == "connected")
        # The console shows the mute from the outage (resynchronised, not lost).
        await wait_until(lambda: console.sites.get("05536", {}).get("audio_muted") is True)
        assert await healthz(http, node) == 200

        # The roll call with the host's decision reached the store.
        store = RedisStore(own_redis.url, prefix=PREFIX)
        try:

            async def saved_with_mute() -> bool:
                record = await store.get_attendance(meeting)
                return record is not None and "05536" in record.room.get("host_muted", [])

            await eventually(saved_with_mute, timeout=90)
        finally:
            await store.close()
    finally:
        if out:
            own_redis.come_back(outage)
        await http.close()
        for site in (publisher, viewer, late):
            await site.close()
        await console.close()
        await host.close()
        node.stop()
