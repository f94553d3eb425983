"""A presentation is recorded as its own track and shown large in the composite.

Two aiortc sites in a recorded meeting; one presents a white screen (every
frame flat white, so the composite's large tile says what it shows). The
manifest lists the screen as a video track of its own (``content: screen``)
whose stored frames are the presenter's, bit for bit; the composite has it
in the large tile while it was shown, and the sites' cameras before.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib

import av
import numpy as np
import pytest

from recorder.compose import speaker_rects
from recorder.manifest import read_manifest
from recorder.render import render
from tests.support.composites import decode, tile_level
from tests.support.media import EncodedClip, PacketTrack, encode_opus, encode_vp8
from tests.support.meetings import open_meeting
from tests.support.peers import SignalingClient
from tests.support.recordings import recording_dirs
from tests.support.waiting import wait_until

WIDTH, HEIGHT = 1280, 720


def white_screen(frames: int = 60, width: int = 640, height: int = 360) -> EncodedClip:
    """A flat white picture, VP8, a keyframe every second at 30 frames a second."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.framerate = fractions.Fraction(30, 1)
    codec.bit_rate, codec.gop_size = 300_000, 30
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    payloads: list[bytes] = []
    keyframes: list[bool] = []
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(
            np.concatenate(
                [
                    np.full((height, width), 235, dtype=np.uint8),
                    np.full((height // 2, width), 128, dtype=np.uint8),
                ]
            ),
            format="yuv420p",
        )
        frame.pts, frame.time_base = index, codec.time_base
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            keyframes.append(bool(packet.is_keyframe))
    for packet in codec.encode(None):
        payloads.append(bytes(packet))
        keyframes.append(bool(packet.is_keyframe))
    return EncodedClip("video", payloads, keyframes, 1 / 30, 3000)


@pytest.fixture(scope="module")
def clips():
    return encode_vp8(frames=300, gop=60), white_screen(), encode_opus(10.0)


async def test_the_presentation_is_its_own_track_and_large_in_the_composite(server, clips):
    camera, screen, audio = clips
    host, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])

    def site(code: str) -> SignalingClient:
        publish = {"video": PacketTrack(camera), "audio": PacketTrack(audio)}
        publish["screen"] = PacketTrack(screen)
        return SignalingClient(server.base_url, meeting, tokens[code], publish=publish)

    a, b = site("05536"), site("05539")
    try:
        for client in (a, b):
            await client.connect()
            await client.wait_for(lambda m: m["type"] == "offer")
        await wait_until(lambda: all(c.pc and c.pc.connectionState == "connected" for c in (a, b)))
        started = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        assert started.status == 200, started.body
        await a.wait_for(lambda m: m["type"] == "recording" and m["active"])
        await asyncio.sleep(2)  # the cameras first
        await b.send({"type": "present", "active": True})
        await a.wait_for(lambda m: m["type"] == "presentation" and m["id"] == "05539")
        await asyncio.sleep(3)
        await b.send({"type": "present", "active": False})
        await a.wait_for(lambda m: m["type"] == "presentation" and m["id"] is None)
        await asyncio.sleep(2)
        stopped = await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
        assert stopped.body["active"] is False
    finally:
        await a.close()
        await b.close()
        await host.close()

    [directory] = recording_dirs(server)
    manifest = read_manifest(directory)
    screens = [t for t in manifest.tracks if t.content == "screen"]
    assert [(t.site_id, t.kind, t.file) for t in screens] == [
        ("05539", "video", "05539-screen-1.webm")
    ]
    [track] = screens
    assert track.frames > 30 and (track.width, track.height) == (640, 360)
    with av.open(str(directory / track.file)) as container:
        stored = {
            hashlib.sha1(bytes(p)).hexdigest()
            for p in container.demux(container.streams.video[0])
            if p.size
        }
    assert stored and stored <= screen.digests  # the presenter's frames, not re-encoded
    # The other sites' tracks are cameras; nobody else presented, so no other screen file.
    assert {t.site_id for t in manifest.tracks if t.content == "camera"} == {"05536", "05539"}
    shown = [e for e in manifest.events if e.type == "presenting"]
    assert [e.site_id for e in shown] == ["05539", None]
    begin, end = shown[0].at - manifest.started_at, shown[1].at - manifest.started_at

    output = await asyncio.to_thread(render, directory, "grid", None, None, WIDTH, HEIGHT, 10)
    decoded = await asyncio.to_thread(decode, output)
    main, _strip = speaker_rects(2, WIDTH, HEIGHT)
    level = tile_level(decoded, main)
    during = [level[i] for i, t in enumerate(decoded.times) if begin + 1 < t < end - 0.5]
    before = [level[i] for i, t in enumerate(decoded.times) if 0.5 < t < begin - 0.2]
    assert during and min(during) > 200, during  # the white screen fills the large tile
    assert before and max(before) < 190, before  # the cameras' grid, not a white tile
