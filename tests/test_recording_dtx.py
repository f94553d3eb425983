"""The recorder with Opus DTX: silence sends a packet every 400 ms, and timing must hold.

With ``usedtx=1`` a browser sends no audio packets while its site is silent,
but one every 400 ms (comfort noise), with RTP timestamps that keep counting
real time. The recorder writes WebM from RTP timestamps (recorder/track.py):
a 400 ms gap must stay 400 ms in the file, and in the rendered composite each
beep must still fall on its flash. A recorder that packed the packets one
after the other (20 ms each) would pull every beep after the first silence
seconds early.

Real parts throughout: a :class:`RoomRecorder` on real Sources, files on
disk read back with PyAV, the real renderer.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import time
from pathlib import Path

import av
import numpy as np
import pytest

from conference.rooms.participant import Participant
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.tokens import Role
from recorder.compose import grid_rects
from recorder.manifest import Manifest, read_manifest, write_manifest
from recorder.render import render
from recorder.session import RoomRecorder
from tests.support.composites import SYNC_TOLERANCE, beep_onsets, decode, flash_onsets
from tests.support.media import AUDIO_TIME_BASE

FPS = 25
PERIOD = 2.0  # seconds between flashes (and beeps)
SECONDS = 9.0
PITCH = 1000.0
BEEP_SAMPLES = 4800  # 100 ms
OPUS_FRAME = 960  # 20 ms at 48 kHz
DTX_EVERY = 20  # in silence, one packet in 20 goes out: every 400 ms


def flash_frames() -> list[tuple[int, bytes, bool]]:
    """(RTP timestamp at 90 kHz, VP8 frame, keyframe): dark, white at each multiple of PERIOD."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 180, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = 300_000
    codec.gop_size = FPS
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out = []
    for index in range(int(SECONDS * FPS)):
        white = index % int(PERIOD * FPS) == 0
        picture = np.full((180, 320, 3), 235 if white else 40, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = index, codec.time_base
        for packet in codec.encode(frame):
            out.append((index * (90000 // FPS), bytes(packet), bool(packet.is_keyframe)))
    return out


def dtx_audio() -> tuple[list[tuple[int, bytes]], int]:
    """(RTP timestamp at 48 kHz, Opus packet) as a DTX sender sends them, and frames encoded.

    A 100 ms beep at every multiple of PERIOD, silence between. Frames that
    touch a beep all go out; in silence only every DTX_EVERY-th does.
    """
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = 48000, "mono", "s16", 48000
    samples = np.zeros(int(SECONDS * 48000), np.float32)
    tone = np.sin(2 * np.pi * PITCH * np.arange(BEEP_SAMPLES) / 48000) * 0.5
    beeps = [int(start * 48000) for start in np.arange(0, SECONDS, PERIOD)]
    for first in beeps:
        samples[first : first + BEEP_SAMPLES] = tone[: len(samples) - first]
    pcm = (samples * 32767).astype(np.int16)
    encoded: list[bytes] = []
    for index in range(len(pcm) // OPUS_FRAME):
        frame = av.AudioFrame.from_ndarray(
            pcm[None, index * OPUS_FRAME : (index + 1) * OPUS_FRAME], format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * OPUS_FRAME, AUDIO_TIME_BASE
        encoded.extend(bytes(p) for p in codec.encode(frame))
    sent = []
    silent_run = 0
    for index, payload in enumerate(encoded):
        start = index * OPUS_FRAME
        # The encoder's look-ahead smears a beep over the frames around it.
        loud = any(b - 2 * OPUS_FRAME <= start < b + BEEP_SAMPLES + OPUS_FRAME for b in beeps)
        silent_run = 0 if loud else silent_run + 1
        if loud or silent_run % DTX_EVERY == 1:
            sent.append((start, payload))
    return sent, len(encoded)


def packet(seq: int, timestamp: int, payload: bytes, keyframe: bool, arrival: float) -> MediaPacket:
    return MediaPacket(
        sequence_number=seq & 0xFFFF,
        timestamp=timestamp,
        marker=1,
        payload=payload,
        keyframe=keyframe,
        audio_level=None,
        arrival=arrival,
        abs_send_time=b"\x00\x00\x00",
    )


@pytest.fixture(scope="module")
def media() -> tuple[list[tuple[int, bytes, bool]], list[tuple[int, bytes]], int]:
    audio, encoded = dtx_audio()
    return flash_frames(), audio, encoded


async def test_dtx_gaps_keep_audio_timing_and_lip_sync(tmp_path: Path, media) -> None:
    video_frames, audio_packets, encoded = media
    # The simulated sender really went quiet: most silent frames were not sent.
    assert len(audio_packets) < encoded * 0.4
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(audio_packets)]
    assert max(gaps) == DTX_EVERY * OPUS_FRAME  # 400 ms without a packet

    metrics = SfuMetrics()
    video = Source(source_id="v", owner="05536", kind="video", metrics=metrics)
    video.codec = "VP8"
    audio = Source(source_id="a", owner="05536", kind="audio", metrics=metrics)
    audio.codec = "opus"
    # One publisher clock for both: its RTCP sender reports say RTP 0 is `wall0`.
    wall0 = time.time()
    mono0 = time.monotonic()
    video.sender_report = (wall0, 0)
    audio.sender_report = (wall0, 0)
    site = Participant(id="05536", name="Xã Chợ Chu", role=Role.PARTICIPANT)
    site.sources = {"video": video, "audio": audio}
    manifest = Manifest(id="r1", room_id="phong", room_name="Phòng", started_at=wall0)
    recording = RoomRecorder(tmp_path / "r1", manifest, 0)
    recording.start()
    recording.participant_joined(site)

    # Both tracks in arrival order, each packet arriving 30 ms after its media time.
    # A video frame is one RTP packet: a VP8 payload descriptor (S=1) and the frame.
    timeline = [(ts / 90000, 0, ts, b"\x10" + data, key) for ts, data, key in video_frames]
    timeline += [(ts / 48000, 1, ts, data, True) for ts, data in audio_packets]
    timeline.sort(key=lambda item: (item[0], item[1]))
    seqs = [0, 0]
    for at, which, ts, data, key in timeline:
        source = audio if which else video
        source.push(packet(seqs[which], ts, data, key, mono0 + at + 0.030))
        seqs[which] += 1
    await recording.stop()
    directory = tmp_path / "r1"
    saved = read_manifest(directory)
    # The packets came in a burst, not in real time: the recording ended when
    # the last one was due (the renderer renders up to ended_at).
    saved.ended_at = wall0 + SECONDS + 0.1
    write_manifest(directory, saved)

    tracks = {t.kind: t for t in saved.tracks}
    assert tracks["audio"].frames == len(audio_packets)
    # In the file: every Opus packet at its RTP time (the gaps kept), to the millisecond.
    with av.open(str(directory / tracks["audio"].file)) as container:
        stream = container.streams.audio[0]
        times = [float(p.pts * p.time_base) for p in container.demux(stream) if p.pts is not None]
    expected = [ts / 48000 for ts, _ in audio_packets]
    assert len(times) == len(expected)
    assert max(abs(a - b) for a, b in zip(times, expected, strict=True)) <= 0.001
    assert times[-1] > SECONDS - 0.5  # not ~len * 20 ms (which would be under 3.3 s)

    # In the composite: each beep still on its flash.
    output = await asyncio.get_running_loop().run_in_executor(
        None, lambda: render(directory, "grid", width=640, height=360)
    )
    decoded = decode(output)
    [rect] = grid_rects(1, decoded.width, decoded.height)
    flashes = flash_onsets(decoded, rect)
    beeps = beep_onsets(decoded.pcm, PITCH)
    assert len(flashes) >= 4 and len(beeps) == len(flashes), (flashes, beeps)
    offsets = [abs(f - b) for f, b in zip(flashes, beeps, strict=True)]
    print(f"DTX lip sync: flashes {flashes}, beeps {beeps}, offsets {offsets}")
    assert max(offsets) <= SYNC_TOLERANCE
