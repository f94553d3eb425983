"""WHIP and WHEP with werift, a WebRTC stack in TypeScript (Node), as the client.

The Node scripts are in ``tests/werift/`` (``publish.js``, ``watch.js``; werift
pinned in its package-lock.json, installed by scripts/test).

* werift publishes over WHIP (VP8 and Opus RTP that we packetized, from a
  file; werift writes its negotiated SSRCs and payload types): an aiortc WHEP
  viewer decodes the video with PyAV, byte for byte what we encoded, and gets
  the audio.
* werift watches over WHEP what an aiortc WHIP publisher sends: its script
  reassembles VP8 frames from the RTP (descriptor, marker), reports keyframes,
  their size and every frame's SHA-1, and counts audio packets.
* werift's refused WHIP requests (a bad token, no SDP) leave nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conference.tokens import Role
from tests.support.media import EncodedClip, PacketTrack, encode_opus, encode_vp8
from tests.support.outside import WANTED_FRAMES, OutsideClient, metric, setups, whep_viewer
from tests.support.peers import whip_publish
from tests.support.server import ServerProcess
from tests.support.waiting import wait_until
from tests.support.werift import PUBLISH, WATCH, node, write_rtp_file

WANTED_AUDIO = 25  # half a second of 20 ms Opus frames


@pytest.fixture(scope="module")
def clips() -> tuple[EncodedClip, EncodedClip]:
    """Three seconds of VP8 (a keyframe a second) and of Opus."""
    return encode_vp8(frames=90, gop=30), encode_opus(3.0)


def publisher(
    server: ServerProcess, room: str, token: str, rtp_file: Path, *extra: str
) -> OutsideClient:
    return OutsideClient(
        [node(), str(PUBLISH), f"{server.base_url}/whip/{room}", token, str(rtp_file), *extra]
    )


def summaries(client: OutsideClient) -> list[dict[str, Any]]:
    return [e for e in client.events if e.get("event") == "summary"]


def latest(client: OutsideClient) -> dict[str, Any]:
    found = summaries(client)
    return (
        found[-1] if found else {"video": {"complete": 0, "keyframes": 0}, "audio": {"packets": 0}}
    )


def peers(server: ServerProcess, client: str) -> float:
    return metric(server, f'conference_peers{{client="{client}"}}')


async def test_werift_publishes_over_whip_to_an_aiortc_viewer(server, room, clips, tmp_path):
    video, audio = clips
    rtp_file = write_rtp_file(tmp_path / "clip.rtp", video, audio)
    token = server.token(room, "werift", site_id="werift")
    client = publisher(server, room, token, rtp_file)
    viewer = None
    try:
        await client.start()
        await wait_until(lambda: client.event("answer") is not None, timeout=60)
        answered = client.event("answer")
        assert answered is not None and answered["status"] == 201, client.transcript()
        assert answered["location"].startswith(f"/whip/{room}/")
        offer = client.event("offer")
        assert offer is not None and "a=group:BUNDLE 0 1" in offer["sdp"]
        # werift offers actpass and no RTP header extensions (no mid: the
        # server tells its streams apart by the offer's a=ssrc lines).
        assert setups(offer["sdp"]) == {"actpass"} and "a=extmap:" not in offer["sdp"]
        assert setups(answered["body"]) == {"passive"}
        await wait_until(
            lambda: any(e.get("state") == "connected" for e in client.events), timeout=60
        )
        viewer, decoded, sounds, _ = await whep_viewer(server, room, "vp8", audio=True)
        assert sounds is not None
        try:
            await wait_until(lambda: decoded.count() >= WANTED_FRAMES, timeout=60)
            await wait_until(lambda: len(sounds.frames) >= WANTED_AUDIO, timeout=60)
        except AssertionError:
            raise AssertionError(
                f"decoded {decoded.pictures} of {len(decoded.capture.frames)} frames, "
                f"{len(sounds.frames)} audio frames; werift said:\n{client.transcript()}"
            ) from None
        # werift forwarded our VP8 frames unchanged (whole frames, as encoded).
        assert set(decoded.capture.digests) <= video.digests
        assert set(sounds.digests) <= audio.digests
        assert decoded.size == (320, 240)
        assert peers(server, "whip") == 1
    finally:
        if viewer is not None:
            await viewer.close()
        await client.stop()
    # On SIGTERM the script DELETEs its session: the server ends it at once.
    deleted = client.event("deleted")
    assert deleted is not None and deleted["status"] == 200, client.transcript()
    assert client.process is not None and client.process.returncode == 0, client.transcript()
    await wait_until(lambda: peers(server, "whip") == 0)
    assert "DTLS handshake failed" not in server.log()


async def test_werift_watches_over_whep_what_aiortc_publishes(server, room, clips):
    video, audio = clips
    token = server.token(room, "Bộ mã hóa", site_id="aiortc")
    pc, response, body = await whip_publish(
        server.base_url, room, token, [PacketTrack(video), PacketTrack(audio)]
    )
    assert response.status == 201, body
    viewer_token = server.token(room, "werift", role=Role.VIEWER)
    client = OutsideClient([node(), str(WATCH), f"{server.base_url}/whep/{room}", viewer_token])
    try:
        await client.start()
        await wait_until(lambda: client.event("answer") is not None, timeout=60)
        answered = client.event("answer")
        assert answered is not None and answered["status"] == 201, client.transcript()
        try:
            await wait_until(
                lambda: (
                    latest(client)["video"]["complete"] >= WANTED_FRAMES
                    and latest(client)["video"]["keyframes"] >= 1
                    and latest(client)["audio"]["packets"] >= WANTED_AUDIO
                ),
                timeout=60,
            )
        except AssertionError:
            raise AssertionError(f"werift said:\n{client.transcript()}") from None
        assert peers(server, "whep") == 1
    finally:
        await client.stop()
        await pc.close()
    final = next((s for s in summaries(client) if s["final"]), None)
    assert final is not None, client.transcript()
    # One video and one audio stream, each on its own SSRC.
    kinds = sorted(stream["kind"] for stream in final["ssrcs"].values())
    assert kinds == ["audio", "video"]
    (stream,) = (s for s in final["ssrcs"].values() if s["kind"] == "video")
    assert stream["codec"].lower() == "video/vp8"
    assert final["video"]["sizes"] == ["320x240"]
    # Every frame werift put together is one we encoded, byte for byte.
    assert len(stream["digests"]) >= WANTED_FRAMES
    assert set(stream["digests"]) <= video.digests
    deleted = client.event("deleted")
    assert deleted is not None and deleted["status"] == 200, client.transcript()
    await wait_until(lambda: peers(server, "whep") == 0)


async def test_refused_werift_publishers_leave_nothing_behind(server, room, clips, tmp_path):
    rtp_file = write_rtp_file(tmp_path / "clip.rtp", *clips)
    good = server.token(room, "werift", site_id="werift")
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token, extra, expected in (
        (forged, (), (401, "token-invalid")),
        ("not-a-token", (), (401, "token-malformed")),
        (good, ("--empty-body",), (400, "invalid-sdp")),
    ):
        client = publisher(server, room, token, rtp_file, *extra)
        try:
            await client.start()
            process = client.process
            assert process is not None
            await wait_until(lambda: process.returncode is not None, timeout=60)  # noqa: B023
        finally:
            await client.stop()
        assert client.event("offer") is not None  # werift made its offer all the same
        answered = client.event("answer")
        assert answered is not None, client.transcript()
        error = json.loads(answered["body"])["error"]
        assert (answered["status"], error["code"]) == expected, client.transcript()
        assert answered["location"] is None
        assert process.returncode == 0, client.transcript()
    # The room has no publisher and the server no peer or track for them.
    assert peers(server, "whip") == 0
    assert metric(server, "conference_rooms") == 0
    assert metric(server, "conference_tracks") == 0
