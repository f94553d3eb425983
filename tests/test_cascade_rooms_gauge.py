"""A meeting spread over two nodes counts once in /metrics: one room id, every site in each copy.

``conference_room_participants{room="ID"}`` is what ``bench/sites.py`` counts
its ``rooms_seen`` from (distinct room ids with sites across the nodes); the
``conference_rooms`` gauge summed over the nodes counts each copy. Two real
nodes of one cluster with ``CONFERENCE_CASCADE=spread``; the sites join over
the signaling socket only (a joined site is in the room before its media).
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.cascade import SpreadCluster, spread_meeting
from tests.support.outside import metric
from tests.support.server import ServerProcess
from tests.support.waiting import eventually


@pytest.fixture
def spread(tmp_path: Path, redis_url: str) -> Iterator[dict[str, ServerProcess]]:
    """Two nodes of one cluster that spread meetings (stopped after the test)."""
    cluster = SpreadCluster(tmp_path, redis_url)
    yield cluster.start()
    cluster.stop()


def _sites_in_copy(node: ServerProcess, meeting: str) -> int:
    """The node's conference_room_participants for the meeting's room; 0 when it is not open."""
    with urllib.request.urlopen(f"{node.base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    name = re.escape(f'conference_room_participants{{room="{meeting}"}}')
    match = re.search(rf"^{name} ([0-9]+)$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


async def _join(
    session: aiohttp.ClientSession, node: ServerProcess, meeting: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    """A site's signaling socket at ``node``, once it was welcomed there."""
    ws = await session.ws_connect(node.base_url.replace("http", "ws", 1) + f"/ws/{meeting}")
    await ws.send_str(json.dumps({"type": "join", "token": token}))
    async for raw in ws:
        kind = json.loads(raw.data)["type"]
        assert kind not in ("redirect", "error"), raw.data  # served where it came
        if kind == "welcome":
            return ws
    raise AssertionError("closed before welcome")


async def test_each_copy_of_a_spread_meeting_holds_every_site_under_one_room_id(spread):
    nodes = spread
    m = await spread_meeting(nodes)
    meeting, tokens, home, carrier = m.id, m.tokens, m.home, m.carrier
    async with aiohttp.ClientSession() as session:
        sockets = [
            await _join(session, home, meeting, tokens["05536"]),
            await _join(session, carrier, meeting, tokens["05539"]),
            await _join(session, carrier, meeting, tokens["05542"]),
        ]
        try:
            # Each copy: its own sites and the other node's, under the one room id.
            for node in (home, carrier):

                async def all_three(n: ServerProcess = node) -> bool:
                    return await asyncio.to_thread(_sites_in_copy, n, meeting) == 3

                await eventually(all_three, timeout=30)
            # Two copies of the room are open, one meeting.
            assert metric(home, "conference_rooms") + metric(carrier, "conference_rooms") == 2
        finally:
            for ws in sockets:
                await ws.close()
