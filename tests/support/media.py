"""Test media: clips encoded once up front, and a track that sends them in real time.

Shared by the integration tests and the benchmarks. The publisher sends
packets encoded once (so what it sent is known byte for byte); the
subscribers in :mod:`tests.support.peers` capture frames before any decoder,
so the two can be compared exactly.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
AUDIO_TIME_BASE = fractions.Fraction(1, 48000)


@dataclass
class EncodedClip:
    """Pre-encoded packets of one codec, looped by :class:`PacketTrack`."""

    kind: str
    payloads: list[bytes]
    keyframes: list[bool]
    frame_duration: float  # seconds
    ticks_per_frame: int  # in the RTP clock

    @property
    def digests(self) -> set[str]:
        """SHA-1 of every frame, to check what a subscriber got."""
        return {hashlib.sha1(p).hexdigest() for p in self.payloads}


def _video_encoder(name: str, width: int, height: int, fps: int, bitrate: int, gop: int) -> Any:
    codec = av.CodecContext.create(name, "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = gop
    return codec


def encode_vp8(
    frames: int = 60,
    width: int = 320,
    height: int = 240,
    fps: int = 30,
    bitrate: int = 400_000,
    gop: int = 30,
) -> EncodedClip:
    """Encode a moving test pattern with libvpx; every frame differs."""
    import numpy as np

    codec = _video_encoder("libvpx", width, height, fps, bitrate, gop)
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "keyint_min": str(gop),
    }
    payloads: list[bytes] = []
    keyframes: list[bool] = []
    yy, xx = np.mgrid[0:height, 0:width]
    for index in range(frames):
        y = ((xx + yy + index * 7) % 256).astype(np.uint8)
        y[(index * 5) % height : (index * 5) % height + 20, :] = 255  # moving bar
        u = np.full((height // 2, width // 2), (index * 3) % 256, dtype=np.uint8)
        v = np.full((height // 2, width // 2), 128, dtype=np.uint8)
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, data in zip(frame.planes, (y, u, v), strict=True):
            plane.update(
                np.ascontiguousarray(data).tobytes()
                if plane.line_size == data.shape[1]
                else _pad(data, plane.line_size)
            )
        frame.pts = index
        frame.time_base = codec.time_base
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            keyframes.append(bool(packet.is_keyframe))
    for packet in codec.encode(None):
        payloads.append(bytes(packet))
        keyframes.append(bool(packet.is_keyframe))
    return EncodedClip("video", payloads, keyframes, 1 / fps, 90000 // fps)


def _pad(data: Any, line_size: int) -> bytes:
    import numpy as np

    padded = np.zeros((data.shape[0], line_size), dtype=np.uint8)
    padded[:, : data.shape[1]] = data
    return padded.tobytes()


def encode_opus(seconds: float = 2.0) -> EncodedClip:
    """Encode a tone with a changing pitch with libopus, 20 ms frames."""
    import numpy as np

    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = 48000
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32000
    samples_per_frame = 960
    payloads: list[bytes] = []
    total = int(seconds * 50)
    for index in range(total):
        t = (np.arange(samples_per_frame) + index * samples_per_frame) / 48000
        tone = (np.sin(2 * np.pi * (300 + 10 * index) * t) * 8000).astype(np.int16)
        stereo = np.repeat(tone[:, None], 2, axis=1).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = index * samples_per_frame
        frame.time_base = AUDIO_TIME_BASE
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
    return EncodedClip("audio", payloads, [True] * len(payloads), 0.02, 960)


class PacketTrack(MediaStreamTrack):
    """A track that yields pre-encoded ``av.Packet`` objects in real time.

    aiortc packetizes packets without encoding them (``encoder.pack``).
    ``on_send`` sees each frame's bytes and the time it was handed over.
    """

    def __init__(
        self,
        clip: EncodedClip,
        on_send: Callable[[bytes, float], None] | None = None,
        loop_forever: bool = True,
    ) -> None:
        super().__init__()
        self.kind = clip.kind
        self.clip = clip
        self.on_send = on_send
        self.loop_forever = loop_forever
        self._index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        clip = self.clip
        if not self.loop_forever and self._index >= len(clip.payloads):
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        due = self._start + self._index * clip.frame_duration
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = clip.payloads[self._index % len(clip.payloads)]
        packet = av.Packet(data)
        packet.pts = self._index * clip.ticks_per_frame
        packet.time_base = VIDEO_TIME_BASE if clip.kind == "video" else AUDIO_TIME_BASE
        self._index += 1
        if self.on_send is not None:
            self.on_send(data, time.time())
        return packet


def encode_h264(
    frames: int = 60, width: int = 320, height: int = 240, fps: int = 30, gop: int = 30
) -> EncodedClip:
    """Encode the moving test pattern with libx264 (constrained baseline, Annex B)."""
    import numpy as np

    codec = _video_encoder("libx264", width, height, fps, 400_000, gop)
    codec.profile = "baseline"
    codec.options = {"tune": "zerolatency", "preset": "ultrafast", "level": "31", "bf": "0"}
    payloads: list[bytes] = []
    keyframes: list[bool] = []
    yy, xx = np.mgrid[0:height, 0:width]
    for index in range(frames):
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[..., 0] = (xx + index * 7) % 256
        image[..., 1] = (yy + index * 3) % 256
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        frame.time_base = codec.time_base
        for packet in codec.encode(frame):
            payloads.append(bytes(packet))
            keyframes.append(bool(packet.is_keyframe))
    for packet in codec.encode(None):
        payloads.append(bytes(packet))
        keyframes.append(bool(packet.is_keyframe))
    return EncodedClip("video", payloads, keyframes, 1 / fps, 90000 // fps)


def h264_nal_units(annex_b: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer, without start codes (3- or 4-byte)."""
    units = []
    for chunk in annex_b.split(b"\x00\x00\x01"):
        chunk = chunk.rstrip(b"\x00") if chunk.endswith(b"\x00") else chunk
        if chunk:
            units.append(chunk)
    return units


def plain_clip(path: Path, seconds: int = 4) -> Path:
    """A small H.264 file (320x240, 25 fps) with nothing to read: a camera feed that
    costs little to run."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(seconds * 25):
            image = np.full((240, 320, 3), index % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
