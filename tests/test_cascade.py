"""One meeting over two nodes: sites at each, media relayed once per stream, one roll call.

Real `conference serve` nodes on one Redis with ``CONFERENCE_CASCADE=spread``:
a site is served by the node its socket reached. The meeting's home is the
node whose scheduler opened it; the other carries its own sites in a copy of
the room. Sites at either node see and hear each other, the host's console
(opened at the carrier) runs its commands at the home and they reach a site
at the carrier, and the home's roll call lists every site.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import av
import pytest

from recorder.manifest import read_manifest
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.browser import audio_from, decoded_from, open_site, slot_stats
from tests.support.cascade import SpreadCluster, spread_meeting
from tests.support.console import Console
from tests.support.homes import lease_holder
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.outside import metric
from tests.support.peers import SignalingClient
from tests.support.recordings import recording_dirs
from tests.support.redis_keys import unique_prefix
from tests.support.server import ServerProcess, server_env
from tests.support.waiting import eventually, wait_until


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


@pytest.fixture
def spread_nodes(tmp_path: Path, redis_url: str) -> Iterator[SpreadCluster]:
    """Starts pairs of nodes that spread meetings (stopped after the test)."""
    cluster = SpreadCluster(tmp_path, redis_url)
    yield cluster
    cluster.stop()


@pytest.fixture
def spread(spread_nodes: SpreadCluster) -> dict[str, ServerProcess]:
    """Two nodes of one cluster that spread meetings."""
    return spread_nodes.start()


def _video_slot(site: SignalingClient, shown: str) -> str | None:
    """The video slot of ``site`` that shows ``shown`` now, if any."""
    return next(
        (
            slot
            for slot, who in site.current_slots().items()
            if who == shown and not slot.startswith("audio")
        ),
        None,
    )


async def gauge(node: ServerProcess, name: str) -> float:
    return await asyncio.to_thread(metric, node, name)


async def test_sites_at_two_nodes_are_one_meeting(spread, clips):
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, env, home_id, home, carrier = (
        m.id,
        m.tokens,
        m.env,
        m.home_id,
        m.home,
        m.carrier,
    )
    video, audio = clips
    # The speaker joins at the home; two sites join at the other node.
    speaker = SignalingClient(
        home.base_url,
        meeting,
        tokens["05536"],
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    far = [
        SignalingClient(
            carrier.base_url,
            meeting,
            tokens[code],
            publish={"video": PacketTrack(video)},
        )
        for code in ("05539", "05542")
    ]
    at_carrier = ApiClient(carrier.base_url)
    assert (await at_carrier.login("host.dinhhoa", PASSWORD)).status == 200
    console = Console(
        await at_carrier.session.ws_connect(
            carrier.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
        )
    )
    try:
        await speaker.connect()
        assert (await speaker.wait_for(lambda m: m["type"] in ("welcome", "_closed")))[
            "type"
        ] == "welcome"
        for site in far:
            await site.connect()
            # Served where it came: no redirect to the home.
            first = await site.wait_for(lambda m: m["type"] in ("welcome", "redirect", "_closed"))
            assert first["type"] == "welcome", first
        assert await asyncio.to_thread(lease_holder, env, meeting) == home_id

        # Each far site sees the speaker (at the other node) in a video slot, decoded.
        for site in far:
            await wait_until(lambda s=site: _video_slot(s, "05536") is not None)
            slot = _video_slot(site, "05536")
            await wait_until(lambda s=site, n=slot: len(s.captures[n].frames) >= 10)
        # The speaker sees the far sites' cameras in its thumbnails.
        await wait_until(
            lambda: {"05539", "05542"} <= set(speaker.current_slots().values()), timeout=30
        )
        slot = _video_slot(speaker, "05539")
        await wait_until(lambda: len(speaker.captures[slot].frames) >= 10)

        # Two subscribers at the carrier, one stream of the speaker's camera on the link.
        exported = await gauge(home, "conference_relay_streams_exported")
        assert 1 <= exported <= 2  # the speaker's video (one layer) and its audio
        assert await gauge(carrier, "conference_cascade_remote_sites") == 1
        assert await gauge(home, "conference_cascade_remote_sites") == 2

        # One roll call: the console (at the carrier) shows every site connected.
        await wait_until(
            lambda: all(
                console.sites.get(code, {}).get("status") == "connected"
                for code in ("05536", "05539", "05542")
            ),
            timeout=30,
        )
        # A command at the carrier's console runs at the home and reaches the far site.
        answer = await console.command("mute", "05542")
        assert answer["type"] == "result" and "05542" in answer["muted"], answer
        told = await far[1].wait_for(lambda m: m["type"] == "muted-by-host")
        assert told["muted"] is True
        await wait_until(lambda: console.sites["05542"].get("audio_muted") is True)
        # The floor given at the home reaches the carrier's sites.
        answer = await console.command("give-floor", "05539")
        assert answer["type"] == "result", answer
        floor = await far[1].wait_for(lambda m: m["type"] == "floor" and m["id"] == "05539")
        assert floor["name"] == "Xã Linh Thông"
        # ... and at the home: the floor holder is in the speaker's main slot.
        await wait_until(lambda: speaker.current_slots().get("main") == "05539")
    finally:
        for site in (speaker, *far):
            await site.close()
        await console.close()
        await at_carrier.close()
    for node in nodes.values():
        assert "Traceback" not in node.log()


async def test_a_killed_carrier_leaves_the_home_and_its_sites_come_back(spread, clips):
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, home, carrier = m.id, m.tokens, m.home, m.carrier
    video, _audio = clips
    far = SignalingClient(
        carrier.base_url, meeting, tokens["05539"], publish={"video": PacketTrack(video)}
    )
    watcher = SignalingClient(home.base_url, meeting, tokens["05536"], publish={})
    try:
        await watcher.connect()
        await watcher.wait_for(lambda m: m["type"] == "welcome")
        await far.connect()
        await far.wait_for(lambda m: m["type"] == "welcome")
        await wait_until(lambda: watcher.current_slots().get("main") == "05539")
        await wait_until(lambda: len(watcher.captures["main"].frames) >= 10)  # relayed
        carrier.stop(signal.SIGKILL)
        # The home drops the dead node's site (it stopped announcing) ...
        left = await watcher.wait_for(
            lambda m: m["type"] == "participant-left" and m["id"] == "05539", timeout=30
        )
        assert left["reason"] == "left"
    finally:
        await far.close()
    try:
        # ... and the site, joining again (at the home now), is back in the meeting.
        back = SignalingClient(
            home.base_url, meeting, tokens["05539"], publish={"video": PacketTrack(video)}
        )
        await back.connect()
        await back.wait_for(lambda m: m["type"] == "welcome")
        await wait_until(lambda: watcher.current_slots().get("main") == "05539")
        frames = len(watcher.captures["main"].frames)
        await wait_until(lambda: len(watcher.captures["main"].frames) >= frames + 10)
        await back.close()
    finally:
        await watcher.close()
    assert "Traceback" not in home.log()


async def test_the_cascade_channel_drops_what_is_not_sealed_by_the_cluster(
    spread: dict[str, ServerProcess], redis_url: str
) -> None:
    """Anybody who can write to Redis can publish on a meeting's channel: nothing of it is used."""
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, env, home = m.id, m.env, m.home
    import json

    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    forged_body = json.dumps(
        {
            "from": "node-x",
            "room": meeting,
            "at": 0,
            "epoch": 0,
            "seq": 1,
            "kind": "sites",
            "relay": "127.0.0.1:9",
            "home": False,
            "sites": [],
        }
    )
    try:
        channel = f"{env['CONFERENCE_REDIS_PREFIX']}cascade:{meeting}"

        async def rejected() -> bool:
            # Published again each time: the room's channel may not be subscribed yet.
            for message in (
                {"body": forged_body, "mac": "00" * 32},
                {"not": "sealed"},
                "garbage",
            ):
                await client.publish(channel, json.dumps(message))
            return await gauge(home, "conference_cascade_messages_rejected_total") >= 1

        await eventually(rejected)
    finally:
        await client.aclose()
    assert await gauge(home, "conference_cascade_remote_sites") == 0
    assert "Traceback" not in home.log()


def _decoded(path: Path, kind: str) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return sum(1 for _ in container.decode(stream))


def _payload_digests(path: Path) -> set[str]:
    with av.open(str(path)) as container:
        return {
            hashlib.sha1(bytes(p)).hexdigest()
            for p in container.demux(container.streams.video[0])
            if p.size
        }


async def test_the_home_records_a_site_connected_at_the_other_node(spread, clips):
    """The recording API at the carrier runs at the home; the far site's media, relayed,
    is in the home's files bit for bit."""
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, home, carrier = m.id, m.tokens, m.home, m.carrier
    video, audio = clips
    far = SignalingClient(
        carrier.base_url,
        meeting,
        tokens["05539"],
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    at_carrier = ApiClient(carrier.base_url)
    assert (await at_carrier.login("host.dinhhoa", PASSWORD)).status == 200
    try:
        await far.connect()
        await far.wait_for(lambda m: m["type"] == "welcome")
        await wait_until(lambda: far.pc is not None and far.pc.connectionState == "connected")

        async def proxy_at_home() -> bool:
            return await gauge(home, "conference_cascade_remote_sites") == 1

        await eventually(proxy_at_home)
        started = await at_carrier.call(
            "POST", f"/api/meetings/{meeting}/recording", {"action": "start"}
        )
        assert started.status == 200 and started.body["active"] is True, started.body
        assert started.body["recording"]
        indicator = await far.wait_for(lambda m: m["type"] == "recording")
        assert indicator["active"] is True
        await asyncio.sleep(4)
        stopped = await at_carrier.call(
            "POST", f"/api/meetings/{meeting}/recording", {"action": "stop"}
        )
        assert stopped.status == 200 and stopped.body["recording"] == started.body["recording"]
    finally:
        await far.close()
        await at_carrier.close()
    assert recording_dirs(carrier) == []  # the carrier records nothing itself
    [directory] = recording_dirs(home)
    manifest = read_manifest(directory)
    assert manifest.status.value == "complete" and manifest.id == started.body["recording"]
    tracks = {t.kind: t for t in manifest.tracks if t.site_id == "05539"}
    assert set(tracks) == {"video", "audio"}
    assert _decoded(directory / tracks["video"].file, "video") >= 30
    assert _decoded(directory / tracks["audio"].file, "audio") >= 50
    # Relayed without transcoding: every stored frame is one the far site sent.
    assert _payload_digests(directory / tracks["video"].file) <= video.digests


async def test_the_carrier_takes_the_meeting_over_when_the_home_is_killed(spread, clips):
    """kill -9 of the home: the carrier's own sites go on without reconnecting, the
    carrier becomes the home (its copy decides and keeps the roll call), and the
    dead home's site leaves the roll call."""
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, env, carrier_id, home, carrier = (
        m.id,
        m.tokens,
        m.env,
        m.carrier_id,
        m.home,
        m.carrier,
    )
    video, _audio = clips
    near = SignalingClient(home.base_url, meeting, tokens["05536"], publish={})
    speaker = SignalingClient(
        carrier.base_url, meeting, tokens["05539"], publish={"video": PacketTrack(video)}
    )
    viewer = SignalingClient(carrier.base_url, meeting, tokens["05542"], publish={})
    at_carrier = ApiClient(carrier.base_url)
    assert (await at_carrier.login("host.dinhhoa", PASSWORD)).status == 200
    try:
        for site in (near, speaker, viewer):
            await site.connect()
            await site.wait_for(lambda m: m["type"] == "welcome")
        await wait_until(lambda: viewer.current_slots().get("main") == "05539")
        await wait_until(lambda: len(viewer.captures["main"].frames) >= 10)
        await wait_until(lambda: near.current_slots().get("main") == "05539")

        async def carrier_knows_the_home_site() -> bool:
            return await gauge(carrier, "conference_cascade_remote_sites") == 1

        await eventually(carrier_knows_the_home_site)
        home.stop(signal.SIGKILL)
        await near.close()

        async def carrier_is_home() -> bool:
            holder = await asyncio.to_thread(lease_holder, env, meeting)
            return holder == carrier_id and await gauge(carrier, "conference_rooms") == 1

        await eventually(carrier_is_home, timeout=60)
        # The sites at the carrier never left: the same connection still receives.
        frames = len(viewer.captures["main"].frames)
        await wait_until(lambda: len(viewer.captures["main"].frames) >= frames + 30)
        assert not viewer.of_type("redirect") and not speaker.of_type("redirect")
        # The carrier decides now: its console runs the command here.
        console = Console(
            await at_carrier.session.ws_connect(
                carrier.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
            )
        )
        try:
            answer = await console.command("mute", "05539")
            assert answer["type"] == "result" and "05539" in answer["muted"], answer
            told = await speaker.wait_for(lambda m: m["type"] == "muted-by-host")
            assert told["muted"] is True
        finally:
            await console.close()

        # One roll call, kept at the new home: the dead home's site left, the others stayed.
        async def roll_call() -> dict[str, str] | None:
            answer = await at_carrier.call("GET", f"/api/meetings/{meeting}/attendance")
            rows = {row["site_id"]: row["status"] for row in answer.body["sites"]}
            return rows if rows.get("05536") == "left" else None

        rows = await eventually(roll_call, timeout=40)
        assert rows["05539"] == "connected" and rows["05542"] == "connected", rows
    finally:
        for site in (speaker, viewer):
            await site.close()
        await at_carrier.close()
    assert "Traceback" not in carrier.log()


@pytest.mark.browser
async def test_chromium_sites_at_two_nodes_see_and_hear_each_other(spread, browser):
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, home, carrier = m.id, m.tokens, m.home, m.carrier
    where = {"05536": home, "05539": carrier, "05542": carrier}
    pages = {
        code: await open_site(browser, f"{node.base_url}/join/{meeting}?token={tokens[code]}")
        for code, node in where.items()
    }
    try:
        # Served where each came (no redirect to the home).
        for code, page in pages.items():
            assert page.url.startswith(where[code].base_url), page.url

        async def everyone_decodes_everyone() -> bool:
            for code, page in pages.items():
                stats = await slot_stats(page)
                for other in set(pages) - {code}:
                    if decoded_from(stats, other) < 10 or audio_from(stats, other) < 10:
                        return False
            return True

        await eventually(everyone_decodes_everyone, timeout=60)
        # Two carrier sites take the home site's camera and microphone: at most its
        # three layers and its audio cross the link, each once.
        assert await gauge(home, "conference_relay_streams_exported") <= 4
    finally:
        for page in pages.values():
            await page.context.close()
    for page in pages.values():
        assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_a_site_goes_to_its_units_node_and_sees_the_meeting_from_there(spread_nodes, clips):
    """Placement by unit: Định Hóa (167) convenes at node-a, commune 05539 is listed
    for node-b. Its join page and its WHIP at node-a are sent to node-b (307); a
    commune without a rule of its own follows its district to node-a; the sites at
    each node see the other's."""
    nodes = spread_nodes.start({"CONFERENCE_PLACEMENT": "167=node-a,05539=node-b"})
    a, b = nodes["node-a"], nodes["node-b"]
    m = await spread_meeting(nodes)
    meeting, tokens = m.id, m.tokens
    assert m.home_id == "node-a"
    async with aiohttp.ClientSession() as http:
        for node, code, other in ((a, "05539", b), (b, "05536", a)):
            path = f"/join/{meeting}?token={tokens[code]}"
            async with http.get(node.base_url + path, allow_redirects=False) as page:
                assert page.status == 307, code
                assert page.headers["Location"] == other.base_url + path
            async with http.get(other.base_url + path, allow_redirects=False) as page:
                assert page.status == 200, code  # served where it was sent
        async with http.post(
            f"{a.base_url}/whip/{meeting}",
            data="v=0\r\n",
            headers={
                "Authorization": f"Bearer {tokens['05539']}",
                "Content-Type": "application/sdp",
            },
            allow_redirects=False,
        ) as whip:
            assert whip.status == 307
            assert whip.headers["Location"] == f"{b.base_url}/whip/{meeting}"
    video, _audio = clips
    far = SignalingClient(
        b.base_url, meeting, tokens["05539"], publish={"video": PacketTrack(video)}
    )
    near = SignalingClient(
        a.base_url, meeting, tokens["05536"], publish={"video": PacketTrack(video)}
    )
    try:
        for site in (far, near):
            await site.connect()
            assert (await site.wait_for(lambda m: m["type"] in ("welcome", "_closed")))[
                "type"
            ] == "welcome"
        for site, other in ((far, "05536"), (near, "05539")):
            await wait_until(lambda s=site, o=other: _video_slot(s, o) is not None)
            slot = _video_slot(site, other)
            await wait_until(lambda s=site, n=slot: len(s.captures[n].frames) >= 10)
    finally:
        await far.close()
        await near.close()


def test_a_relay_port_already_taken_stops_the_start_with_its_name(tmp_path, redis_url):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "conference", "serve", "--data-dir", str(tmp_path)),
                *("--port", "0", "--redis", redis_url, "--relay-port", str(port)),
            ],
            env={**server_env(), "CONFERENCE_REDIS_PREFIX": unique_prefix()},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()
    assert result.returncode == 2, result.stderr
    assert f"cannot bind the relay port 127.0.0.1 UDP {port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.browser
async def test_a_chromium_site_at_a_killed_carrier_rejoins_at_the_home(spread, browser):
    """kill -9 of the node carrying a site (not the home): the page asks the nodes it
    was told of where its meeting is, goes to the home and joins there by itself."""
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, home, carrier = m.id, m.tokens, m.home, m.carrier
    watcher = SignalingClient(home.base_url, meeting, tokens["05536"], publish={})
    await watcher.connect()
    await watcher.wait_for(lambda m: m["type"] == "welcome")
    page = await open_site(browser, f"{carrier.base_url}/join/{meeting}?token={tokens['05539']}")
    try:
        assert page.url.startswith(carrier.base_url)
        await page.wait_for_function(
            f"() => (window.conference.peers || []).includes({home.base_url!r})"
        )
        await wait_until(lambda: watcher.current_slots().get("main") == "05539")
        killed_at = asyncio.get_running_loop().time()
        carrier.stop(signal.SIGKILL)
        await page.wait_for_url(f"{home.base_url}/join/{meeting}**", timeout=90_000)
        await page.wait_for_function(
            "() => window.conference && window.conference.state === 'connected'", timeout=60_000
        )
        moved = asyncio.get_running_loop().time() - killed_at
        print(f"the carrier's site was connected at the home {moved:.1f} s after the kill")
        # At the home now as a site of its own: the watcher sees its camera again.
        await wait_until(lambda: watcher.current_slots().get("main") == "05539", timeout=40)
        frames = len(watcher.captures["main"].frames)
        await wait_until(lambda: len(watcher.captures["main"].frames) >= frames + 10, timeout=40)
        assert await gauge(home, "conference_cascade_remote_sites") == 0
    finally:
        await page.context.close()
        await watcher.close()
    assert not page.errors, page.errors  # type: ignore[attr-defined]
