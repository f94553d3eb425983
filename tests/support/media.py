"""Test media and WebRTC clients: pre-encoded tracks and frame-capturing receivers.

Shared by the integration tests and ``bench/forwarding.py``. The publisher
sends packets encoded once up front (so what it sent is known byte for
byte); the subscriber captures frames as aiortc's jitter buffer reassembles
them, before any decoder, so the two can be compared exactly.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

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


class FrameCapture:
    """Stands in for a receiver's decoder queue: records frames, decodes nothing."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.arrivals: list[float] = []
        self.digests: list[str] = []
        self._stopped = threading.Event()

    def get(self) -> None:
        """What the idle decoder thread blocks on until the receiver stops."""
        self._stopped.wait()

    def put(self, item: Any) -> None:
        if item is None:
            self._stopped.set()
            return
        _codec, encoded = item
        data = bytes(encoded.data)
        self.frames.append(data)
        self.digests.append(hashlib.sha1(data).hexdigest())
        self.arrivals.append(time.time())


def capture_frames(receiver: RTCRtpReceiver) -> FrameCapture:
    """Swap a client receiver's decoder queue for a capture (no decoder thread work)."""
    capture = FrameCapture()
    receiver._RTCRtpReceiver__decoder_queue = capture  # type: ignore[attr-defined]
    return capture


def client_pc() -> RTCPeerConnection:
    """An aiortc peer connection that bundles everything, like a browser."""
    return RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


@dataclass
class SignalingClient:
    """A site speaking the WebSocket protocol, with an aiortc peer connection."""

    base_url: str
    room: str
    token: str
    publish: dict[str, MediaStreamTrack] = field(default_factory=dict)
    thumbnails: int = 8
    messages: list[dict[str, Any]] = field(default_factory=list)
    captures: dict[str, FrameCapture] = field(default_factory=dict)  # slot name -> frames
    pc: RTCPeerConnection | None = None
    slots_by_mid: dict[str, str] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _reader: asyncio.Task[None] | None = None
    _events: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def connect(self) -> None:
        """Open the socket and send ``join``."""
        self._session = aiohttp.ClientSession()
        url = self.base_url.replace("http", "ws", 1) + f"/ws/{self.room}"
        self._ws = await self._session.ws_connect(url)
        await self.send(
            {
                "type": "join",
                "token": self.token,
                "thumbnails": self.thumbnails,
                "publish_audio": "audio" in self.publish,
                "publish_video": "video" in self.publish,
            }
        )
        self._reader = asyncio.ensure_future(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_str(json.dumps(message))

    async def send_raw(self, text: str) -> None:
        assert self._ws is not None
        await self._ws.send_str(text)

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(raw.data)
            if message["type"] == "offer":
                await self._answer(message)  # before anyone sees the offer: captures exist
            self.messages.append(message)
            async with self._events:
                self._events.notify_all()
        async with self._events:
            self.messages.append({"type": "_closed", "code": self._ws.close_code})
            self._events.notify_all()

    async def _answer(self, offer: dict[str, Any]) -> None:
        self.pc = pc = client_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        mids_to_kind = {mid: kind for kind, mid in offer["publish"].items()}
        self.slots_by_mid = {s["mid"]: s["slot"] for s in offer["slots"]}
        for transceiver in pc.getTransceivers():
            if transceiver.mid in mids_to_kind:
                track = self.publish.get(mids_to_kind[transceiver.mid])
                if track is not None:
                    transceiver.sender.replaceTrack(track)
                    transceiver.direction = "sendonly"
                else:
                    transceiver.direction = "inactive"
            elif transceiver.mid in self.slots_by_mid:
                self.captures[self.slots_by_mid[transceiver.mid]] = capture_frames(
                    transceiver.receiver
                )
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        await self.send({"type": "answer", "sdp": pc.localDescription.sdp})

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """The first message (already received or coming) that matches."""

        async def find() -> dict[str, Any]:
            async with self._events:
                while True:
                    for message in self.messages:
                        if predicate(message):
                            return message
                    await self._events.wait()

        return await asyncio.wait_for(find(), timeout)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def current_slots(self) -> dict[str, str | None]:
        """The latest slot assignments the server sent."""
        slots = self.of_type("slots")
        return slots[-1]["assignments"] if slots else {}

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._session is not None:
            await self._session.close()


async def whip_publish(
    base_url: str, room: str, token: str, tracks: list[MediaStreamTrack], kind: str = "whip"
) -> tuple[RTCPeerConnection, aiohttp.ClientResponse, str]:
    """Publish (WHIP) or watch (WHEP: no tracks, kind='whep'); returns pc, response, body."""
    pc = client_pc()
    if kind == "whip":
        for track in tracks:
            pc.addTransceiver(track, direction="sendonly")
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/{kind}/{room}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response,
    ):
        body = await response.text()
    if response.status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    return pc, response, body


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
