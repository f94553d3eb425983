"""End to end: two sites publish flash-and-beep through the server, joining at
different times; the recording's composite keeps each site's sound on its picture.

Each site sends a dark picture that turns white for one frame every 2 s and,
at the same instants, a short tone (a different pitch per site), from one
clock, as a camera and microphone of one machine would. The server records
both tracks of both sites; the composite is rendered; in it, every flash of
a site's tile must line up with that site's tone within 40 ms.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from pathlib import Path

import av
import numpy as np
import pytest

from recorder.compose import grid_rects
from recorder.manifest import read_manifest
from recorder.render import render
from tests.support.composites import SYNC_TOLERANCE, beep_onsets, decode, flash_onsets
from tests.support.media import AUDIO_TIME_BASE, EncodedClip, PacketTrack
from tests.support.meetings import open_meeting
from tests.support.peers import whip_publish
from tests.support.recordings import recording_dirs

FPS = 25
PERIOD = 2.0  # seconds between flashes (and beeps)
SECONDS = 14
PITCH = {"05536": 700.0, "05539": 1300.0}


def flash_clip(seconds: float) -> EncodedClip:
    """VP8 at 25 fps: dark, one white frame at every multiple of PERIOD."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 180, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = 300_000
    codec.gop_size = FPS  # a keyframe a second: the recorder starts on one
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    payloads, keys = [], []
    for index in range(int(seconds * FPS)):
        white = index % int(PERIOD * FPS) == 0
        picture = np.full((180, 320, 3), 235 if white else 40, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = index, codec.time_base
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            keys.append(bool(packet.is_keyframe))
    for packet in codec.encode(None):
        payloads.append(bytes(packet))
        keys.append(bool(packet.is_keyframe))
    return EncodedClip("video", payloads, keys, 1 / FPS, 90000 // FPS)


def beep_clip(seconds: float, pitch: float) -> EncodedClip:
    """Opus, 20 ms frames: silence, a 100 ms tone starting at every multiple of PERIOD."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = 48000, "mono", "s16", 48000
    samples = np.zeros(int(seconds * 48000), np.float32)
    tone = np.sin(2 * np.pi * pitch * np.arange(4800) / 48000) * 0.5
    for start in np.arange(0, seconds, PERIOD):
        first = int(start * 48000)
        samples[first : first + 4800] = tone[: len(samples) - first]
    pcm = (samples * 32767).astype(np.int16)
    payloads = []
    for index in range(len(pcm) // 960):
        frame = av.AudioFrame.from_ndarray(
            pcm[None, index * 960 : (index + 1) * 960], format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * 960, AUDIO_TIME_BASE
        payloads.extend(bytes(p) for p in codec.encode(frame))
    return EncodedClip("audio", payloads, [True] * len(payloads), 0.02, 960)


class Camera:
    """A site's camera and microphone on one clock: both tracks start together."""

    def __init__(self, pitch: float, after: Camera | None = None) -> None:
        self.video = PacketTrack(flash_clip(SECONDS + 4), loop_forever=False)
        self.audio = PacketTrack(beep_clip(SECONDS + 4, pitch), loop_forever=False)
        # Opus's encoder delay (pre-skip) is in the stream itself; the pictures have none.
        start = time.monotonic() + 0.5
        if after is not None:
            # Half a period out of step with the other camera, however long the first
            # publish took: two sites flashing together could not be told apart by sound.
            periods = math.ceil((start - after.start) / PERIOD)
            start = after.start + periods * PERIOD + PERIOD / 2
        self.start = start
        self.video._start = start
        self.audio._start = start


@pytest.mark.parametrize("layout", ["grid"])
async def test_two_sites_stay_in_sync_in_the_composite(server, layout):
    host, meeting, tokens = await open_meeting(server, ["167", "05536", "05539"])
    peers = []
    try:
        first = Camera(PITCH["05536"])
        pc, response, _ = await whip_publish(
            server.base_url, meeting, tokens["05536"], [first.video, first.audio]
        )
        assert response.status == 201
        peers.append(pc)
        assert (
            await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "start"})
        ).status == 200
        await asyncio.sleep(3)  # the second site joins later
        second = Camera(PITCH["05539"])
        pc, response, _ = await whip_publish(
            server.base_url, meeting, tokens["05539"], [second.video, second.audio]
        )
        assert response.status == 201
        peers.append(pc)
        await asyncio.sleep(SECONDS - 3)
        await host.call("POST", f"/api/meetings/{meeting}/recording", {"action": "stop"})
    finally:
        for pc in peers:
            await pc.close()
        await host.close()

    [directory] = recording_dirs(server)
    manifest = read_manifest(directory)
    assert {t.site_id for t in manifest.tracks} == {"05536", "05539"}
    assert all(t.clock == "rtcp" for t in manifest.tracks)
    output = await asyncio.get_running_loop().run_in_executor(None, render, Path(directory), layout)
    decoded = decode(output)
    assert (decoded.video_codec, decoded.audio_codec) == ("h264", "aac")
    rects = grid_rects(2, decoded.width, decoded.height)
    beeps = {site: beep_onsets(decoded.pcm, pitch) for site, pitch in PITCH.items()}
    matched = set()
    for rect in rects:
        flashes = flash_onsets(decoded, rect)
        assert len(flashes) >= 3, flashes
        # The tile belongs to the site whose tones fall on its flashes.
        best = min(
            beeps,
            key=lambda site: np.median([min(abs(f - b) for b in beeps[site]) for f in flashes]),
        )
        offsets = [min(abs(f - b) for b in beeps[best]) for f in flashes]
        print(
            f"site {best}: flash-to-tone offsets {[round(float(o) * 1000, 1) for o in offsets]} ms"
        )
        assert max(offsets) < SYNC_TOLERANCE, (best, offsets)
        matched.add(best)
    assert matched == set(PITCH)  # each site's tile carries its own sound
