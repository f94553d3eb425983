"""A meeting page follows its meeting to a node that joined the cluster after it loaded.

The page's CSP lets it fetch only from the nodes live when it was served (the
same list is in its config as ``connect``); a later node is named by the
socket's ``nodes`` but cannot be asked. When its own node and the nodes it may
ask are gone, the page goes to the new node (``/join/ROOM?failover=1``), which
serves it without the usual 307 to a home that may be dead, and the page joins
there once that node holds the meeting. Real nodes on loopback, the real Redis.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser

from tests.support.browser import open_site
from tests.support.peers import SignalingClient
from tests.support.redis_keys import delete_prefixed, lease_holder, unique_prefix
from tests.support.server import ServerProcess, start_server
from tests.support.waiting import eventually, wait_until
from web.html import connect_origins, content_security_policy

Cluster = tuple[dict[str, str], list[ServerProcess]]


@pytest.fixture
def cluster(redis_url: str) -> Iterator[Cluster]:
    """The Redis environment of one test's nodes, and the nodes it started (stopped after)."""
    prefix = unique_prefix()
    started: list[ServerProcess] = []
    yield {"CONFERENCE_REDIS_URL": redis_url, "CONFERENCE_REDIS_PREFIX": prefix}, started
    for node in started:
        node.stop()
    asyncio.run(delete_prefixed(redis_url, prefix))


def start_node(tmp_path: Path, cluster: Cluster, node_id: str) -> ServerProcess:
    env, started = cluster
    node = start_server(tmp_path / node_id, "--node-id", node_id, env=env)
    started.append(node)
    return node


async def join_page(
    node: ServerProcess, room: str, token: str, **query: str
) -> tuple[int, str | None, dict[str, Any] | None, str | None]:
    """GET the join page, not following a 307: status, Location, its config, its connect-src."""
    params = {"token": token, **query}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{node.base_url}/join/{room}", params=params, allow_redirects=False) as page,
    ):
        body = await page.text()
        csp = page.headers.get("Content-Security-Policy", "")
        found = re.search(r'data-config="([^"]*)"', body)
        config = json.loads(html.unescape(found.group(1))) if found else None
        connect = re.search(r"connect-src ([^;]*)", csp)
        return (
            page.status,
            page.headers.get("Location"),
            config,
            connect.group(1) if connect else None,
        )


def test_the_csp_and_the_pages_list_are_the_same_origins() -> None:
    urls = ["http://10.0.0.2:8443/", "http://10.0.0.2:8443", "https://[fd00::3]:443", "x; y"]
    assert connect_origins(urls) == ["http://10.0.0.2:8443", "https://[fd00::3]:443"]
    assert "connect-src 'self' http://10.0.0.2:8443 https://[fd00::3]:443;" in (
        content_security_policy(urls)
    )


async def test_the_join_page_lists_its_csp_origins_and_the_socket_names_a_later_node(
    tmp_path: Path, cluster: Cluster
) -> None:
    a = start_node(tmp_path, cluster, "node-a")
    b = start_node(tmp_path, cluster, "node-b")
    room = a.cli("room", "create", "Họp liên tỉnh").stdout.strip()
    token = a.token(room, "UBND xã Yên Bình")

    async def a_knows_b() -> tuple[Any, ...] | None:
        answer = await join_page(a, room, token)
        return answer if answer[2] and answer[2]["connect"] else None

    # Served at a (its first page claims the meeting there): b is in both lists.
    status, _, config, connect_src = await eventually(a_knows_b)
    assert status == 200 and config is not None
    assert config["connect"] == [b.base_url]
    assert connect_src == f"'self' {b.base_url}"

    # b sends a join page to the home, unless the page came unasked from a dead node.
    status, location, _, _ = await join_page(b, room, token)
    assert (status, location) == (307, f"{a.base_url}/join/{room}?token={token}")

    async def b_knows_a() -> tuple[Any, ...] | None:
        answer = await join_page(b, room, token, failover="1")
        return answer if answer[2] and answer[2]["connect"] else None

    status, _, config, connect_src = await eventually(b_knows_a)
    assert status == 200 and config is not None
    assert config["connect"] == [a.base_url]
    assert connect_src == f"'self' {a.base_url}"
    # Serving it did not move the meeting.
    env, _ = cluster
    holder = lease_holder(env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "home", room)
    assert holder == "node-a"

    # A site's socket names the other nodes after welcome, and again when one starts.
    site = SignalingClient(a.base_url, room, token, publish={})
    await site.connect()
    try:
        first = await site.wait_for(lambda m: m["type"] == "nodes")
        assert first["urls"] == [b.base_url]
        c = start_node(tmp_path, cluster, "node-c")
        later = await site.wait_for(lambda m: m["type"] == "nodes" and len(m["urls"]) == 2, 30)
        assert sorted(later["urls"]) == sorted([b.base_url, c.base_url])
    finally:
        await site.close()


@pytest.mark.browser
async def test_a_page_follows_its_meeting_to_a_node_that_started_after_it(
    tmp_path: Path, cluster: Cluster, browser: Browser
) -> None:
    env, _ = cluster
    a = start_node(tmp_path, cluster, "node-a")
    b = start_node(tmp_path, cluster, "node-b")
    room = a.cli("room", "create", "Họp liên tỉnh").stdout.strip()
    token = a.token(room, "UBND xã Yên Bình")

    async def a_knows_b() -> bool:
        _, _, config, _ = await join_page(a, room, token)
        return bool(config and config["connect"] == [b.base_url])

    await eventually(a_knows_b)  # so the page's CSP lists b
    page = await open_site(browser, f"{a.base_url}/join/{room}?token={token}")
    try:
        config = json.loads(await page.evaluate("() => document.body.dataset.config"))
        assert config["connect"] == [b.base_url]
        await page.evaluate("() => window.conference.setMicMuted(true)")

        # c starts after the page loaded: the socket names it, the CSP does not.
        c = start_node(tmp_path, cluster, "node-c")
        await page.wait_for_function(
            f"() => window.conference.peers.includes({json.dumps(c.base_url)})", timeout=60_000
        )

        killed_at = asyncio.get_running_loop().time()
        a.stop(signal.SIGKILL)
        b.stop(signal.SIGKILL)

        # The page cannot ask c; it goes there, and joins once c took the meeting over.
        await page.wait_for_url(f"{c.base_url}/join/{room}**", timeout=90_000)
        await page.wait_for_function(
            "() => window.conference && window.conference.state === 'connected'", timeout=90_000
        )
        moved = asyncio.get_running_loop().time() - killed_at
        print(f"connected at node-c {moved:.1f} s after node-a and node-b were killed")
        assert await page.evaluate("() => window.location.origin") == c.base_url
        assert page.url == f"{c.base_url}/join/{room}"  # no token, no failover=1 left behind
        assert await page.evaluate("() => window.conference.micMuted")
        holder = await asyncio.to_thread(
            lease_holder, env["CONFERENCE_REDIS_URL"], env["CONFERENCE_REDIS_PREFIX"], "home", room
        )
        assert holder == "node-c"

        # Another site at c sees the page's camera.
        watcher = SignalingClient(c.base_url, room, c.token(room, "Tỉnh"), publish={})
        await watcher.connect()
        try:
            welcome = await watcher.wait_for(lambda m: m["type"] == "welcome")
            site = next(p for p in welcome["participants"] if p["name"] == "UBND xã Yên Bình")
            assert site["audio_muted"]
            await wait_until(lambda: watcher.current_slots().get("main") == site["id"], 30)
            await wait_until(lambda: len(watcher.captures["main"].frames) >= 10, 30)
        finally:
            await watcher.close()
    finally:
        await page.context.close()
    assert not page.errors, page.errors  # type: ignore[attr-defined]
