"""Camera feeds leased to one node each through Redis (issue 11).

Real `conference serve` nodes on one real Redis (database 15, a key prefix of
the test's own), sharing one feed files folder as machines would share a
mount. Which node reads a feed is seen three ways: the feed's status `node`
(the CLI, and the API of either node), each node's /metrics (a node lists the
feeds whose worker it runs) and the lease key in Redis.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from anpr_feed.leases import FeedLeases
from anpr_feed.manager import FeedManager, FeedStatus
from conference.cluster.registry import NodeRegistry, open_redis
from conference.store import SqliteStore
from tests.support import synth
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.console import Console
from tests.support.media import plain_clip
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.redis_keys import lease_holder as holder_of
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually

CLIP_SECONDS = 14
ADMIN = "admin.feed-leases"


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[tuple[dict[str, str], list[ServerProcess]]]:
    """The environment of one test's nodes (one Redis prefix, one feed files folder)."""
    prefix = unique_prefix()
    files = tmp_path / "feed-files"
    files.mkdir()
    started: list[ServerProcess] = []
    env = {
        "CONFERENCE_REDIS_URL": redis_url,
        "CONFERENCE_REDIS_PREFIX": prefix,
        "CONFERENCE_FEED_FILES_DIR": str(files),
    }
    yield env, started
    for node in started:
        node.stop()
    asyncio.run(delete_prefixed(redis_url, prefix))


def start_node(
    tmp_path: Path, started: list[ServerProcess], node_id: str, env: dict[str, str]
) -> ServerProcess:
    node = start_server(tmp_path / node_id, "--node-id", node_id, env=env)
    started.append(node)
    return node


def add_feed(node: ServerProcess, env: dict[str, str], name: str, clip: Path) -> str:
    """Register ``clip`` (put in the shared feed files folder) with the CLI; the feed id."""
    target = Path(env["CONFERENCE_FEED_FILES_DIR"]) / clip.name
    target.write_bytes(clip.read_bytes())
    result = node.cli(
        "feed", "add", "--name", name, "--checkpoint", f"Chốt {name}", "--url", str(target)
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def listed(node: ServerProcess) -> dict[str, dict[str, Any]]:
    """`conference feed list --json` by feed id."""
    result = await asyncio.to_thread(node.cli, "feed", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["id"]: row for row in rows}


async def running_here(node: ServerProcess, feed_ids: list[str]) -> set[str]:
    """The feeds whose worker ``node`` runs (its /metrics lists only those)."""
    async with aiohttp.ClientSession() as http, http.get(f"{node.base_url}/metrics") as response:
        text = await response.text()
    return {feed_id for feed_id in feed_ids if f'conference_feed_up{{feed="{feed_id}"' in text}


def lease_holder(env: dict[str, str], feed_id: str) -> str | None:
    """Who holds ``feed_id``'s lease, read straight from Redis."""
    return holder_of(env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "feed", feed_id)


async def readers(nodes: dict[str, ServerProcess], feed_ids: list[str]) -> dict[str, str] | None:
    """Each feed's one reader, if every feed is read online by exactly one of ``nodes``.

    The node a feed's status names must be the one running its worker, and no
    other node may run one.
    """
    rows = await listed(next(iter(nodes.values())))
    running = {node_id: await running_here(node, feed_ids) for node_id, node in nodes.items()}
    out = {}
    for feed_id in feed_ids:
        status = rows[feed_id]["status"] or {}
        runs = [node_id for node_id, here in running.items() if feed_id in here]
        if status.get("state") != "online" or runs != [status.get("node")]:
            return None
        out[feed_id] = runs[0]
    return out


async def test_nodes_split_the_feeds_take_over_a_dead_ones_and_a_stopped_one_releases(
    tmp_path: Path, cluster
) -> None:
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    clip = plain_clip(tmp_path / "plain.mp4")
    first = add_feed(a, env, "Làn vào", clip)
    second = add_feed(b, env, "Làn ra", clip)
    feeds = [first, second]

    # Each camera is read by one node, and the two nodes split them.
    split = await eventually(lambda: _split(a, b, feeds), timeout=90)
    assert set(split.values()) == {"node-a", "node-b"}
    for feed_id, node_id in split.items():
        assert await asyncio.to_thread(lease_holder, env, feed_id) == node_id

    # Either node's API shows each feed's status with its reader.
    a.add_user(ADMIN, "admin", password=PASSWORD)
    for node in (a, b):
        client = ApiClient(node.base_url)
        try:
            assert (await client.login(ADMIN, PASSWORD)).status == 200
            body = (await client.call("GET", "/api/feeds")).body
            by_id = {feed["id"]: feed["status"] for feed in body["feeds"]}
            assert {feed_id: by_id[feed_id]["node"] for feed_id in feeds} == split
        finally:
            await client.close()
    plain = await asyncio.to_thread(a.cli, "feed", "list")
    assert {
        line.split("\t")[0]: line.split("\t")[-1] for line in plain.stdout.splitlines()
    } == split

    # kill -9 the reader of the first feed: the other node reads both once the lease expires.
    nodes = {"node-a": a, "node-b": b}
    dead = split[first]
    survivor_id = "node-b" if dead == "node-a" else "node-a"
    survivor = nodes[survivor_id]
    nodes[dead].stop(signal.SIGKILL)

    async def taken_over() -> bool:
        return await readers({survivor_id: survivor}, feeds) == dict.fromkeys(feeds, survivor_id)

    await eventually(taken_over, timeout=120)

    # A new node gets its share: the survivor gives one feed up and the new node reads it.
    c = start_node(tmp_path, started, "node-c", env)

    async def shared_with_c() -> dict[str, str] | None:
        found = await readers({survivor_id: survivor, "node-c": c}, feeds)
        return found if found and set(found.values()) == {survivor_id, "node-c"} else None

    moved = await eventually(shared_with_c, timeout=120)
    [at_c] = [feed_id for feed_id, node_id in moved.items() if node_id == "node-c"]

    # A graceful stop gives the lease up as the process ends, not when it expires.
    assert c.stop() == 0
    assert await asyncio.to_thread(lease_holder, env, at_c) in (None, survivor_id)

    async def back() -> bool:
        return await readers({survivor_id: survivor}, feeds) == dict.fromkeys(feeds, survivor_id)

    await eventually(back, timeout=120)


async def _split(a: ServerProcess, b: ServerProcess, feeds: list[str]) -> dict[str, str] | None:
    found = await readers({"node-a": a, "node-b": b}, feeds)
    return found if found and len(set(found.values())) == 2 else None


async def test_a_feeds_passes_are_stored_once_with_two_nodes(tmp_path: Path, cluster) -> None:
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    clip = tmp_path / "checkpoint.mp4"
    truth = synth.generate(clip, CLIP_SECONDS, seed=11, vehicles_per_minute=30)
    assert len(truth) >= 4
    feed_id = add_feed(a, env, "Làn vào", clip)
    reader = (await eventually(lambda: readers({"node-a": a, "node-b": b}, [feed_id]), 90))[feed_id]

    a.add_user(ADMIN, "admin", password=PASSWORD)
    client = ApiClient(b.base_url)
    try:
        assert (await client.login(ADMIN, PASSWORD)).status == 200

        async def three_loops() -> list[dict[str, Any]] | None:
            reply = await client.call("GET", "/api/anpr/events?limit=500")
            assert reply.status == 200
            events = [e for e in reply.body["events"] if e["feed_id"] == feed_id]
            per_plate: dict[str, int] = {}
            for event in events:
                per_plate[event["plate"]] = per_plate.get(event["plate"], 0) + 1
            return events if per_plate and max(per_plate.values()) >= 3 else None

        events = await eventually(three_loops, timeout=240)
    finally:
        await client.close()

    # One reader reads a plate once per loop of the clip: the same plate's passes
    # are a loop apart. A second reader (started at another moment) would store
    # each pass again less than half a loop from one of the first reader's.
    by_plate: dict[str, list[float]] = {}
    for event in events:
        by_plate.setdefault(event["plate"], []).append(float(event["at"]))
    for plate, times in by_plate.items():
        times.sort()
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap > CLIP_SECONDS / 2 for gap in gaps), (plate, times)
    assert len({event["id"] for event in events}) == len(events)
    # The reader did not move meanwhile, and the other node never ran the feed.
    assert await readers({"node-a": a, "node-b": b}, [feed_id]) == {feed_id: reader}


async def test_a_meeting_on_another_node_is_told_which_node_reads_the_camera(
    tmp_path: Path, cluster
) -> None:
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    clip = plain_clip(tmp_path / "plain.mp4")
    target = Path(env["CONFERENCE_FEED_FILES_DIR"]) / clip.name
    target.write_bytes(clip.read_bytes())
    added = a.cli(
        "feed",
        "add",
        "--name",
        "Làn vào",
        "--checkpoint",
        "Chốt Km 52",
        "--unit",
        "167",
        "--url",
        str(target),
    )
    assert added.returncode == 0, added.stderr
    feed_id = added.stdout.strip()

    async def one_reader() -> dict[str, str] | None:
        return await readers({"node-a": a, "node-b": b}, [feed_id])

    reader_id = (await eventually(one_reader, timeout=90))[feed_id]
    other = b if reader_id == "node-a" else a
    # The host's meeting lives on the node that does not read the camera.
    host, meeting, tokens = await open_meeting(other, ["05536"])
    ws_url = other.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(ws_url))
    site = SignalingClient(other.base_url, meeting, tokens["05536"], publish={})
    try:
        await site.connect()  # the meeting's room opens (at this node) with its first site
        await site.wait_for(lambda m: m["type"] == "welcome")
        answer = await console.command("add-feed", feed_id)
        assert answer["type"] == "error" and answer["code"] == "feed-not-running", answer
        assert f"read by node '{reader_id}'" in answer["message"]
    finally:
        await site.close()
        await console.close()
        await host.close()


class IdleRunner:
    """Stands in for a feed's worker: records that it was stopped."""

    def __init__(self) -> None:
        self.status = FeedStatus(node="node-a")
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True


async def test_a_feed_whose_lease_cannot_be_renewed_stops_before_it_could_expire(
    tmp_path: Path, store: SqliteStore, redis_url: str
) -> None:
    """One reader per camera: with Redis out, a node stops a feed by its own clock."""
    prefix = unique_prefix()
    client = open_redis(redis_url)
    try:
        leases = FeedLeases(client, prefix, "node-a", NodeRegistry(client, prefix, b"k" * 32))
        leases.leases.ttl_ms, leases.ttl = 3000, 3.0  # a short lease, for a short test
        manager = FeedManager(store, tmp_path, leases=leases)
        fresh, lapsing = IdleRunner(), IdleRunner()
        manager.runners.update({"fresh": fresh, "lapsing": lapsing})  # type: ignore[dict-item]
        asked = time.monotonic()
        await manager._lease_pass(leases, {"fresh": None, "lapsing": None})  # type: ignore[dict-item]
        assert await leases.holder("lapsing") == "node-a"
        # A few seconds without renewal change nothing; close to the end, it stops.
        assert manager.lapsed_leases(asked) == []
        assert sorted(manager.lapsed_leases(asked + leases.ttl)) == ["fresh", "lapsing"]

        # Redis is out from now on: no sync pass renews. "fresh" gets a long lease.
        await leases.leases.redis.pexpire(leases.leases.lease_key("fresh"), 600_000)
        manager._lease_until["fresh"] = time.monotonic() + 600

        async def stopped() -> list[str]:
            return await manager.stop_lapsed()

        assert await eventually(stopped, interval=0.2) == ["lapsing"]
        assert lapsing.stopped and "lapsing" not in manager.runners
        assert not fresh.stopped and "fresh" in manager.runners
    finally:
        await client.aclose(close_connection_pool=True)
        await delete_prefixed(redis_url, prefix)
