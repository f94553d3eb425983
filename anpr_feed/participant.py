"""A camera feed in a meeting: a participant whose video comes from the feed's worker.

The worker hands over whole encoded frames (VP8 it encoded once, or the
camera's own H.264); here they are cut into RTP payloads with aiortc's own
packetisers and pushed into an SFU :class:`~conference.sfu.Source`, so the
feed is forwarded, spotlighted and recorded like any site, and nothing is
encoded per viewer.
"""

from __future__ import annotations

import random
import time

from anpr_feed.manager import FeedRunner
from conference.media.codecs import H264, VP8
from conference.media.ntp import abs_send_time_bytes, ntp_now
from conference.media.packetizers import packetize_h264, packetize_vp8
from conference.rooms.participant import Participant
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.tokens import Role

# Room codec (settings spelling) -> (worker codec, SFU codec name)
CODECS = {"vp8": ("vp8", VP8), "h264": ("h264", H264)}


def feed_site_id(feed_id: str) -> str:
    """The site id a feed has in a meeting."""
    return f"feed-{feed_id}"


class FeedPublisher:
    """Packetises one feed's frames into a :class:`Source` for one room."""

    def __init__(self, runner: FeedRunner, room_codec: str, metrics: SfuMetrics) -> None:
        if room_codec not in CODECS:
            raise ValueError(f"unknown room codec {room_codec!r}")
        self.runner = runner
        self.codec, sfu_codec = CODECS[room_codec]
        site_id = feed_site_id(runner.feed.id)
        self.source = Source(
            source_id=f"{site_id}-video",
            owner=site_id,
            kind="video",
            metrics=metrics,
            keyframe_requester=runner.request_keyframe,
        )
        self.source.codec = sfu_codec
        self.participant = Participant(
            id=site_id,
            name=runner.feed.checkpoint or runner.feed.name,
            role=Role.PARTICIPANT,
            client="camera",
            sources={"video": self.source},
            connection="connected",
        )
        self.frames = 0
        self._sequence = random.randint(0, 0xFFFF)
        self._picture_id = random.randint(0, 0x7FFF)
        self._started = False

    def start(self) -> None:
        """Ask the worker for video in the room's codec."""
        if not self._started:
            self._started = True
            self.runner.watch(self.codec, self.on_frame)

    def stop(self) -> None:
        """No more video for this room; the source ends."""
        if self._started:
            self._started = False
            self.runner.unwatch(self.codec, self.on_frame)
        self.source.end()

    def on_frame(self, data: bytes, pts: int, keyframe: bool, codec: str) -> None:
        """One encoded frame from the worker: packetise and forward it."""
        if codec == "vp8":
            payloads = packetize_vp8(data, self._picture_id)
            self._picture_id = (self._picture_id + 1) & 0x7FFF
        else:
            payloads = packetize_h264(data)
        if not payloads:
            return
        timestamp = pts & 0xFFFFFFFF
        arrival = time.monotonic()
        ntp = ntp_now()
        send_time = abs_send_time_bytes(ntp)
        self.source.sender_report = (time.time(), timestamp)
        last = len(payloads) - 1
        for index, payload in enumerate(payloads):
            packet = MediaPacket(
                sequence_number=self._sequence,
                timestamp=timestamp,
                marker=int(index == last),
                payload=payload,
                keyframe=keyframe and index == 0,
                audio_level=None,
                arrival=arrival,
                abs_send_time=send_time,
                ntp=ntp,
            )
            self._sequence = (self._sequence + 1) & 0xFFFF
            self.source.push(packet)
        self.frames += 1
