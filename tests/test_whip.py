"""WHIP publishers and WHEP viewers against the real server."""

from __future__ import annotations

import time
from datetime import timedelta

import aiohttp
import pytest
from aiortc import RTCRtpSender

from conference.tokens import Role
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient, capture_frames, client_pc, whip_publish
from tests.support.server import start_server
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=60, gop=30), encode_opus(1.0)


async def test_whip_publisher_appears_in_room_and_delete_ends_it(server, room, clips):
    watcher = SignalingClient(server.base_url, room, server.token(room, "Tỉnh"), publish={})
    await watcher.connect()
    await watcher.wait_for(lambda m: m["type"] == "offer")
    video, audio = clips
    token = server.token(room, "Camera hội trường", site_id="whip-cam")
    pc, response, body = await whip_publish(
        server.base_url, room, token, [PacketTrack(video), PacketTrack(audio)]
    )
    try:
        assert response.status == 201, body
        assert response.headers["Content-Type"].startswith("application/sdp")
        location = response.headers["Location"]
        assert location.startswith(f"/whip/{room}/")
        assert body.startswith("v=0")
        joined = await watcher.wait_for(
            lambda m: m["type"] == "participant-joined" and m["participant"]["id"] == "whip-cam"
        )
        assert joined["participant"]["client"] == "whip"
        assert joined["participant"]["name"] == "Camera hội trường"
        await wait_until(lambda: watcher.current_slots().get("main") == "whip-cam")
        await wait_until(lambda: len(watcher.captures["main"].frames) >= 10)

        async with aiohttp.ClientSession() as http:
            async with http.delete(
                server.base_url + location, headers={"Authorization": f"Bearer {token}"}
            ) as gone:
                assert gone.status == 200
            left = await watcher.wait_for(
                lambda m: m["type"] == "participant-left" and m["id"] == "whip-cam"
            )
            assert left["reason"] == "left"
            async with http.delete(
                server.base_url + location, headers={"Authorization": f"Bearer {token}"}
            ) as again:
                assert again.status == 404
                assert (await again.json())["error"]["code"] == "session-not-found"
    finally:
        await pc.close()
        await watcher.close()


@pytest.fixture(params=["c", "python"])
def send_path_server(request, tmp_path):
    """A server forwarding through the compiled sender, and one through the Python path."""
    proc = start_server(tmp_path / "data", env={"CONFERENCE_FAST_SEND": request.param})
    yield request.param, proc
    proc.stop()


async def test_whep_viewer_receives_the_speaker(send_path_server, clips):
    send_path, server = send_path_server
    room = server.create_room()
    video, audio = clips
    publisher = SignalingClient(
        server.base_url,
        room,
        server.token(room, "Xã"),
        publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
    )
    await publisher.connect()
    await publisher.wait_for(lambda m: m["type"] == "offer")
    pc = client_pc()
    try:
        video_t = pc.addTransceiver("video", direction="recvonly")
        audio_t = pc.addTransceiver("audio", direction="recvonly")
        frames = capture_frames(video_t.receiver)
        sounds = capture_frames(audio_t.receiver)
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        token = server.token(room, "Màn hình trung tâm", role=Role.VIEWER)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{server.base_url}/whep/{room}",
                data=pc.localDescription.sdp,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
            ) as response:
                assert response.status == 201
                assert response.headers["Location"].startswith(f"/whep/{room}/")
                answer = await response.text()
        from aiortc import RTCSessionDescription

        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await wait_until(lambda: len(frames.frames) >= 15 and len(sounds.frames) >= 15)
        assert set(frames.digests) <= video.digests
        # What it decoded went out through the sender asked for (fast_send.py): the
        # server was installed as the README installs it, so the C path is built.
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.base_url}/metrics") as response,
        ):
            metrics = await response.text()
        compiled = next(
            int(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("conference_packets_sent_compiled_total ")
        )
        assert compiled >= 15 if send_path == "c" else compiled == 0
    finally:
        await pc.close()
        await publisher.close()


async def _post(server, room, token, sdp, content_type="application/sdp", kind="whip"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}/{kind}/{room}", data=sdp, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


async def _valid_offer(kinds=("audio", "video"), video_codec: str | None = None) -> str:
    pc = client_pc()
    for kind in kinds:
        transceiver = pc.addTransceiver(kind, direction="sendonly")
        if kind == "video" and video_codec:
            caps = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences(
                [c for c in caps if c.mimeType.lower() in (f"video/{video_codec}", "video/rtx")]
            )
    if not kinds:
        pc.createDataChannel("chat")
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_whip_rejects_bad_requests_with_json_errors(server, room, clips):
    good = server.token(room, "Xã")
    offer = await _valid_offer()

    status, body = await _post(server, room, None, offer)
    assert (status, body["error"]["code"]) == (401, "token-missing")

    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    status, body = await _post(server, room, forged, offer)
    assert (status, body["error"]["code"]) == (401, "token-invalid")

    expired = server.token(room, "Xã", ttl=timedelta(minutes=5), issued_at=time.time() - 3600)
    status, body = await _post(server, room, expired, offer)
    assert (status, body["error"]["code"]) == (401, "token-expired")

    other_room = server.create_room("Phòng khác")
    status, body = await _post(server, room, server.token(other_room, "Xã"), offer)
    assert (status, body["error"]["code"]) == (403, "wrong-room")

    status, body = await _post(server, "khong-co", server.token("khong-co", "Xã"), offer)
    assert (status, body["error"]["code"]) == (404, "room-not-found")

    status, body = await _post(server, room, good, offer, content_type="text/plain")
    assert (status, body["error"]["code"]) == (415, "unsupported-media-type")

    status, body = await _post(server, room, good, "this is not sdp")
    assert (status, body["error"]["code"]) == (400, "invalid-sdp")

    status, body = await _post(server, room, good, await _valid_offer(kinds=()))
    assert (status, body["error"]["code"]) == (400, "invalid-sdp")
    assert "neither audio nor video" in body["error"]["message"]

    viewer = server.token(room, "Người xem", role=Role.VIEWER)
    status, body = await _post(server, room, viewer, offer)
    assert (status, body["error"]["code"]) == (403, "role-cannot-publish")

    h264_room = server.create_room("Phòng H.264", codec="h264")
    status, body = await _post(
        server, h264_room, server.token(h264_room, "Xã"), await _valid_offer(video_codec="vp8")
    )
    assert (status, body["error"]["code"]) == (400, "invalid-sdp")
    message = body["error"]["message"]
    assert "offers no H.264, this room's video codec (offered: VP8/90000)" in message

    # After all that, the server still takes a good publisher.
    pc, response, _ = await whip_publish(server.base_url, room, good, [PacketTrack(clips[0])])
    await pc.close()
    assert response.status == 201
    async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/healthz") as health:
        assert health.status == 200
