"""The subscribers' worker: WHEP clients that capture each frame undecoded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from forwarding_parts.clip import Clip


class _IdentityTimestamps:
    """Replaces a receiver's TimestampMapper: captured frames keep their raw RTP timestamp."""

    def map(self, timestamp: int) -> int:
        return timestamp


@dataclass
class ClientStats:
    """What one receiving client saw."""

    name: str
    video_packets: int = 0
    audio_packets: int = 0
    last_arrival: dict[int, float] = field(default_factory=dict)  # RTP ts -> last packet
    video_timestamps: list[int] = field(default_factory=list)
    video: Any = None  # FrameCapture
    audio: Any = None  # FrameCapture
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)
    pc: Any = None
    post_started: float = 0.0
    answered: float = 0.0


def _instrument(receiver: Any, stats: ClientStats, kind: str) -> None:
    """Capture frames undecoded; note each packet's arrival and each frame's RTP timestamp."""
    from tests.support.peers import capture_frames

    capture = capture_frames(receiver)
    receiver._RTCRtpReceiver__timestamp_mapper = _IdentityTimestamps()
    if kind == "video":
        stats.video = capture
        original_put = capture.put

        def put(item: Any) -> None:
            if item is not None:
                stats.video_timestamps.append(item[1].timestamp)
                stats.first_frame.set()
            original_put(item)
            if item is not None and len(capture.frames) > 1:
                capture.frames[-1] = b""  # keep digests, not a whole run of bytes

        capture.put = put  # type: ignore[method-assign]
        arrivals = stats.last_arrival
        original = receiver._handle_rtp_packet

        async def handle_video(packet: Any, arrival_time_ms: int) -> None:
            arrivals[packet.timestamp] = time.time()
            stats.video_packets += 1
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle_video
    else:
        stats.audio = capture
        original_audio = receiver._handle_rtp_packet

        async def handle_audio(packet: Any, arrival_time_ms: int) -> None:
            stats.audio_packets += 1
            await original_audio(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle_audio


class SubscriberWorker:
    """Several WHEP clients (and maybe the direct-path receiver) in one process."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.audio_digests = clip.audio.digests
        self.clients: dict[str, ClientStats] = {}
        self.session: Any = None

    async def _whep(self, base_url: str, room: str, token: str, name: str) -> ClientStats:
        import aiohttp
        from aiortc import RTCSessionDescription

        from tests.support.peers import client_pc

        if self.session is None:
            self.session = aiohttp.ClientSession()
        stats = ClientStats(name)
        pc = stats.pc = client_pc()
        video = pc.addTransceiver("video", direction="recvonly")
        audio = pc.addTransceiver("audio", direction="recvonly")
        _instrument(video.receiver, stats, "video")
        _instrument(audio.receiver, stats, "audio")
        self.clients[name] = stats
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        stats.post_started = time.time()
        async with self.session.post(
            f"{base_url}/whep/{room}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        ) as response:
            body = await response.text()
        if response.status != 201:
            raise RuntimeError(f"WHEP {name}: {response.status} {body[:200]}")
        await pc.setRemoteDescription(RTCSessionDescription(body, "answer"))
        stats.answered = time.time()
        return stats

    async def cmd_subscribe(self, base_url: str, room: str, tokens: list[tuple[str, str]]) -> list:
        results = await asyncio.gather(
            *(self._whep(base_url, room, token, name) for name, token in tokens),
            return_exceptions=True,
        )
        return [repr(r) for r in results if isinstance(r, BaseException)]

    async def cmd_direct_answer(self, offer: str) -> str:
        from aiortc import RTCSessionDescription

        from tests.support.peers import client_pc

        stats = ClientStats("direct")
        pc = stats.pc = client_pc()
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for transceiver in pc.getTransceivers():
            _instrument(transceiver.receiver, stats, transceiver.kind)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        self.clients["direct"] = stats
        return str(pc.localDescription.sdp)

    async def cmd_status(self) -> dict[str, int]:
        return {name: len(c.video_timestamps) for name, c in self.clients.items()}

    async def cmd_late_join(
        self, base_url: str, room: str, token: str, name: str, timeout: float
    ) -> dict:
        stats = await self._whep(base_url, room, token, name)
        try:
            await asyncio.wait_for(stats.first_frame.wait(), timeout)
        except TimeoutError:
            return {"post_started": stats.post_started, "first_frame": None}
        finally:
            # Measured: leave, so the room is back to N subscribers.
            self.clients.pop(name, None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stats.pc.close(), 5)
        ts = stats.video_timestamps[0]
        first = stats.video.frames[0]
        return {
            "post_started": stats.post_started,
            "answered": stats.answered,
            "first_frame": stats.last_arrival.get(ts, stats.video.arrivals[0]),
            "first_frame_captured": stats.video.arrivals[0],
            "first_frame_is_keyframe": bool(first) and not first[0] & 0x01,
            "first_frame_digest": stats.video.digests[0],
        }

    async def cmd_report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, c in self.clients.items():
            video = c.video
            frames = []
            if video is not None:
                for ts, digest, captured in zip(
                    c.video_timestamps, video.digests, video.arrivals, strict=False
                ):
                    frames.append((ts, digest, captured, c.last_arrival.get(ts, captured)))
            audio_digests = c.audio.digests if c.audio is not None else []
            out[name] = {
                "frames": frames,
                "video_packets": c.video_packets,
                "audio_packets": c.audio_packets,
                "audio_frames": len(audio_digests),
                "audio_identical": sum(1 for d in audio_digests if d in self.audio_digests),
                "state": c.pc.connectionState if c.pc is not None else None,
            }
        return out

    async def cmd_stop(self) -> None:
        await asyncio.gather(
            *(asyncio.wait_for(c.pc.close(), 5) for c in self.clients.values() if c.pc),
            return_exceptions=True,
        )
        if self.session is not None:
            await self.session.close()
