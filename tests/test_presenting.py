"""Presenting a screen: aiortc sites on the real server, the host's console over its socket.

One presentation at a time: a second site is refused while the first
presents; the presentation's frames reach the others' main slot and the
presenter's camera a thumbnail; the host stops it, and with approval on the
host allows or refuses who presents.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from aiortc.rtcdtlstransport import RtpRouter

from conference.media.fast_receive import _route
from conference.media.rtp_header import header_extension
from tests.support.api_client import ApiClient, meeting_body
from tests.support.console import Console
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.waiting import eventually, wait_until

PASSWORD = "mat-khau-kiem-thu"


@pytest.fixture(scope="module")
def clips():
    # The camera and the screen differ in size, so every frame says which one it is.
    return (
        encode_vp8(frames=60, gop=30),
        encode_vp8(frames=60, width=640, height=360, gop=30),
        encode_opus(1.0),
    )


def rtp_with_mid(ssrc: int, mid: bytes, mid_id: int = 9) -> bytes:
    """A VP8 packet whose one-byte header extension block carries its MID."""
    element = bytes([mid_id << 4 | (len(mid) - 1)]) + mid
    element += b"\0" * (-len(element) % 4)
    header = struct.pack("!BBHII", 0x90, 96, 1, 1000, ssrc)
    return header + struct.pack("!HH", 0xBEDE, len(element) // 4) + element + b"\x10payload"


def test_an_unknown_ssrc_is_routed_by_its_mid_when_two_sections_share_a_payload_type():
    # A site's camera (simulcast: its layers' SSRCs are not in the SDP) and its screen
    # section both use VP8's payload type: the MID header extension tells them apart.
    router = RtpRouter()
    camera, screen = object(), object()
    router.register_receiver(camera, ssrcs=[], payload_types=[96], mid="1")  # type: ignore[arg-type]
    router.register_receiver(screen, ssrcs=[], payload_types=[96], mid="2")  # type: ignore[arg-type]
    layer = rtp_with_mid(0x1111, b"1")
    assert header_extension(layer, 9) == b"1"
    assert _route(router, 0x1111, 96, layer, 9) is camera
    assert _route(router, 0x2222, 96, rtp_with_mid(0x2222, b"2"), 9) is screen
    # Learnt: later packets of the SSRC need no MID; a MID of no section is dropped.
    assert _route(router, 0x1111, 96) is camera
    assert _route(router, 0x3333, 96, rtp_with_mid(0x3333, b"7"), 9) is None
    assert _route(router, 0x4444, 96, b"\x80" + bytes(11), 9) is None  # no extension at all


def site(server, meeting: str, token: str, clips, screen: bool = True) -> SignalingClient:
    camera, screen_clip, audio = clips
    publish = {"video": PacketTrack(camera), "audio": PacketTrack(audio)}
    if screen:
        publish["screen"] = PacketTrack(screen_clip)
    return SignalingClient(server.base_url, meeting, token, publish=publish)


def frames_in(client: SignalingClient, slot: str, digests: set[str]) -> int:
    """How many frames of ``slot`` are frames of the clip with ``digests``."""
    capture = client.captures.get(slot)
    return sum(1 for d in capture.digests if d in digests) if capture else 0


def last(client: SignalingClient, kind: str) -> dict | None:
    found = client.of_type(kind)
    return found[-1] if found else None


async def test_one_presentation_at_a_time_in_every_main_slot(server, room, clips):
    camera, screen_clip, _audio = clips
    sites = {
        name: site(server, room, server.token(room, name, site_id=name.lower()), clips)
        for name in ("A", "B", "C")
    }
    a, b, c = sites["A"], sites["B"], sites["C"]
    try:
        for client in sites.values():
            await client.connect()
            offer = await client.wait_for(lambda m: m["type"] == "offer")
            assert set(offer["publish"]) == {"audio", "video", "screen"}

        # B presents: granted, and the others' main slots show its screen.
        await b.send({"type": "present", "active": True})
        granted = await b.wait_for(lambda m: m["type"] == "present-status")
        assert granted["status"] == "granted", granted
        for viewer in (a, c):
            await viewer.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "b")
            await wait_until(lambda v=viewer: v.current_slots().get("main") == "b")
            # The presenter's camera is a thumbnail meanwhile.
            assert "b" in [
                s for name, s in viewer.current_slots().items() if name.startswith("thumb-")
            ]
        screen_frames = {hashlib.sha1(p).hexdigest() for p in screen_clip.payloads}
        await wait_until(lambda: frames_in(a, "main", screen_frames) >= 30, timeout=40)
        await wait_until(lambda: frames_in(c, "main", screen_frames) >= 30, timeout=40)

        # C asks while B presents: refused, with a reason that names B.
        await c.send({"type": "present", "active": True})
        refused = await c.wait_for(lambda m: m["type"] == "present-status")
        assert (refused["status"], refused["code"]) == ("refused", "presentation-busy")
        assert "B" in refused["message"]
        assert a.current_slots()["main"] == "b"

        # B stops: the presentation ends everywhere and the main slots follow the sites again.
        await b.send({"type": "present", "active": False})
        ended = await a.wait_for(lambda m: m["type"] == "presentation" and m["id"] is None)
        assert ended["reason"] == "stopped"
        before = frames_in(a, "main", screen_frames)
        camera_frames = camera.digests
        await wait_until(lambda: frames_in(a, "main", camera_frames) >= 10, timeout=40)
        assert frames_in(a, "main", screen_frames) - before < 30  # no longer the screen

        # Now C may present.
        c.messages.clear()
        await c.send({"type": "present", "active": True})
        assert (await c.wait_for(lambda m: m["type"] == "present-status"))["status"] == "granted"
        await a.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "c")

        # Stop and start again at once: refused (each start moves every main slot), and a
        # repeated ask while presenting changes nothing.
        await c.send({"type": "present", "active": False})
        c.messages.clear()
        await c.send({"type": "present", "active": True})
        again = await c.wait_for(lambda m: m["type"] == "present-status")
        assert (again["status"], again["code"]) == ("refused", "too-soon")
    finally:
        for client in sites.values():
            await client.close()


async def test_a_connection_without_a_screen_section_cannot_present(server, room, clips):
    plain = site(server, room, server.token(room, "D", site_id="d"), clips, screen=False)
    try:
        await plain.connect()
        offer = await plain.wait_for(lambda m: m["type"] == "offer")
        assert "screen" not in offer["publish"]
        await plain.send({"type": "present", "active": True})
        refused = await plain.wait_for(lambda m: m["type"] == "present-status")
        assert (refused["status"], refused["code"]) == ("refused", "no-screen-section")
        await plain.send({"type": "present", "active": "yes"})
        error = await plain.wait_for(lambda m: m["type"] == "error")
        assert error["code"] == "invalid-message"
    finally:
        await plain.close()


async def test_the_host_stops_a_presentation_and_approves_who_presents(server, clips):
    server.add_user("host.dinhhoa", "host", "167", password=PASSWORD)
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
    ws_url = server.base_url.replace("http", "ws") + f"/ws/console/{meeting}"
    console = Console(await host.session.ws_connect(ws_url))
    codes = ["05536", "05539", "05542"]
    sites = {code: site(server, meeting, links[code].split("token=")[1], clips) for code in codes}
    first, second, third = (sites[code] for code in codes)
    try:
        for client in sites.values():
            await client.connect()
            await client.wait_for(lambda m: m["type"] == "offer")

        def presenting() -> dict | None:
            for message in reversed(console.messages):
                if message["type"] == "presenting":
                    return message["presenting"]
                if message["type"] in ("console", "state") and "presenting" in message["state"]:
                    return message["state"]["presenting"]
            return None

        # The host stops a presentation from the console.
        await first.send({"type": "present", "active": True})
        assert (await first.wait_for(lambda m: m["type"] == "present-status"))[
            "status"
        ] == "granted"
        await wait_until(lambda: (presenting() or {}).get("presenter") == "05536")
        await second.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "05536")
        done = await console.command("stop-presenting", "05536")
        assert done["type"] == "result", done
        stopped = await first.wait_for(
            lambda m: m["type"] == "present-status" and m["status"] == "stopped"
        )
        assert stopped["code"] == "stopped-by-host"
        ended = await second.wait_for(lambda m: m["type"] == "presentation" and m["id"] is None)
        assert ended["reason"] == "host"
        await wait_until(lambda: (presenting() or {}).get("presenter", "x") is None)

        # Approval on: a site waits, the host allows it; another is refused.
        assert (await console.command("presenting-approval"))["type"] == "result"
        await wait_until(lambda: (presenting() or {}).get("approval") is True)
        second.messages.clear()
        third.messages.clear()
        await second.send({"type": "present", "active": True})
        await third.send({"type": "present", "active": True})
        for client in (second, third):
            status = await client.wait_for(lambda m: m["type"] == "present-status")
            assert status["status"] == "pending"
        await wait_until(
            lambda: (
                [r["id"] for r in (presenting() or {}).get("requests", [])] == ["05539", "05542"]
            )
        )
        assert (await console.command("allow-presenting", "05539"))["type"] == "result"
        await second.wait_for(lambda m: m["type"] == "present-status" and m["status"] == "granted")
        await first.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "05539")
        # While 05539 presents, allowing 05542 is refused with a reason; refusing works.
        busy = await console.command("allow-presenting", "05542")
        assert (busy["type"], busy["code"]) == ("error", "presentation-busy")
        assert (await console.command("refuse-presenting", "05542"))["type"] == "result"
        refused = await third.wait_for(
            lambda m: m["type"] == "present-status" and m["status"] == "refused"
        )
        assert refused["code"] == "refused-by-host"
        unknown = await console.command("allow-presenting", "05542")
        assert (unknown["type"], unknown["code"]) == ("error", "no-request")

        # The presenter leaving ends the presentation for the others.
        await second.close()
        ended = await eventually(
            lambda: _ended(first),
            timeout=30,
        )
        assert ended["reason"] == "left"
    finally:
        for client in sites.values():
            await client.close()
        await console.close()
        await host.close()


async def _ended(client: SignalingClient) -> dict | None:
    for message in reversed(client.messages):
        if message["type"] == "presentation":
            return message if message["id"] is None else None
    return None


async def test_a_presenter_that_reconnects_presents_again(server, room, clips):
    _camera, screen_clip, _audio = clips
    token = server.token(room, "P", site_id="p")
    presenter = site(server, room, token, clips)
    viewer = site(server, room, server.token(room, "V", site_id="v"), clips)
    again: SignalingClient | None = None
    try:
        for client in (presenter, viewer):
            await client.connect()
            await client.wait_for(lambda m: m["type"] == "offer")
        await presenter.send({"type": "present", "active": True})
        await viewer.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "p")

        # The same site on a new connection (a reconnect): the old one is replaced, the
        # presentation pauses with its media and comes back once the new one sends it.
        again = site(server, room, token, clips)
        await again.connect()
        welcome = await again.wait_for(lambda m: m["type"] == "welcome")
        assert welcome["presenter"] in ("p", None)
        await again.wait_for(lambda m: m["type"] == "offer")
        await again.send({"type": "present", "active": True})
        assert (await again.wait_for(lambda m: m["type"] == "present-status"))[
            "status"
        ] == "granted"
        shown = [m for m in viewer.messages if m["type"] == "presentation"]
        await wait_until(
            lambda: (
                len(viewer.of_type("presentation")) >= len(shown)
                and viewer.of_type("presentation")[-1]["id"] == "p"
                and viewer.current_slots().get("main") == "p"
            )
        )
        screen_frames = {hashlib.sha1(p).hexdigest() for p in screen_clip.payloads}
        before = frames_in(viewer, "main", screen_frames)
        await wait_until(lambda: frames_in(viewer, "main", screen_frames) > before + 30, timeout=40)
    finally:
        for client in (presenter, viewer, again):
            if client is not None:
                await client.close()
