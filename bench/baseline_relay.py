"""The baseline for ``bench/forwarding.py``: what a plain aiortc user writes.

A minimal aiohttp server with the same WHIP (``POST /whip/{room}``) and WHEP
(``POST /whep/{room}``) endpoints as the conference server. The publisher's
received tracks go into ``aiortc.contrib.media.MediaRelay`` and every WHEP
viewer gets ``pc.addTrack(relay.subscribe(track))``: aiortc decodes each
published track once and encodes it again for every viewer. Bearer tokens are
accepted and ignored.

Only two things differ from the textbook version, and neither changes the
work done per frame:

* ``/metrics`` exports the same counters as the conference server
  (``conference_rtp_packets_forwarded_total``,
  ``conference_video_frames_forwarded_total``), counted per encoded frame a
  viewer's sender hands to the network, so CPU per packet and per frame are
  computed the same way for both servers.
* The publisher's RTP timestamps are kept end to end (an identity timestamp
  mapper on the publisher's receivers and a zero RTP timestamp origin in the
  viewers' senders). A re-encoded frame cannot be recognised by its bytes, so
  this is how the benchmark maps a viewer's frame back to the frame the
  publisher sent (RTP timestamp / 3000 = frame index) to measure latency.

Run: ``python bench/baseline_relay.py --port 8099`` (``--host`` defaults to
127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import sys
from typing import Any

import aiortc.rtcrtpsender
from aiohttp import web
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole, MediaRelay
from aiortc.mediastreams import MediaStreamTrack

logger = logging.getLogger("baseline")

_real_random32 = aiortc.rtcrtpsender.random32


def _random32() -> int:
    # RTCRtpSender uses random32() for its SSRCs and for the RTP timestamp
    # origin in _run_rtp; only the latter is pinned to zero.
    if sys._getframe(1).f_code.co_name == "_run_rtp":
        return 0
    return _real_random32()


aiortc.rtcrtpsender.random32 = _random32


class _IdentityTimestamps:
    """Stands in for aiortc's TimestampMapper: frame pts = the RTP timestamp."""

    def map(self, timestamp: int) -> int:
        return timestamp


class Counters:
    packets = 0
    frames = 0
    audio_frames = 0


COUNTERS = Counters()


def count_sent(sender: RTCRtpSender) -> None:
    """Count the RTP packets and frames this sender puts on the wire."""
    original = sender._next_encoded_frame

    async def counted(codec: Any) -> Any:
        frame = await original(codec)
        if frame is not None:
            COUNTERS.packets += len(frame.payloads)
            if sender.kind == "video":
                COUNTERS.frames += 1
            else:
                COUNTERS.audio_frames += 1
        return frame

    sender._next_encoded_frame = counted  # type: ignore[method-assign]


class Baseline:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.rooms: dict[str, dict[str, MediaStreamTrack]] = {}
        self.pcs: set[RTCPeerConnection] = set()
        self.drains: list[MediaBlackhole] = []

    def _track_pc(self, pc: RTCPeerConnection) -> None:
        self.pcs.add(pc)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.pcs.discard(pc)
                await pc.close()

    async def whip(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        offer = await request.text()
        pc = RTCPeerConnection()
        self._track_pc(pc)
        tracks = self.rooms.setdefault(room, {})

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            tracks[track.kind] = track

        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for transceiver in pc.getTransceivers():
            transceiver.receiver._RTCRtpReceiver__timestamp_mapper = _IdentityTimestamps()  # type: ignore[attr-defined]
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        # Keep the relay reading from the start, as a recorder would: without a
        # consumer, decoded frames pile up in the remote track's queue and the
        # first viewer would start seconds behind.
        drain = MediaBlackhole()
        for track in tracks.values():
            drain.addTrack(self.relay.subscribe(track))
        await drain.start()
        self.drains.append(drain)
        return web.Response(
            status=201,
            text=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Location": f"/whip/{room}/{id(pc)}"},
        )

    async def whep(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        tracks = self.rooms.get(room)
        if not tracks:
            return web.Response(status=404, text="nobody publishes in this room")
        offer = await request.text()
        pc = RTCPeerConnection()
        self._track_pc(pc)
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        for kind in ("video", "audio"):
            if kind in tracks:
                sender = pc.addTrack(self.relay.subscribe(tracks[kind]))
                count_sent(sender)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        return web.Response(
            status=201,
            text=pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Location": f"/whep/{room}/{id(pc)}"},
        )

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "connections": len(self.pcs)})

    async def metrics(self, request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lines = [
            "# TYPE conference_rtp_packets_forwarded_total counter",
            f"conference_rtp_packets_forwarded_total {COUNTERS.packets}",
            "# TYPE conference_video_frames_forwarded_total counter",
            f"conference_video_frames_forwarded_total {COUNTERS.frames}",
            "# TYPE baseline_audio_frames_sent_total counter",
            f"baseline_audio_frames_sent_total {COUNTERS.audio_frames}",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {usage.ru_utime + usage.ru_stime:.3f}",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def close(self, app: web.Application) -> None:
        for drain in self.drains:
            await drain.stop()
        await asyncio.gather(*(pc.close() for pc in list(self.pcs)), return_exceptions=True)
        self.pcs.clear()


def make_app() -> web.Application:
    baseline = Baseline()
    app = web.Application()
    app.router.add_post("/whip/{room}", baseline.whip)
    app.router.add_post("/whep/{room}", baseline.whep)
    app.router.add_get("/healthz", baseline.healthz)
    app.router.add_get("/metrics", baseline.metrics)
    app.on_shutdown.append(baseline.close)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    print(f"baseline relay pid {os.getpid()} on {args.host}:{args.port}", flush=True)
    # handle_signals: SIGTERM and SIGINT run the shutdown hooks (close every peer connection).
    web.run_app(make_app(), host=args.host, port=args.port, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
