"""A meeting's link is an invitation: it lapses when the site is taken off the list.

Found by the red-team pass (issue 8, item 8): a site removed from a meeting's
invitation list still joined with its old link, because ``authorize`` checked
the token's signature and the meeting's times but never the list.
"""

from __future__ import annotations

import aiohttp

from tests.support.api_client import ApiClient, meeting_body
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient, whip_publish
from tests.support.waiting import wait_until

PASSWORD = "mat-khau-kiem-thu"
HOST_UNIT = "167"  # huyện Định Hóa
KEPT, DROPPED, CONNECTED = "05536", "05539", "05542"  # three of its communes


def _token(url: str) -> str:
    return url.split("token=")[1]


async def _links(host: ApiClient, meeting: str) -> dict[str, str]:
    reply = await host.call("GET", f"/api/meetings/{meeting}/links")
    assert reply.status == 200, reply.body
    return {link["site"]["id"]: link["url"] for link in reply.body["links"]}


async def test_a_site_taken_off_the_list_cannot_join_and_is_let_out(server):
    server.add_user("host.dinhhoa", "host", HOST_UNIT, password=PASSWORD)
    host = ApiClient(server.base_url)
    await host.login("host.dinhhoa", PASSWORD)
    body = meeting_body(HOST_UNIT, [], start_in=0, sites=[KEPT, DROPPED, CONNECTED])
    created = await host.call("POST", "/api/meetings", body)
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = await _links(host, meeting)
    assert {KEPT, DROPPED, CONNECTED} <= set(links)

    video, audio = encode_vp8(frames=30, gop=15), encode_opus(1.0)
    connected = SignalingClient(
        server.base_url,
        meeting,
        _token(links[CONNECTED]),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    await connected.connect()
    dropped = kept = None
    try:
        await connected.wait_for(lambda m: m["type"] == "welcome", timeout=60)
        await wait_until(
            lambda: connected.pc is not None and connected.pc.connectionState == "connected",
            timeout=60,
        )

        # The host takes two sites off the list.
        body = meeting_body(HOST_UNIT, [], start_in=0, sites=[KEPT])
        body["start"] = created.body["meeting"]["start"]
        body["end"] = created.body["meeting"]["end"]
        updated = await host.call("PUT", f"/api/meetings/{meeting}", body)
        assert updated.status == 200, updated.body
        assert {s["id"] for s in updated.body["invited"]} >= {KEPT}
        assert DROPPED not in {s["id"] for s in updated.body["invited"]}

        # The site that was in the meeting is let out, told why, and not replaced.
        bye = await connected.wait_for(lambda m: m["type"] == "bye", timeout=60)
        assert bye["reason"] == "uninvited"

        # The old links no longer open the room: over the socket...
        for code in (DROPPED, CONNECTED):
            dropped = SignalingClient(server.base_url, meeting, _token(links[code]))
            await dropped.connect()
            error = await dropped.wait_for(lambda m: m["type"] in ("error", "welcome"), 60)
            assert error["type"] == "error", f"site {code} joined with its old link"
            assert error["code"] == "not-invited"
            await dropped.close()
            dropped = None

        # ... nor over WHIP,
        pc, response, text = await whip_publish(
            server.base_url, meeting, _token(links[DROPPED]), [PacketTrack(video)]
        )
        await pc.close()
        assert response.status == 403, text
        assert "not-invited" in text

        # ... while a site still on the list joins as before.
        kept = SignalingClient(server.base_url, meeting, _token(links[KEPT]))
        await kept.connect()
        welcome = await kept.wait_for(lambda m: m["type"] in ("error", "welcome"), 60)
        assert welcome["type"] == "welcome", welcome

        # The new list's links page no longer hands out the dropped site's link.
        assert DROPPED not in await _links(host, meeting)
    finally:
        for client in (connected, dropped, kept):
            if client is not None:
                await client.close()
        await host.close()

    async with aiohttp.ClientSession() as http:
        async with http.get(server.base_url + "/healthz") as health:
            assert health.status == 200
    assert "Traceback" not in server.log()


async def test_a_room_token_of_the_cli_still_lets_a_guest_in(server):
    """Guests come with room tokens from the operator (no meeting claim): unaffected."""
    room = server.create_room()
    guest = SignalingClient(server.base_url, room, server.token(room, "Khách mời"))
    await guest.connect()
    try:
        welcome = await guest.wait_for(lambda m: m["type"] in ("error", "welcome"), 60)
        assert welcome["type"] == "welcome", welcome
    finally:
        await guest.close()
