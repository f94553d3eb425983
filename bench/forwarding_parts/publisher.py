"""The publisher's worker: a WHIP publisher whose video answers PLI, and the direct peer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from forwarding_parts.clip import TICKS_PER_FRAME, Clip


def _make_tracks(clip: Clip) -> tuple[Any, Any]:
    """The publisher's video track (keyframes on request) and a tee of it."""
    import av
    from aiortc.mediastreams import MediaStreamTrack

    from tests.support.media import VIDEO_TIME_BASE, PacketTrack

    class TeeTrack(MediaStreamTrack):
        """Sends what the publisher's video track sends, to a direct (serverless) peer."""

        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
            self.started = False
            self.log: list[tuple[int, float]] = []

        def feed(self, index: int, data: bytes) -> None:
            if self.started:  # nothing piles up before the direct peer connects
                self.queue.put_nowait((index, data))

        async def recv(self) -> av.Packet:
            self.started = True
            index, data = await self.queue.get()
            packet = av.Packet(data)
            packet.pts = index * TICKS_PER_FRAME
            packet.time_base = VIDEO_TIME_BASE
            self.log.append((index, time.time()))
            return packet

    class KeyframeOnRequestTrack(PacketTrack):
        """A PacketTrack that answers PLI: the next frame goes out as its keyframe variant."""

        def __init__(self, clip: Clip) -> None:
            super().__init__(clip.video)
            self.key_clip = clip.video_key
            self.want_keyframe = False
            self.keyframe_requests = 0
            self.keyframes_sent = 0
            self.request_times: list[float] = []
            self.log: list[tuple[int, int, bool, float]] = []  # index, clip index, key?, time
            self.tees: list[TeeTrack] = []

        def request_keyframe(self) -> None:
            self.keyframe_requests += 1
            self.request_times.append(time.time())
            self.want_keyframe = True

        async def recv(self) -> av.Packet:
            if self._start is None:
                self._start = time.monotonic()
            clip = self.clip
            due = self._start + self._index * clip.frame_duration
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            index = self._index
            clip_index = index % len(clip.payloads)
            use_key = self.want_keyframe and not clip.keyframes[clip_index]
            if self.want_keyframe:
                self.want_keyframe = False
                self.keyframes_sent += 1
            data = (self.key_clip if use_key else clip).payloads[clip_index]
            packet = av.Packet(data)
            packet.pts = index * clip.ticks_per_frame
            packet.time_base = VIDEO_TIME_BASE
            self._index += 1
            self.log.append((index, clip_index, use_key, time.time()))
            for tee in self.tees:
                tee.feed(index, data)
            return packet

    return KeyframeOnRequestTrack(clip), TeeTrack


class PublisherWorker:
    """One aiortc WHIP publisher (video with keyframes on request, Opus) and the direct peer."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip
        self.pc: Any = None
        self.direct_pc: Any = None
        self.video: Any = None
        self.tee: Any = None
        self.audio: Any = None

    async def cmd_publish(self, base_url: str, room: str, token: str) -> dict[str, Any]:
        from tests.support.media import PacketTrack
        from tests.support.peers import whip_publish

        self.video, tee_class = _make_tracks(self.clip)
        self.tee = tee_class()
        self.audio = PacketTrack(self.clip.audio)
        started = time.time()
        self.pc, response, body = await whip_publish(
            base_url, room, token, [self.video, self.audio]
        )
        if response.status != 201:
            raise RuntimeError(f"WHIP publish failed: {response.status} {body}")
        for sender in self.pc.getSenders():
            if sender.track is self.video:
                # aiortc ignores PLI for av.Packet tracks: make it reach our track.
                sender._send_keyframe = self.video.request_keyframe
        await _wait_connected(self.pc)
        return {"connect_ms": (time.time() - started) * 1000}

    async def cmd_direct_offer(self) -> str:
        from tests.support.peers import client_pc

        self.video.tees.append(self.tee)
        self.direct_pc = client_pc()
        self.direct_pc.addTransceiver(self.tee, direction="sendonly")
        offer = await self.direct_pc.createOffer()
        await self.direct_pc.setLocalDescription(offer)
        return str(self.direct_pc.localDescription.sdp)

    async def cmd_direct_answer(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        await self.direct_pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        await _wait_connected(self.direct_pc)

    async def cmd_report(self) -> dict[str, Any]:
        return {
            "video": self.video.log,
            "direct": self.tee.log,
            "keyframe_requests": self.video.keyframe_requests,
            "keyframes_sent": self.video.keyframes_sent,
            "keyframe_request_times": self.video.request_times,
            "audio_frames": self.audio._index,
        }

    async def cmd_stop(self) -> None:
        for pc in (self.pc, self.direct_pc):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pc.close(), 5)


async def _wait_connected(pc: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise RuntimeError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.05)
