"""WebRTC test clients: a site on the WebSocket protocol, WHIP/WHEP, frame capture.

The subscriber side captures frames as aiortc's jitter buffer reassembles
them, before any decoder, so they can be compared byte for byte with what a
:class:`tests.support.media.PacketTrack` sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from yarl import URL


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
                # A presentation section only when asked for: the join others send is unchanged.
                **({"screen": True} if "screen" in self.publish else {}),
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
    base_url: str,
    room: str,
    token: str,
    tracks: list[MediaStreamTrack],
    kind: str = "whip",
    follow_307: bool = False,
) -> tuple[RTCPeerConnection, aiohttp.ClientResponse, str]:
    """Publish (WHIP) or watch (WHEP: no tracks, kind='whep'); returns pc, response, body.

    ``follow_307``: send the same offer and token again where a 307 points (RFC
    9725 4.5), as a WHIP client does; aiohttp's own redirects drop the
    ``Authorization`` header when the origin changes.
    """
    pc = client_pc()
    if kind == "whip":
        for track in tracks:
            pc.addTransceiver(track, direction="sendonly")
    offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    url = f"{base_url}/{kind}/{room}"
    async with aiohttp.ClientSession() as session:
        for _ in range(3 if follow_307 else 1):
            async with session.post(
                url,
                data=pc.localDescription.sdp,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
                allow_redirects=not follow_307,
            ) as response:
                body = await response.text()
            if response.status != 307:
                break
            url = str(response.url.join(URL(response.headers["Location"])))
    if response.status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
    return pc, response, body
