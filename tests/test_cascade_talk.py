"""Chat and votes of one meeting over two nodes: a site at the carrier talks through the home.

Real ``conference serve`` nodes on one Redis with ``CONFERENCE_CASCADE=spread``:
one site at the meeting's home, one at the other node (a carrier copy), the
host's console at the carrier. Messages and answers from the far site are
decided at the home (limits and counts included), and what the home says
reaches the far site; a refusal reaches it alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.accounts import PASSWORD
from tests.support.api_client import ApiClient
from tests.support.cascade import SpreadCluster, spread_meeting
from tests.support.console import Console
from tests.support.peers import SignalingClient
from tests.support.server import ServerProcess
from tests.support.waiting import wait_until


@pytest.fixture
def spread(tmp_path: Path, redis_url: str) -> Iterator[dict[str, ServerProcess]]:
    """Two nodes of one cluster that spread meetings (stopped after the test)."""
    cluster = SpreadCluster(tmp_path, redis_url)
    yield cluster.start()
    cluster.stop()


def _texts(site: SignalingClient) -> list[str]:
    return [m["text"] for m in site.of_type("chat")]


async def test_a_site_at_the_carrier_chats_and_votes_through_the_home(spread):
    m = await spread_meeting(spread)
    near = SignalingClient(m.home.base_url, m.id, m.tokens["05536"])
    far = SignalingClient(m.carrier.base_url, m.id, m.tokens["05539"])
    at_carrier = ApiClient(m.carrier.base_url)
    assert (await at_carrier.login("host.dinhhoa", PASSWORD)).status == 200
    console = Console(
        await at_carrier.session.ws_connect(
            m.carrier.base_url.replace("http", "ws") + f"/ws/console/{m.id}"
        )
    )
    try:
        for site in (near, far):
            await site.connect()
            first = await site.wait_for(lambda x: x["type"] in ("welcome", "redirect", "_closed"))
            assert first["type"] == "welcome", first  # served where it came
        # The home knows the far site (its proxy): the one roll call lists both.
        await wait_until(
            lambda: all(
                console.sites.get(code, {}).get("status") == "connected"
                for code in ("05536", "05539")
            ),
            timeout=30,
        )

        # Chat both ways, and to the host.
        await far.send({"type": "chat", "text": "Xã Linh Thông chào hội nghị"})
        got = await near.wait_for(lambda x: x["type"] == "chat")
        assert got["site"] == "05539" and got["name"] == "Xã Linh Thông"
        await far.wait_for(lambda x: x.get("text") == "Xã Linh Thông chào hội nghị")
        await wait_until(lambda: len(console.of_type("chat")) == 1)
        await near.send({"type": "chat", "text": "Thị trấn Chợ Chu xin chào"})
        await far.wait_for(lambda x: x.get("text") == "Thị trấn Chợ Chu xin chào")
        await far.send({"type": "chat", "text": "Riêng chủ trì", "to": "host"})
        await far.wait_for(lambda x: x.get("text") == "Riêng chủ trì")
        await wait_until(lambda: len(console.of_type("chat")) == 3)
        assert "Riêng chủ trì" not in _texts(near)
        # A refusal at the home comes back to the far site alone; nothing is kept.
        await far.send({"type": "chat", "text": "x" * 1001})
        refused = await far.wait_for(lambda x: x["type"] == "error")
        assert refused["code"] == "chat-too-long" and not refused["fatal"]
        assert not near.of_type("error")

        # A vote put from the carrier's console runs at the home and reaches both sites.
        opened = await console.command(
            "vote-open", question="Thông qua?", options=["Đồng ý", "Không đồng ý"]
        )
        assert opened["type"] == "result", opened
        vote = opened["vote"]
        for site in (near, far):
            await site.wait_for(lambda x, v=vote: x["type"] == "vote" and x["vote"]["id"] == v)
        await far.send({"type": "vote", "vote": vote, "choice": 0})
        await far.wait_for(lambda x: x["type"] == "vote-answered" and x["choice"] == 0)
        await far.send({"type": "vote", "vote": vote, "choice": 1})
        again = await far.wait_for(lambda x: x.get("code") == "vote-already-answered")
        assert again["type"] == "error"
        await near.send({"type": "vote", "vote": vote, "choice": 1})
        await near.wait_for(lambda x: x["type"] == "vote-answered")
        await wait_until(lambda: any(t["counts"] == [1, 1] for t in console.of_type("vote-tally")))
        closed = await console.command("vote-close", vote=vote)
        assert closed["type"] == "result", closed
        for site in (near, far):
            result = await site.wait_for(lambda x: x["type"] == "vote-result")
            assert result["counts"] == [1, 1]
            assert {b["site"] for b in result["ballots"]} == {"05536", "05539"}

        # Kept once, in the shared store: either node lists it.
        listed = await at_carrier.call("GET", f"/api/meetings/{m.id}/chat")
        assert [x["text"] for x in listed.body["messages"]] == [
            "Xã Linh Thông chào hội nghị",
            "Thị trấn Chợ Chu xin chào",
            "Riêng chủ trì",
        ]
        votes = await at_carrier.call("GET", f"/api/meetings/{m.id}/votes")
        assert votes.body["votes"][0]["counts"] == [1, 1]
    finally:
        for site in (near, far):
            await site.close()
        await console.close()
        await at_carrier.close()
    for node in spread.values():
        assert "Traceback" not in node.log()
