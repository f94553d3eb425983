"""One published track written to a Matroska/WebM file as it arrives, without decoding.

A :class:`TrackRecorder` is a sink of the SFU like any subscriber: it gets the
source's packets, reassembles frames (:mod:`recorder.frames`) and hands the
encoded frames to PyAV's muxer with fixed clock-rate time bases (1/90000 for
video, 1/48000 for Opus), so timestamps are exactly the publisher's. Clusters
are closed every second and every packet is flushed to the file, so a server
killed mid-recording leaves a file readable up to about a second before.
"""

from __future__ import annotations

import fractions
import logging
import time
from pathlib import Path
from typing import Any

import av

from conference.media.codecs import OPUS, VP8
from conference.private_files import private_file
from conference.sfu import MediaPacket, Source
from recorder.frames import Frame, VideoFrameAssembler, vp8_dimensions
from recorder.manifest import TrackEntry

logger = logging.getLogger(__name__)

SYNC_POINT_SECONDS = 5.0  # keep one sync point per this much media time
CLUSTER_MS = "1000"
_MONOTONIC_TO_WALL = time.time() - time.monotonic()


class ClockOffset:
    """Publisher clock -> server clock, shared by a site's tracks.

    The smallest (arrival - sender time) seen is the clock difference plus
    the network's smallest delay; one estimate per site keeps its audio and
    video on the same clock, which is what lip sync needs.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def sample(self, arrival: float, sender_time: float) -> None:
        value = arrival - sender_time
        if self.offset is None or value < self.offset:
            self.offset = value


class TrackRecorder:
    """A :class:`~conference.sfu.Sink` that writes one source to one file."""

    def __init__(
        self,
        source: Source,
        path: Path,
        entry: TrackEntry,
        offset: ClockOffset,
        on_change: Any = None,
    ) -> None:
        self.source = source
        self.path = path
        self.entry = entry
        self.offset = offset
        self.closed = False
        self.failed = False
        self._on_change = on_change
        self._kind = source.kind
        self._codec = source.codec or (VP8 if source.kind == "video" else OPUS)
        self._clock = entry.clock_rate
        self._time_base = fractions.Fraction(1, self._clock)
        self._assembler = VideoFrameAssembler(self._codec) if self._kind == "video" else None
        self._container: Any = None
        self._stream: Any = None
        self._first_ts: int | None = None
        self._ts_cycles = 0
        self._last_raw_ts: int | None = None
        self._last_pts = -1
        self._sender_points: list[tuple[float, float]] = []  # (media seconds, sender time)
        self._last_keyframe_ask = 0.0
        # Counted here and copied into the (pydantic) entry when saved: cheaper per frame.
        self._frames = 0
        self._bytes = 0
        self._last_frame_at: float | None = None

    # -- Sink -------------------------------------------------------------------------

    def on_packet(self, source: Source, packet: MediaPacket) -> None:
        if self.closed or source is not self.source:
            return
        try:
            if self._assembler is not None:
                frames = self._assembler.add(
                    packet.sequence_number, packet.timestamp, packet.marker, packet.payload
                )
                if self._assembler.needs_keyframe:
                    self._ask_keyframe()
            else:
                frames = [Frame(packet.timestamp, packet.payload, True)] if packet.payload else []
            arrival = _MONOTONIC_TO_WALL + packet.arrival
            for frame in frames:
                self._write(frame, arrival)
        except Exception:
            # A broken recorder must never break forwarding: stop this track.
            logger.exception("recording %s failed; closing the track", self.path.name)
            self.failed = True
            self.close()

    def on_source_ended(self, source: Source) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------

    def _ask_keyframe(self) -> None:
        now = time.monotonic()
        if now - self._last_keyframe_ask > 1.0:
            self._last_keyframe_ask = now
            self.source.request_keyframe()

    def _open(self, frame: Frame) -> bool:
        if self._kind == "video":
            size = vp8_dimensions(frame.data) if self._codec == VP8 else None
            if size is None and self._codec == VP8:
                return False  # wait for a keyframe we can read the size from
            width, height = size or (1280, 720)
            self.entry.width, self.entry.height = width, height
        private_file(self.path)  # made 0600 here; the muxer then truncates and keeps the mode
        container = av.open(
            str(self.path),
            "w",
            format="webm" if self._codec in (VP8, OPUS) else "matroska",
            options={"cluster_time_limit": CLUSTER_MS, "flush_packets": "1"},
        )
        stream: Any
        if self._kind == "video":
            stream = container.add_stream("libvpx" if self._codec == VP8 else "libx264", rate=30)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
        else:
            stream = container.add_stream("libopus", rate=48000)
            stream.layout = "stereo"
        self._container, self._stream = container, stream
        return True

    def _write(self, frame: Frame, arrival: float) -> None:
        if self._container is None and not self._open(frame):
            return
        pts = self._media_ticks(frame.timestamp)
        if pts <= self._last_pts:
            return  # out of order or duplicate: the muxer needs increasing timestamps
        packet = av.Packet(frame.data)
        packet.stream = self._stream
        packet.pts = packet.dts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self._last_pts = pts
        entry = self.entry
        media_seconds = pts / self._clock
        sender_time = self._sender_time(frame.timestamp)
        if sender_time is not None:
            self.offset.sample(arrival, sender_time)
            if (
                not self._sender_points
                or media_seconds - self._sender_points[-1][0] >= SYNC_POINT_SECONDS
            ):
                self._sender_points.append((media_seconds, sender_time))
        if self._frames == 0:
            entry.first_frame_at = arrival  # refined from RTCP once a sender report came
            if self._on_change is not None:
                self._on_change(self)
        self._frames += 1
        self._bytes += len(frame.data)
        self._last_frame_at = self._wall(media_seconds, arrival)

    def _media_ticks(self, timestamp: int) -> int:
        """RTP timestamp -> ticks since the first frame, across 32-bit wraparound."""
        if self._first_ts is None:
            self._first_ts = timestamp
            self._last_raw_ts = timestamp
        elif self._last_raw_ts is not None:
            if timestamp < self._last_raw_ts and self._last_raw_ts - timestamp > 0x80000000:
                self._ts_cycles += 1 << 32
            self._last_raw_ts = timestamp
        return timestamp + self._ts_cycles - self._first_ts

    def _sender_time(self, timestamp: int) -> float | None:
        """The publisher's wall clock at this RTP timestamp, from its latest sender report."""
        report = self.source.sender_report
        if report is None:
            return None
        ntp_seconds, rtp_at = report
        delta = (timestamp - rtp_at) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        return ntp_seconds + delta / self._clock

    def _wall(self, media_seconds: float, fallback: float) -> float:
        if self.offset.offset is None or not self._sender_points:
            return fallback
        first_media, first_sender = self._sender_points[0]
        return first_sender + (media_seconds - first_media) + self.offset.offset

    def sync_entry(self) -> None:
        """Bring the manifest entry up to date (called before saving)."""
        entry = self.entry
        if self._frames:
            entry.frames, entry.bytes, entry.last_frame_at = (
                self._frames,
                self._bytes,
                self._last_frame_at,
            )
        if self.offset.offset is None or not self._sender_points:
            return
        entry.clock = "rtcp"
        entry.sync = [
            (round(m, 4), round(s + self.offset.offset, 4)) for m, s in self._sender_points
        ]
        first_media, first_wall = entry.sync[0]
        entry.first_frame_at = round(first_wall - first_media, 4)

    def close(self) -> None:
        """Finish the file (trailer, cues); safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.source.remove_sink(self)
        self.sync_entry()
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                logger.exception("closing %s failed", self.path.name)
        self.entry.closed = True
        if self._on_change is not None:
            self._on_change(self)
