"""Several `conference serve` nodes on one Redis: the registry, `conference nodes`, homes.

Real server processes sharing a key prefix and CONFERENCE_SECRET; a third with
another secret is not one of them. Sites that reach the wrong node are sent to
the meeting's home (307 for the join page and WHIP, `redirect` on the socket),
and a node killed with -9 leaves the registry and its meetings to the others.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conference.cluster.node import HEARTBEAT_INTERVAL
from conference.schedule import SCHEDULER_SECONDS
from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.console import Console
from tests.support.homes import lease_holder, meeting_home, rooms_open
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.meetings import open_meeting
from tests.support.outside import metric
from tests.support.peers import SignalingClient, client_pc, whip_publish
from tests.support.redis_keys import delete_prefixed, unique_prefix
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until

OTHER_SECRET = "another-cluster-" + "y" * 40


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[tuple[dict[str, str], list[ServerProcess]]]:
    """The Redis environment of one test's nodes, and the nodes it started (stopped after)."""
    prefix = unique_prefix()
    started: list[ServerProcess] = []
    yield {"CONFERENCE_REDIS_URL": redis_url, "CONFERENCE_REDIS_PREFIX": prefix}, started
    for node in started:
        node.stop()
    asyncio.run(delete_prefixed(redis_url, prefix))


def start_node(
    tmp_path: Path,
    started: list[ServerProcess],
    node_id: str,
    env: dict[str, str],
    *extra: str,
) -> ServerProcess:
    node = start_server(tmp_path / node_id, "--node-id", node_id, *extra, env=env)
    started.append(node)
    return node


async def nodes_json(node: ServerProcess, *extra: str) -> list[dict[str, Any]]:
    """`conference nodes --json`, run like an operator would, one object per line."""
    result = await asyncio.to_thread(node.cli, "nodes", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_nodes_lists_the_cluster_and_forgets_a_killed_node(tmp_path, cluster, redis_url):
    env, started = cluster
    redis_only = {"CONFERENCE_REDIS_PREFIX": env["CONFERENCE_REDIS_PREFIX"]}
    # The flag and the environment variable set the same thing.
    a = start_node(tmp_path, started, "node-a", redis_only, "--redis", redis_url)
    b = start_node(tmp_path, started, "node-b", env)
    start_node(tmp_path, started, "node-c", {**env, "CONFERENCE_SECRET": OTHER_SECRET})

    async def both_live_and_c_rejected() -> list[dict[str, Any]] | None:
        rows = await nodes_json(a, "--redis", redis_url)
        live = {row["id"] for row in rows if not row.get("rejected")}
        rejected = {row["id"] for row in rows if row.get("rejected")}
        return rows if live == {"node-a", "node-b"} and rejected == {"node-c"} else None

    rows = await eventually(both_live_and_c_rejected)
    by_id = {row["id"]: row for row in rows}
    assert by_id["node-a"]["advertise"] == a.base_url
    assert by_id["node-b"]["advertise"] == b.base_url
    for row in (by_id["node-a"], by_id["node-b"]):
        assert set(row) == {
            "id",
            "advertise",
            "heartbeat_age_s",
            "started_at",
            "cpu_percent",
            "sites",
            "packets_per_s",
            "rooms",
        }
        assert row["sites"] == 0 and row["rooms"] == 0
        assert row["cpu_percent"] >= 0 and row["packets_per_s"] >= 0
    assert by_id["node-c"] == {"id": "node-c", "rejected": True}
    # /metrics names the node.
    async with aiohttp.ClientSession() as http, http.get(f"{a.base_url}/metrics") as response:
        metrics = await response.text()
    assert f'conference_node_info{{node="node-a",advertise="{a.base_url}"}} 1' in metrics

    b.stop(signal.SIGKILL)

    async def b_gone() -> bool:
        rows = await nodes_json(a, "--redis", redis_url)
        return {row["id"] for row in rows if not row.get("rejected")} == {"node-a"}

    await eventually(b_gone)
    text = await asyncio.to_thread(a.cli, "nodes", "--redis", redis_url)
    assert text.stdout.startswith(f"node-a\t{a.base_url}\t")
    assert "1 record(s) rejected" in text.stderr


async def test_sites_go_to_the_meetings_home_and_a_dead_home_is_taken_over(
    tmp_path, cluster, clips
):
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    created = a.cli("room", "create", "Họp liên tỉnh")
    assert created.returncode == 0, created.stderr
    room = created.stdout.strip()

    # The first site joins at a: a becomes the meeting's home.
    watcher = SignalingClient(a.base_url, room, a.token(room, "Tỉnh"), publish={})
    await watcher.connect()
    await watcher.wait_for(lambda m: m["type"] == "offer")

    page_token = a.token(room, "Huyện Định Hóa")
    video, audio = clips
    whip_token = a.token(room, "Camera hội trường", site_id="whip-cam")
    probe = client_pc()
    probe.addTransceiver(PacketTrack(audio), direction="sendonly")
    await probe.setLocalDescription(await probe.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{b.base_url}/join/{room}?token={page_token}", allow_redirects=False
        ) as page:
            assert page.status == 307
            assert page.headers["Location"] == f"{a.base_url}/join/{room}?token={page_token}"
        async with http.post(
            f"{b.base_url}/whip/{room}",
            data=probe.localDescription.sdp,
            headers={"Authorization": f"Bearer {whip_token}", "Content-Type": "application/sdp"},
            allow_redirects=False,
        ) as moved:
            assert moved.status == 307
            assert moved.headers["Location"] == f"{a.base_url}/whip/{room}"
    await probe.close()

    # A WHIP client that follows the redirect publishes into the room at the home.
    pc, response, body = await whip_publish(
        b.base_url, room, whip_token, [PacketTrack(video), PacketTrack(audio)], follow_307=True
    )
    try:
        assert response.status == 201, body
        assert str(response.url) == f"{a.base_url}/whip/{room}"
        joined = await watcher.wait_for(
            lambda m: m["type"] == "participant-joined" and m["participant"]["id"] == "whip-cam"
        )
        assert joined["participant"]["client"] == "whip"
        await wait_until(lambda: watcher.current_slots().get("main") == "whip-cam")
        await wait_until(lambda: len(watcher.captures["main"].frames) >= 10)
    finally:
        await pc.close()

    # A page already loaded from b: its socket is told where the meeting is, and closed.
    stray = SignalingClient(b.base_url, room, page_token, publish={})
    await stray.connect()
    try:
        redirect = await stray.wait_for(lambda m: m["type"] == "redirect")
        assert redirect["url"] == f"{a.base_url}/join/{room}"
        closed = await stray.wait_for(lambda m: m["type"] == "_closed")
        assert closed["code"] == 4307
        assert not stray.of_type("welcome")
    finally:
        await stray.close()

    # The home dies with the meeting open (its lease still held): once its record
    # is gone from the registry, a join at b takes the lease over and b is the home.
    a.stop(signal.SIGKILL)
    await watcher.close()

    async def page_at_b() -> bool:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{b.base_url}/join/{room}?token={page_token}", allow_redirects=False) as r,
        ):
            return r.status == 200

    await eventually(page_at_b)
    site = SignalingClient(b.base_url, room, page_token, publish={})
    await site.connect()
    try:
        welcome = await site.wait_for(lambda m: m["type"] in ("welcome", "redirect", "_closed"))
        assert welcome["type"] == "welcome"
        holder = await asyncio.to_thread(lease_holder, env, room)
        assert holder == "node-b"
    finally:
        await site.close()


@pytest.mark.browser
async def test_a_page_whose_meeting_moved_joins_at_the_home(tmp_path, cluster, browser):
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    room = a.cli("room", "create", "Họp liên tỉnh").stdout.strip()
    token = a.token(room, "UBND xã Yên Bình")

    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{b.base_url}/join/{room}?token={token}")  # b is the home now
    await page.wait_for_selector("#join-button:not([disabled])")
    # Meanwhile the meeting's home became a (as if a won a race for it).
    await asyncio.to_thread(set_lease_holder, env, room, "node-a")

    await page.click("#prejoin-mic")  # the site mutes its microphone before joining
    assert await page.evaluate("() => window.conference.micMuted")
    await page.click("#join-button")
    # The socket at b is told where the meeting is; the page loads a's join page and,
    # as its site had clicked "Tham gia", joins there by itself, still muted.
    await page.wait_for_url(f"{a.base_url}/join/{room}**", timeout=30_000)
    await page.wait_for_function(
        "() => window.conference && window.conference.state === 'connected'", timeout=30_000
    )
    assert await page.evaluate("() => window.conference.micMuted")
    assert not await page.evaluate("() => window.conference.camMuted")
    # The token and the rejoin fragment left the address bar: a reload does not join by itself.
    assert page.url == f"{a.base_url}/join/{room}"
    watcher = SignalingClient(a.base_url, room, a.token(room, "Tỉnh"), publish={})
    await watcher.connect()
    try:
        welcome = await watcher.wait_for(lambda m: m["type"] == "welcome")
        site = next(p for p in welcome["participants"] if p["name"] == "UBND xã Yên Bình")
        assert site["audio_muted"]  # joined at the home as it was at b: muted
    finally:
        await watcher.close()
        await context.close()
    assert not errors, errors


def set_lease_holder(env: dict[str, str], room: str, node_id: str) -> None:
    """Write ``room``'s home lease straight into Redis."""
    import redis

    client = redis.Redis.from_url(env["CONFERENCE_REDIS_URL"])
    try:
        client.set(f"{env['CONFERENCE_REDIS_PREFIX']}home:{room}", node_id, px=15_000)
    finally:
        client.close()


async def test_where_is_the_home_answers_a_token_holder_only(tmp_path, cluster):
    """``POST /join/{room}/home``: what a page whose node died asks the others."""
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    room = a.cli("room", "create", "Họp liên tỉnh").stdout.strip()
    token = a.token(room, "UBND xã Yên Bình")
    async with aiohttp.ClientSession() as http:

        async def ask(node: ServerProcess, body: bytes) -> tuple[int, Any, str | None]:
            async with http.post(
                f"{node.base_url}/join/{room}/home",
                data=body,
                headers={"Content-Type": "text/plain"},
            ) as response:
                return (
                    response.status,
                    await response.json(),
                    response.headers.get("Access-Control-Allow-Origin"),
                )

        # The first to be asked claims the meeting; the other names it.
        assert await ask(a, token.encode()) == (200, {"home": a.base_url}, "*")
        assert await ask(b, token.encode()) == (200, {"home": a.base_url}, "*")
        status, body, cors = await ask(b, b"not-a-token")
        assert (status, body["error"]["code"], cors) == (401, "token-malformed", "*")
        status, body, _ = await ask(b, b"")
        assert (status, body["error"]["code"]) == (401, "token-missing")
        status, body, _ = await ask(b, b"x" * 20_000)
        assert (status, body["error"]["code"]) == (413, "token-too-large")
        other = a.cli("room", "create", "Phòng khác").stdout.strip()
        status, body, _ = await ask(b, a.token(other, "Xã khác").encode())
        assert status == 403 and body["error"]["code"]  # a token of another room
    assert await asyncio.to_thread(lease_holder, env, room) == "node-a"


@pytest.mark.browser
async def test_a_site_whose_home_is_killed_moves_to_another_node_by_itself(
    tmp_path, cluster, browser
):
    env, started = cluster
    a = start_node(tmp_path, started, "node-a", env)
    b = start_node(tmp_path, started, "node-b", env)
    room = a.cli("room", "create", "Họp liên tỉnh").stdout.strip()
    token = a.token(room, "UBND xã Yên Bình")

    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Both nodes registered, and a heartbeat of a's since (it lists its peers then).
        await eventually(lambda: _both_listed(a))
        await asyncio.sleep(HEARTBEAT_INTERVAL * 1.5)
        await page.goto(f"{a.base_url}/join/{room}?token={token}")  # a becomes the home
        await page.wait_for_selector("#join-button:not([disabled])")
        await page.click("#prejoin-cam")  # camera off before joining: kept after the move
        await page.click("#join-button")
        await page.wait_for_function(
            "() => window.conference && window.conference.state === 'connected'", timeout=30_000
        )
        # The page was told of the other node (the `nodes` message after welcome).
        assert await page.evaluate("() => window.conference.peers") == [b.base_url]

        killed_at = asyncio.get_running_loop().time()
        a.stop(signal.SIGKILL)

        # With nobody else at a, b takes the meeting over once a's record expired, and
        # the page, asking b where its meeting went, moves there and joins by itself.
        await page.wait_for_url(f"{b.base_url}/join/{room}**", timeout=90_000)
        await page.wait_for_function(
            "() => window.conference && window.conference.state === 'connected'", timeout=60_000
        )
        moved = asyncio.get_running_loop().time() - killed_at
        print(f"moved to node-b and connected {moved:.1f} s after node-a was killed")
        assert await page.evaluate("() => window.conference.camMuted")
        assert await asyncio.to_thread(lease_holder, env, room) == "node-b"
        watcher = SignalingClient(b.base_url, room, b.token(room, "Tỉnh"), publish={})
        await watcher.connect()
        try:
            welcome = await watcher.wait_for(lambda m: m["type"] == "welcome")
            site = next(p for p in welcome["participants"] if p["name"] == "UBND xã Yên Bình")
            assert site["video_muted"]
        finally:
            await watcher.close()
    finally:
        await context.close()
    assert not errors, errors


async def _both_listed(node: ServerProcess) -> bool:
    return {n["id"] for n in await nodes_json(node)} == {"node-a", "node-b"}


async def test_a_console_on_another_node_mutes_a_site_at_the_home(tmp_path, cluster):
    env, started = cluster
    nodes = {name: start_node(tmp_path, started, name, env) for name in ("node-a", "node-b")}
    host, meeting, tokens = await open_meeting(nodes["node-a"], ["05536", "05539"])
    # The meeting starts now: a scheduler makes one node its home (a), the other is b.
    home_id, _ = await meeting_home(env, nodes, meeting)
    a, b = nodes[home_id], next(node for name, node in nodes.items() if name != home_id)
    site = SignalingClient(a.base_url, meeting, tokens["05536"], publish={})
    # The host's console opens at b (logged in there), which does not hold the meeting.
    at_b = ApiClient(b.base_url)
    assert (await at_b.login("host.dinhhoa", PASSWORD)).status == 200
    console = Console(
        await at_b.session.ws_connect(b.base_url.replace("http", "ws") + f"/ws/console/{meeting}")
    )
    try:
        await site.connect()  # at a, the meeting's home
        welcome = await site.wait_for(lambda m: m["type"] == "welcome")
        assert await asyncio.to_thread(lease_holder, env, welcome["room"]["id"]) == home_id
        # The roll call comes over the bus; the command goes to a and is carried out there.
        await wait_until(lambda: console.sites.get("05536", {}).get("status") == "connected")
        answer = await console.command("mute", "05536")
        assert answer["type"] == "result" and "05536" in answer["muted"], answer
        told = await site.wait_for(lambda m: m["type"] == "muted-by-host")
        assert told["muted"] is True
        # What the home refuses comes back as it was refused there.
        refused = await console.command("remove", "167")  # the host's own site
        assert (refused["type"], refused["code"]) == ("error", "cannot-remove"), refused
    finally:
        await site.close()
        await console.close()
        await at_b.close()
        await host.close()


async def test_placement_rules_send_a_meeting_to_its_units_node_and_others_by_load(
    tmp_path, cluster, clips
):
    """``--placement 19=node-b --placement-fallback load`` on every node: a meeting of
    Định Hóa (167, in province 19) lives on node-b wherever its first site arrives; a
    room no rule covers goes to a node with the fewest sites."""
    env, started = cluster
    rules = ("--placement", "19=node-b", "--placement-fallback", "load")
    a = start_node(tmp_path, started, "node-a", env, *rules)
    b = start_node(tmp_path, started, "node-b", env, *rules)
    c = start_node(tmp_path, started, "node-c", env, *rules)
    host, meeting, tokens = await open_meeting(a, ["167", "05536"])
    await host.close()
    video, audio = clips
    async with aiohttp.ClientSession() as http:
        # The first site of the meeting reaches a: it is sent to b, which holds the lease.
        async with http.get(
            f"{a.base_url}/join/{meeting}?token={tokens['05536']}", allow_redirects=False
        ) as page:
            assert page.status == 307
            assert (
                page.headers["Location"] == f"{b.base_url}/join/{meeting}?token={tokens['05536']}"
            )
        assert await asyncio.to_thread(lease_holder, env, meeting) == "node-b"
        # Another site reaching c is sent to b too.
        async with http.get(
            f"{c.base_url}/join/{meeting}?token={tokens['167']}", allow_redirects=False
        ) as page:
            assert page.status == 307
            assert page.headers["Location"].startswith(f"{b.base_url}/join/{meeting}?")
    # Placed once: by that join, or before it by a's or c's scheduler (the meeting
    # starts now); b's own scheduler taking it counts nowhere. Open at b only.
    placed = [
        await asyncio.to_thread(metric, n, "conference_cluster_placed_elsewhere_total")
        for n in (a, c)
    ]
    assert sum(placed) <= 1

    async def open_at_b() -> bool:  # by b's scheduler (the lease is b's), no site yet
        return await rooms_open(b) == 1

    await eventually(open_at_b)
    await asyncio.sleep(SCHEDULER_SECONDS * 2)  # passes of a's and c's schedulers since
    assert (await rooms_open(a), await rooms_open(c)) == (0, 0)

    # A WHIP publisher following the 307 publishes at b: b has a site now.
    pc, response, body = await whip_publish(
        c.base_url,
        meeting,
        tokens["167"],
        [PacketTrack(video), PacketTrack(audio)],
        follow_307=True,
    )
    try:
        assert response.status == 201, body
        assert str(response.url) == f"{b.base_url}/whip/{meeting}"

        async def b_has_a_site() -> bool:
            listed = {n["id"]: n for n in await nodes_json(a)}
            return listed.get("node-b", {}).get("sites", 0) >= 1 and len(listed) == 3

        await eventually(b_has_a_site)
        await asyncio.sleep(HEARTBEAT_INTERVAL * 1.5)  # every node has heard b's load

        # A room of no meeting (no unit): by load, to a or c, never to b.
        room = b.cli("room", "create", "Phòng thử").stdout.strip()
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{b.base_url}/join/{room}?token={b.token(room, 'Xã thử')}", allow_redirects=False
            ) as page,
        ):
            assert page.status == 307
            holder = await asyncio.to_thread(lease_holder, env, room)
            assert holder in ("node-a", "node-c")
            target = {"node-a": a, "node-c": c}[holder]
            assert page.headers["Location"].startswith(f"{target.base_url}/join/{room}?")
    finally:
        await pc.close()
    assert "Traceback" not in a.log() + b.log() + c.log()


def saved_first_joins(env: dict[str, str], meeting: str) -> dict[str, float]:
    """The first joins in the meeting's roll call as saved in the store, read from Redis."""
    import redis

    client = redis.Redis.from_url(env["CONFERENCE_REDIS_URL"], decode_responses=True)
    try:
        raw = client.hget(f"{env['CONFERENCE_REDIS_PREFIX']}attendance", meeting)
    finally:
        client.close()
    if not isinstance(raw, str):
        return {}
    sites = json.loads(raw)["sites"]
    return {row["site_id"]: row["first_joined_at"] for row in sites if row["first_joined_at"]}


async def attendance_rows(node: ServerProcess, meeting: str) -> dict[str, dict[str, Any]]:
    """The meeting's attendance as its host reads it at ``node``, by site."""
    host = ApiClient(node.base_url)
    try:
        assert (await host.login("host.dinhhoa", PASSWORD)).status == 200
        reply = await host.call("GET", f"/api/meetings/{meeting}/attendance")
        assert reply.status == 200, reply.body
        return {row["site_id"]: row for row in reply.body["sites"]}
    finally:
        await host.close()


async def test_only_the_home_opens_a_due_meeting_and_the_next_home_keeps_who_came(
    tmp_path, cluster
):
    """Two nodes, a meeting starting now: its room opens at one node only (the one
    whose scheduler claimed its home lease), the other keeps none open. kill -9 of the
    home: the other node's scheduler opens the room by itself, and the roll call the
    home saved is the meeting's record there."""
    env, started = cluster
    nodes = {name: start_node(tmp_path, started, name, env) for name in ("node-a", "node-b")}
    host, meeting, tokens = await open_meeting(nodes["node-a"], ["05536", "05539"])
    await host.close()
    home_id, other_id = await meeting_home(env, nodes, meeting)
    home, other = nodes[home_id], nodes[other_id]
    await eventually(lambda: _both_listed(home))
    await asyncio.sleep(SCHEDULER_SECONDS * 3)  # passes of both schedulers since
    assert (await rooms_open(home), await rooms_open(other)) == (1, 0)
    assert await asyncio.to_thread(lease_holder, env, meeting) == home_id

    sites = [
        SignalingClient(home.base_url, meeting, tokens[c], publish={}) for c in ("05536", "05539")
    ]
    try:
        for site in sites:
            await site.connect()
            await site.wait_for(lambda m: m["type"] == "welcome")
        # Both arrivals saved by the home (a scheduler pass), then the home dies.
        await eventually(lambda: _both_saved(env, meeting))
        before = await attendance_rows(home, meeting)
        assert await rooms_open(other) == 0
        home.stop(signal.SIGKILL)
    finally:
        for site in sites:
            await site.close()

    # No site asks: the survivor's scheduler takes the meeting over once the dead
    # home's record expired, and opens its room with the saved roll call.
    async def taken_over() -> bool:
        holder = await asyncio.to_thread(lease_holder, env, meeting)
        return holder == other_id and await rooms_open(other) == 1

    await eventually(taken_over, timeout=60)
    reopened = await attendance_rows(other, meeting)
    assert reopened["05536"]["first_joined_at"] == before["05536"]["first_joined_at"]
    assert reopened["05536"]["status"] == "left"

    async def page_here() -> bool:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{other.base_url}/join/{meeting}?token={tokens['05536']}", allow_redirects=False
            ) as response,
        ):
            return response.status == 200

    await eventually(page_here)
    back = SignalingClient(other.base_url, meeting, tokens["05536"], publish={})
    await back.connect()
    try:
        assert (await back.wait_for(lambda m: m["type"] in ("welcome", "_closed")))["type"] == (
            "welcome"
        )
        after = await attendance_rows(other, meeting)
    finally:
        await back.close()
    # The site that came back: present again, first come when it came to the old home.
    assert after["05536"]["status"] in ("connecting", "connected")
    assert after["05536"]["first_joined_at"] == before["05536"]["first_joined_at"]
    # The one that did not: it came, and left when the home's last copy was saved.
    assert after["05539"]["status"] == "left"
    assert after["05539"]["first_joined_at"] == before["05539"]["first_joined_at"]
    assert "Traceback" not in other.log()


async def _both_saved(env: dict[str, str], meeting: str) -> bool:
    return set(await asyncio.to_thread(saved_first_joins, env, meeting)) == {"05536", "05539"}
