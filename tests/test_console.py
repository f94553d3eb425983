"""The host console over its socket, with real sites joining through their links."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.api_client import ApiClient, meeting_body
from tests.support.console import Console
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.waiting import wait_until

PASSWORD = "mat-khau-kiem-thu"


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


async def test_roll_call_hands_floor_mute_remove_and_lock(server, clips):
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    server.add_user("host.tp", "host", "164", password=PASSWORD)
    server.add_user("site.chochu", "site", "05536", password=PASSWORD)
    host = ApiClient(server.base_url)
    await host.login("host.dinhhoa", PASSWORD)
    subtree = (await host.call("GET", "/api/units/167/subtree")).body["units"]
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", [u["code"] for u in subtree], start_in=0.1)
    )
    assert created.status == 201, created.body
    meeting = created.body["meeting"]["id"]
    links = {
        link["site"]["id"]: link["url"]
        for link in (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"]
    }
    assert len(links) == 24

    # Who may not open the console: another district's host, a site account, nobody.
    ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    for username in ("host.tp", "site.chochu"):
        other = ApiClient(server.base_url)
        await other.login(username, PASSWORD)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await other.session.ws_connect(ws_url)
        assert refused.value.status == 403
        await other.close()
    async with aiohttp.ClientSession() as anonymous:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(ws_url)
        assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await host.session.ws_connect(ws_url, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403

    console = Console(await host.session.ws_connect(ws_url))
    video, audio = clips
    joined = ["05536", "05539", "05542"]
    sites = {
        code: SignalingClient(
            server.base_url,
            meeting,
            links[code].split("token=")[1],
            publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
        )
        for code in joined
    }
    try:
        await wait_until(lambda: len(console.sites) == 24)
        assert console.status_count("not-joined") == 24
        assert [(t["label"], t["present"], t["total"]) for t in console.tiers] == [
            ("Huyện", 0, 1),
            ("Xã", 0, 23),
        ]
        for client in sites.values():
            await client.connect()
            await client.wait_for(lambda m: m["type"] == "offer")
        await wait_until(lambda: console.status_count("connected") == 3, timeout=30)
        assert console.status_count("not-joined") == 21
        assert [(t["label"], t["present"], t["total"]) for t in console.tiers] == [
            ("Huyện", 0, 1),
            ("Xã", 3, 23),
        ]
        row = console.sites["05539"]
        assert row["joined_at"] and row["name"] == "Xã Linh Thông"

        # A site raises its hand; the host gives it the floor; the others' main slot follows.
        await sites["05539"].send({"type": "hand", "raised": True})
        await wait_until(lambda: console.hands == ["05539"])
        assert (await console.command("give-floor", "05539"))["type"] == "result"
        await sites["05539"].wait_for(lambda m: m["type"] == "floor" and m["id"] == "05539")
        for code in ("05536", "05542"):
            await wait_until(lambda c=code: sites[c].current_slots().get("main") == "05539")
            names = [
                m for m in sites[code].of_type("slots") if m["assignments"].get("main") == "05539"
            ][-1]["names"]
            assert names["05539"] == "Xã Linh Thông"
        await wait_until(lambda: console.hands == [])  # the hand comes down with the floor

        # Mute: the site is told, and may not unmute itself.
        await console.command("mute", "05542")
        await sites["05542"].wait_for(lambda m: m["type"] == "muted-by-host" and m["muted"])
        await sites["05542"].send({"type": "mute", "audio": False, "video": False})
        error = await sites["05542"].wait_for(lambda m: m["type"] == "error")
        assert error["code"] == "muted-by-host" and not error["fatal"]
        await wait_until(lambda: console.sites["05542"]["audio_muted"] is True)

        # Remove: the site is sent away and may not come back.
        assert (await console.command("remove", "05542"))["type"] == "result"
        bye = await sites["05542"].wait_for(lambda m: m["type"] == "bye")
        assert bye["reason"] == "removed"
        await wait_until(lambda: console.sites["05542"]["status"] == "removed")
        again = SignalingClient(server.base_url, meeting, links["05542"].split("token=")[1])
        await again.connect()
        assert (await again.wait_for(lambda m: m["type"] == "error"))["code"] == "removed"
        await again.close()

        # Lock: a site that was never in cannot come in; the host site cannot be removed.
        await console.command("lock")
        late = SignalingClient(server.base_url, meeting, links["05545"].split("token=")[1])
        await late.connect()
        assert (await late.wait_for(lambda m: m["type"] == "error"))["code"] == "room-locked"
        await late.close()
        refused = await console.command("remove", "167")
        assert refused["type"] == "error" and refused["code"] == "cannot-remove"
        unknown = await console.command("give-floor", "khong-co")
        assert unknown["type"] == "error" and unknown["code"] == "not-present"
        # A malformed command still gets its answer by id (the console waits for it).
        malformed = await console.command("give-floor", "x" * 500)
        assert malformed["type"] == "error" and malformed["code"] == "invalid-message"
    finally:
        for client in sites.values():
            await client.close()
        await console.close()
        await host.close()


async def test_meeting_closes_on_time_with_a_warning(server, clips):
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
    host = ApiClient(server.base_url)
    await host.login("host.dinhhoa", PASSWORD)
    created = await host.call(
        "POST", "/api/meetings", meeting_body("167", ["167", "05536"], start_in=0, minutes=0.25)
    )
    meeting = created.body["meeting"]["id"]
    link = (await host.call("GET", f"/api/meetings/{meeting}/links")).body["links"][1]["url"]
    site = SignalingClient(
        server.base_url, meeting, link.split("token=")[1], publish={"video": PacketTrack(clips[0])}
    )
    try:
        await site.connect()
        closing = await site.wait_for(lambda m: m["type"] == "closing", timeout=20)
        assert 0 < closing["seconds"] <= 15
        bye = await site.wait_for(lambda m: m["type"] == "bye", timeout=30)
        assert bye["reason"] == "ended"
        status = (await host.call("GET", f"/api/meetings/{meeting}")).body["meeting"]["status"]
        assert status == "ended"
    finally:
        await site.close()
        await host.close()
