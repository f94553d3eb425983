"""A camera feed in a meeting: a participant whose video comes from the feed's worker.

The worker hands over whole encoded frames (VP8 it encoded once, or the
camera's own H.264); here they are cut into RTP payloads with aiortc's own
packetisers and pushed into an SFU :class:`~conference.sfu.Source`, so the
feed is forwarded, spotlighted and recorded like any site, and nothing is
encoded per viewer.

Nothing is encoded for a room where nobody takes the feed's picture: the
publisher asks the worker for video only while its source has a sink (a
viewer's slot, the recorder, a relay to another node). Every sink asks for a
keyframe when it attaches, and that request is what starts the video again;
the video stops once no sink has been attached for :data:`UNWATCHED_FRAMES`
frames (a slot moving from one source to another detaches for a moment).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from anpr_feed.manager import FeedRunner
from conference.media.codecs import H264, VP8
from conference.media.ntp import abs_send_time_bytes, ntp_now
from conference.media.packetizers import packetize_h264, packetize_vp8
from conference.rooms.participant import Participant
from conference.sfu import MediaPacket, SfuMetrics, Source
from conference.tokens import Role

# Frames sent with no sink attached before the worker is told to stop encoding (2 s).
UNWATCHED_FRAMES = 50

# Room codec (settings spelling) -> (worker codec, SFU codec name)
CODECS = {"vp8": ("vp8", VP8), "h264": ("h264", H264)}


def feed_site_id(feed_id: str) -> str:
    """The site id a feed has in a meeting."""
    return f"feed-{feed_id}"


def camera_site(
    site_id: str,
    name: str,
    sfu_codec: str,
    metrics: SfuMetrics,
    keyframe_requester: Callable[[], None],
) -> tuple[Source, Participant]:
    """The video :class:`Source` and the :class:`Participant` of a server-made camera site.

    A feed and a wall both join a room this way: a participant with one video
    source, connected from the start (no peer connection to wait for).
    """
    source = Source(
        source_id=f"{site_id}-video",
        owner=site_id,
        kind="video",
        metrics=metrics,
        keyframe_requester=keyframe_requester,
    )
    source.codec = sfu_codec
    participant = Participant(
        id=site_id,
        name=name,
        role=Role.PARTICIPANT,
        client="camera",
        sources={"video": source},
        connection="connected",
    )
    return source, participant


class FramePacketizer:
    """Cuts whole encoded frames into RTP payloads and pushes them into a :class:`Source`."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._sequence = random.randint(0, 0xFFFF)
        self._picture_id = random.randint(0, 0x7FFF)

    def write(self, data: bytes, pts: int, keyframe: bool, codec: str) -> None:
        """One encoded frame (VP8, or H.264 Annex B) at ``pts`` (90 kHz)."""
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


class FeedPublisher:
    """Packetises one feed's frames into a :class:`Source` for one room."""

    def __init__(self, runner: FeedRunner, room_codec: str, metrics: SfuMetrics) -> None:
        if room_codec not in CODECS:
            raise ValueError(f"unknown room codec {room_codec!r}")
        self.runner = runner
        self.codec, sfu_codec = CODECS[room_codec]
        self.source, self.participant = camera_site(
            feed_site_id(runner.feed.id),
            runner.feed.checkpoint or runner.feed.name,
            sfu_codec,
            metrics,
            self._keyframe_wanted,
        )
        self.frames = 0
        self.packetizer = FramePacketizer(self.source)
        self._started = False
        self._watching = False  # the worker sends us video
        self._unwatched = 0  # frames in a row that no sink took

    @property
    def viewers(self) -> int:
        """Sinks taking the feed's picture in this room now (slots, recorder, relays)."""
        return len(self.source.sinks)

    @property
    def watching(self) -> bool:
        """Whether the worker encodes video for this room now."""
        return self._watching

    def start(self) -> None:
        """In the room: video in the room's codec as soon as (and while) someone takes it."""
        if not self._started:
            self._started = True
            self._follow_viewers()

    def stop(self) -> None:
        """No more video for this room; the source ends."""
        self._started = False
        self._follow_viewers()
        self.source.end()

    def _follow_viewers(self) -> None:
        """Ask the worker for video while a sink is attached, stop asking when none is."""
        want = self._started and bool(self.source.sinks)
        if want and not self._watching:
            self._watching, self._unwatched = True, 0
            self.runner.watch(self.codec, self.on_frame)  # the worker starts with a keyframe
        elif not want and self._watching:
            self._watching = False
            self.runner.unwatch(self.codec, self.on_frame)

    def _keyframe_wanted(self) -> None:
        """A sink asks for a keyframe: a new viewer, or one that lost the picture."""
        if not self._watching:
            self._follow_viewers()
            return
        self.runner.request_keyframe()

    def on_frame(self, data: bytes, pts: int, keyframe: bool, codec: str) -> None:
        """One encoded frame from the worker: packetise and forward it."""
        if not self.source.sinks:
            self._unwatched += 1
            if self._unwatched >= UNWATCHED_FRAMES:
                self._follow_viewers()  # nobody has taken the picture for a while
        else:
            self._unwatched = 0
        self.packetizer.write(data, pts, keyframe, codec)
        self.frames += 1
